// The rule types elastalert-test-rule cannot drive (the aggregation types,
// and flatline over time), against ElastAlert's documented semantics
// (docs/source/ruletypes.rst), and the stream engine's event-time contract.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Engine, type EngineMatch } from './engine.js';
import { compileRule } from './rule.js';
import { metricValue } from './ruletypes-spike.js';

const T0 = Date.parse('2024-03-01T00:00:00Z');
const MIN = 60_000;

function rule(o: Record<string, unknown>) {
  return compileRule('t.yaml', { name: 'r', index: 'i', alert: 'debug', realert: { minutes: 0 }, ...o });
}

function run(o: Record<string, unknown>, docs: Record<string, unknown>[], opts: { runEveryMs?: number; bufferTimeMs?: number; until?: number } = {}): EngineMatch[] {
  const out: EngineMatch[] = [];
  const e = new Engine({ runEveryMs: opts.runEveryMs ?? MIN, bufferTimeMs: opts.bufferTimeMs ?? 10 * MIN, allowedLatenessMs: 0, onMatch: (m) => out.push(m) });
  e.setRules([rule(o)]);
  const recs = docs.map((d) => ({ timestampMs: d.t as number, tenant: 't', site: String(d.site ?? ''), doc: { ...d, '@timestamp': new Date(d.t as number).toISOString() } }));
  e.offer(recs);
  e.advance(opts.until ?? T0 + 60 * MIN);
  return out;
}

test('metric aggregation values are Elasticsearch metric aggregations', () => {
  const docs = [{ v: 1 }, { v: 4 }, { v: [2, 3] }, { v: 'x' }, {}];
  assert.equal(metricValue('min', docs, 'v'), 1);
  assert.equal(metricValue('max', docs, 'v'), 4);
  assert.equal(metricValue('sum', docs, 'v'), 10);
  assert.equal(metricValue('avg', docs, 'v'), 2.5);
  assert.equal(metricValue('value_count', docs, 'v'), 5);
  assert.equal(metricValue('cardinality', [{ v: 'a' }, { v: 'b' }, { v: 'a' }], 'v'), 2);
  assert.equal(metricValue('avg', [], 'v'), null);
  assert.equal(metricValue('sum', [], 'v'), 0);
});

test('metric_aggregation: a threshold crossed per buffer_time interval, per query_key bucket', () => {
  const docs = [
    { t: T0 + 1 * MIN, host: 'a', ms: 100 },
    { t: T0 + 2 * MIN, host: 'a', ms: 900 },
    { t: T0 + 3 * MIN, host: 'b', ms: 50 },
    { t: T0 + 12 * MIN, host: 'a', ms: 10 },
  ];
  const m = run({ type: 'metric_aggregation', metric_agg_key: 'ms', metric_agg_type: 'avg', max_threshold: 400, query_key: 'host' }, docs);
  assert.equal(m.length, 1);
  assert.equal(m[0]?.key, 'a');
  assert.equal(m[0]?.doc.metric_ms_avg, 500);
  assert.equal(m[0]?.ts, T0 + 10 * MIN, 'the match time is the interval end');
  // min_threshold on an empty interval without query_key: sum over nothing is 0 (ElastAlert alerts too).
  const empty = run({ type: 'metric_aggregation', metric_agg_key: 'ms', metric_agg_type: 'sum', min_threshold: 1 }, [{ t: T0 + MIN, ms: 5 }], { until: T0 + 30 * MIN });
  assert.deepEqual(empty.map((x) => x.ts), [T0 + 20 * MIN, T0 + 30 * MIN]);
  // Compound query keys: one match per combination, the key joined by ','.
  const comp = run({ type: 'metric_aggregation', metric_agg_key: 'ms', metric_agg_type: 'max', max_threshold: 10, query_key: ['host', 'dc'] }, [
    { t: T0 + MIN, host: 'a', dc: 'x', ms: 20 },
    { t: T0 + MIN, host: 'a', dc: 'y', ms: 5 },
  ]);
  assert.equal(comp.length, 1);
  assert.equal(comp[0]?.doc['host,dc'], 'a,x');
  assert.equal(comp[0]?.doc.dc, 'x');
  // bucket_interval: one check per date_histogram bucket, at the bucket's key.
  const buckets = run({ type: 'metric_aggregation', metric_agg_key: 'ms', metric_agg_type: 'max', max_threshold: 10, bucket_interval: { minutes: 5 } }, [
    { t: T0 + MIN, ms: 20 },
    { t: T0 + 6 * MIN, ms: 1 },
    { t: T0 + 7 * MIN, ms: 30 },
  ]);
  assert.deepEqual(buckets.map((x) => x.ts), [T0, T0 + 5 * MIN]);
});

