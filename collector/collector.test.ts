import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { REMOTE_WRITE_HEADERS, encodeWriteRequest, snappyCompress } from '../wire/index.js';
import { Collector } from './collector.js';
import { loadCollectorConfig } from './config.js';

const A = 'token-site-a-aaaaaaaaaaaaaaaa';
const B = 'token-site-b-bbbbbbbbbbbbbbbb';
const body = snappyCompress(encodeWriteRequest({ timeseries: [{ labels: ['__name__', 'm'], samples: [{ value: 1, timestamp: Date.now() }] }] }));

test('reload applies new sites, reports restart-only changes, and keeps the old config when the new one is invalid', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-reload-'));
  const file = join(dir, 'collector.yml');
  const yaml = (sites: string[], extra = ''): string =>
    `queue: {dir: ${JSON.stringify(join(dir, 'queue'))}}\nsites: [${sites.map((t, i) => `{token: ${t}, tenant: acme, site: ce-${i}}`).join(', ')}]\ntenants: {acme: {pipeline: {}}}\n${extra}`;
  await writeFile(file, yaml([A]));
  const collector = await Collector.start(await loadCollectorConfig(file), { listen: '127.0.0.1:0', configFile: file, logger: pino({ level: 'silent' }) });
  const push = async (token: string): Promise<number> =>
    (await fetch(`${collector.url}/api/v1/write`, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, Authorization: `Bearer ${token}` }, body })).status;
  const reload = async (): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`${collector.url}/-/reload`, { method: 'POST' });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  try {
    assert.equal(await push(A), 204);
    assert.equal(await push(B), 401);
    // No remote_write target yet: the accepted sample is dropped, and counted as such.
    assert.match(await (await fetch(`${collector.url}/metrics`)).text(), /samples_dropped_total\{tenant="acme",site="ce-0",reason="no_remote_write"\} 1/);

    await writeFile(file, yaml([A, B], 'remote_write: [{url: "http://127.0.0.1:1/api/v1/write"}]\n'));
    const ok = await reload();
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, { status: 'reloaded', restart_needed: ['remote_write'] });
    assert.equal(await push(B), 204, 'the new site is accepted without a restart');

    await writeFile(file, yaml([A], 'tenants: {oops: 1}\n'));
    const bad = await reload();
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.error), /collector\.yml: /);
    assert.equal(await push(B), 204, 'the running config stays after a rejected reload');
    const metrics = await (await fetch(`${collector.url}/metrics`)).text();
    assert.match(metrics, /fleetscope_collector_config_reloads_total\{result="failure"\} 1/);
    assert.match(metrics, /fleetscope_collector_config_last_reload_successful 0/);
  } finally {
    await collector.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
