import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random } from '../bench/index.js';
import { RemoteWriteBatch, RemoteWriteReader, RemoteWriteSnappyBatch, STALE_NAN, encodeLabels, decodeWriteRequest, snappyUncompress } from '../wire/index.js';
import { validateCollectorConfig } from './config.js';
import { PushPipeline } from './pipeline.js';

const id = { tenant: 't', site: 's' };

// Every test runs twice: with the sites' output templates off, and on (what the collector runs
// with), where a request whose series came in the same order is written from the last one's body.
let templates = 0;
function both(name: string, fn: () => void): void {
  for (const bytes of [0, 1 << 20]) {
    test(`${name} (templates ${bytes === 0 ? 'off' : 'on'})`, () => {
      templates = bytes;
      fn();
    });
  }
}

/** The compiled pipelines of tenant t (site s) with this pipeline config. */
const pipelinesOf = (pipeline: unknown): ReturnType<typeof validateCollectorConfig>['pipelines'] =>
  validateCollectorConfig({ sites: [{ token: 'pipeline-test-token-000', tenant: 't', site: 's' }], tenants: { t: { pipeline } } }, 'p.yml').pipelines;

const make = (pipelines: ReturnType<typeof validateCollectorConfig>['pipelines']): PushPipeline => new PushPipeline(pipelines, { re: 'x' }, 60_000, templates);

function request(names: string[], ts = 1000): Buffer {
  const b = new RemoteWriteBatch();
  for (const n of names) b.add(encodeLabels(['__name__', n]), 1, ts);
  return Buffer.from(b.finish());
}

function pipeline(filter: unknown, limit: number): PushPipeline {
  const pipelines = pipelinesOf({ filter, series_limit_per_site: limit });
  return make(pipelines);
}

/** What a push result forwards, as [metric name, value] per series. */
function forwarded(r: { body: Buffer; snappy?: boolean }): [string, number][] {
  const body = r.snappy === true ? snappyUncompress(r.body) : r.body;
  return decodeWriteRequest(body).timeseries.map((ts) => [ts.labels[1] as string, ts.samples[0]?.value as number]);
}

function requestWithValues(series: [string, number][], ts = 1000): Buffer {
  const b = new RemoteWriteBatch();
  for (const [n, v] of series) b.add(encodeLabels(['__name__', n, 'job', 'j']), v, ts);
  return Buffer.from(b.finish());
}

both('identity and external labels are set on every kept series', () => {
  const p = pipeline({}, 10);
  const r = p.process(id, new RemoteWriteReader(request(['a_metric'])), 0);
  assert.equal(r.snappy, true);
  assert.deepEqual(decodeWriteRequest(snappyUncompress(r.body)).timeseries[0]?.labels, ['__name__', 'a_metric', 're', 'x', 'site', 's', 'tenant', 't']);
});

both('a known series is recognised wherever it comes in the request, and never taken for its neighbour', () => {
  const p = pipeline({ deny: { names: ['dropped'] } }, 100);
  const first = p.process(id, new RemoteWriteReader(requestWithValues([['aa', 1], ['bb', 2], ['dropped', 3], ['cc', 4]])), 0);
  assert.equal(first.newSeries, 4);
  assert.deepEqual(forwarded(first), [['aa', 1], ['bb', 2], ['cc', 4]]);
  // Same lengths, other order, one new series in the middle, one missing: positions no longer line up.
  const second = p.process(id, new RemoteWriteReader(requestWithValues([['bb', 20], ['zz', 50], ['aa', 10], ['dropped', 30]])), 1);
  assert.equal(second.newSeries, 1, 'only zz is new');
  assert.deepEqual(forwarded(second), [['bb', 20], ['zz', 50], ['aa', 10]]);
  assert.equal(second.dropped.get('in_denylist'), 1);
  // And back: every series at a position that held another one last time.
  const third = p.process(id, new RemoteWriteReader(requestWithValues([['aa', 100], ['bb', 200], ['cc', 400]])), 2);
  assert.equal(third.newSeries, 0);
  assert.deepEqual(forwarded(third), [['aa', 100], ['bb', 200], ['cc', 400]]);
  assert.equal(p.cachedSeries('t', 's'), 5);
});

