import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RemoteWriteBatch, RemoteWriteReader, encodeLabels, decodeWriteRequest } from '../wire/index.js';
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

test('identity and external labels are set on every kept series', () => {
  const p = pipeline({}, 10);
  const r = p.process(id, new RemoteWriteReader(request(['a_metric'])), 0);
  assert.deepEqual(decodeWriteRequest(r.body).timeseries[0]?.labels, ['__name__', 'a_metric', 're', 'x', 'site', 's', 'tenant', 't']);
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
