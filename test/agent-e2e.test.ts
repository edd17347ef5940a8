// THE COMBINED TEST: control plane + agent + collector in one test, as the
// issue asks: the agent registers zero-touch with the real control plane
// (control/index.js), an operator approves it, its metrics reach a real
// Prometheus 2.42 through the real collector (site token verified against
// the control plane's key), a version is rolled out and applied to the
// in-test Kubernetes API server, and a forced failure (a pessimistic
// Deployment whose image never becomes ready) rolls back.
//
// control/ is built in parallel on another branch: until the branches are
// merged this file reports "not applicable" by name. It imports control/ only
// through its index, by a computed path, so that this tree compiles without it.
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { AgentDaemon, kubeApi, validateAgentConfig } from '../agent/index.js';
import { Collector, validateCollectorConfig } from '../collector/index.js';
import { generateTokenKeys, tokenPrivateKey } from '../wire/index.js';
import { type FakeKube, startFakeKube } from './peers/kube-apiserver.js';
import { type NodeExporterPeer, startNodeExporter } from './peers/node-exporter.js';
import { type PrometheusPeer, freePort, startPrometheus } from './peers/prometheus.js';

/** What this test uses of control/index.ts. */
interface ControlModule {
  parseControlConfig(raw: unknown, file: string, baseDir: string): unknown;
  ControlPlane: { open(config: unknown): Promise<{ start(): void; close(): Promise<void> }> };
  buildServer(cp: unknown): Promise<{ listen(o: { host: string; port: number }): Promise<unknown>; close(): Promise<void> }>;
  createRegistrationToken(key: KeyObject, tenant: string, opts?: { ttlMs?: number }): string;
  initRepo(dir: string): void;
  commitModel(dir: string, files: Record<string, string>, message: string): string;
  exampleModelFiles(o: { tenants?: string[]; groups?: string[]; webVersion?: string }): Record<string, string>;
}

const controlIndex = new URL('../control/index.js', import.meta.url);
const OP = 'operator-token-e2e-0123456789';

