// The agent's footprint at the design's load: one target of 2,000 realistic
// series (the fleet simulator's edge mix) scraped every 15 s, remote-written
// to a sink that answers 204, for at least 60 s. The agent runs as its own
// process, the way it ships (`node bin/fleetscope.js agent --config …`), so
// its CPU time and peak RSS are read from /proc for that process alone:
//   cpu_percent_of_core = (utime + stime over the steady window) / wall time
//   peak_rss_mb         = VmHWM at the end
//   buffer_hours_at_2000_series = buffer.max_bytes / (bytes buffered per hour),
//     from the bytes of what it actually sent (every record goes through the buffer).
// Writes bench/results/agent.json. Run: node dist/agent/agent.bench.js [seconds]
//
// BENCH_AGENT_UPGRADE=1: the agent first applies one small release (Namespace,
// ConfigMap, a Deployment waited for, its image pre-pulled through the
// DaemonSet) from a control-plane stand-in (contract §2/§3: desired, artifact,
// status) to the in-test API server, through upgrades.client
// (BENCH_AGENT_UPGRADE_CLIENT, default builtin); once it reports the version
// healthy, the same steady state is measured. Its numbers are merged into
// agent.json as fleetscope.*_after_upgrade (the other fields kept).
// The bench (not agent/) imports bench/ for the simulator.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SITE, generateSite } from '../bench/index.js';
import { formatSeries } from '../wire/index.js';
import { stampChecksum } from './index.js';

const SERIES = 2000;
const INTERVAL_S = 15;
const BUFFER_MAX_BYTES = 512 * 1024 * 1024;
const seconds = Math.max(60, Number(process.argv[2] ?? 90));
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLK_TCK = 100;

