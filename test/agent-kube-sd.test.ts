// Kubernetes service discovery end to end: the agent daemon lists and
// watches pods, services and endpoints on the in-test API server
// (test/peers/kube-apiserver.ts; no real one can be installed here) through
// the real @kubernetes/client-node, relabels the discovered targets with the
// usual prometheus.io/scrape|port|path recipe (the one in agent/README.md),
// and scrapes real HTTP expositions behind the discovered addresses,
// remote-writing to a receiver that decodes every request. Shown: a pod that
// appears is scraped at its annotated port and path with the recipe's
// labels; an endpoints target carries its service's and pod's labels; a
// deleted pod's series get one staleness marker and no more samples; while
// the API server is away every target keeps being scraped, and when it comes
// back discovery catches up, from its resourceVersion or, after compaction
// (410 Gone), by listing again, a pod deleted meanwhile included.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentDaemon, validateAgentConfig } from '../agent/index.js';
import { decodeRemoteWriteBody, isStaleNaN } from '../wire/index.js';
import { type FakeKube, startFakeKube } from './peers/kube-apiserver.js';

interface Got {
  labels: Record<string, string>;
  value: number;
  ts: number;
}

let kube: FakeKube;
let dir = '';
let sink: Server;
let sinkUrl = '';
const got: Got[] = [];
const expositions: { server: Server; port: number; hits: Map<string, number> }[] = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A real exposition on a port of its own, counting hits per path. */
async function exposition(name: string): Promise<{ port: number; hits: Map<string, number> }> {
  const hits = new Map<string, number>();
  let n = 0;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    n++;
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(`# TYPE shop_requests_total counter\nshop_requests_total{handler="${name}"} ${n}\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  expositions.push({ server, port, hits });
  return { port, hits };
}

function pod(name: string, port: number, opts: { annotate?: boolean; path?: string; labels?: Record<string, string> } = {}): Parameters<FakeKube['put']>[0] {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      labels: { app: 'shop', 'app.kubernetes.io/part-of': 'store', ...(opts.labels ?? {}) },
      annotations: opts.annotate === false ? {} : { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), ...(opts.path ? { 'prometheus.io/path': opts.path } : {}) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'shop-5d8f', uid: 'u1', controller: true }],
    },
    // The container port is not the exposition's: the annotation's port is what the recipe scrapes.
    spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'shop:1', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
    status: { phase: 'Running', podIP: '127.0.0.1', hostIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

const POD_RECIPE = [
  { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], action: 'keep', regex: 'true' },
  { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'], action: 'replace', target_label: '__metrics_path__', regex: '(.+)' },
  { source_labels: ['__address__', '__meta_kubernetes_pod_annotation_prometheus_io_port'], action: 'replace', regex: '([^:]+)(?::\\d+)?;(\\d+)', replacement: '$1:$2', target_label: '__address__' },
  { action: 'labelmap', regex: '__meta_kubernetes_pod_label_(.+)' },
  { source_labels: ['__meta_kubernetes_namespace'], action: 'replace', target_label: 'namespace' },
  { source_labels: ['__meta_kubernetes_pod_name'], action: 'replace', target_label: 'pod' },
  { source_labels: ['__meta_kubernetes_pod_controller_kind'], action: 'replace', target_label: 'controller_kind' },
];

const ENDPOINTS_RECIPE = [
  { source_labels: ['__meta_kubernetes_service_annotation_prometheus_io_scrape'], action: 'keep', regex: 'true' },
  { source_labels: ['__meta_kubernetes_endpoint_ready'], action: 'keep', regex: 'true' },
  { source_labels: ['__meta_kubernetes_namespace'], action: 'replace', target_label: 'namespace' },
  { source_labels: ['__meta_kubernetes_service_name'], action: 'replace', target_label: 'service' },
  { source_labels: ['__meta_kubernetes_pod_name'], action: 'replace', target_label: 'pod' },
  { source_labels: ['__meta_kubernetes_pod_container_port_name'], action: 'replace', target_label: 'port_name' },
];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-sd-'));
  sink = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      for (const ts of decodeRemoteWriteBody(Buffer.concat(chunks)).timeseries) {
        const labels: Record<string, string> = {};
        for (let i = 0; i < ts.labels.length; i += 2) labels[ts.labels[i] as string] = ts.labels[i + 1] as string;
        for (const s of ts.samples) got.push({ labels, value: s.value, ts: s.timestamp });
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/api/v1/write`;
});