both('a request that fails half-way leaves the cache and positions as they were', () => {
  const p = pipeline({}, 100);
  p.process(id, new RemoteWriteReader(requestWithValues([['aa', 1], ['bb', 2]])), 0);
  const good = requestWithValues([['cc', 3], ['dd', 4]]);
  // A truncated body: the reader throws after the first series.
  assert.throws(() => p.process(id, new RemoteWriteReader(good.subarray(0, good.length - 3)), 1), /runs past the end/);
  assert.equal(p.cachedSeries('t', 's'), 2);
  const again = p.process(id, new RemoteWriteReader(requestWithValues([['aa', 5], ['bb', 6]])), 2);
  assert.equal(again.newSeries, 0);
  assert.deepEqual(forwarded(again), [['aa', 5], ['bb', 6]]);
});

both('a swept series is evaluated again, even at the position it held', () => {
  const p = pipeline({}, 100);
  p.process(id, new RemoteWriteReader(requestWithValues([['aa', 1], ['bb', 2]])), 0);
  p.process(id, new RemoteWriteReader(requestWithValues([['bb', 3]])), 50_000);
  assert.equal(p.sweep(70_000), 1, 'aa went idle');
  assert.equal(p.cachedSeries('t', 's'), 1);
  const r = p.process(id, new RemoteWriteReader(requestWithValues([['aa', 7], ['bb', 8]])), 70_001);
  assert.equal(r.newSeries, 1);
  assert.deepEqual(forwarded(r), [['aa', 7], ['bb', 8]]);
  assert.equal(p.cachedSeries('t', 's'), 2);
  assert.equal(p.activeSeries().get('t/s'), 2);
});

both('dropped series are remembered only within a bound', () => {
  const p = pipeline({ allow: { names: ['kept'] } }, 2);
  const names = Array.from({ length: 100 }, (_, i) => `dropped_${i}`);
  const r = p.process(id, new RemoteWriteReader(request(names)), 0);
  assert.equal(r.samplesOut, 0);
  assert.equal(r.dropped.get('not_in_allowlist'), 100);
  assert.ok(p.cachedSeries('t', 's') <= 8, `cache holds ${p.cachedSeries('t', 's')} entries for a limit of 2`);
});

both('idle series are forgotten and stop counting against the limit', () => {
  const p = pipeline({}, 2);
  assert.equal(p.process(id, new RemoteWriteReader(request(['a', 'b', 'c'])), 0).dropped.get('series_limit'), 1);
  assert.equal(p.sweep(120_000), 2);
  const again = p.process(id, new RemoteWriteReader(request(['c', 'd'])), 120_000);
  assert.equal(again.samplesOut, 2);
});

both('series are known again by their own label bytes when rules change, drop or override labels', () => {
  const pipelines = pipelinesOf({ filter: { label_deny: ['pod'] }, series_limit_per_site: 100 });
  const p = make(pipelines);
  const req = (v: number): Buffer => {
    const b = new RemoteWriteBatch();
    b.add(encodeLabels(['__name__', 'kept_as_is', 'job', 'j']), v, 1000);
    b.add(encodeLabels(['__name__', 'with_pod', 'job', 'j', 'pod', 'a']), v, 1000);
    b.add(encodeLabels(['__name__', 'with_pod', 'job', 'j', 'pod', 'b']), v + 1, 1000);
    // The payload claims another tenant: the identity overrides it.
    b.add(encodeLabels(['__name__', 'claims', 'tenant', 'evil']), v, 1000);
    return Buffer.from(b.finish());
  };
  const first = p.process(id, new RemoteWriteReader(req(1)), 0);
  assert.equal(first.newSeries, 4);
  const second = p.process(id, new RemoteWriteReader(req(5)), 1);
  assert.equal(second.newSeries, 0, 'every series known by its own bytes');
  const out = decodeWriteRequest(snappyUncompress(second.body)).timeseries.map((ts) => [ts.labels.join(','), ts.samples[0]?.value]);
  // The two with_pod series become one once pod is denied: the second is dropped, not sent twice.
  assert.deepEqual(out, [
    ['__name__,kept_as_is,job,j,re,x,site,s,tenant,t', 5],
    ['__name__,with_pod,job,j,re,x,site,s,tenant,t', 5],
    ['__name__,claims,re,x,site,s,tenant,t', 5],
  ]);
  assert.equal(second.dropped.get('duplicate_series'), 1);
  // A series whose labels are a prefix of another's is not taken for it.
  const b = new RemoteWriteBatch();
  b.add(encodeLabels(['__name__', 'kept_as_is']), 9, 1000);
  assert.equal(p.process(id, new RemoteWriteReader(Buffer.from(b.finish())), 2).newSeries, 1);
});

