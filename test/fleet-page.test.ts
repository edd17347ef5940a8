// The fleet page in a real browser (Debian's headless Chromium, driven by
// playwright-core) against the REAL control plane (control/): a real git
// repository holding the example model, a file store in a temp dir, operator
// tokens, and the HTTP API (buildServer) with the page wired in by the
// control plane's own hook (config `page.faro_url`). The fleet is made
// through that API the way sites make it: 36 sites register with
// registration tokens and CSRs, an operator approves them, simulated agents
// poll their desired version (the heartbeat), download and verify artifacts
// and report status — most healthy, some failed, some never seen (offline).
// A finished rollout and a running staged one come from POST /api/v1/rollouts.
// Two registrations stay pending for the page to approve and reject.
// The page's Faro telemetry goes to the real collector/faro receiver on
// another origin (CORS and all).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { type FaroLogRecord, registerFaroRoutes } from '../collector/index.js';
import { ControlPlane, buildServer, commitModel, createCsr, createRegistrationToken, exampleModelFiles, initRepo, manifestChecksum, parseControlConfig } from '../control/index.js';
import { generateTokenKeys, tokenPrivateKey } from '../wire/index.js';
import { startChromium, type ChromiumPeer } from './peers/chromium.js';
import { freePort } from './peers/prometheus.js';

// Code passed to page.evaluate runs in the browser; the Node build has no DOM
// types, so this module declares the little of the DOM that code touches.
interface DomNode { id?: string; textContent: string | null; outerHTML: string; tagName: string; parentElement: DomNode | null; labels?: { length: number } | null; closest(sel: string): DomNode | null; getAttribute(name: string): string | null }
declare const document: { activeElement: DomNode | null };
declare const window: Record<string, unknown>;
declare const sessionStorage: { getItem(key: string): string | null };
declare function getComputedStyle(el: DomNode): { color: string; backgroundColor: string };

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);
const OPERATOR = 'page-operator-token-0123456789';
const VIEWER = 'page-viewer-token-0123456789ab';
const STATES = ['healthy', 'unhealthy', 'offline', 'upgrading'] as const;
type State = (typeof STATES)[number];
type Counts = Record<State, number>;
interface FleetStatus { total: number; by_state: Counts; by_tenant: Record<string, Counts>; by_re: Record<string, Counts> }
interface RolloutView { id: string; version: string; state: string; reason?: string; counts: Record<string, number>; partition: number; partitions: number; sites: number }

// ---- the real control plane, and simulated agents talking to its API ----

let dir = '';
let repo = '';
let cp: ControlPlane;
let control: FastifyInstance;
let collector: FastifyInstance;
let chromium: ChromiumPeer;
let page: Page;
let base = '';
let apiBase = '';
let v1 = '';
let v2 = '';
let doneRollout = '';
let liveRollout = '';
const pendingRegs: string[] = [];
const faroRecords: FaroLogRecord[] = [];
let faroMetrics: () => Promise<string>;
const pageErrors: string[] = [];
const failedRequests: string[] = [];

async function api(method: string, path: string, token: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; headers: Headers; text: string }> {
  const res = await fetch(apiBase + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // YAML
  }
  return { status: res.status, body: parsed, headers: res.headers, text };
}

async function apiGet<T>(path: string): Promise<T> {
  const r = await api('GET', path, OPERATOR);
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.body as T;
}