async function procStat(pid: number): Promise<{ cpuS: number; rssMb: number; hwmMb: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const cpuS = (Number(stat[11]) + Number(stat[12])) / CLK_TCK;
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { cpuS, rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

async function main(): Promise<void> {
  const site = generateSite({ ...DEFAULT_SITE, series: SERIES });
  const series = site.series.slice(0, SERIES);
  let scrapes = 0;
  const exposition = createServer((_req, res) => {
    scrapes++;
    const lines: string[] = [];
    for (const s of series) {
      if (s.type === 'counter' || s.labels.includes('__name__') && /_(total|count|sum|bucket)$/.test(s.family)) s.value += Math.floor(Math.random() * 10);
      else s.value = Math.round(Math.random() * 1000);
      lines.push(formatSeries(s.labels, s.value));
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
  });
  let received = 0;
  let receivedBytes = 0;
  const sink = createServer((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      received++;
      receivedBytes += n;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => exposition.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const ePort = (exposition.address() as { port: number }).port;
  const sPort = (sink.address() as { port: number }).port;
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-bench-'));
  const config = join(dir, 'agent.yml');
  // BENCH_AGENT_DISCOVERY=1: the same target found through Kubernetes discovery (role pod, the
  // prometheus.io recipe) on the in-test API server, to measure what the client costs when used.
  const discovery = process.env.BENCH_AGENT_DISCOVERY === '1';
  const upgrade = process.env.BENCH_AGENT_UPGRADE === '1';
  const upgradeClient = process.env.BENCH_AGENT_UPGRADE_CLIENT ?? 'builtin';
  const kube = discovery || upgrade ? await (await import('../test/peers/kube-apiserver.js')).startFakeKube({ readyAfterMs: 500 }) : null;
  const reports: { version: string; state: string; reason?: string }[] = [];
  const control = upgrade ? await controlStandIn(reports) : null;
  if (control !== null) {
    // Registered already: the identity registration stores (the bench measures the upgrade, not registration).
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'state'), { recursive: true, mode: 0o700 });
    await writeFile(join(dir, 'state', 'identity.json'), JSON.stringify({ registration_id: 'r-bench', site: { tenant: 'acme', site: 's1' }, site_token: 'site-token-bench', endpoints: {}, control_url: control.url, registered_at: new Date().toISOString() }), { mode: 0o600 });
  }
  if (kube !== null && discovery) {
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'edge' }, status: { phase: 'Active' } });
    kube.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'exporter', namespace: 'edge', annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(ePort) } }, spec: { containers: [{ name: 'e', ports: [{ containerPort: 8080 }] }] }, status: { podIP: '127.0.0.1', phase: 'Running' } });
  }
  await writeFile(config, [
    `state_dir: ${join(dir, 'state')}`,
    'listen: 127.0.0.1:0',
    `scrape: {interval: ${INTERVAL_S}s, timeout: 10s}`,
    !discovery || kube === null
      ? `targets: [{job: edge, url: "http://127.0.0.1:${ePort}/metrics"}]`
      : `scrape_jobs: [{job: edge, kubernetes_sd: [{role: pod, namespaces: [edge], kubeconfig_file: ${JSON.stringify(kube.kubeconfig)}}], relabel_configs: [{source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape], action: keep, regex: "true"}, {source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port], regex: '([^:]+)(?::\\d+)?;(\\d+)', replacement: '$1:$2', target_label: __address__}]}]`,
    `remote_write: {url: "http://127.0.0.1:${sPort}/api/v1/write", bearer_token: bench-token}`,
    `buffer: {max_bytes: ${BUFFER_MAX_BYTES}}`,
    ...(control !== null && kube !== null
      ? [
          `registration: {control_url: "${control.url}"}`,
          `upgrades: {enabled: true, client: ${upgradeClient}, kubeconfig: ${JSON.stringify(kube.kubeconfig)}, poll_interval: 1h, long_poll_seconds: 0, ready_timeout: 30s, prepull_timeout: 30s}`,
        ]
      : []),
    '',
  ].join('\n'));
  // BENCH_AGENT_ENTRY: another entry script taking the same arguments (e.g. one that loads only cli/agent.js).
  const entry = process.env.BENCH_AGENT_ENTRY ?? join(root, 'bin', 'fleetscope.js');
  const child = spawn(process.execPath, [entry, 'agent', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS ?? '' } });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const pid = child.pid as number;
  const load0 = loadavg()[0] ?? 0;
  let started = Date.now();
  let upgradeMs: number | undefined;
  if (control !== null) {
    // The upgrade first; the steady window starts once the version is reported healthy.
    while (!reports.some((r) => r.version === '1.0.0' && (r.state === 'healthy' || r.state === 'failed' || r.state === 'rolled-back'))) {
      if (Date.now() - started > 60_000 || child.exitCode !== null) throw new Error(`no upgrade outcome: ${JSON.stringify(reports)}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const outcome = reports.filter((r) => r.version === '1.0.0').at(-1)!;
    if (outcome.state !== 'healthy') throw new Error(`the upgrade did not succeed: ${JSON.stringify(outcome)}\n${stderr}`);
    upgradeMs = Date.now() - started;
    started = Date.now();
  }
  // Steady state: from the second scrape on (start-up, module loading and the first scrape's cache filling excluded,
  // and reported separately).
  await new Promise((r) => setTimeout(r, 5000));
  const s0 = await procStat(pid);
  const t0 = Date.now();
  let peakRss = s0.rssMb;
  while (Date.now() - started < seconds * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    peakRss = Math.max(peakRss, (await procStat(pid)).rssMb);
  }
  const s1 = await procStat(pid);
  const t1 = Date.now();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  exposition.close();
  sink.close();
  await kube?.stop();
  await control?.close();
  await rm(dir, { recursive: true, force: true });
  if (scrapes < 2 || received < 2) throw new Error(`agent did not run: ${scrapes} scrapes, ${received} writes\n${stderr}`);
  const cpuPercent = ((s1.cpuS - s0.cpuS) / ((t1 - t0) / 1000)) * 100;
  const bytesPerRequest = receivedBytes / received;
  // Requests per hour: one per target scrape plus one per self-metrics scrape, each 24 bytes of buffer framing more.
  const requestsPerHour = (3600 / INTERVAL_S) * (received / Math.max(1, scrapes));
  const bufferBytesPerHour = (bytesPerRequest + 16) * requestsPerHour;
  const result = {
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
    date: new Date().toISOString(),
    command: `node dist/agent/agent.bench.js ${seconds}`,
    entry: `${process.env.BENCH_AGENT_ENTRY ?? 'bin/fleetscope.js'}${process.env.BENCH_NODE_OPTIONS ? ` with NODE_OPTIONS=${process.env.BENCH_NODE_OPTIONS}` : ''}`,
    workload: `${SERIES} series (bench/sim edge mix) scraped every ${INTERVAL_S} s${discovery ? ' (target found by Kubernetes discovery, role pod, on the in-test API server)' : ''}, remote-write to a 204 sink, ${Math.round((t1 - started) / 1000)} s`,
    'fleetscope.cpu_percent_of_core': Number(cpuPercent.toFixed(3)),
    'fleetscope.peak_rss_mb': Number(Math.max(peakRss, s1.hwmMb).toFixed(1)),
    'fleetscope.buffer_hours_at_2000_series': Number((BUFFER_MAX_BYTES / bufferBytesPerHour).toFixed(1)),
    detail: {
      cpu_seconds_steady: Number((s1.cpuS - s0.cpuS).toFixed(2)),
      steady_window_s: Number(((t1 - t0) / 1000).toFixed(1)),
      cpu_seconds_total_with_startup: Number(s1.cpuS.toFixed(2)),
      scrapes,
      remote_write_requests: received,
      bytes_per_request: Math.round(bytesPerRequest),
      buffer_max_bytes: BUFFER_MAX_BYTES,
      buffer_bytes_per_hour: Math.round(bufferBytesPerHour),
    },
  };
  const file = join(root, 'bench', 'results', 'agent.json');
  if (control !== null && kube !== null) {
    const applied = kube.requests.filter((r) => r.method === 'PATCH' && r.query.fieldManager === 'fleetscope-agent').length;
    const after = {
      'fleetscope.peak_rss_mb_after_upgrade': result['fleetscope.peak_rss_mb'],
      'fleetscope.cpu_percent_of_core_after_upgrade': result['fleetscope.cpu_percent_of_core'],
      after_upgrade: {
        date: result.date,
        command: `BENCH_AGENT_UPGRADE=1${upgradeClient !== 'builtin' ? ` BENCH_AGENT_UPGRADE_CLIENT=${upgradeClient}` : ''} node dist/agent/agent.bench.js ${seconds}`,
        workload: `one upgrade first (upgrades.client: ${upgradeClient}; a release of Namespace, ConfigMap and a Deployment waited for until available, its image pre-pulled by the DaemonSet, applied to the in-test API server: ${applied} server-side applies, healthy after ${((upgradeMs ?? 0) / 1000).toFixed(1)} s), then ${result.workload}`,
        load_1m_start_end: [Number(load0.toFixed(2)), Number((loadavg()[0] ?? 0).toFixed(2))],
        peak_rss_mb: result['fleetscope.peak_rss_mb'],
        cpu_percent_of_core: result['fleetscope.cpu_percent_of_core'],
        detail: result.detail,
      },
    };
    process.stdout.write(`${JSON.stringify(after, null, 2)}\n`);
    if (process.env.BENCH_NO_WRITE === undefined) {
      const prev = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      await writeFile(file, `${JSON.stringify({ ...prev, ...after }, null, 2)}\n`);
    }
    return;
  }
  if (process.env.BENCH_NO_WRITE === undefined) {
    // Keep the after-upgrade numbers of an earlier BENCH_AGENT_UPGRADE run.
    const prev = (JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Record<string, unknown>);
    const kept = Object.fromEntries(Object.entries(prev).filter(([k]) => k.endsWith('_after_upgrade')));
    await writeFile(file, `${JSON.stringify({ ...result, ...kept }, null, 2)}\n`);
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

/** One small release: what an edge site's data plane looks like, with an image to pre-pull. */
function release(version: string): string {
  const ann = `{fleetscope.io/version: "${version}", fleetscope.io/checksum: ''}`;
  return [
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: edge\n  annotations: ${ann}\n`,
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: edge-config\n  namespace: edge\n  annotations: ${ann}\ndata: {version: "${version}"}\n`,
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: edge-app\n  namespace: edge\n  annotations: {fleetscope.io/version: "${version}", fleetscope.io/checksum: '', fleetscope.io/prepull-images: "registry.local/edge-app:${version}"}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: edge-app}}\n  template:\n    metadata: {labels: {app: edge-app}}\n    spec:\n      containers: [{name: app, image: "registry.local/edge-app:${version}"}]\n`,
  ].join('---\n');
}

/** The control plane's side of contract §2/§3 the upgrader uses: desired state, the artifact, status reports. */
async function controlStandIn(reports: { version: string; state: string; reason?: string }[]): Promise<{ url: string; close: () => Promise<void> }> {
  const { text, checksum } = stampChecksum(release('1.0.0'));
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] as string;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers.authorization !== 'Bearer site-token-bench') return void res.writeHead(401).end();
      if (path === '/api/v1/sites/s1/desired') return void res.writeHead(200, { 'Content-Type': 'application/json', ETag: '"1.0.0"' }).end(JSON.stringify({ version: '1.0.0', checksum, artifact_url: '/api/v1/sites/s1/artifacts/1.0.0/manifests.yaml' }));
      if (path === '/api/v1/sites/s1/artifacts/1.0.0/manifests.yaml') return void res.writeHead(200, { 'Content-Type': 'application/yaml' }).end(text);
      if (path === '/api/v1/sites/s1/status') {
        const r = JSON.parse(Buffer.concat(chunks).toString()) as { version: string; state: string; reason?: string };
        reports.push({ version: r.version, state: r.state, ...(r.reason ? { reason: r.reason } : {}) });
        return void res.writeHead(204).end();
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

await main();
