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

test('ids: the same on a resend of a keyed request, distinct for identical records accepted separately', () => {
  const p = new LogPipeline(config, undefined);
  const ids = (site: string, key: string | undefined): string[] => {
    const b = new LogBatch({ tenant: 'acme', site }, false);
    if (key !== undefined) p.keyBatch(b, { kind: 'request', key });
    for (let i = 0; i < 3; i++) p.add(b, { message: 'same' }, 1000, undefined, undefined);
    p.add(b, { message: 'client' }, 1000, undefined, 'my-id');
    p.add(b, { message: 'client again' }, 1000, undefined, 'my-id');
    return b.ids;
  };
  const a = ids('ce-1', 'chunk-1');
  assert.equal(new Set(a).size, 5, 'identical records in one request are distinct documents');
  assert.deepEqual(ids('ce-1', 'chunk-1'), a, 'a resend of the same request (same key) gives the same ids');
  const other = ids('ce-1', 'chunk-2');
  assert.deepEqual(other.filter((x) => a.includes(x)), [a[3], a[4]], 'another request: other ids, except the client\'s own _id');
  assert.equal(ids('ce-2', 'chunk-1').filter((x) => a.includes(x)).length, 0, 'another site, other ids, even for the same key and client id');
  const u1 = ids('ce-1', undefined);
  const u2 = ids('ce-1', undefined);
  assert.equal(u1.slice(0, 3).filter((x) => u2.includes(x)).length, 0, 'without a key, each accept has its own ids: the same line twice is two documents');
  assert.equal(new Set([...u1, ...u2, ...a]).size, 3 + 3 + 3 + 2, 'only the two client ids repeat');
  const again = new LogPipeline(config, undefined);
  const b = new LogBatch({ tenant: 'acme', site: 'ce-1' }, false);
  again.add(b, { message: 'same' }, 1000, undefined, undefined);
  assert.ok(!u1.includes(b.ids[0] as string) && !u2.includes(b.ids[0] as string), 'a restarted collector never reuses an accept id');
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