const until = async (what: string, ok: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

interface Agent {
  readonly name: string;
  token: string;
  etag: string;
  running: string | null;
  /** A version downloaded and being applied (held while in `hold`). */
  applying: string | null;
  /** Never polls: the site is offline from approval on. */
  readonly silent: boolean;
  /** Versions this agent holds at "applying" until the test lets go. */
  readonly hold: Set<string>;
  /** On its next poll, the running version fails (a crash after a healthy apply). */
  breakNow: boolean;
  readonly series: number;
}

async function report(a: Agent, version: string, state: string, reason?: string): Promise<void> {
  const r = await api('POST', `/api/v1/sites/${a.name}/status`, a.token, { version, state, at: new Date().toISOString(), series: a.series, ...(reason ? { reason } : {}) });
  assert.equal(r.status, 204, r.text);
}

/** One poll of a simulated agent: the conditional GET is its heartbeat; a new version is downloaded, verified, applied and reported. */
async function poll(a: Agent): Promise<void> {
  if (a.silent) return;
  const r = await api('GET', `/api/v1/sites/${a.name}/desired`, a.token, undefined, a.etag ? { 'if-none-match': a.etag } : {});
  if (r.status === 200) {
    a.etag = r.headers.get('etag') as string;
    const d = r.body as { version: string; checksum: string; artifact_url: string };
    if (d.version === a.running) {
      a.applying = null;
      await report(a, d.version, 'healthy');
    } else if (d.version !== a.applying) {
      const art = await api('GET', new URL(d.artifact_url, apiBase).pathname, a.token);
      assert.equal(art.status, 200);
      assert.equal(manifestChecksum(art.text), d.checksum, 'the artifact verifies against the desired checksum');
      await report(a, d.version, 'downloading');
      await report(a, d.version, 'applying');
      a.applying = d.version;
    }
  } else {
    assert.ok(r.status === 304 || r.status === 404, `${a.name}: ${r.status} ${r.text}`);
  }
  if (a.applying !== null && !a.hold.has(a.applying)) {
    a.running = a.applying;
    a.applying = null;
    await report(a, a.running, 'healthy');
  }
  if (a.breakNow && a.running !== null && a.applying === null) {
    a.breakNow = false;
    await report(a, a.running, 'failed', 'readiness probe failed on web');
  }
}

const agents: Agent[] = [];
const agent = (name: string): Agent => agents.find((a) => a.name === name) as Agent;
let pumping = false;
let pumpDone: Promise<void> = Promise.resolve();
async function pump(): Promise<void> {
  while (pumping) {
    for (const a of agents) await poll(a);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The simulated fleet: tenant → group → site count, and who does what. */
const FLEET: Record<string, Record<string, number>> = { acme: { stores: 8, depots: 6 }, globex: { stores: 4, depots: 6 }, initech: { stores: 6, depots: 6 } };
const SILENT = new Set(['acme-d05', 'globex-d05', 'initech-d04', 'initech-d05']);
const BROKEN = new Set(['acme-d04', 'globex-d03', 'initech-s05']);
const RES = ['eu-west-1', 'us-east-1', 'ap-south-1'];

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-page-'));
  repo = join(dir, 'model');
  initRepo(repo);
  const keys = generateTokenKeys();
  await writeFile(join(dir, 'token.key'), keys.privateKeyPem);

  // Page and API on "localhost", the collector on 127.0.0.1: two origins, so Faro's posts are cross-origin.
  const controlPort = await freePort();
  base = `http://localhost:${controlPort}`;
  apiBase = `http://127.0.0.1:${controlPort}`;
  collector = Fastify();
  const { registry } = registerFaroRoutes(collector, (records) => { faroRecords.push(...records); return true; }, { tenant: 'ops', re: 'control', allowedOrigins: [base] });
  faroMetrics = () => registry.metrics();
  const collectorUrl = await collector.listen({ host: '127.0.0.1', port: 0 });

  const config = parseControlConfig({
    store: 'state',
    artifacts: { dir: 'artifacts' },
    git: { repo, ref: 'main', cache_dir: 'git-cache' },
    keys: { token_private_key: 'token.key' },
    operators: [{ name: 'ops', token: OPERATOR, role: 'operator' }, { name: 'noc', token: VIEWER, role: 'viewer' }],
    endpoints: { control_url: apiBase },
    // Unseen for 3 intervals (6 s) = offline; the agents poll every few hundred ms.
    poll_interval: '2s',
    rollout_tick: '100ms',
    page: { faro_url: `${collectorUrl}/faro/collect` },
  }, 'page-test.yml', dir);
  cp = await ControlPlane.open(config);
  cp.start();
  control = await buildServer(cp);
  await control.listen({ host: '127.0.0.1', port: controlPort });

  // ---- the model (v1), loaded through the API ----
  const tenants = Object.keys(FLEET);
  commitModel(repo, exampleModelFiles({ tenants, groups: ['stores', 'depots'] }), 'v1');
  let r = await api('POST', '/api/v1/model/load', OPERATOR, {});
  assert.equal(r.status, 200, r.text);
  v1 = (r.body as { release: string }).release;

  // ---- registration with tokens and CSRs, approval by an operator ----
  const key = tokenPrivateKey(keys.privateKeyPem);
  let n = 0;
  for (const [tenant, groups] of Object.entries(FLEET)) {
    const regToken = createRegistrationToken(key, tenant, { ttlMs: 3_600_000 });
    for (const [group, count] of Object.entries(groups)) {
      for (let i = 0; i < count; i++) {
        const name = `${tenant}-${group[0]}${String(i).padStart(2, '0')}`;
        const { csrPem } = await createCsr(name);
        r = await api('POST', '/api/v1/register', regToken, { csr: csrPem, facts: { machine_id: `m-${name}`, hostname: name } });
        assert.equal(r.status, 202, r.text);
        const id = (r.body as { registration_id: string }).registration_id;
        r = await api('POST', `/api/v1/registrations/${id}/approve`, OPERATOR, { site: name, group, labels: { re: RES[n++ % RES.length] as string, zone: `z${i % 2}` } });
        assert.equal(r.status, 200, `${name}: ${r.text}`);
        r = await api('GET', `/api/v1/registrations/${id}`, regToken);
        const token = (r.body as { identity: { site_token: string } }).identity.site_token;
        agents.push({ name, token, etag: '', running: null, applying: null, silent: SILENT.has(name), hold: new Set(), breakNow: BROKEN.has(name), series: 1800 + ((n * 37) % 500) });
      }
    }
  }
  // Two machines wait for the page's operator.
  for (const [tenant, facts] of [['acme', { hostname: 'store-0417', machine_id: 'b1946ac92492d2347c6235b4d2611184', kubernetes_version: 'v1.29.4', nodes: 3 }], ['globex', { hostname: 'kiosk-x', machine_id: '7d793037a0760186574b0282f2f435e7' }]] as const) {
    const { csrPem } = await createCsr(facts.hostname);
    r = await api('POST', '/api/v1/register', createRegistrationToken(key, tenant), { csr: csrPem, facts });
    assert.equal(r.status, 202, r.text);
    pendingRegs.push((r.body as { registration_id: string }).registration_id);
  }

  pumping = true;
  pumpDone = pump();
  const live = agents.filter((a) => !a.silent);
  await until('every polling agent on v1', () => live.every((a) => a.running === v1));

  // ---- v2 changes the stores; one rollout of it finishes, another is held at its canary ----
  commitModel(repo, exampleModelFiles({ tenants, groups: ['stores', 'depots'], groupParams: Object.fromEntries(tenants.map((t) => [`${t}/stores`, { replicas: 5 }])) }), 'stores: 5 replicas');
  r = await api('POST', '/api/v1/model/load', OPERATOR, {});
  assert.equal(r.status, 200, r.text);
  v2 = (r.body as { release: string }).release;
  r = await api('POST', '/api/v1/rollouts', OPERATOR, { version: v2, selector: { tenant: 'globex', group: 'stores' }, strategy: { canary: 1, partitions: 1, deadline: '10m' } });
  assert.equal(r.status, 201, r.text);
  doneRollout = (r.body as { id: string }).id;
  await until('the globex rollout done', async () => (await apiGet<RolloutView>(`/api/v1/rollouts/${doneRollout}`)).state === 'done');
  for (const a of agents) if (a.name.startsWith('acme-s')) a.hold.add(v2);
  r = await api('POST', '/api/v1/rollouts', OPERATOR, { version: v2, selector: { tenant: 'acme', group: 'stores' }, strategy: { canary: 1, partitions: 2, max_unavailable: '50%', failure_threshold: '20%', deadline: '10m' } });
  assert.equal(r.status, 201, r.text);
  liveRollout = (r.body as { id: string }).id;
  // Settled: 28 healthy, 3 failed, 4 never seen (offline after 6 s), the canary applying.
  await until('the fleet settled', async () => {
    const s = await apiGet<FleetStatus>('/api/v1/fleet/status');
    return s.by_state.healthy === 28 && s.by_state.unhealthy === 3 && s.by_state.offline === 4 && s.by_state.upgrading === 1;
  });

  chromium = await startChromium();
  page = await chromium.context.newPage();
  page.setDefaultTimeout(8000);
  page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
  // Failed requests are checked by URL below; the console's copy of them carries none.
  page.on('console', (msg) => { if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) pageErrors.push(`console: ${msg.text()}`); });
  page.on('response', (res) => { if (res.status() >= 400) failedRequests.push(`${res.request().method()} ${new URL(res.url()).pathname} ${res.status()}`); });
});

