import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RemoteWriteBatch, RemoteWriteReader, decodeWriteRequest, encodeLabels } from '../wire/index.js';
import { type AggregateRule, aggregateRuleSchema, compileAggregateRule } from './aggregate-config.js';
import { AggregationEngine } from './aggregate.js';

const MIN = 60_000;
const T0 = 1_700_000_040_000 - (1_700_000_040_000 % (3 * MIN)); // a window start of 1m and of 90s windows

function rule(cfg: Record<string, unknown>, place = 'acme#0'): AggregateRule {
  return compileAggregateRule(aggregateRuleSchema.parse({ interval: '1m', max_delay: '10s', ...cfg }), 'acme', place, ['re']);
}

function engine(...rules: AggregateRule[]): AggregationEngine {
  const e = new AggregationEngine();
  e.setRules(new Map([['acme', rules]]));
  return e;
}

type S = [Record<string, string>, number, number];

function ingest(e: AggregationEngine, samples: S[], receivedAt = samples[samples.length - 1]?.[2] ?? T0): void {
  const b = new RemoteWriteBatch();
  for (const [l, v, ts] of samples) b.add(encodeLabels(Object.entries({ tenant: 'acme', re: 'eu', ...l }).sort(([a], [c]) => (a < c ? -1 : 1)).flat()), v, ts);
  e.ingest('acme', new RemoteWriteReader(Buffer.from(b.finish())), receivedAt);
}

/** Outputs as "name{labels} value @ts", sorted. */
function flush(e: AggregationEngine, clock: number): string[] {
  const out: string[] = [];
  for (const b of e.flush(clock)) {
    for (const ts of decodeWriteRequest(b.body).timeseries) {
      const l = ts.labels;
      const rest: string[] = [];
      for (let i = 0; i < l.length; i += 2) if (l[i] !== '__name__' && l[i] !== 'tenant' && l[i] !== 're') rest.push(`${l[i]}=${l[i + 1]}`);
      out.push(`${l[l.indexOf('__name__') + 1]}{${rest.join(',')}} ${ts.samples[0]?.value} @${((ts.samples[0]?.timestamp ?? 0) - T0) / MIN}m`);
    }
  }
  return out.sort();
}

const c = (pod: string, code = '200'): Record<string, string> => ({ __name__: 'http_requests_total', pod, code, site: 'ce-1' });

test('names follow vmagent: <metric>:<interval>_by_|_without_<labels>_<output>', () => {
  const table: [Record<string, unknown>, string][] = [
    [{ by: ['code', 'site'] }, 'http_requests_total:1m_by_code_site_total{code=200,site=ce-1} 0 @1m'],
    [{ without: ['pod'] }, 'http_requests_total:1m_without_pod_total{code=200,site=ce-1} 0 @1m'],
    [{}, 'http_requests_total:1m_total{code=200,pod=a,site=ce-1} 0 @1m'],
    [{ interval: '90s', by: ['code'] }, 'http_requests_total:90s_by_code_total{code=200} 0 @1.5m'],
  ];
  for (const [cfg, want] of table) {
    const e = engine(rule({ match: 'http_.*', outputs: ['total'], ...cfg }));
    ingest(e, [[c('a'), 5, T0 + 1000]]);
    assert.deepEqual(flush(e, T0 + 10 * MIN), [want], JSON.stringify(cfg));
  }
});

test('total is reset-aware across windows; a restarting source never makes it go backwards', () => {
  const e = engine(rule({ match: 'http_requests_total', by: ['code'], outputs: ['total', 'increase'] }));
  // Window 0: a 10→20 (+10), b 100→130 (+30).
  ingest(e, [[c('a'), 10, T0 + 1000], [c('b'), 100, T0 + 1000]]);
  ingest(e, [[c('a'), 20, T0 + 30_000], [c('b'), 130, T0 + 30_000]]);
  assert.deepEqual(flush(e, T0 + MIN + 10_000), ['http_requests_total:1m_by_code_increase{code=200} 40 @1m', 'http_requests_total:1m_by_code_total{code=200} 40 @1m']);
  // Window 1: a restarts (20 → 4: +4), then 4→9 (+5); b 130→140 (+10).
  ingest(e, [[c('a'), 4, T0 + MIN + 1000], [c('b'), 140, T0 + MIN + 1000]]);
  ingest(e, [[c('a'), 9, T0 + MIN + 30_000]]);
  assert.deepEqual(flush(e, T0 + 2 * MIN + 10_000), ['http_requests_total:1m_by_code_increase{code=200} 19 @2m', 'http_requests_total:1m_by_code_total{code=200} 59 @2m']);
  assert.deepEqual(flush(e, T0 + 3 * MIN + 10_000), [], 'a window without samples writes nothing');
});

test('sum_samples, count_samples, count_series, min, max, avg, last over a window', () => {
  const e = engine(rule({ match: 'temp', by: ['room'], outputs: ['sum', 'count', 'count_series', 'min', 'max', 'avg', 'last'] }));
  const g = (pod: string): Record<string, string> => ({ __name__: 'temp', room: 'r1', pod });
  ingest(e, [[g('a'), 1, T0 + 1000], [g('b'), 5, T0 + 2000]]);
  ingest(e, [[g('a'), 3, T0 + 40_000], [g('b'), -1, T0 + 30_000]]);
  assert.deepEqual(flush(e, T0 + MIN + 10_000), [
    'temp:1m_by_room_avg{room=r1} 2 @1m',
    'temp:1m_by_room_count_samples{room=r1} 4 @1m',
    'temp:1m_by_room_count_series{room=r1} 2 @1m',
    'temp:1m_by_room_last{room=r1} 3 @1m',
    'temp:1m_by_room_max{room=r1} 5 @1m',
    'temp:1m_by_room_min{room=r1} -1 @1m',
    'temp:1m_by_room_sum_samples{room=r1} 8 @1m',
  ]);
});

