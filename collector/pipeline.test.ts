import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RemoteWriteBatch, RemoteWriteReader, encodeLabels, decodeWriteRequest, snappyUncompress } from '../wire/index.js';
import { validateCollectorConfig } from './config.js';
import { PushPipeline } from './pipeline.js';

const id = { tenant: 't', site: 's' };

function request(names: string[], ts = 1000): Buffer {
  const b = new RemoteWriteBatch();
  for (const n of names) b.add(encodeLabels(['__name__', n]), 1, ts);
  return Buffer.from(b.finish());
}

function pipeline(filter: unknown, limit: number): PushPipeline {
  const { pipelines } = validateCollectorConfig({
    sites: [{ token: 'pipeline-test-token-000', tenant: 't', site: 's' }],
    tenants: { t: { pipeline: { filter, series_limit_per_site: limit } } },
  }, 'p.yml');
  return new PushPipeline(pipelines, { re: 'x' }, 60_000);
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

test('identity and external labels are set on every kept series', () => {
  const p = pipeline({}, 10);
  const r = p.process(id, new RemoteWriteReader(request(['a_metric'])), 0);
  assert.equal(r.snappy, true);
  assert.deepEqual(decodeWriteRequest(snappyUncompress(r.body)).timeseries[0]?.labels, ['__name__', 'a_metric', 're', 'x', 'site', 's', 'tenant', 't']);
});

test('a known series is recognised wherever it comes in the request, and never taken for its neighbour', () => {
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

test('a request that fails half-way leaves the cache and positions as they were', () => {
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

test('a swept series is evaluated again, even at the position it held', () => {
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

test('dropped series are remembered only within a bound', () => {
  const p = pipeline({ allow: { names: ['kept'] } }, 2);
  const names = Array.from({ length: 100 }, (_, i) => `dropped_${i}`);
  const r = p.process(id, new RemoteWriteReader(request(names)), 0);
  assert.equal(r.samplesOut, 0);
  assert.equal(r.dropped.get('not_in_allowlist'), 100);
  assert.ok(p.cachedSeries('t', 's') <= 8, `cache holds ${p.cachedSeries('t', 's')} entries for a limit of 2`);
});

test('idle series are forgotten and stop counting against the limit', () => {
  const p = pipeline({}, 2);
  assert.equal(p.process(id, new RemoteWriteReader(request(['a', 'b', 'c'])), 0).dropped.get('series_limit'), 1);
  assert.equal(p.sweep(120_000), 2);
  const again = p.process(id, new RemoteWriteReader(request(['c', 'd'])), 120_000);
  assert.equal(again.samplesOut, 2);
});

test('series are known again by their own label bytes when rules change, drop or override labels', () => {
  const { pipelines } = validateCollectorConfig({
    sites: [{ token: 'pipeline-test-token-000', tenant: 't', site: 's' }],
    tenants: { t: { pipeline: { filter: { label_deny: ['pod'] }, series_limit_per_site: 100 } } },
  }, 'p.yml');
  const p = new PushPipeline(pipelines, { re: 'x' }, 60_000);
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

test('a series dropped as a duplicate takes over once the series it duplicated goes idle', () => {
  const { pipelines } = validateCollectorConfig({
    sites: [{ token: 'pipeline-test-token-000', tenant: 't', site: 's' }],
    tenants: { t: { pipeline: { filter: { label_deny: ['pod'] }, series_limit_per_site: 100 } } },
  }, 'p.yml');
  const p = new PushPipeline(pipelines, { re: 'x' }, 60_000);
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

test('what a known series sends is what the rules make of it: values rewritten, fields written apart, empty values, aggregation', () => {
  const { pipelines } = validateCollectorConfig({
    sites: [{ token: 'pipeline-test-token-000', tenant: 't', site: 's' }],
    tenants: {
      t: {
        pipeline: {
          series_limit_per_site: 100,
          // A value made per series (not in the input): the output's field is one of the site's constants.
          relabel_configs: [{ source_labels: ['pod'], regex: '(.*)-[0-9]+', target_label: 'workload', replacement: 'w-$1', action: 'replace' }],
          aggregate: [{ match: '^agg_.*', interval: '1m', without: ['pod'], outputs: ['sum'], keep_input: true }],
        },
      },
    },
  }, 'p.yml');
  const p = new PushPipeline(pipelines, { re: 'x' }, 60_000);
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