after(async () => {
  pumping = false;
  await pumpDone.catch(() => undefined);
  await chromium?.stop();
  await control?.close();
  await cp?.close();
  await collector?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const num = (s: string | null): number => Number((s ?? '').replace(/[^0-9]/g, ''));
const fmt = (n: number): string => n.toLocaleString('en-US');
const summaryText = (s: FleetStatus): string => `${STATES.map((k) => `${fmt(s.by_state[k])} ${k}`).join(', ')} — ${fmt(s.total)} sites`;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: new URL(`fleet-page-${name}.png`, ARTIFACTS).pathname, fullPage: true });
}

async function signIn(token: string): Promise<void> {
  await page.getByLabel('Operator token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('the page signs in with a token and shows the counts the API gives', { timeout: 30_000 }, async () => {
  await page.goto(base);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  // Nothing is fetched without a token.
  assert.equal(await page.locator('#view-fleet').isHidden(), true);
  await signIn(OPERATOR);
  await page.getByRole('heading', { name: 'Fleet at a glance' }).waitFor();
  await page.locator('#fleet-summary [data-state="healthy"] b').waitFor();
  const status = await apiGet<FleetStatus>('/api/v1/fleet/status');
  assert.deepEqual(status.by_state, { healthy: 28, unhealthy: 3, offline: 4, upgrading: 1 }, 'what the simulated agents made');
  for (const s of STATES) assert.equal(num(await page.locator(`#fleet-summary [data-state="${s}"] b`).textContent()), status.by_state[s], s);
  assert.equal(num(await page.locator('#fleet-summary [data-state="total"] b').textContent()), status.total);
  assert.equal(await page.locator('#fleet-summary').innerText(), summaryText(status));
  for (const [table, rows] of [['by-tenant', status.by_tenant], ['by-re', status.by_re]] as const) {
    assert.equal(await page.locator(`#${table} tbody tr`).count(), Object.keys(rows).length);
    for (const [name, counts] of Object.entries(rows)) {
      for (const s of STATES) assert.equal(num(await page.locator(`#${table} tr[data-name="${name}"] td[data-state="${s}"]`).textContent()), counts[s], `${table} ${name} ${s}`);
    }
  }
  assert.deepEqual(Object.keys(status.by_re).sort(), [...RES].sort());
  assert.equal(await page.locator('#failures tbody tr').count(), 3, 'the three failed sites');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('fleetscope.operator-token')), OPERATOR);
  await page.locator('#state-chart canvas').first().waitFor();
  await page.locator('#live', { hasText: 'Live updates on' }).waitFor();
  await shot('fleet');
});