if (!existsSync(fileURLToPath(controlIndex))) {
  test('combined control + agent + collector: not applicable in this tree (control/ is not merged yet; the lead runs it after the merge)', (t) => {
    t.diagnostic(`${fileURLToPath(controlIndex)} does not exist`);
  });
} else {
  // The whole scenario once per Kubernetes client of the agent's upgrades (upgrades.client).
  for (const client of ['builtin', 'client-node'] as const) {
  describe(`${client} client`, () => {
    let control: ControlModule;
    let dir = '';
    let prom: PrometheusPeer;
    let node: NodeExporterPeer;
    let kube: FakeKube;
    let collector: Collector | undefined;
    let plane: { close(): Promise<void> } | undefined;
    let app: { close(): Promise<void> } | undefined;
    let controlUrl = '';
    let repo = '';
    let privateKeyPem = '';

    const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(controlUrl + path, { method, headers: { authorization: `Bearer ${OP}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      return { status: res.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
    };
    const until = async (what: string, ok: () => Promise<boolean> | boolean, ms: number, detail: () => Promise<string> | string = () => ''): Promise<void> => {
      const end = Date.now() + ms;
      while (!(await ok())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${await detail()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    before(async () => {
      control = (await import(controlIndex.href)) as ControlModule;
      dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-e2e-'));
      prom = await startPrometheus({ config: 'global: {scrape_interval: 1h}\n', flags: ['--web.enable-remote-write-receiver'] });
      node = await startNodeExporter(['--collector.disable-defaults', '--collector.loadavg']);
      // A release that never becomes ready: its Deployment's image is the broken one (the image itself pre-pulls).
      kube = await startFakeKube({ readyAfterMs: 100, broken: (o) => o.kind === 'Deployment' && JSON.stringify(o.spec ?? {}).includes('web:9.9.9') });
      // The cluster already has the namespace the example model deploys into.
      await (await kubeApi(kube.kubeconfig, { client })).apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'edge' } });
      const keys = generateTokenKeys();
      privateKeyPem = keys.privateKeyPem;
      await writeFile(join(dir, 'token.key'), keys.privateKeyPem);
      // The collector accepts sites by the control plane's token key.
      const cport = await freePort();
      collector = await Collector.start(
        validateCollectorConfig({ listen: `127.0.0.1:${cport}`, queue: { dir: join(dir, 'cq') }, site_token_public_keys: [keys.publicKeyPem], tenants: { acme: {} }, external_labels: { re: 'eu-west-1' }, remote_write: [{ url: `${prom.url}/api/v1/write`, min_backoff: '50ms', max_backoff: '500ms' }] }, 'collector.yml'),
        { listen: `127.0.0.1:${cport}` },
      );
      repo = join(dir, 'model');
      control.initRepo(repo);
      const port = await freePort();
      controlUrl = `http://127.0.0.1:${port}`;
      const config = control.parseControlConfig(
        {
          store: 'state',
          artifacts: { dir: 'artifacts' },
          git: { repo, ref: 'main', cache_dir: 'git-cache' },
          keys: { token_private_key: 'token.key' },
          operators: [{ name: 'ops', token: OP, role: 'operator' }],
          endpoints: { remote_write_url: `http://127.0.0.1:${cport}/api/v1/write`, control_url: controlUrl },
          poll_interval: '1s',
          rollout_tick: '100ms',
        },
        join(dir, 'control.yml'),
        dir,
      );
      const cp = await control.ControlPlane.open(config);
      cp.start();
      plane = cp;
      const server = await control.buildServer(cp);
      await server.listen({ host: '127.0.0.1', port });
      app = server;
    });

    after(async () => {
      await app?.close();
      await plane?.close();
      await collector?.stop();
      await prom?.stop();
      await node?.stop();
      await kube?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test(`${client} client: combined: register, approve, metrics through the collector, roll out, a forced failure rolls back`, { timeout: 120_000 }, async () => {
      const files = control.exampleModelFiles({ tenants: ['acme'], groups: ['stores'] });
      control.commitModel(repo, files, 'v1');
      let r = await api('POST', '/api/v1/model/load', {});
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const v1 = r.body.release as string;

      const token = control.createRegistrationToken(tokenPrivateKey(privateKeyPem), 'acme', { ttlMs: 3_600_000 });
      const log: string[] = [];
      const agent = await AgentDaemon.start(
        validateAgentConfig(
          {
            state_dir: join(dir, 'agent'),
            listen: '127.0.0.1:0',
            scrape: { interval: '1s', timeout: '500ms' },
            targets: [{ job: 'node', url: node.url }],
            remote_write: { min_backoff: '50ms', max_backoff: '300ms' },
            registration: { control_url: controlUrl, token_env: 'FS_E2E_TOKEN', cloud_init_user_data: join(dir, 'none'), poll_interval: '200ms', machine_id_file: join(dir, 'none') },
            upgrades: { enabled: true, kubeconfig: kube.kubeconfig, client, poll_interval: '1s', long_poll_seconds: 2, ready_timeout: '2s', api_retries: 2, prepull_timeout: '10s' },
          },
          'agent.yml',
        ),
        { env: { FS_E2E_TOKEN: token }, log: (l, m) => log.push(`${l} ${m}`) },
      );
      try {
        // Register → approve.
        let regId = '';
        await until('a pending registration', async () => {
          const p = await api('GET', '/api/v1/registrations?state=pending');
          regId = ((p.body.registrations as { registration_id?: string; id?: string }[] | undefined)?.[0]?.registration_id ?? (p.body.registrations as { id?: string }[] | undefined)?.[0]?.id ?? '') as string;
          return regId !== '';
        }, 15_000, () => log.join('\n'));
        r = await api('POST', `/api/v1/registrations/${regId}/approve`, { site: 'edge-1', group: 'stores', labels: { zone: 'a' } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        await until('the agent has its identity', () => agent.currentIdentity() !== null, 15_000, () => log.join('\n'));

        // Metrics arrive in Prometheus through the collector, with the identity's labels.
        await until('up of edge-1 in Prometheus', async () => {
          const q = await prom.api<{ result: { metric: Record<string, string> }[] }>(`/api/v1/query?query=${encodeURIComponent('up{job="node",site="edge-1",tenant="acme"}')}`);
          return q.result.length === 1 && q.result[0]?.metric.re === 'eu-west-1';
        }, 30_000, () => `${log.join('\n')}\n${prom.output()}`);

        // v1 (desired on approval) is applied and reported healthy.
        const detail = async (): Promise<Record<string, unknown>> => (await api('GET', '/api/v1/sites/edge-1/detail')).body;
        await until('edge-1 healthy on v1', async () => {
          const d = await detail();
          return d.state === 'healthy' && d.version === v1;
        }, 30_000, async () => `${JSON.stringify(await detail())}\n${log.join('\n')}`);
        const dep = kube.get('apps/v1', 'Deployment', 'edge', 'web') as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } } | undefined;
        assert.equal(dep?.spec.template.spec.containers[0]?.image, 'registry.example/web:2.1.0');

        // v2 is pessimistic and its image never becomes ready: the rollout's site fails and rolls back.
        const broken = control.exampleModelFiles({ tenants: ['acme'], groups: ['stores'], webVersion: '9.9.9' });
        broken['components/web/9.9.9/component.yml'] = 'apply_mode: pessimistic\nprepull_images: ["registry.example/web:9.9.9"]\nparams: {port: 8080}\n';
        control.commitModel(repo, broken, 'web 9.9.9');
        r = await api('POST', '/api/v1/model/load', {});
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const v2 = r.body.release as string;
        r = await api('POST', '/api/v1/rollouts', { version: v2, selector: { site: 'edge-1' }, strategy: { canary: 1, partitions: 1, deadline: '60s' } });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        await until('edge-1 rolled back', async () => {
          const h = ((await detail()).history ?? []) as { version: string; state: string }[];
          return h.some((x) => x.version === v2 && x.state === 'rolled-back');
        }, 45_000, async () => `${JSON.stringify(await detail())}\n${log.join('\n')}`);
        const h = ((await detail()).history ?? []) as { version: string; state: string }[];
        assert.deepEqual(h.filter((x) => x.version === v2).map((x) => x.state).filter((s, i, a) => a.indexOf(s) === i), ['downloading', 'pre-pulling', 'applying', 'failed', 'rolled-back']);
        const back = kube.get('apps/v1', 'Deployment', 'edge', 'web') as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } };
        assert.equal(back.spec.template.spec.containers[0]?.image, 'registry.example/web:2.1.0', 'back on v1');
      } finally {
        await agent.stop();
      }
    });
  });
  }
}