after(async () => {
  for (const e of expositions) e.server.close();
  sink?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const samplesOf = (handler: string, job = 'kubernetes-pods'): Got[] => got.filter((g) => g.labels.__name__ === 'shop_requests_total' && g.labels.handler === handler && g.labels.job === job);
const live = (handler: string, job?: string): number => samplesOf(handler, job).filter((g) => !isStaleNaN(g.value)).length;

for (const client of ['builtin', 'client-node'] as const) {
  test(`${client} client: pods, services and endpoints discovered through list+watch are scraped with their relabeled labels; deletion marks stale; API server outages and 410 Gone are survived`, async () => {
    kube = await startFakeKube({ bookmarkMs: 300 });
    got.length = 0;
    try {
      await discoveryRun(client);
    } finally {
      await kube.stop();
    }
  });
}

async function discoveryRun(client: 'builtin' | 'client-node'): Promise<void> {
  const a = await exposition('a');
  const c = await exposition('c');
  const web = await exposition('web');
  const d = await exposition('d');
  const e = await exposition('e');
  // Present before the agent starts: found by the first LIST.
  kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' }, status: { phase: 'Active' } });
  kube.put(pod('c', c.port));
  kube.put(pod('quiet', 9, { annotate: false }));
  kube.put({ ...pod('web-1', web.port, { annotate: false }), spec: { nodeName: 'node-1', containers: [{ name: 'web', image: 'web:2', ports: [{ name: 'metrics', containerPort: web.port, protocol: 'TCP' }] }] } });
  kube.put({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop', annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/probe': 'true' } }, spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
  // Role service, the blackbox recipe: the service's DNS name becomes ?target= of a prober.
  const probes: string[] = [];
  const prober = createServer((req, res) => {
    probes.push(req.url ?? '');
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end('# TYPE probe_success gauge\nprobe_success 1\n');
  });
  await new Promise<void>((r) => prober.listen(0, '127.0.0.1', r));
  expositions.push({ server: prober, port: (prober.address() as AddressInfo).port, hits: new Map() });
  const proberAddr = `127.0.0.1:${(prober.address() as AddressInfo).port}`;
  kube.put({
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'web', namespace: 'shop' },
    subsets: [{ addresses: [{ ip: '127.0.0.1', nodeName: 'node-1', targetRef: { kind: 'Pod', name: 'web-1', namespace: 'shop' } }], notReadyAddresses: [{ ip: '127.0.0.2' }], ports: [{ name: 'metrics', port: web.port, protocol: 'TCP' }] }],
  });

  const loaded = validateAgentConfig({
    state_dir: dir,
    listen: '',
    scrape: { interval: '300ms', timeout: '250ms' },
    self_metrics: { enabled: false },
    remote_write: { url: sinkUrl, min_backoff: '50ms', max_backoff: '200ms' },
    buffer: { fsync: false },
    scrape_jobs: [
      { job: 'kubernetes-pods', kubernetes_sd: [{ role: 'pod', namespaces: ['shop'], kubeconfig_file: kube.kubeconfig, client }], relabel_configs: POD_RECIPE },
      {
        job: 'kubernetes-services',
        kubernetes_sd: [{ role: 'service', namespaces: ['shop'], kubeconfig_file: kube.kubeconfig, client }],
        metrics_path: '/probe',
        params: { module: ['http_2xx'] },
        relabel_configs: [
          { source_labels: ['__meta_kubernetes_service_annotation_prometheus_io_probe'], action: 'keep', regex: 'true' },
          { source_labels: ['__address__'], target_label: '__param_target' },
          { target_label: '__address__', replacement: proberAddr },
          { source_labels: ['__param_target'], target_label: 'instance' },
          { source_labels: ['__meta_kubernetes_service_name'], target_label: 'service' },
        ],
      },
      { job: 'kubernetes-service-endpoints', kubernetes_sd: [{ role: 'endpoints', namespaces: { names: ['shop'] }, kubeconfig_file: kube.kubeconfig, client }], relabel_configs: ENDPOINTS_RECIPE },
    ],
  }, 'sd.yml');
  const logs: string[] = [];
  const agent = await AgentDaemon.start(loaded, { log: (level, msg) => logs.push(`${level} ${msg}`), discoveryBackoffMs: 100 });
  try {
    // Listed at start: c (annotated) is scraped, quiet (not annotated) is not; web through its endpoints.
    await waitFor('pod c scraped', () => live('c') >= 2);
    const cs = samplesOf('c').find((g) => !isStaleNaN(g.value)) as Got;
    assert.deepEqual(cs.labels, {
      __name__: 'shop_requests_total', handler: 'c', job: 'kubernetes-pods', instance: `127.0.0.1:${c.port}`, namespace: 'shop', pod: 'c', app: 'shop', app_kubernetes_io_part_of: 'store', controller_kind: 'ReplicaSet',
    });
    await waitFor('endpoints target scraped', () => live('web', 'kubernetes-service-endpoints') >= 2);
    const ws = samplesOf('web', 'kubernetes-service-endpoints').find((g) => !isStaleNaN(g.value)) as Got;
    assert.deepEqual(ws.labels, { __name__: 'shop_requests_total', handler: 'web', job: 'kubernetes-service-endpoints', instance: `127.0.0.1:${web.port}`, namespace: 'shop', service: 'web', pod: 'web-1', port_name: 'metrics' });
    assert.equal(got.some((g) => g.labels.handler === 'web' && g.labels.job === 'kubernetes-pods'), false, 'web-1 is not annotated for the pod role');
    assert.equal(got.some((g) => Object.keys(g.labels).some((k) => k.startsWith('__meta_'))), false, 'no meta label is shipped');
    assert.equal(got.some((g) => g.labels.instance === '127.0.0.2:' + web.port), false, 'not-ready addresses are dropped by the recipe');

    await waitFor('the service probed', () => got.some((g) => g.labels.__name__ === 'probe_success' && g.labels.job === 'kubernetes-services'));
    const probe = got.find((g) => g.labels.__name__ === 'probe_success') as Got;
    assert.deepEqual(probe.labels, { __name__: 'probe_success', job: 'kubernetes-services', instance: 'web.shop.svc:80', service: 'web' });
    assert.ok(probes.includes('/probe?module=http_2xx&target=web.shop.svc%3A80'), probes.join(' '));

    // A pod appears (watch ADDED): scraped at its annotated path.
    kube.put(pod('a', a.port, { path: '/custom/metrics' }));
    await waitFor('pod a scraped', () => live('a') >= 2);
    assert.ok((a.hits.get('/custom/metrics') ?? 0) >= 2, JSON.stringify([...a.hits]));
    assert.equal(a.hits.get('/metrics'), undefined);

    // Deleted (watch DELETED): one staleness marker per series, then nothing.
    assert.ok(kube.remove('v1', 'Pod', 'shop', 'c'));
    await waitFor('staleness marker for pod c', () => samplesOf('c').some((g) => isStaleNaN(g.value)));
    const upStale = got.filter((g) => g.labels.__name__ === 'up' && g.labels.pod === 'c' && isStaleNaN(g.value));
    assert.equal(upStale.length, 1, 'the report series of the gone target are marked stale too');
    const markedAt = got.length;
    await sleep(900);
    assert.equal(got.slice(markedAt).filter((g) => g.labels.handler === 'c').length, 0, 'a deleted pod is not scraped again');
    assert.equal(samplesOf('c').filter((g) => isStaleNaN(g.value)).length, 1);

    // The API server goes away: the targets keep being scraped.
    await kube.pause();
    const before = live('a');
    await sleep(1200);
    assert.ok(live('a') >= before + 3, `scraping went on while the API server was down (${before} → ${live('a')})`);
    assert.ok(live('web', 'kubernetes-service-endpoints') > 0);
    // Changed while it was away; back with its history: the watch resumes from its resourceVersion.
    kube.put(pod('d', d.port));
    await kube.resume();
    await waitFor('pod d (added while the API server was away) scraped', () => live('d') >= 1, 15_000);

    // Compacted history and another restart: the watch gets 410 Gone and the agent lists again,
    // which is also how it learns of a pod deleted while it could not watch.
    await kube.pause();
    kube.put(pod('e', e.port));
    assert.ok(kube.remove('v1', 'Pod', 'shop', 'a'));
    kube.compact();
    await kube.resume();
    await waitFor('pod e scraped after the re-list', () => live('e') >= 1, 15_000);
    await waitFor('staleness markers for pod a (deleted during the gap)', () => samplesOf('a').some((g) => isStaleNaN(g.value)), 5000);

    const metrics = await agent.metrics.registry.getSingleMetricAsString('fleetscope_agent_sd_kubernetes_events_total');
    assert.match(metrics, /resource="pods",event="relist_gone"\} [1-9]/, metrics);
    assert.match(metrics, /resource="pods",event="event_bookmark"\} [1-9]/, 'bookmarks arrive and move the resourceVersion');
    assert.match(metrics, /resource="pods",event="event_deleted"\} [1-9]/);
    const targets = await agent.metrics.registry.getSingleMetricAsString('fleetscope_agent_sd_targets');
    assert.match(targets, /job="kubernetes-pods"\} 2\b/, targets); // d and e
    assert.match(targets, /job="kubernetes-service-endpoints"\} 1\b/, targets);
    assert.ok(logs.some((l) => /listing again/.test(l)), logs.join('\n'));
  } finally {
    await agent.stop();
  }
}