test('the site list filters, and a click opens a site\'s detail', { timeout: 30_000 }, async () => {
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Sites' }).click();
  await page.getByRole('heading', { name: 'Sites', exact: true }).waitFor();
  await page.getByLabel('Tenant', { exact: true }).selectOption('globex');
  await page.getByLabel('State', { exact: true }).selectOption('unhealthy');
  await page.getByRole('button', { name: 'Filter' }).click();
  const expected = (await apiGet<{ sites: { site: string }[] }>('/api/v1/sites?tenant=globex&state=unhealthy')).sites;
  assert.deepEqual(expected.map((s) => s.site), ['globex-d03']);
  await page.locator(`#sites-count[data-count="${expected.length}"]`).waitFor();
  assert.equal(await page.locator('#sites tbody tr').count(), expected.length);
  assert.deepEqual(await page.locator('#sites tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-site'))), expected.map((s) => s.site));
  // The whole of one tenant, against the API row by row.
  await page.getByLabel('State', { exact: true }).selectOption('');
  await page.getByRole('button', { name: 'Filter' }).click();
  const globex = (await apiGet<{ sites: { site: string }[] }>('/api/v1/sites?tenant=globex')).sites;
  await page.locator(`#sites-count[data-count="${globex.length}"]`).waitFor();
  assert.deepEqual(await page.locator('#sites tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-site'))), globex.map((s) => s.site));
  await shot('sites');
  await page.getByLabel('State', { exact: true }).selectOption('unhealthy');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.locator(`#sites-count[data-count="1"]`).waitFor();
  const first = 'globex-d03';
  type Detail = { version: string | null; desired_version: string | null; last_seen: string; series: number; history: { state: string }[]; state: string };
  const beforeClick = await apiGet<Detail>(`/api/v1/sites/${first}/detail`);
  await page.getByRole('link', { name: first, exact: true }).click();
  await page.getByRole('heading', { name: `Site ${first}` }).waitFor();
  await page.locator('#site-facts dd[data-fact="state"]', { hasText: 'unhealthy' }).waitFor();
  const detail = await apiGet<Detail>(`/api/v1/sites/${first}/detail`);
  assert.equal(detail.version, v1, 'the last version it ran healthy');
  assert.equal(await page.locator('#site-facts dd[data-fact="version"]').innerText(), detail.version);
  assert.equal(await page.locator('#site-facts dd[data-fact="desired_version"]').innerText(), detail.desired_version);
  assert.equal(await page.locator('#site-facts dd[data-fact="state"]').innerText(), detail.state);
  assert.equal(num(await page.locator('#site-facts dd[data-fact="series"]').textContent()), detail.series);
  // Last seen moves with every poll (the heartbeat): the page's is the API's at some moment between the two reads.
  const seen = Date.parse(await page.locator('#site-facts dd[data-fact="last_seen"] time').getAttribute('datetime') ?? '');
  assert.ok(seen >= Date.parse(beforeClick.last_seen) && seen <= Date.parse(detail.last_seen), `last seen ${new Date(seen).toISOString()} between ${beforeClick.last_seen} and ${detail.last_seen}`);
  assert.deepEqual(detail.history.map((h) => h.state), ['downloading', 'applying', 'healthy', 'failed']);
  assert.equal(await page.locator('#site-history tbody tr').count(), detail.history.length);
  assert.match(await page.locator('#site-history').innerText(), /failed\s+readiness probe failed on web/);
  await page.waitForFunction(() => document.activeElement?.id === 'site-title', undefined, { timeout: 5000 }).catch(() => undefined);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'site-title', 'focus moves to the new view\'s heading');
  await shot('site');
});

