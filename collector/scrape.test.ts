import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { decodeWriteRequest, isStaleNaN } from '../wire/index.js';
import { validateCollectorConfig } from './config.js';
import { CollectorMetrics } from './metrics.js';
import { type Identity, PushPipeline, type PushResult } from './pipeline.js';
import { ScrapeLoop, type ScrapeSink } from './scrape.js';
import { ScrapeManager } from './scrape-manager.js';
import { scrapeJobSchema } from './scrape-config.js';
import { targetsFromGroup } from './targets.js';

const log = pino({ level: 'silent' });

/** What the fixture server answers, per path. */
const answers = new Map<string, { status?: number; type?: string; body: string; delayMs?: number }>();
const requests: IncomingMessage[] = [];
let server: Server;
let addr = '';

before(async () => {
  server = createServer((req, res) => {
    requests.push(req);
    const a = answers.get((req.url ?? '/').split('?')[0] as string);
    if (!a) return void res.writeHead(404).end('no');
    setTimeout(() => {
      res.writeHead(a.status ?? 200, { 'Content-Type': a.type ?? 'text/plain; version=0.0.4' });
      res.end(a.body);
    }, a.delayMs ?? 0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

interface Captured {
  id: Identity;
  series: { labels: Record<string, string>; value: number; timestamp: number }[];
  result: PushResult;
}

function setup(pipeline: unknown = {}, limit = 1000): { sink: ScrapeSink; got: Captured[]; pipeline: PushPipeline } {
  const { pipelines } = validateCollectorConfig({ tenants: { acme: { pipeline: { ...(pipeline as object), series_limit_per_site: limit } } } }, 't.yml');
  const p = new PushPipeline(pipelines, { re: 'eu-1' }, 60_000);
  const got: Captured[] = [];
  const sink: ScrapeSink = {
    pipeline: () => p,
    accept: async (id, result) => {
      const series = decodeWriteRequest(result.body).timeseries.map((ts) => {
        const labels: Record<string, string> = {};
        for (let i = 0; i < ts.labels.length; i += 2) labels[ts.labels[i] as string] = ts.labels[i + 1] as string;
        return { labels, value: ts.samples[0]?.value as number, timestamp: ts.samples[0]?.timestamp as number };
      });
      got.push({ id, series, result });
      return { ok: true };
    },
  };
  return { sink, got, pipeline: p };
}

function loop(sink: ScrapeSink, job: Record<string, unknown>, group: Record<string, unknown> = {}): ScrapeLoop {
  const j = scrapeJobSchema.parse({ job_name: 'ce', tenant: 'acme', scrape_interval: '1h', ...job });
  const { targets, errors } = targetsFromGroup(j, { targets: [addr], labels: {}, site: 'ce-1', ...group } as never, new Set(['acme']));
  assert.deepEqual(errors, []);
  return new ScrapeLoop(targets[0]!, sink, new CollectorMetrics(), log);
}

const byName = (c: Captured, name: string): Captured['series'] => c.series.filter((s) => s.labels.__name__ === name);

test('a scrape: target, external and identity labels; honor_labels off renames clashes; report series', async () => {
  answers.set('/metrics', { body: '# TYPE a counter\na{job="theirs",x="1"} 5\nb 2 1700000000000\n' });
  const { sink, got } = setup();
  const l = loop(sink, {}, { labels: { zone: 'z1', __tenant__: 'acme' } });
  const r = await l.scrape();
  assert.deepEqual(r.up && [r.scraped, r.kept, r.added], [2, 2, 2]);
  const c = got[0]!;
  assert.deepEqual(c.id, { tenant: 'acme', site: 'ce-1', group: undefined });
  assert.deepEqual(byName(c, 'a')[0]?.labels, { __name__: 'a', exported_job: 'theirs', instance: addr, job: 'ce', re: 'eu-1', site: 'ce-1', tenant: 'acme', x: '1', zone: 'z1' });
  assert.equal(byName(c, 'a')[0]?.value, 5);
  assert.equal(byName(c, 'b')[0]?.timestamp, 1700000000000, 'honor_timestamps keeps the exposition timestamp');
  for (const [name, value] of [['up', 1], ['scrape_samples_scraped', 2], ['scrape_samples_post_metric_relabeling', 2], ['scrape_series_added', 2]] as const) {
    assert.equal(byName(c, name)[0]?.value, value, name);
    assert.equal(byName(c, name)[0]?.labels.job, 'ce');
  }
  assert.ok((byName(c, 'scrape_duration_seconds')[0]?.value ?? -1) >= 0);
  // Second scrape of the same body: nothing added, same values.
  await l.scrape();
  assert.equal(byName(got[1]!, 'scrape_series_added')[0]?.value, 0);
  assert.equal(byName(got[1]!, 'a')[0]?.value, 5);
  assert.equal(got[1]!.series.filter((s) => isStaleNaN(s.value)).length, 0);
});

test('honor_labels keeps the scraped job; the filter and the rules apply; the series limit counts scraped series', async () => {
  answers.set('/metrics', { body: 'a{job="theirs"} 1\nb 2\nnode_c 3\nnode_d 4\nnode_e 5\n' });
  const { sink, got } = setup({ filter: { deny: { names: ['b'] } } }, 2);
  const r = await loop(sink, { honor_labels: true }).scrape();
  assert.equal(r.kept, 2, 'a and node_c; node_d, node_e are over the limit of 2');
  assert.equal(byName(got[0]!, 'a')[0]?.labels.job, 'theirs');
  assert.deepEqual([...got[0]!.result.dropped], [['in_denylist', 1], ['series_limit', 2]]);
});

test('staleness: a vanished series, a failed scrape, and explicit timestamps', async () => {
  const { sink, got } = setup();
  const l = loop(sink, {});
  answers.set('/metrics', { body: 'a 1\nb 2\nc 3 1700000000000\n' });
  await l.scrape();
  answers.set('/metrics', { body: 'a 1\n' });
  await l.scrape();
  const stale = got[1]!.series.filter((s) => isStaleNaN(s.value)).map((s) => s.labels.__name__);
  assert.deepEqual(stale, ['b'], 'b vanished; c had its own timestamp, so no marker (as Prometheus)');
  answers.set('/metrics', { status: 500, body: 'oops' });
  const failed = await l.scrape();
  assert.equal(failed.up, false);
  assert.match(failed.error ?? '', /500/);
  assert.deepEqual(got[2]!.series.filter((s) => isStaleNaN(s.value)).map((s) => s.labels.__name__), ['a']);
  assert.equal(byName(got[2]!, 'up')[0]?.value, 0);
  // Recovered: a is new again.
  answers.set('/metrics', { body: 'a 7\n' });
  assert.equal((await l.scrape()).added, 1);
});

test('a malformed body fails the whole scrape, and nothing of it is sent', async () => {
  const { sink, got, pipeline } = setup();
  const l = loop(sink, {});
  answers.set('/metrics', { body: 'a 1\n' });
  await l.scrape();
  answers.set('/metrics', { body: 'a 1\nnew_one 2\nbad{ 3\n' });
  const r = await l.scrape();
  assert.equal(r.up, false);
  assert.match(r.error ?? '', /line 3/);
  assert.deepEqual(got[1]!.series.map((s) => [s.labels.__name__, isStaleNaN(s.value) ? 'stale' : s.value]).filter(([n]) => !String(n).startsWith('scrape_')), [['a', 'stale'], ['up', 0]]);
  assert.equal(pipeline.activeSeries().get('acme/ce-1'), 0, 'the series limit forgets what the failed scrape added');
});

test('body size limit, timeout, OpenMetrics by Content-Type, and /federate parameters', async () => {
  const { sink, got } = setup();
  answers.set('/big', { body: `x 1\n${'y 2\n'.repeat(1000)}` });
  const big = await loop(sink, { metrics_path: '/big', body_size_limit: '1KB' }).scrape();
  assert.match(big.error ?? '', /body size limit exceeded/);
  answers.set('/slow', { body: 'x 1\n', delayMs: 500 });
  const slow = await loop(sink, { metrics_path: '/slow', scrape_timeout: '100ms' }).scrape();
  assert.equal(slow.up, false);
  assert.match(slow.error ?? '', /abort|timeout/i);
  answers.set('/om', { type: 'application/openmetrics-text; version=1.0.0', body: '# TYPE x counter\nx_total 3 1700000000.5\n# EOF\n' });
  const om = await loop(sink, { metrics_path: '/om' }).scrape();
  assert.equal(om.kept, 1);
  assert.equal(byName(got.at(-1)!, 'x_total')[0]?.timestamp, 1700000000500);
  answers.set('/federate', { body: 'x{job="node"} 1\n' });
  requests.length = 0;
  const fed = await loop(sink, { metrics_path: '/federate', params: { 'match[]': ['{job="node"}', 'up'] }, honor_labels: true }).scrape();
  assert.equal(fed.kept, 1);
  const u = new URL(requests[0]?.url ?? '', 'http://x');
  assert.deepEqual(u.searchParams.getAll('match[]'), ['{job="node"}', 'up']);
  assert.match(String(requests[0]?.headers.accept), /^application\/openmetrics-text;version=1\.0\.0/);
  assert.equal(requests[0]?.headers['x-prometheus-scrape-timeout-seconds'], '10');
});

test('file_sd: targets come from a file, re-read when it changes; a removed target is marked stale; a bad file keeps the old targets', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-sd-'));
  const { sink, got } = setup();
  answers.set('/metrics', { body: 'a 1\n' });
  const file = join(dir, 'targets.json');
  const write = async (doc: unknown): Promise<void> => {
    await writeFile(`${file}.tmp`, typeof doc === 'string' ? doc : JSON.stringify(doc));
    await rename(`${file}.tmp`, file);
  };
  await write([{ targets: [addr], labels: { __site__: 'ce-file', zone: 'a' } }]);
  const metrics = new CollectorMetrics();
  const m = new ScrapeManager(sink, metrics, log);
  const job = scrapeJobSchema.parse({ job_name: 'files', tenant: 'acme', scrape_interval: '200ms', scrape_timeout: '100ms', file_sd_configs: [{ files: [join(dir, '*.json')], refresh_interval: '200ms' }] });
  const until = async (what: string, f: () => boolean): Promise<void> => {
    for (const end = Date.now() + 10_000; !f(); await new Promise((r) => setTimeout(r, 20))) if (Date.now() > end) throw new Error(`timed out: ${what}`);
  };
  try {
    await m.apply([job], new Set(['acme']));
    assert.equal(m.targets().length, 1);
    await until('a scrape of ce-file', () => got.some((c) => c.id.site === 'ce-file'));
    assert.equal(got.find((c) => c.id.site === 'ce-file')?.series.find((s) => s.labels.__name__ === 'a')?.labels.zone, 'a');
    await write('[{"targets": ["not a target"]}]');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(m.targets()[0]?.target.identity.site, 'ce-file', 'a rejected file keeps its previous targets');
    assert.match(await metrics.registry.metrics(), /fleetscope_collector_scrape_sd_errors_total\{job="files"\} [1-9]/);
    const before = got.length;
    await write([{ targets: [addr], labels: { __site__: 'ce-moved' } }]);
    await until('the moved target', () => m.targets()[0]?.target.identity.site === 'ce-moved' && got.slice(before).some((c) => c.id.site === 'ce-moved'));
    const gone = got.slice(before).find((c) => c.id.site === 'ce-file' && c.series.some((s) => isStaleNaN(s.value)));
    assert.ok(gone, 'the removed target wrote stale markers');
    assert.deepEqual(gone.series.filter((s) => isStaleNaN(s.value)).map((s) => s.labels.__name__).sort(), ['a', 'scrape_duration_seconds', 'scrape_samples_post_metric_relabeling', 'scrape_samples_scraped', 'scrape_series_added', 'up']);
  } finally {
    await m.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('two scraped series that the rules make identical: the second is dropped, and takes over once the first is gone', async () => {
  const { sink, got } = setup({ filter: { label_deny: ['pod'] } });
  const l = loop(sink, {});
  answers.set('/metrics', { body: 'm{pod="a"} 1\nm{pod="b"} 2\nother 3\n' });
  let r = await l.scrape();
  assert.equal(r.kept, 2);
  assert.deepEqual(byName(got[0]!, 'm').map((s) => s.value), [1], 'one m: the first');
  assert.equal(got[0]!.result.dropped.get('duplicate_series'), 1);
  // Pod a goes away: its series is marked stale, and b is admitted from the next scrape on.
  answers.set('/metrics', { body: 'm{pod="b"} 20\nother 30\n' });
  r = await l.scrape();
  assert.ok(byName(got[1]!, 'm').every((s) => isStaleNaN(s.value)), 'only the stale marker for a');
  answers.set('/metrics', { body: 'm{pod="b"} 21\nother 31\n' });
  r = await l.scrape();
  assert.deepEqual(byName(got[2]!, 'm').map((s) => s.value), [21]);
  assert.equal(got[2]!.result.dropped.get('duplicate_series'), undefined);
  assert.equal(r.kept, 2);
});