test('percentage_match: share of match_bucket_filter in the interval, with min_denominator', () => {
  const docs = [];
  for (let i = 0; i < 10; i++) docs.push({ t: T0 + i * 1000, status: i < 3 ? 500 : 200 });
  const m = run({ type: 'percentage_match', match_bucket_filter: [{ range: { status: { gte: 500 } } }], max_percentage: 25 }, docs);
  assert.equal(m.length, 1);
  assert.equal(m[0]?.doc.percentage, 30);
  assert.equal(m[0]?.doc.denominator, 10);
  assert.equal(run({ type: 'percentage_match', match_bucket_filter: [{ range: { status: { gte: 500 } } }], max_percentage: 25, min_denominator: 11 }, docs).length, 0);
  assert.equal(run({ type: 'percentage_match', match_bucket_filter: [{ range: { status: { gte: 500 } } }], min_percentage: 50 }, docs).length, 1);
});

test('spike_aggregation: the metric of each interval as a spike event', () => {
  const docs = [];
  // Two quiet intervals (sum 1 each), then one with sum 10.
  docs.push({ t: T0 + MIN, v: 1 }, { t: T0 + 11 * MIN, v: 1 }, { t: T0 + 21 * MIN, v: 10 });
  const m = run({ type: 'spike_aggregation', metric_agg_key: 'v', metric_agg_type: 'sum', spike_height: 3, spike_type: 'up', timeframe: { minutes: 10 } }, docs, { until: T0 + 40 * MIN });
  assert.ok(m.length >= 1);
  assert.equal(m[0]?.ts, T0 + 30 * MIN);
  assert.equal(m[0]?.doc.spike_count, 10);
});

test('flatline over time: an alert each run while fewer than threshold events, stops when they come back', () => {
  const docs = [];
  for (let i = 0; i < 10; i++) docs.push({ t: T0 + i * 30_000 });
  // Silence from minute 5 to minute 20, then events again.
  for (let i = 0; i < 10; i++) docs.push({ t: T0 + 20 * MIN + i * 30_000 });
  const m = run({ type: 'flatline', threshold: 2, timeframe: { minutes: 5 } }, docs, { until: T0 + 26 * MIN });
  const times = m.map((x) => (x.ts - T0) / MIN);
  assert.ok(times.length >= 5, `alerts during the gap: ${times}`);
  assert.ok(times.every((t) => t > 5 && t < 22), `only while flat: ${times}`);
  assert.equal(m[0]?.doc.count, 1);
});

test('event time with allowed lateness: late records are counted, not lost silently', () => {
  const drops: string[] = [];
  const out: EngineMatch[] = [];
  const e = new Engine({ runEveryMs: MIN, allowedLatenessMs: 30_000, onMatch: (m) => out.push(m), onDrop: (_r, reason) => drops.push(reason) });
  e.setRules([rule({ type: 'any' })]);
  const rec = (t: number) => ({ timestampMs: t, tenant: 't', site: 's', doc: { '@timestamp': new Date(t).toISOString() } });
  e.offer([rec(T0 + 10_000)]);
  e.advance(T0 + MIN + 20_000); // within lateness: the first minute is still open
  assert.equal(out.length, 0);
  e.offer([rec(T0 + 5_000)]); // out of order, still on time
  e.advance(T0 + MIN + 30_000);
  assert.deepEqual(out.map((m) => m.ts), [T0 + 5_000, T0 + 10_000], 'in timestamp order');
  e.offer([rec(T0 + 20_000)]); // that minute has run: late
  assert.deepEqual(drops, ['late']);
  // Tenants never share state.
  const f: EngineMatch[] = [];
  const e2 = new Engine({ runEveryMs: MIN, allowedLatenessMs: 0, onMatch: (m) => f.push(m) });
  e2.setRules([rule({ type: 'frequency', num_events: 2, timeframe: { minutes: 5 } })]);
  e2.offer([{ ...rec(T0 + 1000), tenant: 'a' }, { ...rec(T0 + 2000), tenant: 'b' }]);
  e2.advance(T0 + 2 * MIN);
  assert.equal(f.length, 0);
  e2.offer([{ ...rec(T0 + 2 * MIN + 1000), tenant: 'a' }]);
  e2.advance(T0 + 4 * MIN);
  assert.deepEqual(f.map((m) => m.tenant), ['a']);
});

test('a record from long ago does not make a rule replay every interval since', () => {
  const out: EngineMatch[] = [];
  const drops: string[] = [];
  const e = new Engine({ runEveryMs: MIN, allowedLatenessMs: 0, onMatch: (m) => out.push(m), onDrop: (_r, reason) => drops.push(reason) });
  e.setRules([rule({ type: 'any' })]);
  e.advance(T0);
  e.offer([{ timestampMs: 0, tenant: 't', site: 's', doc: { '@timestamp': '1970-01-01T00:00:00Z' } }]);
  assert.deepEqual(drops, ['late']);
  // A stop of a year: the catch-up is bounded, and records are still handed over in order.
  e.offer([{ timestampMs: T0 + 1000, tenant: 'u', site: 's', doc: {} }]);
  e.advance(T0 + 365 * 86_400_000);
  assert.deepEqual(out.map((m) => m.ts), [T0 + 1000]);
});