test('an operator pauses a rollout, and live events update the page without a reload', { timeout: 45_000 }, async () => {
  await page.getByRole('link', { name: 'Rollouts' }).click();
  const card = page.locator(`article[data-rollout="${liveRollout}"]`);
  await card.waitFor();
  const ro = await apiGet<RolloutView>(`/api/v1/rollouts/${liveRollout}`);
  assert.deepEqual([ro.state, ro.sites, ro.partition, ro.partitions, ro.counts.applying, ro.counts.pending], ['running', 8, 0, 3, 1, 7]);
  assert.match(await card.innerText(), /0 of 8 sites healthy; partition 1 of 3 \(canary\)/);
  const done = page.locator(`article[data-rollout="${doneRollout}"]`);
  assert.match(await done.innerText(), /4 of 4 sites healthy; all 2 partitions done/);
  assert.equal(await page.getByRole('button', { name: `Resume rollout ${liveRollout}` }).isDisabled(), true);
  assert.equal(await page.getByRole('button', { name: `Pause rollout ${doneRollout}` }).isDisabled(), true, 'a finished rollout cannot be paused');
  await page.getByRole('button', { name: `Pause rollout ${liveRollout}` }).click();
  await page.getByRole('status').filter({ hasText: `Rollout ${liveRollout} paused.` }).waitFor();
  await card.locator('.state', { hasText: 'paused' }).waitFor();
  const paused = await apiGet<RolloutView>(`/api/v1/rollouts/${liveRollout}`);
  assert.equal(paused.state, 'paused', 'the control plane says paused');
  assert.equal(paused.reason, 'paused by an operator');
  await card.getByText('paused by an operator').waitFor();
  assert.equal(await page.getByRole('button', { name: `Resume rollout ${liveRollout}` }).isEnabled(), true);
  // Focus does not fall to the page when the clicked button is redrawn disabled: it moves to Resume.
  await page.waitForFunction((id) => document.activeElement?.getAttribute('aria-label') === `Resume rollout ${id}`, liveRollout);
  await shot('rollouts');

  // Live, over the real event stream (?access_token=): another operator resumes through the API...
  await page.evaluate(() => { window.marker = 42; });
  let r = await api('POST', `/api/v1/rollouts/${liveRollout}/resume`, OPERATOR, {});
  assert.equal(r.status, 200, r.text);
  await card.locator('.state', { hasText: 'running' }).waitFor({ timeout: 10_000 });
  // ...and the canary finishes: the count moves and the next partition is released.
  agent('acme-s00').hold.delete(v2);
  await card.getByText('1 of 8 sites healthy').waitFor({ timeout: 10_000 });
  await until('partition 2 applying', async () => (await apiGet<RolloutView>(`/api/v1/rollouts/${liveRollout}`)).counts.applying === 4);
  await card.getByText(/partition 2 of 3/).waitFor({ timeout: 10_000 });

  await page.getByRole('link', { name: 'Fleet' }).click();
  await page.locator('#fleet-summary [data-state="upgrading"] b', { hasText: '4' }).waitFor({ timeout: 10_000 });
  // A keyboard user sitting on a link that a live redraw replaces keeps their place.
  const failureLink = page.locator('#failures tbody a').first();
  await failureLink.focus();
  const focusedHref = await failureLink.getAttribute('href');
  // Two healthy sites crash; their reports reach the page through the stream.
  agent('globex-d00').breakNow = true;
  agent('globex-d01').breakNow = true;
  await until('5 unhealthy', async () => (await apiGet<FleetStatus>('/api/v1/fleet/status')).by_state.unhealthy === 5);
  const now = await apiGet<FleetStatus>('/api/v1/fleet/status');
  assert.deepEqual(now.by_state, { healthy: 23, unhealthy: 5, offline: 4, upgrading: 4 });
  await page.locator('#fleet-summary', { hasText: summaryText(now) }).waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('#failures tbody tr').count(), 5);
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('href')), focusedHref, 'focus survives the live redraw');
  assert.equal(await page.evaluate(() => window.marker), 42, 'updated in place, not reloaded');
  r = await api('GET', '/metrics', null);
  assert.match(r.text, /^fleetscope_control_event_streams [1-9]/m, 'the page holds the event stream open');
});

