// One collector, two real remote-write receivers at once: Prometheus 2.42 and
// VictoriaMetrics 1.79 (Debian packages). Each target has its own durable
// queue and sender; both must hold exactly what the pipeline kept.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Collector, validateCollectorConfig } from '../collector/index.js';
import { REMOTE_WRITE_HEADERS, RemoteWriteBatch, encodeLabels } from '../wire/index.js';
import { startPrometheus } from './peers/prometheus.js';
import { startVictoriaMetrics } from './peers/victoria-metrics.js';

const TOKEN = 'token-fanout-site-eeeeeeeeeeee';

test('the collector delivers the same samples to Prometheus and to VictoriaMetrics', { timeout: 90_000 }, async () => {
  const prom = await startPrometheus({ config: 'global: {scrape_interval: 1h}\n', flags: ['--web.enable-remote-write-receiver'] });
  const vm = await startVictoriaMetrics();
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-fanout-'));
  const collector = await Collector.start(validateCollectorConfig({
    external_labels: { re: 'eu-central' },
    queue: { dir: join(dir, 'queue') },
    sites: [{ token: TOKEN, tenant: 'acme', site: 'ce-fan' }],
    tenants: { acme: { pipeline: { filter: { deny: { prefixes: ['go_'] } } } } },
    remote_write: [{ url: `${prom.url}/api/v1/write` }, { url: `${vm.url}/api/v1/write` }],
  }, 'fanout.yml'), { listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
  try {
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 120_000;
    const want = new Map<string, [number, number][]>();
    for (let round = 0; round < 5; round++) {
      const b = new RemoteWriteBatch();
      for (let s = 0; s < 20; s++) {
        const name = s % 5 === 0 ? 'go_goroutines' : 'fan_metric';
        const value = round * 100 + s + 0.25;
        b.add(encodeLabels(['__name__', name, 'series', String(s).padStart(2, '0')]), value, t0 + round * 1000);
        if (name === 'fan_metric') {
          const k = String(s).padStart(2, '0');
          want.set(k, [...(want.get(k) ?? []), [t0 + round * 1000, value]]);
        }
      }
      const res = await fetch(`${collector.url}/api/v1/write`, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, Authorization: `Bearer ${TOKEN}` }, body: b.finishCompressed() });
      assert.equal(res.status, 204);
    }
    const expected = [...want].sort().map(([k, samples]) => ({ series: k, samples }));
    const deadline = Date.now() + 60_000;
    let fromProm: unknown;
    let fromVm: unknown;
    for (;;) {
      const p = await prom.api<{ result: { metric: Record<string, string>; values: [number, string][] }[] }>(`/api/v1/query?query=${encodeURIComponent('{__name__=~"fan_metric|go_goroutines"}[10m]')}&time=${(t0 + 60_000) / 1000}`);
      fromProm = p.result.map((r) => ({ series: r.metric.series, labels: r.metric, samples: r.values.map(([t, v]) => [Math.round(t * 1000), Number(v)]) }))
        .sort((a, b) => String(a.series).localeCompare(String(b.series)));
      const v = await vm.exportSeries('{__name__=~"fan_metric|go_goroutines"}');
      fromVm = v.map((r) => ({ series: r.metric.series, labels: r.metric, samples: r.timestamps.map((t, i) => [t, r.values[i]]) }))
        .sort((a, b) => String(a.series).localeCompare(String(b.series)));
      const done = (x: unknown): boolean => Array.isArray(x) && x.length === expected.length && x.every((s: { samples: unknown[] }) => s.samples.length === 5);
      if ((done(fromProm) && done(fromVm)) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    for (const [peer, got] of [['Prometheus', fromProm], ['VictoriaMetrics', fromVm]] as const) {
      const rows = got as { series: string; labels: Record<string, string>; samples: [number, number][] }[];
      assert.deepEqual(rows.map(({ series, samples }) => ({ series, samples })), expected, `${peer} holds exactly what was kept`);
      for (const r of rows) assert.deepEqual(r.labels, { __name__: 'fan_metric', series: r.series, re: 'eu-central', tenant: 'acme', site: 'ce-fan' }, peer);
    }
  } finally {
    await collector.stop();
    await prom.stop();
    await vm.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('sites shard across two VictoriaMetrics by consistent hash, each site whole on one, with HA labels', { timeout: 90_000 }, async () => {
  const vms = [await startVictoriaMetrics(), await startVictoriaMetrics()];
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-shard-'));
  const tokens = Array.from({ length: 10 }, (_, i) => `token-shard-site-${String(i).padStart(10, '0')}`);
  const collector = await Collector.start(validateCollectorConfig({
    ha: { cluster: 're-eu-1', replica: 'collector-a' },
    queue: { dir: join(dir, 'queue') },
    sites: tokens.map((token, i) => ({ token, tenant: 'acme', site: `ce-${i}` })),
    tenants: { acme: { pipeline: {} } },
    remote_write: vms.map((vm) => ({ url: `${vm.url}/api/v1/write`, shard_group: 'cortex' })),
  }, 'shard.yml'), { listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
  try {
    const t = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    for (const [i, token] of tokens.entries()) {
      const b = new RemoteWriteBatch();
      for (let s = 0; s < 5; s++) b.add(encodeLabels(['__name__', 'shard_metric', 'n', String(s)]), i * 10 + s, t);
      assert.equal((await fetch(`${collector.url}/api/v1/write`, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, Authorization: `Bearer ${token}` }, body: b.finishCompressed() })).status, 204);
    }
    const deadline = Date.now() + 60_000;
    let held: { metric: Record<string, string> }[][] = [];
    for (;;) {
      held = await Promise.all(vms.map((vm) => vm.exportSeries('shard_metric')));
      if (held[0]!.length + held[1]!.length === 50 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(held[0]!.length + held[1]!.length, 50, 'every series landed exactly once');
    const sitesOn = held.map((rows) => new Set(rows.map((r) => r.metric.site)));
    assert.ok(sitesOn[0]!.size > 0 && sitesOn[1]!.size > 0, `both shards used: ${[...sitesOn[0]!]} | ${[...sitesOn[1]!]}`);
    for (const s of sitesOn[0]!) assert.ok(!sitesOn[1]!.has(s), `site ${s} is split across shards`);
    for (const rows of held) {
      for (const r of rows) {
        assert.equal(r.metric.cluster, 're-eu-1');
        assert.equal(r.metric.__replica__, 'collector-a');
      }
    }
  } finally {
    await collector.stop();
    await Promise.all(vms.map((vm) => vm.stop()));
    await rm(dir, { recursive: true, force: true });
  }
});
