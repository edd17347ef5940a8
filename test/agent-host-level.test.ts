// Host-level upgrade steps under the reboot lock, with two agent daemons
// (two nodes of one site, node-a and node-b) against the in-test Kubernetes
// API server (test/peers/kube-apiserver.ts) and a control-plane stand-in
// that serves the site's desired release (the top README's contract §2/§3).
// A release's host-level step (fleetscope.io/host-level: "true") is a Job per
// node (`$(NODE_NAME)` in its name and nodeName) that takes the stand-in's
// controller 700 ms to complete. Sampled every 10 ms: never two host-level
// Jobs running at once, and a running one always belongs to the Lease's
// holder. Shown: both nodes upgrade one after the other and the Lease is
// free afterwards; a failing host-level step fails and rolls back on each
// node in turn, the Lease freed after each rollback; a Lease held by a node
// that died is taken over once it expires.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AgentDaemon, stampChecksum, validateAgentConfig } from '../agent/index.js';
import { type FakeKube, startFakeKube } from './peers/kube-apiserver.js';

let kube: FakeKube;
let dir = '';
let control: Server;
let controlUrl = '';
let desired: { version: string; text: string; checksum: string } | null = null;
const reports: { node: string; version: string; state: string; reason?: string }[] = [];
const NODES = ['node-a', 'node-b'];