test('a viewer token sees the fleet but cannot pause', { timeout: 30_000 }, async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signIn(VIEWER);
  await page.getByRole('link', { name: 'Rollouts' }).click();
  await page.getByRole('button', { name: `Pause rollout ${liveRollout}` }).click();
  await page.getByRole('status').filter({ hasText: 'Not allowed: pause needs an operator token (FS_CONTROL_FORBIDDEN).' }).waitFor();
  assert.equal((await apiGet<RolloutView>(`/api/v1/rollouts/${liveRollout}`)).state, 'running');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn('not-a-token');
  await page.getByText('The token was refused. Sign in again.').waitFor();
});

/** WCAG relative luminance contrast of an element's text against its nearest opaque background. */
async function contrast(selector: string): Promise<number[]> {
  return page.locator(selector).evaluateAll((els: DomNode[]) => {
    const rgb = (c: string): number[] => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]: number[]): number => {
      const f = (v: number): number => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r ?? 0) + 0.7152 * f(g ?? 0) + 0.0722 * f(b ?? 0);
    };
    return els.map((el) => {
      const fg = rgb(getComputedStyle(el).color);
      let node: DomNode | null = el;
      let bg = [255, 255, 255];
      while (node) {
        const c = rgb(getComputedStyle(node).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] !== 0)) { bg = c.slice(0, 3); break; }
        node = node.parentElement;
      }
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x) as [number, number];
      return (a + 0.05) / (b + 0.05);
    });
  });
}

