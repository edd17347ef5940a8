// Pre-aggregation end to end against a real Prometheus 2.42 receiver: two
// sites push a counter (one of them restarts: its counter resets) and a
// histogram; the collector aggregates them into vmagent-named series; the
// collector process is SIGKILLed half-way and started again, while the
// sites retry what was not acknowledged. PromQL then reads back totals that
// equal the counters' true increase exactly (nothing lost to the crash,
// nothing counted twice, never going backwards across the reset), and a
// histogram whose kept buckets and _count agree. Some pushes arrive twice, the
// second time after a later one (an agent's retry whose first answer was
// lost): counted once.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REMOTE_WRITE_HEADERS, RemoteWriteBatch, encodeLabels } from '../wire/index.js';
import { freePort, startPrometheus } from './peers/prometheus.js';

const BIN = new URL('../../bin/fleetscope.js', import.meta.url).pathname;
const A = 'token-aggregate-site-a-aaaaaaaa';
const B = 'token-aggregate-site-b-bbbbbbbb';
const STEPS = 32;
const RESET_AT = 12;
const KILL_AT = 18;

async function startCollector(config: string, port: number): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [BIN, 'collector', '--config', config, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (const deadline = Date.now() + 20_000; ;) {
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

/** Site A's counter: +3 a step, restarting from 0 at RESET_AT. Site B's: +5 a step. */
const counterA = (i: number): number => (i < RESET_AT ? 3 * i : 3 * (i - RESET_AT));
const counterB = (i: number): number => 1000 + 5 * i;

function body(site: 'a' | 'b', i: number, ts: number): Buffer {
  const b = new RemoteWriteBatch();
  const l = (...pairs: string[]): Buffer => encodeLabels(pairs);
  if (site === 'a') {
    b.add(l('__name__', 'http_requests_total', 'code', '200', 'pod', 'web-1'), counterA(i), ts);
    // A histogram: observations at 0.05 (i of them) and at 2 (2i).
    b.add(l('__name__', 'lat_bucket', 'le', '+Inf', 'pod', 'web-1'), 3 * i, ts);
    b.add(l('__name__', 'lat_bucket', 'le', '0.1', 'pod', 'web-1'), i, ts);
    b.add(l('__name__', 'lat_bucket', 'le', '0.5', 'pod', 'web-1'), i, ts);
    b.add(l('__name__', 'lat_count', 'pod', 'web-1'), 3 * i, ts);
    b.add(l('__name__', 'lat_sum', 'pod', 'web-1'), 4.05 * i, ts);
    b.add(l('__name__', 'node_load1'), i, ts);
  } else {
    b.add(l('__name__', 'http_requests_total', 'code', '200', 'pod', 'web-9'), counterB(i), ts);
  }
  return b.finishCompressed();
}

test('aggregates through a counter reset and a SIGKILL of the collector are exact in Prometheus', { timeout: 90_000 }, async () => {
  const prom = await startPrometheus({ config: 'global: {scrape_interval: 1h}\n', flags: ['--web.enable-remote-write-receiver'] });
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-aggregate-'));
  const config = join(dir, 'collector.yml');
  await writeFile(config, `
external_labels: {re: eu-1}
queue: {dir: ${JSON.stringify(join(dir, 'queue'))}}
sites:
  - {token: ${A}, tenant: acme, site: ce-a}
  - {token: ${B}, tenant: acme, site: ce-b}
tenants:
  acme:
    pipeline:
      aggregate:
        - {match: http_requests_total, interval: 2s, max_delay: 5s, without: [pod, site], outputs: [total, count_series]}
        - {match: 'lat_(bucket|sum|count)', interval: 2s, max_delay: 5s, by: [site], outputs: [total], keep_le: ['0.5']}
remote_write: [{url: "${prom.url}/api/v1/write", min_backoff: 20ms, max_backoff: 200ms}]
`);
  const port = await freePort();
  let collector: ChildProcess | undefined;
  let unacked = 0;
  const push = async (token: string, payload: Buffer): Promise<void> => {
    // A site agent retries until acknowledged: through the crash, too.
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/write`, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, Authorization: `Bearer ${token}` }, body: payload });
        if (res.status === 204) return;
        throw new Error(`push answered ${res.status}: ${await res.text()}`);
      } catch (err) {
        if ((err as Error).message.startsWith('push answered')) throw err;
        unacked++;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  try {
    collector = await startCollector(config, port);
    let lastSample = 0;
    let prevTs = 0;
    for (let i = 0; i < STEPS; i++) {
      const ts = Date.now();
      lastSample = ts;
      if (i === KILL_AT) {
        collector.kill('SIGKILL');
        await new Promise((r) => collector?.once('exit', r));
        const restarted = startCollector(config, port);
        await Promise.all([push(A, body('a', i, ts)), push(B, body('b', i, ts))]);
        collector = await restarted;
      } else {
        await Promise.all([push(A, body('a', i, ts)), push(B, body('b', i, ts))]);
      }
      if (i % 7 === 6) {
        // A retry arriving late (its response was lost): the previous step again, after this one.
        await Promise.all([push(A, body('a', i - 1, prevTs)), push(B, body('b', i - 1, prevTs))]);
      }
      prevTs = ts;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(unacked > 0, 'some pushes met the killed collector and were retried');
    const lastTs = Date.now();

    const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> =>
      (await prom.api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(q)}`)).result;
    // True increase: A climbs 3·(RESET_AT−1), restarts at 0 (an increase of 0), climbs 3·(STEPS−1−RESET_AT); B climbs 5·(STEPS−1).
    const want = 3 * (RESET_AT - 1) + 3 * (STEPS - 1 - RESET_AT) + 5 * (STEPS - 1);
    const total = 'http_requests_total:2s_without_pod_site_total';
    for (const deadline = Date.now() + 30_000; ;) {
      // The window holding the last sample ends after it.
      const r = await query(`max_over_time(timestamp(${total})[2m:1s]) * 1000 > ${lastSample}`);
      if (r.length > 0) break;
      if (Date.now() > deadline) throw new Error(`the last window never arrived:\n${prom.output()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const [t] = await query(total);
    assert.deepEqual(t?.metric, { __name__: total, code: '200', re: 'eu-1', tenant: 'acme' });
    assert.equal(Number(t?.value[1]), want);
    // Never backwards: over the whole run, through the reset and the crash.
    const range = await prom.api<{ result: { values: [number, string][] }[] }>(`/api/v1/query_range?query=${encodeURIComponent(total)}&start=${(lastTs - 60_000) / 1000}&end=${(lastTs + 30_000) / 1000}&step=1`);
    const values = range.result[0]?.values.map(([, v]) => Number(v)) ?? [];
    assert.ok(values.length > 5);
    for (let k = 1; k < values.length; k++) assert.ok((values[k] as number) >= (values[k - 1] as number), `total went from ${values[k - 1]} to ${values[k]}`);
    assert.equal(Number((await query('max_over_time(http_requests_total:2s_without_pod_site_count_series[2m])'))[0]?.value[1]), 2);

    // The histogram: only le="0.5" and +Inf kept; _count's total equals the +Inf bucket's; raw input not stored.
    const buckets = await query('lat_bucket:2s_by_site_total');
    assert.deepEqual(buckets.map((b) => b.metric.le).sort(), ['+Inf', '0.5']);
    const inf = buckets.find((b) => b.metric.le === '+Inf');
    assert.equal(inf?.metric.site, 'ce-a');
    assert.equal(Number(inf?.value[1]), 3 * (STEPS - 1));
    assert.equal(Number(buckets.find((b) => b.metric.le === '0.5')?.value[1]), STEPS - 1);
    assert.equal(Number((await query('lat_count:2s_by_site_total'))[0]?.value[1]), 3 * (STEPS - 1));
    assert.ok(Math.abs(Number((await query('lat_sum:2s_by_site_total'))[0]?.value[1]) - 4.05 * (STEPS - 1)) < 1e-9);
    assert.equal((await query('{__name__=~"http_requests_total|lat_bucket"}')).length, 0, 'the aggregated inputs are not forwarded');
    assert.equal((await query('node_load1{site="ce-a"}')).length, 1, 'what no rule takes goes on as it is');
  } finally {
    collector?.kill('SIGTERM');
    await prom.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