function release(version: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: site-config
  namespace: default
  annotations: {fleetscope.io/version: "${version}", fleetscope.io/checksum: '', fleetscope.io/apply-mode: optimistic}
data: {version: "${version}"}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: os-upgrade-v${version}-$(NODE_NAME)
  namespace: default
  annotations: {fleetscope.io/version: "${version}", fleetscope.io/checksum: '', fleetscope.io/host-level: "true", fleetscope.io/apply-mode: optimistic}
spec:
  template:
    spec:
      nodeName: $(NODE_NAME)
      restartPolicy: Never
      containers: [{name: upgrade, image: "os-updater:${version}", args: [--reboot]}]
`;
}

function publish(version: string): void {
  const { text, checksum } = stampChecksum(release(version));
  desired = { version, text, checksum };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

// The whole scenario once per Kubernetes client (upgrades.client), each against its own API server and control stand-in.
for (const client of ['builtin', 'client-node'] as const) {
describe(`${client} client`, () => {
  before(async () => {
    reports.length = 0;
    desired = null;
    // Version 2's host-level Job fails (a broken OS image).
    kube = await startFakeKube({ readyAfterMs: 700, broken: (o) => o.kind === 'Job' && (o.metadata.annotations as Record<string, string> | undefined)?.['fleetscope.io/version'] === '2' });
    dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-host-'));
    control = createServer((req, res) => {
      const node = (req.headers.authorization ?? '').replace('Bearer token-', '');
      const path = (req.url ?? '').split('?')[0] as string;
      void readBody(req).then((b) => {
        if (path === '/api/v1/sites/s1/desired') {
          if (desired === null) return void res.writeHead(304).end();
          const etag = `"${desired.version}"`;
          if (req.headers['if-none-match'] === etag) return void res.writeHead(304).end();
          return void res.writeHead(200, { 'Content-Type': 'application/json', ETag: etag }).end(JSON.stringify({ version: desired.version, checksum: desired.checksum, artifact_url: `/api/v1/sites/s1/artifacts/${desired.version}/manifests.yaml` }));
        }
        if (desired !== null && path === `/api/v1/sites/s1/artifacts/${desired.version}/manifests.yaml`) return void res.writeHead(200, { 'Content-Type': 'application/yaml' }).end(desired.text);
        if (path === '/api/v1/sites/s1/status') {
          const r = JSON.parse(b) as { version: string; state: string; reason?: string };
          reports.push({ node, version: r.version, state: r.state, ...(r.reason ? { reason: r.reason } : {}) });
          return void res.writeHead(204).end();
        }
        res.writeHead(404).end();
      }, () => undefined);
    });
    await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
    controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
  });

  after(async () => {
    await kube?.stop();
    control?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  async function waitFor(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; reports: ${JSON.stringify(reports)}`);
      await sleep(20);
    }
  }

  async function startAgent(node: string): Promise<AgentDaemon> {
    const stateDir = join(dir, node);
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await writeFile(join(stateDir, 'identity.json'), JSON.stringify({ registration_id: `r-${node}`, site: { tenant: 'acme', site: 's1' }, site_token: `token-${node}`, endpoints: {}, control_url: controlUrl, registered_at: new Date().toISOString() }));
    const loaded = validateAgentConfig({
      state_dir: stateDir,
      listen: '',
      self_metrics: { enabled: false },
      buffer: { fsync: false },
      registration: { control_url: controlUrl },
      upgrades: {
        enabled: true,
        kubeconfig: kube.kubeconfig,
        client,
        long_poll_seconds: 0,
        poll_interval: '200ms',
        jitter: 0,
        ready_timeout: '10s',
        api_retries: 2,
        node_name: node,
        reboot_lock: { namespace: 'kube-system', lease_duration: '3s', timeout: '30s', poll_interval: '100ms' },
      },
    }, `${node}.yml`);
    return AgentDaemon.start(loaded, { log: () => undefined });
  }

  interface JobStatus { conditions?: { type: string; status: string }[] }
  const lease = (): { holderIdentity?: string } | undefined => kube.get('coordination.k8s.io/v1', 'Lease', 'kube-system', 'fleetscope-reboot-lock')?.spec as { holderIdentity?: string } | undefined;

  /** Samples the cluster: host-level Jobs running (created, neither Complete nor Failed), and the Lease's holder. */
  function watchExclusion(): { stop: () => void; violations: string[]; maxRunning: () => number; started: Map<string, number> } {
    const violations: string[] = [];
    const started = new Map<string, number>();
    let max = 0;
    const t = setInterval(() => {
      const running = kube.list('Job').filter((j) => j.metadata.name.startsWith('os-upgrade-') && !((j.status as JobStatus | undefined)?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True'));
      max = Math.max(max, running.length);
      for (const j of running) {
        if (!started.has(j.metadata.name)) started.set(j.metadata.name, Date.now());
        const node = NODES.find((n) => j.metadata.name.endsWith(n));
        if (lease()?.holderIdentity !== node) violations.push(`${j.metadata.name} ran while the lock was held by ${lease()?.holderIdentity ?? 'nobody'}`);
      }
      if (running.length > 1) violations.push(`two host-level steps at once: ${running.map((j) => j.metadata.name).join(', ')}`);
    }, 10);
    return { stop: () => clearInterval(t), violations, maxRunning: () => max, started };
  }

  const last = (node: string, version: string): string | undefined => reports.filter((r) => r.node === node && r.version === version).at(-1)?.state;

  test(`${client} client: two nodes never run host-level steps at once; the lock is released on success, failure and rollback, and taken over when its holder died`, { timeout: 90_000 }, async () => {
    const agents = await Promise.all(NODES.map((n) => startAgent(n)));
    const watch = watchExclusion();
    try {
      // v1: both nodes, one after the other.
      publish('1');
      await waitFor('v1 healthy on both nodes', () => NODES.every((n) => last(n, '1') === 'healthy'));
      for (const n of NODES) assert.equal((kube.get('batch/v1', 'Job', 'default', `os-upgrade-v1-${n}`)?.spec as { template: { spec: { nodeName: string } } }).template.spec.nodeName, n, '$(NODE_NAME) substituted');
      assert.equal(kube.get('batch/v1', 'Job', 'default', 'os-upgrade-v1-$(NODE_NAME)'), undefined);
      assert.equal(lease()?.holderIdentity, '', 'released after success');
      assert.equal(watch.maxRunning(), 1);
      const [a1, b1] = NODES.map((n) => watch.started.get(`os-upgrade-v1-${n}`) as number);
      assert.ok(Math.abs((a1 as number) - (b1 as number)) >= 600, `the second node waited for the first (${a1} vs ${b1})`);

      // v2: the host-level step fails on each node; each rolls back to v1 while holding the lock, then frees it.
      publish('2');
      await waitFor('v2 rolled back on both nodes', () => NODES.every((n) => last(n, '2') === 'rolled-back'), 30_000);
      for (const n of NODES) {
        const failed = reports.find((r) => r.node === n && r.version === '2' && r.state === 'failed');
        assert.match(failed?.reason ?? '', new RegExp(`host-level step on ${n}: .*BackoffLimitExceeded|host-level step on ${n}: .*Failed`), JSON.stringify(failed));
        assert.equal(kube.get('batch/v1', 'Job', 'default', `os-upgrade-v2-${n}`), undefined, 'the failed step is pruned by the rollback');
      }
      assert.equal((kube.get('v1', 'ConfigMap', 'default', 'site-config')?.data as { version: string }).version, '1');
      await waitFor('the lock freed after the rollbacks', () => lease()?.holderIdentity === '');

      // A node died holding the lock: nobody moves until its lease expires (2 s), then one at a time again.
      const now = new Date();
      const held = kube.get('coordination.k8s.io/v1', 'Lease', 'kube-system', 'fleetscope-reboot-lock');
      assert.ok(held);
      kube.put({ ...held, spec: { holderIdentity: 'node-dead', leaseDurationSeconds: 2, acquireTime: now.toISOString(), renewTime: now.toISOString(), leaseTransitions: 9 } });
      const publishedAt = Date.now();
      publish('3');
      await waitFor('v3 healthy on both nodes after the expiry', () => NODES.every((n) => last(n, '3') === 'healthy'), 30_000);
      const firstV3 = Math.min(...NODES.map((n) => watch.started.get(`os-upgrade-v3-${n}`) ?? Infinity));
      assert.ok(firstV3 - publishedAt >= 1500, `no host-level step before the dead holder's lease expired (${firstV3 - publishedAt} ms)`);
      assert.equal(lease()?.holderIdentity, '');
      assert.deepEqual(watch.violations, []);
      for (const a of agents) assert.match(await a.metrics.registry.getSingleMetricAsString('fleetscope_agent_reboot_lock_held'), / 0$/m);
    } finally {
      watch.stop();
      await Promise.all(agents.map((a) => a.stop()));
    }
  });
});
}