both('a series dropped as a duplicate takes over once the series it duplicated goes idle', () => {
  const pipelines = pipelinesOf({ filter: { label_deny: ['pod'] }, series_limit_per_site: 100 });
  const p = make(pipelines);
  const req = (pods: string[], v: number): Buffer => {
    const b = new RemoteWriteBatch();
    for (const pod of pods) b.add(encodeLabels(['__name__', 'm', 'pod', pod]), v, 1000 + v);
    return Buffer.from(b.finish());
  };
  const first = p.process(id, new RemoteWriteReader(req(['a', 'b'], 0)), 0);
  assert.equal(first.samplesOut, 1);
  assert.equal(first.dropped.get('duplicate_series'), 1);
  // Pod a goes away; b keeps pushing and is still a duplicate until a's series goes idle.
  assert.equal(p.process(id, new RemoteWriteReader(req(['b'], 1)), 30_000).samplesOut, 0);
  p.sweep(70_000);
  const after = p.process(id, new RemoteWriteReader(req(['b'], 7)), 70_001);
  assert.equal(after.samplesOut, 1);
  assert.equal(after.dropped.get('duplicate_series'), undefined);
  assert.equal(p.activeSeries().get('t/s'), 1);
});

both('what a known series sends is what the rules make of it: values rewritten, fields written apart, empty values, aggregation', () => {
  const pipelines = pipelinesOf({
    series_limit_per_site: 100,
    // A value made per series (not in the input): the output's field is one of the site's constants.
    relabel_configs: [{ source_labels: ['pod'], regex: '(.*)-[0-9]+', target_label: 'workload', replacement: 'w-$1', action: 'replace' }],
    aggregate: [{ match: '^agg_.*', interval: '1m', without: ['pod'], outputs: ['sum'], keep_input: true }],
  });
  const p = make(pipelines);
  const sample = (v: number): Buffer => {
    const s = Buffer.alloc(17);
    s[0] = 0x12;
    s[1] = 15;
    s[2] = 0x09;
    s.writeDoubleLE(v, 3);
    s[11] = 0x10;
    s.set([0xe8, 0x07], 12); // 1000
    return s.subarray(0, 14);
  };
  const series = (parts: Buffer[]): Buffer => {
    const inner = Buffer.concat(parts);
    return Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
  };
  const fix = (s: Buffer): Buffer => {
    s[1] = 12; // the Sample message is 12 bytes: double tag + 8, timestamp tag + 2
    return s;
  };
  const req = (v: number): Buffer => Buffer.concat([
    series([encodeLabels(['__name__', 'm', 'pod', 'api-1']), fix(sample(v))]),
    // Label fields with the sample between them: not one span.
    series([encodeLabels(['__name__', 'split']), fix(sample(v + 1)), encodeLabels(['pod', 'db-2'])]),
    // An empty value is no label.
    series([encodeLabels(['__name__', 'e', 'empty', '', 'job', 'j']), fix(sample(v + 2))]),
    series([encodeLabels(['__name__', 'agg_x', 'pod', 'api-3']), fix(sample(v + 3))]),
  ]);
  const want = (v: number): [string, number][] => [
    ['__name__,m,pod,api-1,re,x,site,s,tenant,t,workload,w-api', v],
    ['__name__,split,pod,db-2,re,x,site,s,tenant,t,workload,w-db', v + 1],
    ['__name__,e,job,j,re,x,site,s,tenant,t', v + 2],
    ['__name__,agg_x,pod,api-3,re,x,site,s,tenant,t,workload,w-api', v + 3],
  ];
  const read = (r: { body: Buffer }): [string, number][] => decodeWriteRequest(snappyUncompress(r.body)).timeseries.map((ts) => [ts.labels.join(','), ts.samples[0]?.value as number]);
  for (const [round, v] of [[0, 10], [1, 20], [2, 30]] as const) {
    const r = p.process(id, new RemoteWriteReader(req(v), {}, { allowEmptyValues: true }), round);
    assert.equal(r.newSeries, round === 0 ? 4 : 0);
    assert.deepEqual(read(r), want(v), `round ${round}`);
    // The aggregated series goes to the aggregator with its output labels too.
    assert.ok(r.aggregate);
    assert.deepEqual(decodeWriteRequest(r.aggregate.body).timeseries.map((ts) => [ts.labels.join(','), ts.samples[0]?.value]), [want(v)[3]]);
  }
});

