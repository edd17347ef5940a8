// The control plane end to end, with real git, a real etcd (Debian
// etcd-server) and the HTTP API of two replicas over that one etcd, run once
// per artifact store (control-e2e.test.ts: the directory both replicas share;
// control-e2e-s3.test.ts: the stand-in S3 server, test/peers/s3.ts):
// register (tokens, CSRs) → approve → render → a staged rollout over
// simulated agents (plain HTTP; some fail, one goes offline) → the status
// counts → a failing canary, pause, abort with rollback → decommission and
// factory reset. Calls alternate between the replicas throughout.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import yaml from 'js-yaml';
import { generateTokenKeys, tokenPrivateKey } from '../wire/index.js';
import { ControlPlane, buildServer, commitModel, createCsr, createRegistrationToken, exampleModelFiles, initRepo, manifestChecksum, parseControlConfig } from '../control/index.js';
import { type EtcdPeer, startEtcd } from './peers/etcd.js';
import { type S3Peer, startS3 } from './peers/s3.js';

export type ArtifactStoreKind = 'dir' | 's3';

/** The whole flow, with the artifact store of `kind`. */
export function controlE2e(kind: ArtifactStoreKind): void {
  const OP = 'operator-token-0123456789';
  const VIEW = 'viewer-token-0123456789ab';

  let dir = '';
  let repo = '';
  let etcd: EtcdPeer;
  let s3: S3Peer | undefined;
  const planes: ControlPlane[] = [];
  const apps: FastifyInstance[] = [];
  const urls: string[] = [];
  let privateKeyPem = '';
  let call = 0;

  /** The next replica's base URL (round robin). */
  const next = (): string => urls[call++ % urls.length] as string;

  async function api(method: string, path: string, token: string | null, body?: unknown, headers: Record<string, string> = {}, base = next()): Promise<{ status: number; body: unknown; headers: Headers; text: string }> {
    const res = await fetch(base + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // YAML or text
    }
    return { status: res.status, body: parsed, headers: res.headers, text };
  }

  /** An artifact as the store holds it (behind the API). */
  async function stored(key: string): Promise<string | null> {
    if (kind === 's3') return s3?.bucket('fleet-artifacts')?.get(`re1/${key}`)?.body.toString('utf8') ?? null;
    return readFile(join(dir, 'artifacts', key), 'utf8').catch(() => null);
  }

  const until = async (what: string, ok: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetscope-control-'));
    etcd = await startEtcd();
    if (kind === 's3') {
      s3 = await startS3({ region: 'eu-central-1' });
      s3.createBucket('fleet-artifacts');
    }
    repo = join(dir, 'model');
    initRepo(repo);
    const keys = generateTokenKeys();
    privateKeyPem = keys.privateKeyPem;
    await writeFile(join(dir, 'token.key'), keys.privateKeyPem);
    const raw = {
      store: etcd.url,
      artifacts: kind === 's3'
        ? { s3: { endpoint: s3?.url, region: 'eu-central-1', bucket: 'fleet-artifacts', prefix: 're1/', access_key_id: s3?.accessKeyId, secret_access_key: s3?.secretAccessKey } }
        : { dir: 'artifacts' },
      git: { repo, ref: 'main', cache_dir: 'git-cache' },
      keys: { token_private_key: 'token.key' },
      operators: [{ name: 'ops', token: OP, role: 'operator' }, { name: 'noc', token: VIEW, role: 'viewer' }],
      endpoints: { remote_write_url: 'http://collector.re1:9201/api/v1/write', logs_forward: 'collector.re1:24224', control_url: 'http://control.re1:9300' },
      tenants: { globex: { endpoints: { remote_write_url: 'http://collector.re2:9201/api/v1/write' } } },
      poll_interval: '1s',
      rollout_tick: '100ms',
    };
    const config = parseControlConfig(raw, 'test.yml', dir);
    for (let i = 0; i < 2; i++) {
      const cp = await ControlPlane.open(config);
      cp.start();
      const app = await buildServer(cp);
      await app.listen({ host: '127.0.0.1', port: 0 });
      const addr = app.server.address();
      urls.push(`http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`);
      planes.push(cp);
      apps.push(app);
    }
  });

  after(async () => {
    pumping = false;
    await pumpDone?.catch(() => undefined);
    for (const a of apps) await a.close();
    for (const p of planes) await p.close();
    await etcd?.stop();
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  interface Agent {
    readonly name: string;
    readonly tenant: string;
    token: string;
    etag: string;
    running: string | null;
    online: boolean;
    /** Versions this agent fails to apply (and rolls back from). */
    readonly fails: Set<string>;
    readonly applied: string[];
  }

  async function report(a: Agent, version: string, state: string, reason?: string): Promise<void> {
    const r = await api('POST', `/api/v1/sites/${a.name}/status`, a.token, { version, state, at: new Date().toISOString(), series: 2000, ...(reason ? { reason } : {}) });
    assert.equal(r.status, 204, JSON.stringify(r.body));
  }

  /** One poll of a simulated agent: conditional GET; on a new version download, verify, apply, report. */
  async function poll(a: Agent): Promise<void> {
    if (!a.online) return;
    const r = await api('GET', `/api/v1/sites/${a.name}/desired`, a.token, undefined, a.etag ? { 'if-none-match': a.etag } : {});
    if (r.status === 304 || r.status === 404) return;
    if (r.status === 401) {
      // Decommissioned or reset: a real agent would register again; this one stops.
      a.online = false;
      return;
    }
    assert.equal(r.status, 200, JSON.stringify(r.body));
    a.etag = r.headers.get('etag') as string;
    const d = r.body as { version: string; checksum: string; artifact_url: string };
    if (d.version === a.running) {
      await report(a, d.version, 'healthy');
      return;
    }
    const path = new URL(d.artifact_url).pathname;
    const art = await api('GET', path, a.token);
    assert.equal(art.status, 200);
    assert.equal(manifestChecksum(art.text), d.checksum, 'the artifact verifies against the desired checksum');
    await report(a, d.version, 'downloading');
    await report(a, d.version, 'applying');
    if (a.fails.has(d.version)) {
      await report(a, d.version, 'failed', 'readiness probe failed: web');
      await report(a, d.version, 'rolled-back', 'restored the previous version');
      return;
    }
    a.running = d.version;
    a.applied.push(d.version);
    await report(a, d.version, 'healthy');
  }

  const agents: Agent[] = [];
  let pumping = false;
  /** The simulated agents' poll loop while it runs; `after` stops it, so a failed test cannot leave it polling servers that are closing. */
  let pumpDone: Promise<void> | undefined;
  async function pump(): Promise<void> {
    pumping = true;
    while (pumping) {
      for (const a of agents) await poll(a);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test(`register → approve → render → staged rollout → counts → rollback, over two replicas and etcd, artifacts in ${kind === 's3' ? 'S3 (stand-in)' : 'a directory'}`, { timeout: 90_000 }, async () => {
    const release = (r: unknown): string => (r as { release: string }).release;
    // ---- the model: v1 ----
    commitModel(repo, exampleModelFiles({ tenants: ['acme', 'globex'], groups: ['stores', 'depots'] }), 'v1');
    let r = await api('POST', '/api/v1/model/load', VIEW, {});
    assert.equal(r.status, 403, 'a viewer cannot load');
    r = await api('POST', '/api/v1/model/load', OP, {});
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const v1 = release(r.body);

    // ---- registration ----
    const key = tokenPrivateKey(privateKeyPem);
    const acmeToken = createRegistrationToken(key, 'acme', { ttlMs: 3_600_000 });
    const globexToken = createRegistrationToken(key, 'globex', { singleUse: true });
    const names = [...Array.from({ length: 8 }, (_, i) => `acme-s${i}`), ...Array.from({ length: 4 }, (_, i) => `acme-d${i}`)];
    const regIds = new Map<string, string>();
    for (const n of names) {
      const { csrPem } = await createCsr(n);
      const body = { csr: csrPem, facts: { machine_id: `m-${n}`, hostname: n } };
      const a = await api('POST', '/api/v1/register', acmeToken, body);
      assert.equal(a.status, 202, JSON.stringify(a.body));
      const again = await api('POST', '/api/v1/register', acmeToken, body);
      assert.deepEqual(again.body, a.body, 'same token and machine: the same registration');
      regIds.set(n, (a.body as { registration_id: string }).registration_id);
    }
    const { csrPem: gcsr } = await createCsr('globex-x0');
    r = await api('POST', '/api/v1/register', globexToken, { csr: gcsr, facts: { machine_id: 'm-globex-x0' } });
    assert.equal(r.status, 202);
    regIds.set('globex-x0', (r.body as { registration_id: string }).registration_id);
    r = await api('POST', '/api/v1/register', globexToken, { csr: gcsr, facts: { machine_id: 'another-machine' } });
    assert.equal(r.status, 401, 'a single-use token works once');
    assert.equal((r.body as { code: string }).code, 'FS_CONTROL_UNAUTHORIZED');
    r = await api('POST', '/api/v1/register', acmeToken, { csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', facts: { machine_id: 'bad' } });
    assert.equal(r.status, 400);
    assert.equal((r.body as { code: string }).code, 'FS_CONTROL_CSR');
    r = await api('POST', '/api/v1/register', acmeToken, { csr: gcsr, facts: {} });
    assert.equal(r.status, 400);
    assert.match((r.body as { message: string }).message, /machine_id/);
    r = await api('POST', '/api/v1/register', null, { csr: gcsr, facts: { machine_id: 'x' } });
    assert.equal(r.status, 401);
    r = await api('POST', '/api/v1/register', acmeToken.slice(0, -3) + 'AAA', { csr: gcsr, facts: { machine_id: 'x' } });
    assert.equal(r.status, 401, 'a forged signature');

    // Both replicas list the pending registrations.
    for (const base of urls) {
      await until('13 pending on every replica', async () => ((await api('GET', '/api/v1/registrations?state=pending', VIEW, undefined, {}, base)).body as { registrations: unknown[] }).registrations.length === 13);
    }
    // ---- approval ----
    const acmeReg = regIds.get('acme-s0') as string;
    r = await api('POST', `/api/v1/registrations/${acmeReg}/approve`, VIEW, { site: 'acme-s0', group: 'stores' });
    assert.equal(r.status, 403);
    r = await api('POST', `/api/v1/registrations/${acmeReg}/approve`, OP, { site: 'acme-s0', group: 'nowhere' });
    assert.equal(r.status, 400, 'a group the model does not have');
    assert.match((r.body as { message: string }).message, /group nowhere/);
    for (const n of [...names, 'globex-x0']) {
      const group = n.includes('-d') ? 'depots' : 'stores';
      r = await api('POST', `/api/v1/registrations/${regIds.get(n)}/approve`, OP, { site: n, group, labels: { re: 'eu-west-1', zone: n.endsWith('0') ? 'a' : 'b' } });
      assert.equal(r.status, 200, `${n}: ${JSON.stringify(r.body)}`);
      assert.equal((r.body as { desired_version: string }).desired_version, v1);
    }
    r = await api('POST', `/api/v1/registrations/${regIds.get('acme-s1')}/approve`, OP, { site: 'acme-s1', group: 'stores' });
    assert.equal(r.status, 409, 'already approved');

    // ---- identity ----
    for (const n of [...names, 'globex-x0']) {
      const token = n.startsWith('globex') ? globexToken : acmeToken;
      r = await api('GET', `/api/v1/registrations/${regIds.get(n)}`, token);
      assert.equal(r.status, 200);
      const b = r.body as { state: string; site: { site: string; tenant: string }; identity: { site_token: string; certificate: string; ca: string }; endpoints: Record<string, string> };
      assert.equal(b.state, 'approved');
      assert.equal(b.site.site, n);
      const cert = new X509Certificate(b.identity.certificate);
      const ca = new X509Certificate(b.identity.ca);
      assert.ok(cert.verify(ca.publicKey), 'the certificate is signed by the tenant CA');
      assert.match(cert.subject, new RegExp(`CN=${n}`));
      assert.match(cert.subject, new RegExp(`O=${b.site.tenant}`));
      assert.equal(b.endpoints.remote_write_url, n.startsWith('globex') ? 'http://collector.re2:9201/api/v1/write' : 'http://collector.re1:9201/api/v1/write');
      agents.push({ name: n, tenant: b.site.tenant, token: b.identity.site_token, etag: '', running: null, online: true, fails: new Set(), applied: [] });
    }
    r = await api('GET', `/api/v1/registrations/${regIds.get('acme-s0')}`, globexToken);
    assert.equal(r.status, 404, 'another token cannot read a registration');

    // ---- isolation ----
    const s0 = agents[0] as Agent;
    const gx = agents.find((a) => a.tenant === 'globex') as Agent;
    r = await api('GET', '/api/v1/sites/acme-s1/desired', s0.token);
    assert.equal(r.status, 403, 'a site reads only its own desired version');
    r = await api('GET', `/api/v1/sites/acme-s0/artifacts/${v1}/manifests.yaml`, gx.token);
    assert.equal(r.status, 403, 'another tenant\'s site cannot read artifacts');
    r = await api('POST', '/api/v1/sites/acme-s0/status', gx.token, { version: v1, state: 'failed', at: new Date().toISOString() });
    assert.equal(r.status, 403, 'nor write status');
    r = await api('GET', '/api/v1/sites', s0.token);
    assert.equal(r.status, 401, 'a site token is not an operator token');
    r = await api('POST', '/api/v1/sites/acme-s0/status', s0.token, { version: v1, state: 'exploded', at: 'yesterday' });
    assert.equal(r.status, 400);
    r = await api('POST', '/api/v1/register', acmeToken, { csr: 'x'.repeat(70_000), facts: { machine_id: 'big' } });
    assert.equal(r.status, 413);
    assert.equal((r.body as { code: string }).code, 'FS_CONTROL_TOO_LARGE');
    r = await api('POST', '/api/v1/sites/acme-s0/status', s0.token, undefined, { 'content-type': 'text/plain' });
    assert.equal(r.status, 400, 'an empty body is not a status');
    r = await api('GET', '/api/v1/sites/acme-s0/desired?wait=9999', s0.token);
    assert.equal(r.status, 400, 'wait is bounded');

    // ---- the first version, conditional polls, artifacts ----
    r = await api('GET', '/api/v1/sites/acme-s0/desired', s0.token);
    assert.equal(r.status, 200);
    const etag = r.headers.get('etag') as string;
    const d1 = r.body as { version: string; checksum: string; artifact_url: string; mode_summary: { apply_mode: string } };
    assert.equal(d1.version, v1);
    assert.equal(d1.mode_summary.apply_mode, 'optimistic');
    assert.ok(d1.artifact_url.startsWith('http://control.re1:9300/api/v1/sites/acme-s0/artifacts/'));
    r = await api('GET', '/api/v1/sites/acme-s0/desired', s0.token, undefined, { 'if-none-match': etag });
    assert.equal(r.status, 304);
    const art = await api('GET', new URL(d1.artifact_url).pathname, s0.token);
    const docs = yaml.loadAll(art.text) as { kind: string; metadata: { annotations: Record<string, string> }; spec?: { replicas?: number } }[];
    assert.deepEqual(docs.map((x) => x.kind), ['Deployment', 'Service']);
    for (const doc of docs) {
      assert.equal(doc.metadata.annotations['fleetscope.io/version'], v1);
      assert.equal(doc.metadata.annotations['fleetscope.io/checksum'], d1.checksum);
      assert.equal(doc.metadata.annotations['fleetscope.io/apply-mode'], 'optimistic');
      assert.equal(doc.metadata.annotations['fleetscope.io/prepull-images'], 'registry.example/web:2.1.0');
    }
    assert.equal(docs[0]?.spec?.replicas, 2, 'stores: replicas 2 from the group');
    assert.equal(await stored(`acme/acme-s0/${v1}/manifests.yaml`), art.text, 'served byte for byte as stored, at <tenant>/<site>/<version>/');
    if (kind === 's3') {
      assert.equal(await readFile(join(dir, 'artifacts', `acme/acme-s0/${v1}/manifests.yaml`)).catch(() => null), null, 'nothing in a directory');
      assert.ok((s3?.requests.filter((q) => q.op === 'PutObject' && q.status === 200).length ?? 0) >= 13, 'every site\'s render went through PutObject');
    }

    // ---- agents apply v1 ----
    pumpDone = pump();
    await until('13 healthy', async () => ((await api('GET', '/api/v1/fleet/status', VIEW)).body as { by_state: { healthy: number } }).by_state.healthy === 13);

    // ---- a one-group change re-renders only that group ----
    commitModel(repo, exampleModelFiles({ tenants: ['acme', 'globex'], groups: ['stores', 'depots'], groupParams: { 'acme/stores': { replicas: 5 } } }), 'stores: 5 replicas');
    r = await api('POST', '/api/v1/model/load', OP, { ref: 'main' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const v2 = release(r.body);
    assert.deepEqual({ rendered: (r.body as { rendered: number }).rendered, unchanged: (r.body as { unchanged: number }).unchanged }, { rendered: 8, unchanged: 5 });
    r = await api('GET', '/api/v1/sites/acme-d0/detail', VIEW);
    assert.equal((r.body as { available_version: string }).available_version, v1, 'depots did not change');
    r = await api('GET', '/api/v1/sites/acme-s3/detail', VIEW);
    assert.equal((r.body as { available_version: string }).available_version, v2, 'a new version is available to stores');
    assert.equal((r.body as { desired_version: string }).desired_version, v1, '...but not desired before a rollout');

    // ---- an invalid commit is refused whole; the last good one keeps serving ----
    const broken = exampleModelFiles({ tenants: ['acme', 'globex'], groups: ['stores', 'depots'] });
    broken['components/web/2.1.0/deployment.yaml'] = (broken['components/web/2.1.0/deployment.yaml'] as string).replace('${params.replicas}', '${params.replicaz}');
    commitModel(repo, broken, 'typo');
    r = await api('POST', '/api/v1/model/load', OP, {});
    assert.equal(r.status, 422);
    assert.equal((r.body as { code: string }).code, 'FS_CONTROL_TEMPLATE');
    assert.match((r.body as { message: string }).message, /components\/web\/2\.1\.0\/deployment\.yaml: site .*: unknown reference \$\{params\.replicaz\}/);
    const bad2 = exampleModelFiles({ tenants: ['acme', 'globex'], groups: ['stores', 'depots'] });
    bad2['groups/acme/stores.yml'] = 'params: {replicas: 2}\nchannel: nightly\n';
    commitModel(repo, bad2, 'unknown channel');
    r = await api('POST', '/api/v1/model/load', OP, {});
    assert.equal(r.status, 422);
    assert.match((r.body as { message: string }).message, /groups\/acme\/stores\.yml: channel: channel nightly is not in fleet\.yml/);
    r = await api('GET', '/api/v1/model', VIEW);
    assert.equal((r.body as { current: { release: string } }).current.release, v2, 'the last good model stays');
    // Two replicas: the one this read reaches learns the newest error through etcd, a moment later.
    await until('the newest load error is shown', async () => /channel nightly/.test(JSON.stringify(((await api('GET', '/api/v1/model', VIEW)).body as { last_error: unknown }).last_error)));

    // ---- a staged rollout of v2 to the stores group ----
    const stores = agents.filter((a) => a.name.startsWith('acme-s'));
    (stores[5] as Agent).fails.add(v2);
    const gone = stores[7] as Agent;
    gone.online = false;
    await until('acme-s7 offline', async () => ((await api('GET', '/api/v1/sites/acme-s7/detail', VIEW)).body as { state: string }).state === 'offline');
    r = await api('POST', '/api/v1/rollouts', OP, { version: v2, selector: { group: 'stores', tenant: 'acme' }, strategy: { canary: 1, partitions: 2, max_unavailable: '50%', failure_threshold: '20%', deadline: '3s' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const ro = (r.body as { id: string }).id;
    assert.equal((r.body as { sites: number }).sites, 8);
    r = await api('POST', '/api/v1/rollouts', OP, { version: v2, selector: { site: 'acme-s1' } });
    assert.equal(r.status, 409, 'a site in a running rollout');
    await until('rollout done', async () => ((await api('GET', `/api/v1/rollouts/${ro}`, VIEW)).body as { state: string }).state === 'done', 30_000);
    for (const base of urls) {
      r = await api('GET', `/api/v1/rollouts/${ro}`, VIEW, undefined, {}, base);
      assert.deepEqual((r.body as { counts: unknown }).counts, { pending: 0, downloading: 0, applying: 0, healthy: 6, failed: 0, 'rolled-back': 1, offline: 1 }, `counts on ${base}`);
    }
    assert.deepEqual((agents[0] as Agent).applied, [v1, v2], 'the canary took v2');
    assert.deepEqual((stores[5] as Agent).applied, [v1], 'the failing site rolled back');
    r = await api('GET', '/api/v1/fleet/status', VIEW);
    const fs = r.body as { total: number; by_state: Record<string, number>; by_tenant: Record<string, Record<string, number>>; by_version: Record<string, Record<string, number>>; failures: { site: string; reason: string }[] };
    assert.equal(fs.total, 13);
    assert.deepEqual(fs.by_state, { healthy: 11, unhealthy: 1, offline: 1, upgrading: 0 });
    assert.deepEqual(fs.by_tenant.globex, { healthy: 1, unhealthy: 0, offline: 0, upgrading: 0 });
    assert.equal(fs.by_version[v2]?.healthy, 6);
    assert.deepEqual(fs.failures.map((f) => [f.site, f.reason]), [['acme-s5', 'restored the previous version']]);
    r = await api('GET', '/api/v1/sites?state=unhealthy', VIEW);
    assert.deepEqual((r.body as { sites: { site: string }[] }).sites.map((s) => s.site), ['acme-s5']);
    r = await api('GET', '/api/v1/sites/acme-s5/detail', VIEW);
    assert.deepEqual((r.body as { history: { state: string }[] }).history.slice(-4).map((h) => h.state), ['downloading', 'applying', 'failed', 'rolled-back']);
    // The offline site comes back and catches up (it was given v2 when the deadline passed).
    gone.online = true;
    await until('acme-s7 on v2', () => gone.running === v2);

    // ---- rollback path: a failing canary pauses the rollout; abort rolls it back ----
    commitModel(repo, exampleModelFiles({ tenants: ['acme', 'globex'], groups: ['stores', 'depots'], groupParams: { 'acme/stores': { replicas: 5 } }, webVersion: '2.2.0' }), 'web 2.2.0');
    r = await api('POST', '/api/v1/model/load', OP, {});
    assert.equal(r.status, 200);
    const v3 = release(r.body);
    const depots = agents.filter((a) => a.name.startsWith('acme-d'));
    (depots[0] as Agent).fails.add(v3);
    // Watch the canary's desired version over server-sent events on one replica while the other aborts.
    const sse = await fetch(`${urls[1]}/api/v1/sites/acme-d0/events`, { headers: { authorization: `Bearer ${(depots[0] as Agent).token}` } });
    assert.equal(sse.headers.get('content-type'), 'text/event-stream');
    const reader = (sse.body as ReadableStream<Uint8Array>).getReader();
    let sseText = '';
    const sseRead = (async () => {
      for (;;) {
        const c = await reader.read();
        if (c.done) break;
        sseText += Buffer.from(c.value).toString();
      }
    })();
    // A long-poll on one replica, answered by a rollout created on the other.
    const d0 = depots[0] as Agent;
    const cur = await api('GET', '/api/v1/sites/acme-d0/desired', d0.token, undefined, {}, urls[0]);
    const longPoll = api('GET', '/api/v1/sites/acme-d0/desired?wait=30', d0.token, undefined, { 'if-none-match': cur.headers.get('etag') as string }, urls[0]);
    r = await api('POST', '/api/v1/rollouts', OP, { version: v3, selector: { group: 'depots' }, strategy: { canary: 1, partitions: 1, failure_threshold: '5%', deadline: '30s' } }, {}, urls[1]);
    assert.equal(r.status, 201);
    const woke = await longPoll;
    assert.equal(woke.status, 200, 'the long-poll returns on the change');
    assert.equal((woke.body as { version: string }).version, v3);
    const ro2 = (r.body as { id: string }).id;
    // The rollout pauses on the canary's `failed`; its `rolled-back` report follows a moment later.
    await until('paused, with the canary rolled back', async () => {
      const b = (await api('GET', `/api/v1/rollouts/${ro2}`, VIEW)).body as { state: string; counts: Record<string, number> };
      return b.state === 'paused' && b.counts['rolled-back'] === 1;
    });
    r = await api('GET', `/api/v1/rollouts/${ro2}`, VIEW);
    assert.match((r.body as { reason: string }).reason, /1 of 1 released sites failed/);
    assert.deepEqual((r.body as { counts: Record<string, number> }).counts, { pending: 3, downloading: 0, applying: 0, healthy: 0, failed: 0, 'rolled-back': 1, offline: 0 }, 'nothing beyond the canary');
    r = await api('POST', `/api/v1/rollouts/${ro2}/abort`, OP, { rollback: true });
    assert.equal(r.status, 200);
    assert.equal((r.body as { state: string }).state, 'aborted');
    await until('the canary back on v1 and healthy', async () => {
      const d = (await api('GET', '/api/v1/sites/acme-d0/detail', VIEW)).body as { desired_version: string; state: string; version: string };
      return d.desired_version === v1 && d.state === 'healthy' && d.version === v1;
    });
    await until('an SSE desired event for v3 and back to v1', () => sseText.includes(`"version":"${v3}"`) && sseText.lastIndexOf(`"version":"${v1}"`) > sseText.indexOf(`"version":"${v3}"`));
    await reader.cancel();
    await sseRead.catch(() => undefined);
    for (const a of depots.slice(1)) assert.deepEqual(a.applied, [v1], `${a.name} never got v3`);
    r = await api('POST', `/api/v1/rollouts/${ro2}/resume`, OP, {});
    assert.equal(r.status, 409, 'an aborted rollout stays aborted');

    // ---- decommission and factory reset ----
    const d3 = depots[3] as Agent;
    r = await api('POST', '/api/v1/sites/acme-d3/decommission', OP, {});
    assert.equal(r.status, 204);
    await until('d3 token refused on both replicas', async () => (await api('GET', '/api/v1/sites/acme-d3/desired', d3.token, undefined, {}, urls[0])).status === 401 && (await api('GET', '/api/v1/sites/acme-d3/desired', d3.token, undefined, {}, urls[1])).status === 401);
    const d2 = depots[2] as Agent;
    r = await api('POST', '/api/v1/sites/acme-d2/factory-reset', OP, {});
    assert.equal(r.status, 204);
    pumping = false;
    await pumpDone;
    const { csrPem } = await createCsr('acme-d2');
    r = await api('POST', '/api/v1/register', acmeToken, { csr: csrPem, facts: { machine_id: 'm-acme-d2' } });
    assert.equal(r.status, 202);
    assert.equal((r.body as { state: string }).state, 'pending', 'after a factory reset the site registers from scratch');
    r = await api('POST', '/api/v1/register', acmeToken, { csr: csrPem, facts: { machine_id: 'm-acme-d3' } });
    assert.equal((r.body as { state: string }).state, 'rejected', 'a decommissioned machine stays out');
    r = await api('GET', '/api/v1/sites/acme-d2/desired', d2.token);
    assert.equal(r.status, 401);
    r = await api('GET', '/api/v1/fleet/status', VIEW);
    assert.equal((r.body as { total: number }).total, 11);
  });
}