test('landmarks, labels, contrast and keyboard navigation', { timeout: 30_000 }, async () => {
  // A fresh load: the first Tab lands on the skip link, which moves focus to the main content.
  await page.goto(base);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
  await signIn(OPERATOR);
  await page.locator('#fleet-summary [data-state="healthy"] b').waitFor();
  await page.getByRole('banner').waitFor();
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
  await page.getByRole('main').waitFor();
  // Every form control has a label; every button a name.
  const unlabelled = await page.locator('input:not([type=hidden]), select, button').evaluateAll((els: DomNode[]) => els
    .filter((e) => {
      const named = (e.labels?.length ?? 0) > 0 || (e.getAttribute('aria-label') ?? '').trim() !== '' || (e.tagName === 'BUTTON' && (e.textContent ?? '').trim() !== '');
      return !named;
    })
    .map((e) => e.outerHTML));
  assert.deepEqual(unlabelled, []);
  for (const sel of ['body', 'caption', 'th', 'td', '.summary', '.sections a', '.state', 'button', '.live', '.foot', '.top label']) {
    const ratios = await contrast(sel);
    assert.ok(ratios.length > 0, sel);
    assert.ok(Math.min(...ratios) >= 4.5, `${sel}: contrast ${Math.min(...ratios).toFixed(2)} < 4.5`);
  }
  // The keyboard alone: from the filter's results to a site and into its detail.
  await page.goto(`${base}/#/sites?tenant=acme&state=offline`);
  await page.locator('#sites tbody tr').first().waitFor();
  let onSiteLink = false;
  for (let i = 0; i < 40 && !onSiteLink; i++) {
    await page.keyboard.press('Tab');
    onSiteLink = await page.evaluate(() => !!document.activeElement?.closest('#sites tbody a'));
  }
  assert.ok(onSiteLink, 'Tab reaches the first site link');
  const name = await page.evaluate(() => document.activeElement?.textContent);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: `Site ${name}` }).waitFor();
  // The page moves focus once the view has rendered, which can come just after the heading shows.
  await page.waitForFunction(() => document.activeElement?.id === 'site-title', undefined, { timeout: 5000 }).catch(() => undefined);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'site-title');
});