/**
 * 600 requests of one site, each changed at random from the last (series new, gone, reordered or
 * renamed; no sample or two; timestamps of other lengths, negative, not whole or going back;
 * stale markers), through a pipeline with templates and one without: bodies, counts and errors
 * must be the same. `compressed`: each body comes as the agent compresses it
 * (RemoteWriteSnappyBatch), and the templated pipeline is given it as the collector does
 * (processBody: a repeat first, else process with the compressed body); there is no pre-aggregation then
 * (a request that feeds one leaves no repeat).
 */
function differential(compressed: boolean): void {
  const pipelines = pipelinesOf({
    filter: { deny: { names: ['denied'] } },
    series_limit_per_site: 60,
    ...(compressed ? {} : { aggregate: [{ match: '^agg_.*', interval: '1m', without: ['pod'], outputs: ['sum'], keep_input: true }] }),
  });
  const fresh = new PushPipeline(pipelines, { re: 'x' }, 60_000, 0);
  const templated = new PushPipeline(pipelines, { re: 'x' }, 60_000, 1 << 20);
  const random = new Random(compressed ? 12 : 11);
  const VALUES = [0, -0, 1.5, NaN, STALE_NAN, Infinity, -1e300];
  // The site's series, in the order its agent sends them; some denied, some aggregated, one with two samples.
  let names = Array.from({ length: 40 }, (_, i) => (i % 9 === 4 ? `denied_${i}` : i % 7 === 3 ? `agg_${i}` : i === 5 ? 'two_samples' : `m_${i}`));
  let nextName = 40;
  let reused = 0;
  let repeats = 0;
  let held = 0;
  for (let round = 0; round < 600; round++) {
    const ts = 1_700_000_000_000 + round * 15_000;
    const change = random.int(30);
    if (change === 0) names.splice(random.int(names.length), 0, `m_${nextName++}`); // a new series
    else if (change === 1) names.splice(random.int(names.length), 1); // one went away
    else if (change === 2) names = [...names.slice(1), names[0] as string]; // another order
    else if (change === 3) {
      // One renamed to another name of the same length: the body keeps its length.
      const i = random.int(names.length);
      const n = names[i] as string;
      if (n.startsWith('m_')) names[i] = `m_${(Number(n.slice(2)) + 1) % 10 ** (n.length - 2)}`.padEnd(n.length, '0');
    }
    const b = compressed ? new RemoteWriteSnappyBatch() : new RemoteWriteBatch();
    names.forEach((n) => {
      const labels = encodeLabels(['__name__', n, 'pod', `p-${n.length % 3}`]);
      // Now and then a series with no sample or two, a timestamp of another length, or one that is not whole.
      const odd = random.int(1500);
      if (n === 'two_samples') b.addSamples(labels, odd < 20 ? [{ value: 1, timestamp: ts }, { value: 2, timestamp: ts - 1 }] : [{ value: 1, timestamp: ts - 1 }, { value: 2, timestamp: ts }]);
      else if (odd === 0) b.addSamples(labels, []);
      else if (odd === 1) b.addSamples(labels, [{ value: 1, timestamp: ts - 1 }, { value: 2, timestamp: ts }]);
      else b.add(labels, VALUES[random.int(VALUES.length)] as number, odd === 2 ? 5 : odd === 3 ? -ts : ts);
    });
    const sent = Buffer.from(b.finish());
    const body = compressed ? snappyUncompress(sent) : sent;
    const outcome = (p: PushPipeline): unknown => {
      try {
        const r = p === templated && compressed ? p.processBody(id, sent, round * 15_000, {}, 64 * 1024 * 1024, { bytes: new Uint8Array(0) }) : p.process(id, new RemoteWriteReader(body), round * 15_000);
        if (r.reused === true && p === templated) reused++;
        if (r.repeat === true && p === templated) repeats++;
        return { ...r, reused: undefined, repeat: undefined, body: r.body.length === 0 ? '' : snappyUncompress(r.body).toString('hex'), aggregate: r.aggregate?.body.toString('hex') };
      } catch (err) {
        return (err as Error).message;
      }
    };
    assert.deepEqual(outcome(templated), outcome(fresh), `round ${round}`);
    // Series that went away are forgotten after a minute (and a site's template with them).
    if (round % 10 === 9) assert.equal(templated.sweep(round * 15_000), fresh.sweep(round * 15_000));
    held = Math.max(held, templated.outputTemplateBytes());
  }
  // Many rounds changed nothing but the samples: after two such, they were written from the template.
  assert.ok(reused > 150, `${reused} of 600 bodies written from the template`);
  // And from the third on, recognised before they were decompressed (never when they feed an aggregation).
  if (compressed) assert.ok(repeats > 100, `${repeats} of 600 bodies recognised as repeats`);
  else assert.equal(repeats, 0);
  assert.ok(held > 0);
  assert.equal(fresh.outputTemplateBytes(), 0);
}