test('histograms: le kept per bucket, keep_le merges the others into the next one up, _sum/_count stay consistent', () => {
  const e = engine(rule({ match: 'lat_(bucket|sum|count)', by: ['site'], outputs: ['total'], keep_le: ['0.5', '+Inf'] }));
  const h = (pod: string, name: string, le?: string): Record<string, string> => ({ __name__: name, pod, site: 'ce-1', ...(le === undefined ? {} : { le }) });
  const scrape = (pod: string, ts: number, b01: number, b05: number, inf: number, sum: number): S[] => [
    [h(pod, 'lat_bucket', '0.1'), b01, ts], [h(pod, 'lat_bucket', '0.5'), b05, ts], [h(pod, 'lat_bucket', '+Inf'), inf, ts], [h(pod, 'lat_sum'), sum, ts], [h(pod, 'lat_count'), inf, ts],
  ];
  ingest(e, [...scrape('a', T0 + 1000, 1, 2, 3, 0.9), ...scrape('b', T0 + 1000, 0, 0, 1, 2)]);
  ingest(e, [...scrape('a', T0 + 30_000, 2, 4, 7, 2.1), ...scrape('b', T0 + 30_000, 1, 1, 3, 4)]);
  assert.deepEqual(flush(e, T0 + MIN + 10_000), [
    'lat_bucket:1m_by_site_total{le=+Inf,site=ce-1} 6 @1m',
    'lat_bucket:1m_by_site_total{le=0.5,site=ce-1} 3 @1m',
    'lat_count:1m_by_site_total{site=ce-1} 6 @1m',
    'lat_sum:1m_by_site_total{site=ce-1} 3.2 @1m',
  ]);
});

test('late, early and duplicate samples are dropped and counted; a late counter sample is not lost from total', () => {
  const e = engine(rule({ match: 'http_requests_total', by: ['code'], outputs: ['total'] }));
  ingest(e, [[c('a'), 10, T0 + 1000]]);
  ingest(e, [[c('a'), 20, T0 + 2000]]);
  ingest(e, [[c('a'), 20, T0 + 2000]], T0 + 3000); // a retry of the same push
  assert.deepEqual(flush(e, T0 + MIN + 10_000), ['http_requests_total:1m_by_code_total{code=200} 10 @1m']);
  ingest(e, [[c('a'), 25, T0 + 50_000]], T0 + MIN + 20_000); // its window is written
  ingest(e, [[c('a'), 99, T0 + 10 * MIN]], T0 + MIN + 20_000); // from the future
  ingest(e, [[c('a'), 30, T0 + MIN + 5000]], T0 + MIN + 20_000);
  assert.deepEqual(flush(e, T0 + 2 * MIN + 10_000), ['http_requests_total:1m_by_code_total{code=200} 20 @2m'], '+5 late, +5 on time');
  assert.deepEqual([...e.dropped], [['acme\u0000duplicate', 1], ['acme\u0000too_late', 1], ['acme\u0000too_early', 1]]);
});

test('a checkpoint restored into a new engine continues exactly; replaying input already in it counts nothing twice', () => {
  const r = rule({ match: 'http_requests_total', by: ['code'], outputs: ['total', 'count_series'] });
  const steps: S[][] = [
    [[c('a'), 10, T0 + 1000], [c('b'), 1, T0 + 1000]],
    [[c('a'), 15, T0 + 20_000], [c('b'), 4, T0 + 20_000]],
    [[c('a'), 2, T0 + MIN + 1000], [c('b'), 6, T0 + MIN + 1000]],
    [[c('a'), 7, T0 + MIN + 20_000]],
  ];
  const straight = engine(r);
  const outs: string[] = [];
  for (const [i, s] of steps.entries()) {
    ingest(straight, s);
    if (i === 1) outs.push(...flush(straight, T0 + MIN + 10_000));
  }
  outs.push(...flush(straight, T0 + 2 * MIN + 10_000));

  const first = engine(r);
  const got: string[] = [];
  ingest(first, steps[0] as S[]);
  ingest(first, steps[1] as S[]);
  got.push(...flush(first, T0 + MIN + 10_000));
  ingest(first, steps[2] as S[]);
  const saved = JSON.parse(JSON.stringify(first.toCheckpoint()));
  const second = engine(r);
  second.restore(saved);
  // After a crash the input queue replays from its last commit: steps 1 and 2 again.
  ingest(second, steps[1] as S[]);
  ingest(second, steps[2] as S[]);
  ingest(second, steps[3] as S[]);
  got.push(...flush(second, T0 + 2 * MIN + 10_000));
  assert.deepEqual(got, outs);
  assert.ok(got.includes('http_requests_total:1m_by_code_total{code=200} 17 @2m'), got.join('\n'));
});

test('rule config: by and without together, tenant or __name__ aggregated away, and bad keep_le are refused', () => {
  for (const [cfg, reason] of [
    [{ by: ['a'], without: ['b'] }, /both/],
    [{ without: ['tenant'] }, /tenant/],
    [{ without: ['__name__'] }, /__name__/],
    [{ keep_le: ['fast'] }, /keep_le/],
  ] as const) {
    assert.throws(() => rule({ match: 'x', outputs: ['total'], ...cfg }), reason);
  }
});
