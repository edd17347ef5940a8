// The push route on Node's own server (push-http.ts): sized and chunked
// bodies, the body limit declared and sent, a sender that goes away
// mid-body, and that the connection and every other route still work.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, type IncomingMessage, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { REMOTE_WRITE_HEADERS, encodeWriteRequest, snappyCompress } from '../wire/index.js';
import { Collector } from './collector.js';
import { validateCollectorConfig } from './config.js';
import { isPush } from './push-http.js';

const TOKEN = 'token-site-a-aaaaaaaaaaaaaaaa';
const LIMIT = 64 * 1024;
let collector: Collector;
let dir = '';
let port = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-push-http-'));
  const loaded = validateCollectorConfig({
    queue: { dir: join(dir, 'queue') },
    sites: [{ token: TOKEN, tenant: 'acme', site: 'ce-1' }],
    tenants: { acme: { pipeline: {} } },
    limits: { max_body_bytes: LIMIT },
  }, 'test.yml');
  collector = await Collector.start(loaded, { listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
  port = Number(new URL(collector.url).port);
});

after(async () => {
  await collector?.stop();
  await rm(dir, { recursive: true, force: true });
});

const bodyOf = (n: number, name = 'm'): Buffer =>
  snappyCompress(encodeWriteRequest({ timeseries: Array.from({ length: n }, (_, i) => ({ labels: ['__name__', name, 'i', String(i)], samples: [{ value: i, timestamp: Date.now() }] })) }));

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly connection: string | undefined;
  readonly socket: unknown;
}

/** POSTs `chunks` (written one by one; no Content-Length when `chunked`). */
function post(chunks: Buffer[], opts: { chunked?: boolean; agent?: Agent; path?: string; token?: string | null } = {}): Promise<Answer> {
  const length = chunks.reduce((n, c) => n + c.length, 0);
  const headers: Record<string, string | number> = { ...REMOTE_WRITE_HEADERS, ...(opts.token === null ? {} : { authorization: `Bearer ${opts.token ?? TOKEN}` }) };
  if (opts.chunked !== true) headers['content-length'] = length;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: opts.path ?? '/api/v1/write', headers, agent: opts.agent ?? false }, (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, connection: res.headers.connection, socket: req.socket }));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

async function metric(pattern: RegExp): Promise<number> {
  const m = pattern.exec(await (await fetch(`${collector.url}/metrics`)).text());
  return m === null ? 0 : Number(m[1]);
}
const received = (): Promise<number> => metric(/fleetscope_collector_samples_received_total\{tenant="acme",site="ce-1"\} (\d+)/);

test('which requests take the push route', () => {
  const r = (method: string, url: string): Parameters<typeof isPush>[0] => ({ method, url }) as Parameters<typeof isPush>[0];
  assert.equal(isPush(r('POST', '/api/v1/write')), true);
  assert.equal(isPush(r('POST', '/api/v1/write?tenant=x')), true);
  assert.equal(isPush(r('GET', '/api/v1/write')), false);
  assert.equal(isPush(r('POST', '/api/v1/writes')), false);
  assert.equal(isPush(r('POST', '/api/v1/write/x')), false);
  assert.equal(isPush(r('POST', '/-/reload')), false);
});

test('a sized body and a chunked one are both taken, in pieces, on one kept-alive connection', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const before = await received();
    const b = bodyOf(50);
    const sized = await post([b.subarray(0, 10), b.subarray(10)], { agent });
    assert.equal(sized.status, 204, sized.text);
    const chunked = await post([b.subarray(0, 7), b.subarray(7, 30), b.subarray(30)], { agent, chunked: true });
    assert.equal(chunked.status, 204, chunked.text);
    assert.equal(sized.socket, chunked.socket, 'the same connection served both');
    const query = await post([b], { agent, path: '/api/v1/write?from=agent' });
    assert.equal(query.status, 204, query.text);
    assert.equal(await received(), before + 150);
  } finally {
    agent.destroy();
  }
});

test('over limits.max_body_bytes: 413 naming the limit, declared or sent chunked; nothing of it is taken', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const before = await received();
    const big = Buffer.alloc(LIMIT + 1, 1);
    const declared = await post([big], { agent });
    assert.equal(declared.status, 413);
    assert.match(declared.text, /request body of 65537 bytes is over limits\.max_body_bytes \(65536\)/);
    // A declared size is refused before the body is read; the rest is read and dropped, the connection kept.
    const next = await post([bodyOf(3)], { agent });
    assert.equal(next.status, 204, next.text);
    assert.equal(next.socket, declared.socket);
    const chunked = await post([big.subarray(0, 40_000), big.subarray(40_000)], { chunked: true });
    assert.equal(chunked.status, 413);
    assert.match(chunked.text, /is over limits\.max_body_bytes \(65536\)/);
    assert.equal(chunked.connection, 'close', 'a chunked body over the limit may not end: the connection closes');
    assert.equal(await received(), before + 3);
  } finally {
    agent.destroy();
  }
});

test('refused by its headers: 401 and 415 with a reason, whatever the body', async () => {
  const b = bodyOf(2);
  const anonymous = await post([b], { token: null });
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.text, /"error":/);
  const stranger = await post([b], { token: 'token-nobody-knows-zzzzzzzzzz' });
  assert.equal(stranger.status, 401);
  const plain = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/write', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-protobuf', 'content-length': b.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(b);
  });
  assert.equal(plain, 415);
});

test('a sender that goes away mid-body costs nothing: no answer owed, nothing taken, the next push served', async () => {
  const before = await received();
  const requestsBefore = await metric(/fleetscope_collector_requests_total\{code="204"\} (\d+)/);
  const b = bodyOf(40);
  await new Promise<void>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(`POST /api/v1/write HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Encoding: snappy\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${b.length}\r\n\r\n`);
      s.write(b.subarray(0, b.length >> 1), () => setTimeout(() => {
        s.destroy();
        resolve();
      }, 50));
    });
    s.on('error', reject);
  });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(await received(), before, 'half a body is not a push');
  const next = await post([bodyOf(4)]);
  assert.equal(next.status, 204, next.text);
  assert.equal(await received(), before + 4);
  assert.equal(await metric(/fleetscope_collector_requests_total\{code="204"\} (\d+)/), requestsBefore + 1);
});

test('every other route is still fastify\'s: health, readiness, metrics, 404', async () => {
  assert.equal((await fetch(`${collector.url}/-/healthy`)).status, 200);
  assert.equal((await fetch(`${collector.url}/-/ready`)).status, 200);
  assert.equal((await fetch(`${collector.url}/api/v1/write`)).status, 404);
  assert.equal((await fetch(`${collector.url}/nope`, { method: 'POST', body: 'x' })).status, 404);
});
