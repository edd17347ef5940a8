// The agent's registration and upgrade paths, end to end through its daemon,
// against (a) a small control-plane stand-in written here from the top README's contracts
// §2/§3 exactly (the real control plane is built in parallel; the combined
// test is test/agent-e2e.test.ts), and (b) the in-test Kubernetes API server
// (test/peers/kube-apiserver.ts), reached through each client: the built-in
// one (agent/kube-api-http.ts) and the real @kubernetes/client-node. No Kubernetes API server can be installed here.
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AgentDaemon, Applier, FIELD_MANAGER, type KubeObject, MANAGED_LABEL, classifyApiError, kubeApi, loadX509, stampChecksum, validateAgentConfig } from '../agent/index.js';
import type * as X509 from '@peculiar/x509';
import { generateTokenKeys, signToken, tokenPrivateKey, tokenPublicKey, verifyToken } from '../wire/index.js';
import { type FakeKube, startFakeKube } from './peers/kube-apiserver.js';

const x509 = await loadX509();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms: number, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await sleep(50);
  }
}

// --- The control-plane stand-in (the top README's contract §2) --------------------------

interface Registration {
  id: string;
  token: string;
  machineId: string;
  csr: string;
  state: 'pending' | 'approved' | 'rejected';
  polls: number;
  siteToken?: string;
  certificate?: string;
}

interface Release {
  version: string;
  text: string;
  checksum: string;
}

class ControlStandIn {
  private readonly pems = generateTokenKeys();
  readonly keys = { privateKey: tokenPrivateKey(this.pems.privateKeyPem), publicKey: tokenPublicKey(this.pems.publicKeyPem) };
  server!: Server;
  url = '';
  readonly registrationToken: string;
  readonly registrations: Registration[] = [];
  readonly statuses: { version: string; state: string; reason?: string; at: string; series?: number }[] = [];
  readonly writes: { auth: string | undefined; bytes: number }[] = [];
  readonly releases = new Map<string, Release>();
  desired: Release | null = null;
  etag = 'W/"0"';
  /** Approve a registration after this many polls. */
  approveAfterPolls = 1;
  /** Answer 401 to the site token from now on (a factory reset). */
  revoked = new Set<string>();
  private waiters: (() => void)[] = [];
  private ca!: { cert: X509.X509Certificate; keys: webcrypto.CryptoKeyPair };
  checksumOverride: string | null = null;

  constructor() {
    this.registrationToken = signToken(this.keys.privateKey, { kind: 'registration', tenant: 'acme', iat: Math.floor(Date.now() / 1000) });
  }

  async start(): Promise<void> {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({ name: 'CN=test-ca', keys: keys as never, signingAlgorithm: alg, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) });
    this.ca = { cert, keys };
    this.server = createServer((req, res) => void this.handle(req, res).catch((err: Error) => this.json(res, 500, { code: 'INTERNAL', message: err.message })));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    for (const w of this.waiters.splice(0)) w();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  publish(version: string, objectsYaml: string): Release {
    const { text, checksum } = stampChecksum(objectsYaml);
    const r = { version, text, checksum };
    this.releases.set(version, r);
    this.desired = r;
    this.etag = `W/"${version}-${checksum.slice(7, 15)}"`;
    for (const w of this.waiters.splice(0)) w();
    return r;
  }

