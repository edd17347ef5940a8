// A push worker that dies: its request in flight is answered 503 (nothing of it was
// acknowledged), the worker is started again, and pushes go on. The worker is made to die
// for real: a heap limit (push_worker_max_heap_mb) and a request whose rules keep more than
// that alive (a relabel rule copying a long per-series value into a label of its own makes
// one constant field per series, kept in the site's table).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Collector, loadCollectorConfig } from '../collector/index.js';
import { REMOTE_WRITE_HEADERS, RemoteWriteBatch, encodeLabels } from '../wire/index.js';

const TOKEN = 'token-crash-site-aaaaaaaaaaaa';

function body(series: number, valueBytes: number, tag: string): Buffer {
  const b = new RemoteWriteBatch();
  for (let i = 0; i < series; i++) b.add(encodeLabels(['__name__', 'm', 'id', `${tag}-${i}-${'x'.repeat(valueBytes)}`]), i, Date.now());
  return b.finishCompressed();
}

test('a push worker over its heap limit fails its request with 503, is started again, and the next push is taken', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-worker-crash-'));
  const file = join(dir, 'collector.yml');
  await writeFile(file, [
    `queue: {dir: ${JSON.stringify(join(dir, 'queue'))}}`,
    `sites: [{token: ${TOKEN}, tenant: acme, site: ce-1}]`,
    'tenants: {acme: {pipeline: {series_limit_per_site: 1000000, relabel_configs: [{source_labels: [id], target_label: copy, action: replace}]}}}',
    'push_workers: 1',
    'push_worker_max_heap_mb: 64',
  ].join('\n'));
  const collector = await Collector.start(await loadCollectorConfig(file), { listen: '127.0.0.1:0', configFile: file, logger: pino({ level: 'silent' }) });
  const push = async (b: Buffer): Promise<number> =>
    (await fetch(`${collector.url}/api/v1/write`, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, Authorization: `Bearer ${TOKEN}` }, body: b })).status;
  const metric = async (name: string): Promise<number> => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`${collector.url}/metrics`)).text());
    return Number(m?.[1] ?? NaN);
  };
  try {
    assert.equal(await push(body(10, 10, 'before')), 204);
    // ~20 MB of per-series constants kept alive per request, against a 64 MB heap: the worker runs out of memory.
    let status = 0;
    for (let attempt = 0; attempt < 10 && status !== 503; attempt++) status = await push(body(20_000, 1000, `big${attempt}`));
    assert.equal(status, 503, 'the request the worker died in is not acknowledged');
    assert.equal(await metric('fleetscope_collector_push_worker_restarts_total'), 1);
    // The restarted worker takes pushes again (its caches start empty).
    let after = 0;
    for (let attempt = 0; attempt < 50 && after !== 204; attempt++) {
      after = await push(body(10, 10, 'after'));
      if (after !== 204) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(after, 204);
    assert.equal(await metric('fleetscope_collector_push_workers'), 1);
  } finally {
    await collector.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