test('an operator approves and rejects pending registrations', { timeout: 30_000 }, async () => {
  const [id1, id2] = pendingRegs as [string, string];
  await page.getByRole('link', { name: 'Registrations' }).click();
  await page.getByRole('heading', { name: 'Registrations waiting for approval' }).waitFor();
  const first = page.locator(`article[data-registration="${id1}"]`);
  const second = page.locator(`article[data-registration="${id2}"]`);
  assert.equal(await first.getByLabel('Site name').inputValue(), 'store-0417', 'the site name starts as the hostname');
  assert.match(await first.innerText(), /machine_id\s+b1946ac92492d2347c6235b4d2611184/);
  await shot('registrations');
  await first.getByLabel('Site name').fill('ce-4000');
  await first.getByLabel('Group').fill('stores');
  await first.getByLabel('Labels (k=v, …)').fill('tier=gold, city=lyon');
  await first.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('status').filter({ hasText: `Registration ${id1} approved.` }).waitFor();
  await first.waitFor({ state: 'detached' });
  await second.getByLabel('Group').fill('depots');
  await second.getByLabel('Labels (k=v, …)').fill('not a label');
  await second.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('status').filter({ hasText: `Labels for ${id2} must be k=v pairs separated by commas.` }).waitFor();
  await second.getByLabel('Reason').fill('unknown hardware');
  await second.getByRole('button', { name: 'Reject' }).click();
  await page.getByRole('status').filter({ hasText: `Registration ${id2} rejected.` }).waitFor();
  await page.getByText('No registrations are waiting.').waitFor();
  // What the control plane made of it: a site with the name, group and labels sent, and a rejected registration.
  const site = await apiGet<{ tenant: string; group: string; labels: Record<string, string>; registration_id: string }>('/api/v1/sites/ce-4000/detail');
  assert.deepEqual([site.tenant, site.group, site.labels, site.registration_id], ['acme', 'stores', { tier: 'gold', city: 'lyon' }, id1]);
  const rejected = (await apiGet<{ registrations: { registration_id: string; reason?: string }[] }>('/api/v1/registrations?state=rejected')).registrations;
  assert.deepEqual(rejected.map((x) => [x.registration_id, x.reason]), [[id2, 'unknown hardware']]);
});
test('the page\'s Faro payloads reach the collector\'s receiver as log records and metrics', { timeout: 30_000 }, async () => {
  await page.evaluate(() => { setTimeout(() => { throw new Error('fleet page probe error'); }, 0); });
  const deadline = Date.now() + 15_000;
  const has = (f: (r: FaroLogRecord) => boolean): boolean => faroRecords.some(f);
  while (Date.now() < deadline && !(has((r) => r.doc.kind === 'exception' && String(r.doc.message).includes('fleet page probe error')) && has((r) => r.doc.kind === 'measurement'))) {
    await new Promise((r) => setTimeout(r, 200));
  }
  const exception = faroRecords.find((r) => r.doc.kind === 'exception' && String(r.doc.message).includes('fleet page probe error'));
  assert.ok(exception, `no exception record; got kinds ${[...new Set(faroRecords.map((r) => r.doc.kind))].join(', ')}`);
  assert.equal(exception.doc.app, 'fleetscope-fleet-page');
  assert.equal(exception.doc.app_version, '0.1.0', 'the version the control plane\'s page hook reports');
  assert.equal(exception.tenant, 'ops');
  assert.match(String(exception.doc.page_url), /^http:\/\/localhost:\d+\//);
  assert.ok(typeof exception.doc.session_id === 'string' && exception.doc.session_id.length > 0);
  const api = faroRecords.find((r) => r.doc.kind === 'measurement' && r.doc.measurement_type === 'fleet-page' && 'api_fleet_status_ms' in (r.doc.values as object));
  assert.ok(api, 'the page reports its API timings');
  const metrics = await faroMetrics();
  assert.match(metrics, /fleetscope_collector_faro_exceptions_total\{app="fleetscope-fleet-page",type="Error"\} [1-9]/);
  assert.match(metrics, /fleetscope_collector_faro_measurement_value_count\{app="fleetscope-fleet-page",type="fleet-page",name="api_fleet_status_ms"\} [1-9]/);
  assert.match(metrics, /fleetscope_collector_faro_requests_total\{code="202"\} [1-9]/);
  // The probe is the only error the page raised: no CSP violation, no script error.
  assert.deepEqual(pageErrors.filter((e) => !e.includes('fleet page probe error')), []);
  // The only refused requests are the viewer's pause (403) and the wrong token (401, and its event stream).
  const refused = [...new Set(failedRequests)];
  const viewerPause = `POST /api/v1/rollouts/${liveRollout}/pause 403`;
  assert.deepEqual(refused.filter((r) => !/^GET \/api\/v1\/\S+ 401$/.test(r) && r !== viewerPause), []);
  assert.ok(refused.includes(viewerPause));
});

test('the page\'s browser code type-checks (tsc --checkJs against the DOM library)', { timeout: 60_000 }, async () => {
  // The root build has no DOM types, so the page's plain ES modules have their own tsconfig.
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const run = await promisify(execFile)(process.execPath, [tsc, '-p', join(root, 'control/page/tsconfig.json')], { cwd: root }).then(() => '', (err: { stdout?: string; message: string }) => err.stdout || err.message);
  assert.equal(run, '');
});