test('a body written from the site\'s template is the body built anew, whatever the next request changes', () => differential(false));

test('a body recognised as the site\'s last one with new samples is the body built anew, whatever the next request changes', () => differential(true));

test('output templates stay within their bound', () => {
  const pipelines = pipelinesOf({ series_limit_per_site: 1000 });
  const p = new PushPipeline(pipelines, { re: 'x' }, 60_000, 8192);
  const names = Array.from({ length: 100 }, (_, i) => `metric_${i}`);
  let reused = 0;
  for (let site = 0; site < 20; site++) {
    for (let round = 0; round < 3; round++) {
      if (p.process({ tenant: 't', site: `s${site}` }, new RemoteWriteReader(request(names, 1000 + round)), round).reused === true) reused++;
    }
  }
  assert.ok(p.outputTemplateBytes() <= 8192, `${p.outputTemplateBytes()} bytes`);
  assert.ok(reused > 0 && reused < 20, `${reused} of 20 sites' second requests reused a template`);
});

test('a site\'s template is kept from its second request in the same order, compressed again: smaller bodies, the same series', () => {
  const pipelines = pipelinesOf({ series_limit_per_site: 1000 });
  const templated = new PushPipeline(pipelines, { re: 'x' }, 60_000, 1 << 20);
  const fresh = new PushPipeline(pipelines, { re: 'x' }, 60_000, 0);
  const names = Array.from({ length: 200 }, (_, i) => `http_requests_total_${i % 20}_${(i * 2654435761 >>> 0).toString(36)}`);
  const sizes: number[] = [];
  for (let round = 0; round < 5; round++) {
    const body = requestWithValues(names.map((n, i) => [n, i * round]), 1_700_000_000_000 + round * 15_000);
    const a = templated.process(id, new RemoteWriteReader(body), round);
    const b = fresh.process(id, new RemoteWriteReader(body), round);
    assert.deepEqual(snappyUncompress(a.body), snappyUncompress(b.body), `round ${round}`);
    // The first request has no last one to match; the second matches it and leaves a template.
    assert.equal(a.reused === true, round > 1, `round ${round}`);
    assert.equal(templated.outputTemplateBytes() > 0, round > 0, `round ${round}`);
    sizes.push(a.body.length);
    if (round === 0) assert.equal(a.body.length, b.body.length);
  }
  assert.ok((sizes[1] as number) < 0.9 * (sizes[0] as number), `bodies of ${sizes.join(', ')} bytes`);
  assert.equal(sizes[4], sizes[1]);
});