  private json(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(code, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
  }

  private async body(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private bearer(req: IncomingMessage): string | undefined {
    return /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  }

  private siteOf(req: IncomingMessage): string | null {
    const tok = this.bearer(req);
    if (tok === undefined || this.revoked.has(tok)) return null;
    const v = verifyToken([this.keys.publicKey], tok, 'site', Date.now());
    return v.ok ? (v.claims.site ?? null) : null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const p = url.pathname;
    if (req.method === 'POST' && p === '/api/v1/register') {
      const tok = this.bearer(req);
      if (tok === undefined || !verifyToken([this.keys.publicKey], tok, 'registration', Date.now()).ok) return this.json(res, 401, { code: 'FS_CONTROL_UNAUTHORIZED', message: 'bad registration token' });
      const b = JSON.parse((await this.body(req)).toString()) as { csr: string; facts: Record<string, string> };
      const csr = new x509.Pkcs10CertificateRequest(b.csr);
      if (!(await csr.verify())) return this.json(res, 400, { code: 'FS_CONTROL_BAD_CSR', message: 'CSR signature does not verify' });
      const existing = this.registrations.find((r) => r.token === tok && r.machineId === b.facts.machine_id && r.state === 'pending');
      if (existing) return this.json(res, 202, { registration_id: existing.id, state: 'pending', poll_after_s: 0.1 });
      const r: Registration = { id: `reg-${this.registrations.length + 1}`, token: tok, machineId: b.facts.machine_id ?? '', csr: b.csr, state: 'pending', polls: 0 };
      this.registrations.push(r);
      return this.json(res, 202, { registration_id: r.id, state: 'pending', poll_after_s: 0.1 });
    }
    const reg = /^\/api\/v1\/registrations\/([^/]+)$/.exec(p);
    if (req.method === 'GET' && reg) {
      const r = this.registrations.find((x) => x.id === reg[1] && x.token === this.bearer(req));
      if (!r) return this.json(res, 404, { code: 'FS_CONTROL_NOT_FOUND', message: 'no such registration' });
      r.polls++;
      if (r.state === 'pending' && r.polls >= this.approveAfterPolls) {
        r.state = 'approved';
        r.siteToken = signToken(this.keys.privateKey, { kind: 'site', tenant: 'acme', site: 'edge-1', group: 'retail', iat: Math.floor(Date.now() / 1000) + this.registrations.length });
        const csr = new x509.Pkcs10CertificateRequest(r.csr);
        const cert = await x509.X509CertificateGenerator.create({ serialNumber: '01', subject: csr.subject, issuer: this.ca.cert.subject, notBefore: new Date(), notAfter: new Date(Date.now() + 86_400_000), publicKey: csr.publicKey, signingKey: this.ca.keys.privateKey as never, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as never });
        r.certificate = cert.toString('pem');
      }
      if (r.state === 'pending') return this.json(res, 200, { state: 'pending', poll_after_s: 0.1 });
      return this.json(res, 200, {
        state: 'approved',
        site: { tenant: 'acme', site: 'edge-1', group: 'retail', labels: { region: 'eu' } },
        identity: { site_token: r.siteToken, certificate: r.certificate, ca: this.ca.cert.toString('pem') },
        endpoints: { remote_write_url: `${this.url}/api/v1/write`, logs_forward: '127.0.0.1:24224', logs_http_url: `${this.url}/logs`, control_url: this.url },
      });
    }
    if (req.method === 'POST' && p === '/api/v1/write') {
      const body = await this.body(req);
      if (this.siteOf(req) === null) return this.json(res, 401, { code: 'FS_COLLECTOR_UNAUTHORIZED', message: 'no' });
      this.writes.push({ auth: req.headers.authorization, bytes: body.length });
      res.writeHead(204).end();
      return;
    }
    const m = /^\/api\/v1\/sites\/([^/]+)\/(desired|status|artifacts\/([^/]+)\/manifests\.yaml)$/.exec(p);
    if (m) {
      const site = this.siteOf(req);
      if (site === null) return this.json(res, 401, { code: 'FS_CONTROL_UNAUTHORIZED', message: 'unknown site token' });
      if (site !== m[1]) return this.json(res, 403, { code: 'FS_CONTROL_FORBIDDEN', message: 'another site' });
      if (m[2] === 'status' && req.method === 'POST') {
        this.statuses.push(JSON.parse((await this.body(req)).toString()) as ControlStandIn['statuses'][number]);
        res.writeHead(204).end();
        return;
      }
      if (m[2] === 'desired' && req.method === 'GET') {
        const wait = Math.min(Number(url.searchParams.get('wait') ?? 0), 60);
        if (req.headers['if-none-match'] === this.etag && wait > 0) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, wait * 1000);
            this.waiters.push(() => {
              clearTimeout(t);
              resolve();
            });
          });
        }
        if (this.desired === null || req.headers['if-none-match'] === this.etag) {
          res.writeHead(304, { ETag: this.etag }).end();
          return;
        }
        const d = this.desired;
        return this.json(res, 200, { version: d.version, checksum: this.checksumOverride ?? d.checksum, artifact_url: `/api/v1/sites/${site}/artifacts/${d.version}/manifests.yaml`, mode_summary: {} }, { ETag: this.etag });
      }
      if (m[3] !== undefined && req.method === 'GET') {
        const r = this.releases.get(decodeURIComponent(m[3]));
        if (!r) return this.json(res, 404, { code: 'FS_CONTROL_NOT_FOUND', message: 'no such version' });
        res.writeHead(200, { 'Content-Type': 'application/yaml' }).end(r.text);
        return;
      }
    }
    this.json(res, 404, { code: 'FS_CONTROL_NOT_FOUND', message: `${req.method} ${p}` });
  }
}

