import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logsConfigSchema } from './config.js';
import { LogBatch, LogPipeline, decodeBufferRecord, describeDoc } from './pipeline.js';

const config = logsConfigSchema.parse({
  tenants: { acme: { drop: [{ field: 'k8s.ns', matches: '^kube-' }, { field: 'level', equals: 'debug' }], redact: { fields: ['secret', 'a.b'], patterns: [{ regex: 'token=\\w+', replacement: 'token=***' }] } } },
  elasticsearch: { nodes: ['http://es:9200'], per_tenant: true },
});

test('enrichment, filters, redaction, ids and indices', () => {
  const p = new LogPipeline(config, 'eu-1');
  const b = new LogBatch({ tenant: 'acme', site: 'ce-1' }, true);
  const t = Date.UTC(2026, 11, 1, 8);
  assert.equal(p.add(b, { message: 'x token=abc', tenant: 'spoof', site: 'spoof', re: 'spoof', secret: 's', a: { b: 1, c: 'token=q' } }, t, undefined, undefined), true);
  assert.equal(p.add(b, { message: 'y', k8s: { ns: 'kube-system' } }, t, undefined, undefined), false);
  assert.equal(p.add(b, { message: 'y', 'k8s.ns': 'kube-public' }, t, undefined, undefined), false, 'a flat dotted key matches too');
  assert.equal(p.add(b, { message: 'z', level: 'debug' }, t, undefined, undefined), false);
  assert.equal(p.add(b, { message: 'w', level: 'info' }, t, '2026-12-01T08:00:00.000000001Z', undefined), true);
  assert.equal(b.received, 5);
  assert.equal(b.dropped.get('filter'), 3);
  const docs = decodeBufferRecord(b.encode()).map((d) => ({ op: d.op, ...describeDoc(d) }));
  assert.equal(docs.length, 2);
  assert.equal(docs[0]?.index, 'fleetscope-logs-acme-2026.12.01');
  assert.equal(docs[0]?.op, 'index');
  assert.deepEqual(JSON.parse(docs[0]?.source as string), { message: 'x token=***', tenant: 'acme', site: 'ce-1', re: 'eu-1', secret: '[REDACTED]', a: { b: '[REDACTED]', c: 'token=***' }, '@timestamp': '2026-12-01T08:00:00.000000000Z' });
  assert.equal(JSON.parse(docs[1]?.source as string)['@timestamp'], '2026-12-01T08:00:00.000000001Z');
  assert.deepEqual(b.out?.map((r) => [r.tenant, r.site, r.timestampMs]), [['acme', 'ce-1', t], ['acme', 'ce-1', t]]);
});

test('ids: deterministic across batches, distinct for identical records in one batch and across sites', () => {
  const p = new LogPipeline(config, undefined);
  const ids = (site: string): string[] => {
    const b = new LogBatch({ tenant: 'acme', site }, false);
    for (let i = 0; i < 3; i++) p.add(b, { message: 'same' }, 1000, undefined, undefined);
    p.add(b, { message: 'client' }, 1000, undefined, 'my-id');
    return b.ids;
  };
  const a = ids('ce-1');
  assert.deepEqual(ids('ce-1'), a, 'the same records give the same ids');
  assert.equal(new Set(a).size, 4);
  assert.equal(ids('ce-2').filter((x) => a.includes(x)).length, 0, 'another site, other ids');
});

test('data streams use create and per-tenant names; no Elasticsearch: nothing buffered', () => {
  const ds = new LogPipeline(logsConfigSchema.parse({ elasticsearch: { nodes: ['http://es:9200'], data_stream: 'logs-fleet' } }), undefined);
  const b = new LogBatch({ tenant: 'Acme', site: 's' }, false);
  ds.add(b, { m: 1 }, 0, undefined, undefined);
  assert.deepEqual(decodeBufferRecord(b.encode()).map((d) => [d.op, describeDoc(d).index]), [['create', 'logs-fleet']]);
  const none = new LogPipeline(logsConfigSchema.parse({}), undefined);
  const n = new LogBatch({ tenant: 'a', site: 's' }, true);
  assert.equal(none.add(n, { m: 1 }, 0, undefined, undefined), true);
  assert.equal(n.docs, 0);
  assert.equal(n.out?.length, 1);
  assert.equal(n.dropped.get('no_elasticsearch'), 1);
});
