// SIGKILL the collector under load while the receiver is down, so that what
// it acknowledged exists only in its durable queue; start it again: every
// acknowledged sample reaches the real Prometheus 2.42 receiver.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REMOTE_WRITE_HEADERS, RemoteWriteBatch, encodeLabels } from '../wire/index.js';
import { freePort, startPrometheus } from './peers/prometheus.js';

const TOKEN = 'token-crash-site-cccccccccccccc';
const BIN = new URL('../../bin/fleetscope.js', import.meta.url).pathname;

async function startCollector(config: string, port: number): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [BIN, 'collector', '--config', config, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/-/ready`)).ok) return proc;
    } catch {
      // starting
    }
    if (proc.exitCode !== null) throw new Error(`collector exited with ${proc.exitCode}`);
    if (Date.now() > deadline) throw new Error('collector not ready in 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('SIGKILL of the collector loses no acknowledged sample', { timeout: 120_000 }, async () => {
  const prom = await startPrometheus({ config: 'global: {scrape_interval: 1h}\n', flags: ['--web.enable-remote-write-receiver'] });
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-crash-'));
  const config = join(dir, 'collector.yml');
  await writeFile(config, [
    `queue: {dir: ${JSON.stringify(join(dir, 'queue'))}}`,
    `sites: [{token: ${TOKEN}, tenant: acme, site: ce-crash}]`,
    'tenants: {acme: {pipeline: {}}}',
    `remote_write: [{url: "${prom.url}/api/v1/write", min_backoff: 20ms, max_backoff: 200ms}]`,
  ].join('\n'));
  const port = await freePort();
  let collector: ChildProcess | undefined;
  try {
    collector = await startCollector(config, port);
    const running = collector;
    await prom.kill(); // the receiver is down: acknowledged data lives only in the queue
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 90_000;
    const acked: number[] = [];
    let next = 0;
    const pusher = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        const b = new RemoteWriteBatch();
        b.add(encodeLabels(['__name__', 'crash_series', 'w', String(i % 4)]), i, t0 + i);
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/write`, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, Authorization: `Bearer ${TOKEN}` }, body: b.finishCompressed() });
          if (res.status === 204) acked.push(i);
        } catch {
          return; // the collector is gone
        }
        if (acked.length >= 400 && running.exitCode === null && !running.killed) running.kill('SIGKILL');
      }
    };
    await Promise.all([pusher(), pusher(), pusher(), pusher()]);
    assert.ok(acked.length >= 400, `only ${acked.length} pushes acknowledged`);
    const killed = running;
    if (killed.exitCode === null && killed.signalCode === null) await new Promise((r) => killed.once('exit', r));
    await prom.restart();
    collector = await startCollector(config, port);
    const want = acked.map((i) => t0 + i).sort((a, b) => a - b);
    const deadline = Date.now() + 60_000;
    let got: number[] = [];
    for (;;) {
      const data = await prom.api<{ result: { values: [number, string][] }[] }>(`/api/v1/query?query=${encodeURIComponent('crash_series[10m]')}&time=${(t0 + 100_000) / 1000}`);
      got = data.result.flatMap((r) => r.values.map(([t]) => Math.round(t * 1000))).sort((a, b) => a - b);
      if (want.every((ts) => got.includes(ts)) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const missing = want.filter((ts) => !got.includes(ts));
    assert.deepEqual(missing, [], `${missing.length} of ${want.length} acknowledged samples never arrived`);
    assert.equal(new Set(got).size, got.length, 'no sample stored twice');
  } finally {
    collector?.kill('SIGKILL');
    await prom.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
