import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import Fastify from 'fastify';
import { type FaroLogRecord, registerFaroRoutes } from './index.js';

const NOW = '2026-12-01T08:00:00.000Z';
const payload = {
  meta: { app: { name: 'fleet-page', version: '0.1.0' }, session: { id: 's1' }, page: { url: 'http://control/' }, sdk: { name: '@grafana/faro-web-sdk' } },
  logs: [{ message: 'loaded', level: 'info', timestamp: NOW, context: { view: 'fleet' } }],
  exceptions: [{ type: 'TypeError', value: 'x is undefined', timestamp: NOW, stacktrace: { frames: [{ filename: 'app.js', function: 'render', lineno: 3, colno: 9 }] } }],
  measurements: [{ type: 'web-vitals', values: { lcp: 120, cls: 0.01 }, timestamp: NOW }],
  events: [{ name: 'rollout_paused', timestamp: NOW, attributes: { rollout: 'r1' } }],
};

async function setup(opts: Parameters<typeof registerFaroRoutes>[2] = {}, accept = true) {
  const app = Fastify();
  const got: FaroLogRecord[] = [];
  const { registry } = registerFaroRoutes(app, (r) => { if (!accept) return false; got.push(...r); return true; }, { allowedOrigins: ['http://page.example'], ...opts });
  await app.ready();
  return { app, got, registry };
}

test('a Faro payload becomes log records and metrics, with CORS for the allowed origin', async () => {
  const { app, got, registry } = await setup({ tenant: 'ops', re: 'eu-1', site: 'fleet-page' });
  const res = await app.inject({ method: 'POST', url: '/faro/collect', headers: { 'content-type': 'application/json', origin: 'http://page.example' }, payload: JSON.stringify(payload) });
  assert.equal(res.statusCode, 202, res.body);
  assert.equal(res.headers['access-control-allow-origin'], 'http://page.example');
  assert.deepEqual(got.map((r) => r.doc.kind), ['log', 'exception', 'measurement', 'event']);
  const ex = got[1];
  assert.equal(ex?.tenant, 'ops');
  assert.equal(ex?.timestampMs, Date.parse(NOW));
  assert.equal(ex?.doc['@timestamp'], NOW);
  assert.equal(ex?.doc.message, 'TypeError: x is undefined');
  assert.equal(ex?.doc.stacktrace, 'render (app.js:3:9)');
  for (const r of got) assert.deepEqual([r.doc.tenant, r.doc.re, r.doc.site, r.doc.app], ['ops', 'eu-1', 'fleet-page', 'fleet-page']);
  const text = await registry.metrics();
  assert.match(text, /fleetscope_collector_faro_items_total\{app="fleet-page",kind="exception"\} 1/);
  assert.match(text, /fleetscope_collector_faro_exceptions_total\{app="fleet-page",type="TypeError"\} 1/);
  assert.match(text, /fleetscope_collector_faro_measurement_value_count\{app="fleet-page",type="web-vitals",name="lcp"\} 1/);
  assert.match(text, /fleetscope_collector_faro_requests_total\{code="202"\} 1/);
  const pre = await app.inject({ method: 'OPTIONS', url: '/faro/collect', headers: { origin: 'http://page.example', 'access-control-request-method': 'POST' } });
  assert.equal(pre.statusCode, 204);
  assert.match(String(pre.headers['access-control-allow-headers']), /x-faro-session-id/);
});

test('refusals: origin, key, media type, JSON, schema with its path, size, gzip bomb, backpressure', async () => {
  const { app, got, registry } = await setup({ apiKey: 'k', maxBodyBytes: 4096 });
  const post = (headers: Record<string, string>, body: string | Buffer) => app.inject({ method: 'POST', url: '/faro/collect', headers: { 'content-type': 'application/json', 'x-api-key': 'k', ...headers }, payload: body });
  const cases: [Record<string, string>, string | Buffer, number, RegExp][] = [
    [{ origin: 'http://evil.example' }, JSON.stringify(payload), 403, /FS_COLLECTOR_FARO_ORIGIN_FORBIDDEN/],
    [{ 'x-api-key': 'wrong' }, JSON.stringify(payload), 401, /FS_COLLECTOR_FARO_UNAUTHORIZED/],
    [{ 'content-type': 'application/x-protobuf' }, 'x', 415, /FS_COLLECTOR_FARO_UNSUPPORTED_MEDIA_TYPE/],
    [{}, '{not json', 400, /not JSON/],
    [{}, '', 400, /not JSON/],
    [{}, JSON.stringify({ ...payload, logs: [{ message: 'm', timestamp: 'yesterday' }] }), 400, /logs\.0\.timestamp: not an RFC 3339 timestamp/],
    [{}, JSON.stringify({ logs: [] }), 400, /meta/],
    [{}, 'x'.repeat(5000), 413, /FS_COLLECTOR_FARO_TOO_LARGE/],
    [{ 'content-encoding': 'gzip' }, gzipSync(Buffer.alloc(100_000, 32)), 413, /FS_COLLECTOR_FARO_TOO_LARGE/],
    [{ 'content-encoding': 'br' }, 'x', 415, /content-encoding br/],
  ];
  for (const [headers, body, status, re] of cases) {
    const res = await post(headers, body);
    assert.equal(res.statusCode, status, `${JSON.stringify(headers)}: ${res.body}`);
    assert.match(res.body, re);
  }
  assert.equal(got.length, 0);
  const ok = await post({ 'content-encoding': 'gzip' }, gzipSync(JSON.stringify(payload)));
  assert.equal(ok.statusCode, 202, ok.body);
  assert.match(await registry.metrics(), /fleetscope_collector_faro_payloads_dropped_total\{reason="invalid"\} 4/);
  const full = await setup({}, false);
  const res = await full.app.inject({ method: 'POST', url: '/faro/collect', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
  assert.equal(res.statusCode, 429);
  assert.equal(res.headers['retry-after'], '5');
  assert.doesNotMatch(await full.registry.metrics(), /faro_items_total\{/, 'nothing refused is counted as accepted');
});

test('label values from the payload are bounded', async () => {
  const { app, registry } = await setup();
  for (let i = 0; i < 30; i++) {
    const res = await app.inject({ method: 'POST', url: '/faro/collect', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ meta: { app: { name: `app-${i}` } }, logs: [{ message: 'm', timestamp: NOW }] }) });
    assert.equal(res.statusCode, 202);
  }
  const apps = new Set([...(await registry.metrics()).matchAll(/faro_items_total\{app="([^"]+)"/g)].map((m) => m[1]));
  assert.equal(apps.size, 21);
  assert.ok(apps.has('other'));
});
