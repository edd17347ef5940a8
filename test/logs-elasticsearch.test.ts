// The Elasticsearch-compatible ingest (GET /, POST /_bulk, /{index}/_bulk,
// POST /api/v1/logs) used by the official @elastic/elasticsearch client, and
// the egress against the Elasticsearch STAND-IN of
// test/peers/elasticsearch-responder.ts (it follows the published bulk API;
// no Elasticsearch can be installed here): mixed per-item statuses with
// `errors: true`, 429s, 5xx answers, a full outage, dead letters, and
// data streams with `create`.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { type LogsHarness, SITE2_TOKEN, SITE_TOKEN, startLogsHarness, storedSources, waitFor } from './logs-harness.js';

const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const post = (h: LogsHarness, path: string, body: string, auth = `Bearer ${SITE_TOKEN}`): Promise<Response> =>
  fetch(`${h.collector.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson', Authorization: auth }, body });
const ndjson = (...objs: unknown[]): string => `${objs.map((o) => (typeof o === 'string' ? o : JSON.stringify(o))).join('\n')}\n`;

describe('Elasticsearch-compatible ingest', () => {
  test('the official client passes its product check and bulk-indexes through the collector', async () => {
    const h = await startLogsHarness();
    try {
      const client = new Client({ node: h.collector.url, auth: { bearer: SITE_TOKEN }, maxRetries: 0 });
      const info = await client.info();
      assert.match(info.version.number, /^8\./);
      const res = await client.bulk({
        operations: [{ index: { _index: 'ignored' } }, { '@timestamp': '2026-12-01T08:00:00.5Z', message: 'via client 1' }, { create: {} }, { message: 'via client 2', tenant: 'spoofed' }],
      });
      assert.equal(res.errors, false);
      assert.equal(res.items.length, 2);
      assert.equal(res.items[0]?.index?.status, 201);
      assert.equal(res.items[0]?.index?._index, 'fleetscope-logs-2026.12.01');
      await waitFor('two docs', () => h.es.docs.size === 2);
      const docs = storedSources(h.es);
      assert.ok(docs.every((d) => d.tenant === 'acme' && d.site === 'ce-0001' && d.re === 'eu-west-1'));
      assert.equal(docs.find((d) => d.message === 'via client 1')?.['@timestamp'], '2026-12-01T08:00:00.5Z');
      // Every answer carries the product header; the egress speaks compatible-with=8 (the stand-in refuses 9 as Elasticsearch 8 does).
      const r = await fetch(`${h.collector.url}/`);
      assert.equal(r.headers.get('x-elastic-product'), 'Elasticsearch');
      const head = await fetch(`${h.collector.url}/`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('x-elastic-product'), 'Elasticsearch');
      assert.ok(h.es.requests.every((q) => /compatible-with=8/.test(String(q.headers.accept))));
      await client.close();
    } finally {
      await h.stop();
    }
  });

  test('per-item answers, auth, malformed bodies and limits', async () => {
    const h = await startLogsHarness({}, { http: { max_body_bytes: 1024 * 1024, max_lines: 12, max_line_bytes: 4096 } });
    try {
      assert.equal((await post(h, '/_bulk', ndjson({ index: {} }, { m: 1 }), 'Bearer nope-nope-nope-nope')).status, 401);
      assert.equal((await post(h, '/_bulk', ndjson({ index: {} }, { m: 1 }), '')).status, 401);
      const mixed = await post(h, '/app/_bulk', ndjson(
        { index: { _id: 'client-id-1' } }, { message: 'kept 1' },
        { update: { _id: 'x' } }, { doc: { a: 1 } },
        { delete: { _id: 'y' } },
        { create: {} }, '{"message": "broken json',
        { create: {} }, { message: 'kept 2', level: 'debug' },
        { create: {} }, { message: 'kept 3' },
      ), basic('whoever', SITE_TOKEN));
      assert.equal(mixed.status, 200);
      const body = (await mixed.json()) as { errors: boolean; items: Record<string, { status: number; result?: string; error?: { type: string } }>[] };
      assert.equal(body.errors, true);
      assert.deepEqual(body.items.map((i) => Object.keys(i)[0]), ['index', 'update', 'delete', 'create', 'create', 'create']);
      assert.deepEqual(body.items.map((i) => (Object.values(i)[0] as { status: number }).status), [201, 400, 400, 400, 201, 201]);
      assert.equal(body.items[3]?.create?.error?.type, 'document_parsing_exception');
      assert.equal(body.items[4]?.create?.result, 'noop', 'dropped by the tenant filter');
      await waitFor('two kept docs', () => h.es.docs.size === 2);
      assert.deepEqual(storedSources(h.es).map((d) => d.message).sort(), ['kept 1', 'kept 3']);

      // A malformed action line refuses the whole request: nothing of it is stored.
      const bad = await post(h, '/_bulk', ndjson({ index: {} }, { message: 'not stored' }, '{"index": '));
      assert.equal(bad.status, 400);
      assert.match(JSON.stringify(await bad.json()), /FS_COLLECTOR_LOGS_BULK_SYNTAX|line 3/);
      assert.equal((await post(h, '/_bulk', ndjson({ index: {} }))).status, 400, 'an action without its source');
      assert.equal((await post(h, '/_bulk', ndjson(...Array.from({ length: 14 }, () => ({ index: {} }))))).status, 413);
      assert.equal((await post(h, '/_bulk', ndjson({ index: {} }, { big: 'x'.repeat(5000) }))).status, 413);
      assert.equal((await post(h, '/_bulk', 'x'.repeat(2 * 1024 * 1024))).status, 413);

      // JSON lines: all or nothing, the bad line named.
      const jl = await post(h, '/api/v1/logs', ndjson({ message: 'jl 1' }, { message: 'jl 2' }), `Bearer ${SITE2_TOKEN}`);
      assert.deepEqual(await jl.json(), { accepted: 2, dropped: 0 });
      const jlBad = await post(h, '/api/v1/logs', ndjson({ message: 'jl 3' }, { message: 'jl 4' }, '[1,2]'));
      assert.equal(jlBad.status, 400);
      assert.match(((await jlBad.json()) as { message: string }).message, /^line 3: not a JSON object/);
      await waitFor('json-lines docs', () => h.es.docs.size === 4);
      assert.ok(storedSources(h.es).filter((d) => String(d.message).startsWith('jl')).every((d) => d.tenant === 'globex' && d.site === 'ce-0100'));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(h.es.docs.size, 4, 'nothing of the refused requests arrived');
      // The same document in two requests is two documents (Elasticsearch gives each its own id too); a client _id is one;
      // a JSON-lines batch resent with its X-Fleetscope-Batch-Id is not stored twice.
      for (let i = 0; i < 2; i++) {
        assert.equal((await post(h, '/_bulk', ndjson({ index: {} }, { message: 'same twice' }, { index: { _id: 'mine' } }, { message: 'client id twice' }))).status, 200);
        const r = await fetch(`${h.collector.url}/api/v1/logs`, { method: 'POST', headers: { Authorization: `Bearer ${SITE_TOKEN}`, 'X-Fleetscope-Batch-Id': 'batch-1' }, body: ndjson({ message: 'batch resent' }, { message: 'batch resent' }) });
        assert.equal(r.status, 200);
      }
      const count = (m: string): number => storedSources(h.es).filter((d) => d.message === m).length;
      await waitFor('the repeated docs', () => h.es.docs.size === 4 + 2 + 1 + 2);
      assert.deepEqual([count('same twice'), count('client id twice'), count('batch resent')], [2, 1, 2]);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(h.es.docs.size, 9);
    } finally {
      await h.stop();
    }
  });
});

describe('egress to the Elasticsearch stand-in', () => {
  test('mixed per-item statuses: 429 retried, mapping errors dead-lettered, the rest stored once', async () => {
    const attempts = new Map<string, number>();
    const h = await startLogsHarness({
      itemFault: (_op, _index, id, src) => {
        if (src.bad === true) return { status: 400, type: 'mapper_parsing_exception', reason: 'failed to parse field [bad] of type [long]' };
        if (src.flaky === true) {
          const n = (attempts.get(id as string) ?? 0) + 1;
          attempts.set(id as string, n);
          if (n <= 2) return { status: 429, type: 'es_rejected_execution_exception', reason: 'rejected execution' };
          if (n === 3) return { status: 503, type: 'unavailable_shards_exception', reason: 'primary shard is not active' };
        }
        return undefined;
      },
    });
    try {
      const lines: unknown[] = [];
      for (let i = 0; i < 30; i++) lines.push({ index: {} }, { message: `m${i}`, n: i, ...(i % 10 === 3 ? { bad: true } : {}), ...(i % 7 === 1 ? { flaky: true } : {}) });
      const res = await post(h, '/_bulk', ndjson(...lines));
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { errors: boolean }).errors, false, 'the collector accepted all: delivery is its problem now');
      await waitFor('27 stored', () => h.es.docs.size === 27);
      await waitFor('3 dead letters', async () => (await readFile(h.deadLetter, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean).length === 3);
      const dead = (await readFile(h.deadLetter, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { reason: string; status: number; doc: { message: string; site: string } });
      assert.deepEqual(dead.map((d) => d.doc.message).sort(), ['m13', 'm23', 'm3']);
      assert.ok(dead.every((d) => d.reason === 'mapper_parsing_exception' && d.status === 400 && d.doc.site === 'ce-0001'));
      assert.ok([...attempts.values()].every((n) => n === 4), 'each flaky item tried until stored');
      assert.equal(new Set(h.es.writes).size, h.es.writes.length, 'no document written twice');
      const metrics = await (await fetch(`${h.collector.url}/metrics`)).text();
      assert.match(metrics, /fleetscope_collector_logs_failed_total\{reason="mapper_parsing_exception"\} 3/);
      assert.match(metrics, /fleetscope_collector_logs_retries_total\{reason="rate_limited"\} [1-9]/);
      assert.match(metrics, /fleetscope_collector_logs_indexed_total 27/);
    } finally {
      await h.stop();
    }
  });

  test('a full outage and 503 answers: everything acknowledged arrives once, afterwards', async () => {
    const h = await startLogsHarness();
    try {
      await h.es.pause();
      for (let r = 0; r < 10; r++) {
        const lines: unknown[] = [];
        for (let i = 0; i < 20; i++) lines.push({ create: {} }, { message: `outage ${r}-${i}` });
        assert.equal((await post(h, '/_bulk', ndjson(...lines))).status, 200);
      }
      await new Promise((r) => setTimeout(r, 500));
      h.es.options = { requestStatus: 503 };
      await h.es.resume();
      await waitFor('a refused request', () => h.es.requests.length > 0);
      h.es.options = {};
      await waitFor('all 200 after the outage', () => h.es.docs.size === 200);
      assert.equal(new Set(h.es.writes).size, 200);
      const metrics = await (await fetch(`${h.collector.url}/metrics`)).text();
      assert.match(metrics, /fleetscope_collector_logs_retries_total\{reason="network"\} [1-9]/);
      assert.match(metrics, /fleetscope_collector_logs_retries_total\{reason="http_503"\} [1-9]/);
    } finally {
      await h.stop();
    }
  });

  test('data streams: create operations; a resend answered 409 counts as stored, not as an error', async () => {
    const h = await startLogsHarness({}, {}, { data_stream: 'logs-fleet', per_tenant: true });
    try {
      const doc = { '@timestamp': '2026-12-01T09:00:00Z', message: 'same record' };
      assert.equal((await post(h, '/_bulk', ndjson({ create: { _id: 'order-1' } }, doc))).status, 200);
      await waitFor('stored', () => h.es.docs.size === 1);
      // The same record again with its _id (a client's resend): the same document id, so Elasticsearch answers 409.
      assert.equal((await post(h, '/_bulk', ndjson({ index: { _id: 'order-1' } }, doc))).status, 200);
      await waitFor('the resend answered', () => h.es.requests.length >= 2);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(h.es.docs.size, 1);
      assert.equal([...h.es.docs.values()][0]?.index, 'logs-fleet-acme');
      assert.ok(h.es.requests.every((q) => q.path === '/_bulk'));
      assert.equal(await readFile(h.deadLetter, 'utf8').catch(() => ''), '', 'no dead letter for a 409 on create');
      const metrics = await (await fetch(`${h.collector.url}/metrics`)).text();
      assert.match(metrics, /fleetscope_collector_logs_indexed_total 2/);
    } finally {
      await h.stop();
    }
  });
});