// --- Releases ----------------------------------------------------------------

const ann = (version: string, extra = ''): string => `  annotations:\n    fleetscope.io/version: "${version}"\n    fleetscope.io/checksum: ''\n${extra}`;

function release(version: string, opts: { image: string; withConfig: boolean; withJob?: boolean; prepull?: string }): string {
  const docs = [
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: edge-app\n  namespace: edge\n${ann(version, opts.prepull ? `    fleetscope.io/prepull-images: "${opts.prepull}"\n` : '')}spec:\n  replicas: 2\n  selector:\n    matchLabels: {app: edge-app}\n  template:\n    metadata:\n      labels: {app: edge-app}\n    spec:\n      containers:\n      - name: app\n        image: ${opts.image}\n`,
    `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n${ann(version)}spec:\n  group: example.com\n  scope: Namespaced\n  names: {plural: widgets, singular: widget, kind: Widget}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n`,
    `apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: edge\n${ann(version, '    fleetscope.io/apply-mode: optimistic\n')}spec:\n  size: 3\n`,
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: edge\n${ann(version)}`,
  ];
  if (opts.withConfig) docs.push(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: edge-config\n  namespace: edge\n${ann(version)}data:\n  version: "${version}"\n`);
  if (opts.withJob) docs.push(`apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate-${version.replace(/\./g, '-')}\n  namespace: edge\n${ann(version)}spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: m\n        image: ${opts.image}\n`);
  return `${docs.join('---\n')}`;
}

// --- Tests ---------------------------------------------------------------------

// Every test once per Kubernetes client (upgrades.client): the built-in one on node:https and @kubernetes/client-node.
for (const client of ['builtin', 'client-node'] as const) {
describe(`${client} client`, () => {
  let control: ControlStandIn;
  let kube: FakeKube;
  let dir: string;

  before(async () => {
    control = new ControlStandIn();
    await control.start();
    kube = await startFakeKube({ readyAfterMs: 100, broken: (o) => JSON.stringify(o.spec ?? {}).includes(':broken') });
    dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-control-'));
  });

  after(async () => {
    await control?.stop();
    await kube?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test(`${client} client: server-side apply: one field manager, force takes over a field another manager owns, which would otherwise conflict`, async () => {
    const api = await kubeApi(kube.kubeconfig, { client });
    assert.equal('discoveries' in api, client === 'builtin', 'the client asked for');
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared', namespace: 'default' }, data: { a: '1', b: '2' } };
    await api.apply(cm);
    // Another manager sets a field differently without force: the real server answers 409 Conflict.
    const res = await fetch(`${kube.url}/api/v1/namespaces/default/configmaps/shared?fieldManager=kubectl`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${kube.token}`, 'Content-Type': 'application/apply-patch+yaml' },
      body: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared, namespace: default}\ndata: {a: "9", c: "3"}\n',
    });
    assert.equal(res.status, 409);
    const st = (await res.json()) as { reason: string; details: { causes: { field: string }[] } };
    assert.equal(st.reason, 'Conflict');
    assert.deepEqual(st.details.causes.map((c) => c.field), ['.data.a']);
    // The agent applies with force: it owns .data.a again, and a field only kubectl set is left alone.
    const forced = await fetch(`${kube.url}/api/v1/namespaces/default/configmaps/shared?fieldManager=kubectl&force=true`, { method: 'PATCH', headers: { Authorization: `Bearer ${kube.token}`, 'Content-Type': 'application/apply-patch+yaml' }, body: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared, namespace: default}\ndata: {a: "9", c: "3"}\n' });
    assert.equal(forced.status, 200);
    await api.apply(cm);
    const live = kube.get('v1', 'ConfigMap', 'default', 'shared') as unknown as { data: Record<string, string>; metadata: { labels: Record<string, string> } };
    assert.deepEqual(live.data, { a: '1', b: '2', c: '3' });
    assert.equal(live.metadata.labels[MANAGED_LABEL], 'fleetscope-agent');
    assert.deepEqual(kube.owners('v1', 'ConfigMap', 'default', 'shared')[FIELD_MANAGER]?.filter((f) => f.startsWith('.data')), ['.data.a', '.data.b']);
    assert.deepEqual(kube.owners('v1', 'ConfigMap', 'default', 'shared').kubectl, ['.data.c']);
    const patches = kube.requests.filter((r) => r.method === 'PATCH' && r.query.fieldManager === FIELD_MANAGER);
    assert.ok(patches.length >= 2);
    for (const r of patches) {
      assert.equal(r.contentType, 'application/apply-patch+yaml');
      assert.equal(r.query.force, 'true');
    }
  });

  test(`${client} client: a kind is found right after its CRD is established, also in a group already discovered (discovery again on a miss)`, async () => {
    const api = await kubeApi(kube.kubeconfig, { client });
    const group = `rediscover-${client}.example`;
    const crd = (plural: string, kind: string): KubeObject => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `${plural}.${group}` }, spec: { group, scope: 'Namespaced', names: { plural, singular: kind.toLowerCase(), kind }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] } });
    const established = async (name: string): Promise<void> =>
      waitFor(`CRD ${name} Established`, async () => ((await api.read({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name }))?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true, 5000);
    const rejected = (o: KubeObject): Promise<unknown> => api.apply(o).then(() => assert.fail(`${o.kind} applied before its CRD`), (e: unknown) => e);
    // Before its CRD the group/version is not served: its 404 (read → null, delete → done, apply → permanent), as the official client says.
    assert.equal(await api.read({ apiVersion: `${group}/v1`, kind: 'Alpha', namespace: 'default', name: 'a1' }), null);
    await api.delete({ apiVersion: `${group}/v1`, kind: 'Alpha', namespace: 'default', name: 'a1' });
    const unserved = classifyApiError(await rejected({ apiVersion: `${group}/v1`, kind: 'Alpha', metadata: { name: 'a1', namespace: 'default' }, spec: {} }));
    assert.equal(unserved.kind, 'permanent');
    assert.match(unserved.reason, /^HTTP 404/);
    await api.apply(crd('alphas', 'Alpha'));
    await established(`alphas.${group}`);
    await api.apply({ apiVersion: `${group}/v1`, kind: 'Alpha', metadata: { name: 'a1', namespace: 'default' }, spec: { n: 1 } });
    // A kind missing from a served group/version: worth retrying (its CRD may be about to be established).
    const missing = classifyApiError(await rejected({ apiVersion: `${group}/v1`, kind: 'Beta', metadata: { name: 'b1', namespace: 'default' }, spec: {} }));
    assert.equal(missing.kind, 'transient');
    assert.match(missing.reason, /Unrecognized API version and kind/);
    // A second kind in the same group/version, established after the group was discovered.
    await api.apply(crd('betas', 'Beta'));
    await established(`betas.${group}`);
    await api.apply({ apiVersion: `${group}/v1`, kind: 'Beta', metadata: { name: 'b1', namespace: 'default' }, spec: { n: 2 } });
    assert.deepEqual((kube.get(`${group}/v1`, 'Beta', 'default', 'b1') as { spec?: unknown } | undefined)?.spec, { n: 2 });
    assert.deepEqual((await api.read({ apiVersion: `${group}/v1`, kind: 'Alpha', namespace: 'default', name: 'a1' }))?.spec, { n: 1 });
    await api.delete({ apiVersion: `${group}/v1`, kind: 'Beta', namespace: 'default', name: 'b1' });
    assert.equal(await api.read({ apiVersion: `${group}/v1`, kind: 'Beta', namespace: 'default', name: 'b1' }), null);
    await api.delete({ apiVersion: `${group}/v1`, kind: 'Beta', namespace: 'default', name: 'b1' }); // missing: not an error
    const deletes = kube.requests.filter((r) => r.method === 'DELETE' && r.path.endsWith('/betas/b1'));
    assert.deepEqual(deletes.map((r) => r.status), [200, 404]);
  });

  test(`${client} client: transient API errors are retried; a permanent one fails at once`, async () => {
    const api = await kubeApi(kube.kubeconfig, { client });
    const applier = new Applier(api, { readyTimeoutMs: 2000, retries: 4, backoffMs: 20 });
    kube.failNext(3);
    const ok = await applier.apply([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'retry-me', namespace: 'default' }, data: { x: '1' } }], []);
    assert.equal(ok.ok, true, JSON.stringify(ok));
    kube.failNext(10);
    const gaveUp = await applier.apply([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'retry-me-2', namespace: 'default' }, data: { x: '1' } }], []);
    assert.equal(gaveUp.ok, false);
    assert.match(gaveUp.ok ? '' : gaveUp.reason, /HTTP 503.*after 5 attempts/);
    kube.failNext(0);
    const missingNs = await applier.apply([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'nowhere' }, data: {} }], []);
    assert.equal(missingNs.ok, false);
    assert.match(missingNs.ok ? '' : missingNs.reason, /HTTP 404.*namespaces \\"nowhere\\" not found/);
  });

  test(`${client} client: registers zero-touch, ships with its site token, upgrades, prunes, rolls back a failed version, and re-registers after a factory reset`, async () => {
    const state = join(dir, 'state');
    const tokenFile = join(dir, 'user-data');
    await writeFile(tokenFile, `#cloud-config\nfleetscope:\n  registration_token: ${control.registrationToken}\n`);
    const loaded = validateAgentConfig(
      {
        state_dir: state,
        listen: '127.0.0.1:0',
        scrape: { interval: '1s', timeout: '500ms' },
        remote_write: { min_backoff: '50ms', max_backoff: '200ms' },
        registration: { control_url: control.url, cloud_init_user_data: tokenFile, token_env: 'FLEETSCOPE_TEST_NO_SUCH_VAR', poll_interval: '100ms', facts: { rack: 'r1' } },
        upgrades: { enabled: true, kubeconfig: kube.kubeconfig, client, poll_interval: '1s', long_poll_seconds: 2, ready_timeout: '1500ms', api_retries: 3, prepull_timeout: '5s' },
      },
      'agent-control.yml',
    );
    const log: string[] = [];
    const agent = await AgentDaemon.start(loaded, { env: {}, log: (l, m) => log.push(`${l} ${m}`) });
    const states = (): string => JSON.stringify(control.statuses.map((s) => `${s.version}:${s.state}${s.reason ? `(${s.reason.slice(0, 120)})` : ''}`)) + `\n${log.join('\n')}`;
    try {
      await waitFor('approval', () => agent.currentIdentity() !== null, 10_000, () => log.join('\n'));
      const id = agent.currentIdentity()!;
      assert.equal(id.site.site, 'edge-1');
      assert.equal(control.registrations.length, 1);
      // Identity on disk, with safe permissions; the private key never left the site.
      assert.equal((await stat(state)).mode & 0o777, 0o700);
      for (const f of ['identity.json', 'key.pem', 'cert.pem', 'ca.pem']) assert.equal((await stat(join(state, f))).mode & 0o777, 0o600, f);
      const keyPem = await readFile(join(state, 'key.pem'), 'utf8');
      assert.ok(!control.registrations[0]!.csr.includes('PRIVATE'));
      const cert = new x509.X509Certificate(await readFile(join(state, 'cert.pem'), 'utf8'));
      const key = await webcrypto.subtle.importKey('pkcs8', Buffer.from(keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
      const sig = await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from('proof'));
      assert.ok(await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, await cert.publicKey.export(), sig, Buffer.from('proof')), 'the certificate is for the key kept on the site');
      // Its own metrics go to the remote_write_url it was given, with its site token.
      await waitFor('a remote write', () => control.writes.length > 0, 10_000);
      assert.equal(control.writes[0]!.auth, `Bearer ${id.site_token}`);

      // v1: applied with CRDs and Namespaces first, images pre-pulled before anything else.
      const firstRequest = kube.requests.length;
      control.publish('1.0.0', release('1.0.0', { image: 'app:1', withConfig: true, prepull: 'app:1,sidecar:1' }));
      await waitFor('v1 healthy', () => control.statuses.some((s) => s.version === '1.0.0' && s.state === 'healthy'), 15_000, states);
      assert.deepEqual(control.statuses.filter((s) => s.version === '1.0.0').map((s) => s.state), ['downloading', 'pre-pulling', 'applying', 'healthy']);
      assert.ok(control.statuses.every((s) => typeof s.series === 'number' && s.series > 0 && !Number.isNaN(Date.parse(s.at))), 'each report carries the series shipped and an RFC 3339 time');
      const applies = kube.requests.slice(firstRequest).filter((r) => r.method === 'PATCH' && r.query.fieldManager === FIELD_MANAGER);
      const order = applies.map((r) => r.path).filter((p) => !p.includes('/default/'));
      const firstRelease = order.findIndex((p) => !p.includes('prepull') && !p.endsWith('/namespaces/fleetscope-system'));
      assert.ok(order.slice(0, firstRelease).some((p) => p.endsWith('/daemonsets/fleetscope-prepull')), order.join('\n'));
      const rel = order.slice(firstRelease);
      assert.match(rel[0]!, /customresourcedefinitions\/widgets.example.com$/);
      assert.match(rel[1]!, /\/api\/v1\/namespaces\/edge$/);
      assert.equal(kube.get('apps/v1', 'DaemonSet', 'fleetscope-system', 'fleetscope-prepull'), undefined, 'the pre-pull DaemonSet is deleted afterwards');
      const prepull = kube.requests.find((r) => r.path.endsWith('/daemonsets/fleetscope-prepull') && r.method === 'PATCH');
      assert.ok(prepull);
      assert.equal((kube.get('v1', 'ConfigMap', 'edge', 'edge-config') as unknown as { data: { version: string } }).data.version, '1.0.0');
      assert.ok(kube.get('example.com/v1', 'Widget', 'edge', 'w1'));

      // v2: drops the ConfigMap (pruned), adds a Job (waited for until Complete), survives an API outage.
      kube.failNext(2);
      control.publish('2.0.0', release('2.0.0', { image: 'app:2', withConfig: false, withJob: true }));
      await waitFor('v2 healthy', () => control.statuses.some((s) => s.version === '2.0.0' && s.state === 'healthy'), 15_000, states);
      assert.equal(kube.get('v1', 'ConfigMap', 'edge', 'edge-config'), undefined, 'pruned');
      assert.ok(kube.get('batch/v1', 'Job', 'edge', 'migrate-2-0-0'));
      const deploy = kube.get('apps/v1', 'Deployment', 'edge', 'edge-app') as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } };
      assert.equal(deploy.spec.template.spec.containers[0]!.image, 'app:2');

      // A tampered artifact: the checksum fails, nothing is applied.
      const patchesBefore = kube.requests.filter((r) => r.method === 'PATCH').length;
      control.checksumOverride = `sha256:${'0'.repeat(64)}`;
      control.publish('2.0.1', release('2.0.1', { image: 'app:2', withConfig: false }));
      await waitFor('2.0.1 failed', () => control.statuses.some((s) => s.version === '2.0.1' && s.state === 'failed'), 10_000, states);
      assert.match(control.statuses.find((s) => s.version === '2.0.1' && s.state === 'failed')!.reason ?? '', /checksum/);
      assert.equal(kube.requests.filter((r) => r.method === 'PATCH').length, patchesBefore, 'nothing applied');
      control.checksumOverride = null;

      // v3: its Deployment never becomes available (pessimistic): timeout, failed, rolled back to v2.
      control.publish('3.0.0', release('3.0.0', { image: 'app:broken', withConfig: true }));
      await waitFor('v3 rolled back', () => control.statuses.some((s) => s.version === '3.0.0' && s.state === 'rolled-back'), 20_000, states);
      assert.deepEqual(control.statuses.filter((s) => s.version === '3.0.0').map((s) => s.state), ['downloading', 'pre-pulling', 'applying', 'failed', 'rolled-back']);
      assert.match(control.statuses.find((s) => s.version === '3.0.0' && s.state === 'failed')!.reason ?? '', /Deployment edge\/edge-app: .*not ready after 2 s|not ready after/);
      const back = kube.get('apps/v1', 'Deployment', 'edge', 'edge-app') as unknown as { spec: { template: { spec: { containers: { image: string }[] } } }; metadata: { annotations: Record<string, string> } };
      assert.equal(back.spec.template.spec.containers[0]!.image, 'app:2');
      assert.equal(back.metadata.annotations['fleetscope.io/version'], '2.0.0');
      assert.equal(kube.get('v1', 'ConfigMap', 'edge', 'edge-config'), undefined, 'what only v3 had is pruned by the rollback');
      const health = await (await fetch(`${agent.url}/metrics`)).text();
      assert.match(health, /fleetscope_agent_upgrade_state\{version="3.0.0",state="rolled-back"\} 1/);
      assert.match(health, /fleetscope_agent_upgrades_total\{result="rolled-back"\} 1/);
      const saved = JSON.parse(await readFile(join(state, 'upgrade-state.json'), 'utf8')) as { current: { version: string }; failed: { version: string } };
      assert.equal(saved.current.version, '2.0.0');
      assert.equal(saved.failed.version, '3.0.0');

      // Factory reset: the control plane no longer accepts the site token; the agent forgets it and registers again.
      control.revoked.add(id.site_token);
      control.publish('3.0.1', release('3.0.1', { image: 'app:2', withConfig: false }));
      await waitFor('re-registration', () => control.registrations.length === 2 && agent.currentIdentity() !== null && agent.currentIdentity()!.site_token !== id.site_token, 15_000, () => log.join('\n'));
      assert.notEqual(control.registrations[1]!.csr, control.registrations[0]!.csr, 'a new key and CSR');
      assert.notEqual(await readFile(join(state, 'key.pem'), 'utf8'), keyPem);
      assert.ok((await readdir(state)).includes('identity.json'));
      // The daemon's applies went through the client asked for (upgrades.client), not the other.
      const ours = kube.requests.filter((r) => r.method === 'PATCH' && r.query.fieldManager === FIELD_MANAGER);
      assert.ok(ours.length > 10, `${ours.length} applies`);
      assert.deepEqual([...new Set(ours.map((r) => /^fleetscope-agent\//.test(r.userAgent ?? '')))], [client === 'builtin'], JSON.stringify([...new Set(ours.map((r) => r.userAgent))]));
    } finally {
      await agent.stop();
    }
  });
});
}
