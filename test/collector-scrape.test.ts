// The collector's scrape path against the real thing: one exposition served
// to both a real Prometheus 2.42 (scraping it itself, job "direct") and the
// collector (job "fleet"), which remote-writes what it scrapes into that same
// Prometheus. What Prometheus stores from both must be the same series (but
// for job and the identity/external labels the collector adds) with the
// same values, the same report series, and the same staleness once a series
// disappears from the exposition. Also a real node_exporter is scraped.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { Collector, validateCollectorConfig } from '../collector/index.js';
import { freePort, startPrometheus, type PrometheusPeer } from './peers/prometheus.js';

let body = [
  '# HELP http_requests_total Requests.',
  '# TYPE http_requests_total counter',
  'http_requests_total{code="200",job="theirs"} 1027',
  'http_requests_total{code="500"} 3',
  '# TYPE temp gauge',
  'temp{room="a b",esc="x\\"y"} -1.5e-3',
  'going_away 42',
  '# TYPE lat histogram',
  'lat_bucket{le="0.1"} 1',
  'lat_bucket{le="+Inf"} 2',
  'lat_sum 0.3',
  'lat_count 2',
  '',
].join('\n');

let server: Server;
let prom: PrometheusPeer;
let collector: Collector;
let nodeExporter: ReturnType<typeof spawn> | undefined;
let nodeExporterOut = '';
let dir = '';

before(async () => {
  server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const nePort = await freePort();
  nodeExporter = spawn('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${nePort}`, '--collector.disable-defaults', '--collector.cpu', '--collector.meminfo', '--collector.loadavg'], { stdio: ['ignore', 'pipe', 'pipe'] });
  nodeExporter.stderr?.on('data', (d: Buffer) => (nodeExporterOut += d.toString()));
  nodeExporter.once('error', (err) => (nodeExporterOut += `cannot start prometheus-node-exporter: ${err.message}`));
  prom = await startPrometheus({
    config: `global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n  - job_name: direct\n    static_configs: [{targets: ['${target}']}]\n`,
    flags: ['--web.enable-remote-write-receiver'],
  });
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-scrape-'));
  collector = await Collector.start(validateCollectorConfig({
    external_labels: { re: 'eu-1' },
    queue: { dir: join(dir, 'q') },
    tenants: { acme: { pipeline: {} } },
    scrape_configs: [
      { job_name: 'fleet', tenant: 'acme', scrape_interval: '1s', scrape_timeout: '1s', static_configs: [{ targets: [target], site: 'ce-1' }] },
      { job_name: 'node', tenant: 'acme', scrape_interval: '1s', scrape_timeout: '1s', static_configs: [{ targets: [`127.0.0.1:${nePort}`], site: 'ce-2' }] },
    ],
    remote_write: [{ url: `${prom.url}/api/v1/write`, min_backoff: '20ms', max_backoff: '200ms' }],
  }, 'scrape.yml'), { listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
});

after(async () => {
  await collector?.stop();
  await prom?.stop();
  nodeExporter?.kill('SIGTERM');
  await new Promise<void>((r) => server.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

type Vector = { metric: Record<string, string>; value: [number, string] }[];
const query = async (q: string): Promise<Vector> => (await prom.api<{ result: Vector }>(`/api/v1/query?query=${encodeURIComponent(q)}`)).result;

/** A series as a comparable string: its labels but for job and what the collector adds, and its value. */
function normal(v: Vector, withValue: boolean): string[] {
  return v.map(({ metric, value }) => {
    const { job: _job, tenant: _t, site: _s, re: _re, ...rest } = metric;
    return JSON.stringify([Object.entries(rest).sort(), withValue ? value[1] : '']);
  }).sort();
}

async function eventually(what: string, f: () => Promise<boolean>, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; !(await f()); await new Promise((r) => setTimeout(r, 250))) {
    if (Date.now() > end) throw new Error(`timed out: ${what}\n${prom.output()}`);
  }
}

test('Prometheus stores the same series and values from the collector as from its own scrape', async () => {
  // A second scrape each: scrape_series_added is then 0 in both, as Prometheus reports it.
  await eventually('both jobs scraped twice', async () => (await query('scrape_series_added{job=~"direct|fleet"} == 0')).length === 2);
  const [added] = await query('max_over_time(scrape_series_added{job="fleet"}[1m])');
  assert.equal(added?.value[1], '8', 'the first scrape added all 8 series');
  const direct = await query('{job="direct",__name__!~"scrape_duration_seconds"}');
  const fleet = await query('{job="fleet",__name__!~"scrape_duration_seconds"}');
  assert.deepEqual(normal(fleet, true), normal(direct, true));
  assert.ok(fleet.every((s) => s.metric.tenant === 'acme' && s.metric.site === 'ce-1' && s.metric.re === 'eu-1'));
  assert.equal(fleet.find((s) => s.metric.__name__ === 'http_requests_total' && s.metric.code === '200')?.metric.exported_job, 'theirs');
  const instance = (await query('up{job="direct"}'))[0]?.metric.instance;
  assert.equal((await query('up{job="fleet"}'))[0]?.metric.instance, instance);
});

test('a series that leaves the exposition goes stale in both', async () => {
  assert.equal((await query('going_away')).length, 2);
  body = body.replace('going_away 42\n', '');
  await eventually('going_away stale in both', async () => (await query('going_away')).length === 0, 10_000);
  assert.equal((await query('temp')).length, 2, 'the others stay');
});

test('a real node_exporter, scraped: up, and as many series stored as scrape_samples_post_metric_relabeling says', async () => {
  await eventually(`node_exporter scraped\n${nodeExporterOut}`, async () => (await query('up{job="node"} == 1')).length === 1);
  await new Promise((r) => setTimeout(r, 1500));
  const [post] = await query('scrape_samples_post_metric_relabeling{job="node"}');
  const stored = await query('count({job="node",__name__!~"up|scrape_.*"})');
  assert.ok(Number(post?.value[1]) > 10);
  assert.equal(stored[0]?.value[1], post?.value[1]);
  assert.equal((await query('node_load1{job="node",site="ce-2",tenant="acme"}')).length, 1);
});
