// The collector's push path end to end against a real Prometheus 2.42
// remote-write receiver standing in for Cortex: authenticated sites push,
// the pipeline cuts and labels, the durable queue and sender deliver, and
// a receiver outage loses nothing that was acknowledged. The same suite runs
// with the pipeline on the main thread (collector-push.test.ts) and on push
// worker threads (collector-push-workers.test.ts).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { Collector, validateCollectorConfig } from '../collector/index.js';
import { REMOTE_WRITE_HEADERS, RemoteWriteBatch, RemoteWriteSnappyBatch, encodeLabels, encodeWriteRequest, snappyCompress } from '../wire/index.js';
import { startPrometheus, type PrometheusPeer } from './peers/prometheus.js';

/** Defines the push suite, the pipeline on `workers` worker threads (0: the main thread). */
export function definePushSuite(workers: number): void {
  const ACME = 'token-acme-ce-0001-aaaaaaaaaaaa';
  const GLOBEX = 'token-globex-ce-0002-bbbbbbbbbb';

  let prom: PrometheusPeer;
  let collector: Collector;
  let dir = '';

  before(async () => {
    prom = await startPrometheus({ config: 'global: {scrape_interval: 1h}\n', flags: ['--web.enable-remote-write-receiver'] });
    dir = await mkdtemp(join(tmpdir(), 'fleetscope-collector-'));
    const loaded = validateCollectorConfig({
      external_labels: { re: 'eu-west-1' },
      queue: { dir: join(dir, 'queue') },
      sites: [
        { token: ACME, tenant: 'acme', site: 'ce-0001', group: 'stores' },
        { token: GLOBEX, tenant: 'globex', site: 'ce-0002' },
      ],
      tenants: {
        acme: {
          pipeline: {
            filter: { allow: { prefixes: ['node_', 'http_', 'limit_'] }, label_deny: ['uid'] },
            relabel_configs: [{ source_labels: ['code'], regex: '([0-9])..', target_label: 'code_class', replacement: '${1}xx' }],
          },
          groups: { stores: { series_limit_per_site: 8 } },
        },
        globex: { pipeline: {} },
      },
      remote_write: [{ url: `${prom.url}/api/v1/write`, min_backoff: '20ms', max_backoff: '200ms' }],
      push_workers: workers,
    }, 'test.yml');
    collector = await Collector.start(loaded, { listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
  });

  after(async () => {
    await collector?.stop();
    await prom?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function body(series: [string[], number, number][]): Buffer {
    const b = new RemoteWriteBatch();
    for (const [labels, value, ts] of series) b.add(encodeLabels(labels), value, ts);
    return b.finishCompressed();
  }

  /** A body as fleetscope's agent compresses it (RemoteWriteSnappyBatch: every sample in a literal). */
  function agentBody(series: [string[], number, number][]): Buffer {
    const b = new RemoteWriteSnappyBatch();
    for (const [labels, value, ts] of series) b.add(encodeLabels(labels), value, ts);
    return Buffer.from(b.finish());
  }

  async function push(token: string | undefined, payload: Uint8Array, headers: Record<string, string> = REMOTE_WRITE_HEADERS): Promise<{ status: number; text: string }> {
    const res = await fetch(`${collector.url}/api/v1/write`, {
      method: 'POST',
      headers: token === undefined ? headers : { ...headers, Authorization: `Bearer ${token}` },
      body: payload,
    });
    return { status: res.status, text: await res.text() };
  }

  async function stored(query: string, atMs: number): Promise<{ metric: Record<string, string>; values: [number, string][] }[]> {
    const data = await prom.api<{ result: { metric: Record<string, string>; values: [number, string][] }[] }>(
      `/api/v1/query?query=${encodeURIComponent(query)}&time=${atMs / 1000}`,
    );
    return data.result;
  }

  async function eventually<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await f();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  test('identity comes from the token, the pipeline cuts and labels, Prometheus stores it', { timeout: 60_000 }, async () => {
    const now = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const res = await push(ACME, body([
      [['__name__', 'http_requests_total', 'code', '503', 'uid', 'u-1'], 7, now],
      [['__name__', 'node_load1', 'empty', '', 'site', 'ce-0002', 'tenant', 'globex'], 0.5, now], // an empty value, and spoofing another tenant's site
      [['__name__', 'go_goroutines'], 42, now], // not in the allowlist
    ]));
    assert.equal(res.status, 204, res.text);
    const got = await eventually('acme series in Prometheus', async () => {
      const r = await stored('{tenant=~".+"}[10m]', now + 1000);
      return r.length >= 2 ? r : undefined;
    });
    const byName = new Map(got.map((r) => [r.metric.__name__, r]));
    assert.deepEqual(byName.get('http_requests_total')?.metric, { __name__: 'http_requests_total', code: '503', code_class: '5xx', re: 'eu-west-1', site: 'ce-0001', tenant: 'acme' });
    assert.deepEqual(byName.get('node_load1')?.metric, { __name__: 'node_load1', re: 'eu-west-1', site: 'ce-0001', tenant: 'acme' });
    assert.deepEqual(byName.get('node_load1')?.values, [[now / 1000, '0.5']]);
    assert.equal(byName.has('go_goroutines'), false);
    assert.equal((await stored('{tenant="globex"}[10m]', now + 1000)).length, 0, 'a site cannot write another tenant\'s series');
    const metrics = await (await fetch(`${collector.url}/metrics`)).text();
    assert.match(metrics, /fleetscope_collector_samples_dropped_total\{tenant="acme",site="ce-0001",reason="not_in_allowlist"\} 1/);
    assert.match(metrics, new RegExp(`fleetscope_collector_push_workers ${workers}\n`), 'the pipeline ran where the config said');
  });

  test('bad input is refused with a status and a reason, and costs nothing accepted', async () => {
    const ok = body([[['__name__', 'node_x'], 1, Date.now()]]);
    assert.equal((await push(undefined, ok)).status, 401);
    assert.equal((await push('not-a-known-token-at-all', ok)).status, 401);
    const plain = await push(ACME, ok, { ...REMOTE_WRITE_HEADERS, 'Content-Encoding': 'identity' });
    assert.equal(plain.status, 415);
    const garbage = await push(ACME, Buffer.from('definitely not snappy'));
    assert.equal(garbage.status, 400);
    assert.match(garbage.text, /FS_WIRE_SNAPPY_CORRUPT|FS_WIRE_PROTOBUF/);
    const bomb = await push(ACME, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]));
    assert.equal(bomb.status, 413);
    assert.match(bomb.text, /FS_WIRE_SNAPPY_TOO_LARGE/);
    // One bad series makes the whole request 400: the good series before it is not taken either.
    const mixed = snappyCompress(encodeWriteRequest({ timeseries: [
      { labels: ['__name__', 'node_refused_with_request'], samples: [{ value: 1, timestamp: Date.now() }] },
      { labels: ['__name__', 'node_bad', 'b', '1', 'a', '2'], samples: [{ value: 1, timestamp: Date.now() }] },
    ] }));
    const invalid = await push(ACME, mixed);
    assert.equal(invalid.status, 400);
    assert.match(invalid.text, /series 1: labels are not sorted/);
    const tooBig = await push(ACME, Buffer.alloc(17 * 1024 * 1024));
    assert.equal(tooBig.status, 413);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await stored('node_refused_with_request[10m]', Date.now())).length, 0);
  });

  test('the per-site series limit drops new series and keeps existing ones flowing', { timeout: 60_000 }, async () => {
    const t = Math.floor(Date.now() / 1000) * 1000 - 50_000;
    const series = (n: number, ts: number): [string[], number, number][] => Array.from({ length: n }, (_, i) => [['__name__', 'limit_series', 'i', String(i)], i, ts]);
    // acme/ce-0001 already has 2 active series; the limit is 8.
    assert.equal((await push(ACME, body(series(10, t)))).status, 204);
    assert.equal((await push(ACME, body(series(10, t + 1000)))).status, 204);
    const got = await eventually('limited series', async () => {
      const r = await stored('limit_series[10m]', t + 2000);
      return r.length >= 6 && r.every((s) => s.values.length === 2) ? r : undefined;
    });
    assert.equal(got.length, 6);
    const metrics = await (await fetch(`${collector.url}/metrics`)).text();
    assert.match(metrics, /fleetscope_collector_samples_dropped_total\{tenant="acme",site="ce-0001",reason="series_limit"\} 8/);
  });

  test('a receiver outage loses nothing acknowledged, and nothing arrives twice', { timeout: 90_000 }, async () => {
    await prom.kill();
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 40_000;
    const sent: number[] = [];
    for (let i = 0; i < 20; i++) {
      const ts = t0 + i * 1000;
      const res = await push(GLOBEX, agentBody([[['__name__', 'outage_series', 'k', 'v'], i, ts]]));
      assert.equal(res.status, 204, 'pushes are acknowledged while the receiver is down');
      sent.push(ts);
    }
    // The same series every time: from the third push on, each body is the site's template with
    // its sample put in (push_output_cache_bytes); from the fourth, the push is recognised as the
    // last one with another sample before it is decompressed. Prometheus must read every value below.
    const counters = await (await fetch(`${collector.url}/metrics`)).text();
    const reused = Number(/fleetscope_collector_push_bodies_reused_total ([0-9.e+]+)/.exec(counters)?.[1] ?? NaN);
    assert.ok(reused >= 18, `${reused} pushes written from a template`);
    const repeats = Number(/fleetscope_collector_push_repeats_total ([0-9.e+]+)/.exec(counters)?.[1] ?? NaN);
    assert.ok(repeats >= 17, `${repeats} pushes recognised as repeats`);
    // The sender tries (after its batch deadline), fails and retries while the receiver is down.
    await eventually('a retried send', async () => (/fleetscope_collector_send_retries_total\{remote="[^"]+",reason="network"\} [1-9]/.test(await (await fetch(`${collector.url}/metrics`)).text()) ? true : undefined), 10_000);
    // The queue's age says how long the undelivered data has waited, and keeps growing through the outage.
    const age = async (): Promise<number> => Number(/fleetscope_collector_queue_oldest_age_seconds\{remote="[^"]+"\} ([0-9.e+-]+)/.exec(await (await fetch(`${collector.url}/metrics`)).text())?.[1] ?? NaN);
    const firstAge = await eventually('a queue age', async () => ((await age()) > 0 ? age() : undefined), 10_000);
    await eventually('an older queue age', async () => ((await age()) > firstAge + 0.5 ? true : undefined), 10_000);
    await prom.restart();
    const got = await eventually('every sample after the outage', async () => {
      const r = await stored('outage_series[10m]', t0 + 25_000);
      return r[0] && r[0].values.length >= sent.length ? r : undefined;
    }, 60_000);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]?.metric, { __name__: 'outage_series', k: 'v', re: 'eu-west-1', site: 'ce-0002', tenant: 'globex' });
    assert.deepEqual(got[0]?.values, sent.map((ts, i) => [ts / 1000, String(i)]));
    await eventually('the queue age back to 0 once delivered', async () => ((await age()) === 0 ? true : undefined), 20_000);
  });
}
