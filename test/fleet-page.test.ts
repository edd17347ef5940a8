// The fleet page in a real browser: Debian's headless Chromium, driven by
// playwright-core, against a running server with simulated sites.
//
// FIXTURE: the control plane (control/) is built in parallel and merges
// later, so the page runs here against a small in-test server that
// implements the top README's contract §2's operator endpoints over fixture data (3,119
// simulated sites). The page's own routes are the real ones
// (registerFleetPage), and its Faro telemetry goes to the real
// collector/faro receiver on another origin (CORS and all).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Page } from 'playwright-core';
import { type FaroLogRecord, registerFaroRoutes } from '../collector/index.js';
import { registerFleetPage } from '../control/index.js';
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
const OPERATOR = 'fixture-operator-token-0123456789';
const VIEWER = 'fixture-viewer-token-0123456789';
const STATES = ['healthy', 'unhealthy', 'offline', 'upgrading'] as const;
type State = (typeof STATES)[number];

// ---- FIXTURE: simulated sites and rollouts, and the top README's contract §2's operator API over them ----

interface Site { tenant: string; site: string; group: string; labels: Record<string, string>; re: string; state: State; version: string; desired_version: string; last_seen: string; series: number; history: { version: string; state: string; reason?: string; at: string }[] }
interface Rollout { id: string; version: string; state: 'running' | 'paused' | 'aborted' | 'done'; counts: Record<string, number>; partition: number; partitions: number }

function fixtureSites(n: number): Site[] {
  const tenants = ['acme', 'globex', 'initech'];
  const res = ['eu-west-1', 'us-east-1', 'ap-south-1'];
  const groups = ['stores', 'warehouses', 'kiosks'];
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => {
    const k = (i * 7919) % 1000;
    const state: State = k < 869 ? 'healthy' : k < 984 ? 'unhealthy' : k < 994 ? 'offline' : 'upgrading';
    const version = i % 5 === 0 ? '2026.11.3' : '2026.11.2';
    const at = (m: number): string => new Date(now - m * 60_000).toISOString();
    const history = [
      { version: '2026.11.1', state: 'healthy', at: at(60 * 24 * 9) },
      { version: '2026.11.2', state: 'healthy', at: at(60 * 24 * 2) },
      ...(state === 'unhealthy' ? [{ version: '2026.11.3', state: 'rolled-back', reason: 'readiness probe failed on pos-api', at: at(30) }] : []),
    ];
    return {
      tenant: tenants[i % 3] as string, site: `ce-${String(i + 1).padStart(4, '0')}`, group: groups[(i >> 2) % 3] as string,
      labels: { region: res[(i >> 1) % 3] as string, tier: i % 4 === 0 ? 'gold' : 'standard' }, re: res[(i >> 1) % 3] as string,
      state, version, desired_version: state === 'upgrading' ? '2026.11.3' : version,
      last_seen: new Date(now - (state === 'offline' ? 20 * 60_000 : (i % 240) * 1000)).toISOString(),
      series: 1800 + ((i * 37) % 500), history,
    };
  });
}

class FixtureControlPlane {
  readonly sites = fixtureSites(3119);
  readonly rollouts: Rollout[] = [
    { id: 'r-2026-11-3', version: '2026.11.3', state: 'running', counts: { pending: 1980, downloading: 41, applying: 23, healthy: 1062, failed: 7, 'rolled-back': 2, offline: 4 }, partition: 2, partitions: 5 },
    { id: 'r-2026-11-2', version: '2026.11.2', state: 'done', counts: { pending: 0, downloading: 0, applying: 0, healthy: 3101, failed: 0, 'rolled-back': 18, offline: 0 }, partition: 5, partitions: 5 },
  ];
  readonly registrations = [
    { id: 'reg-7f3a', state: 'pending', tenant: 'acme', facts: { hostname: 'store-0417', machine_id: 'b1946ac92492d2347c6235b4d2611184', kubernetes_version: 'v1.29.4', nodes: 3 }, created_at: new Date(Date.now() - 4 * 60_000).toISOString() },
    { id: 'reg-91c2', state: 'pending', tenant: 'globex', facts: { hostname: 'kiosk-x', machine_id: '7d793037a0760186574b0282f2f435e7' }, created_at: new Date(Date.now() - 60_000).toISOString() },
  ];
  readonly decisions: unknown[] = [];
  readonly actions: string[] = [];
  private readonly streams = new Set<ServerResponse>();

  status(): Record<string, unknown> {
    const zero = (): Record<State, number> => ({ healthy: 0, unhealthy: 0, offline: 0, upgrading: 0 });
    const byState = zero();
    const byTenant: Record<string, Record<State, number>> = {};
    const byRe: Record<string, Record<State, number>> = {};
    const byVersion: Record<string, number> = {};
    for (const s of this.sites) {
      byState[s.state]++;
      (byTenant[s.tenant] ??= zero())[s.state]++;
      (byRe[s.re] ??= zero())[s.state]++;
      byVersion[s.version] = (byVersion[s.version] ?? 0) + 1;
    }
    const failures = this.sites.filter((s) => s.state === 'unhealthy').slice(0, 10).map((s) => {
      const h = s.history[s.history.length - 1] as Site['history'][number];
      return { site: s.site, version: h.version, reason: h.reason ?? h.state, at: h.at };
    });
    return { total: this.sites.length, by_state: byState, by_tenant: byTenant, by_re: byRe, by_version: byVersion, failures };
  }

  emit(type: 'status' | 'rollout', data: unknown): void {
    for (const s of this.streams) s.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  get streamCount(): number {
    return this.streams.size;
  }

  register(app: FastifyInstance): void {
    const role = (req: FastifyRequest, allowQuery: boolean): 'operator' | 'viewer' | null => {
      const auth = req.headers.authorization;
      const token = auth?.startsWith('Bearer ') ? auth.slice(7) : allowQuery ? (req.query as Record<string, string>).access_token : undefined;
      return token === OPERATOR ? 'operator' : token === VIEWER ? 'viewer' : null;
    };
    const refuse = (reply: FastifyReply, status: number, code: string, message: string): FastifyReply => reply.code(status).send({ code, message });
    app.addHook('onRequest', async (req, reply) => {
      if (!req.url.startsWith('/api/')) return;
      const r = role(req, req.url.startsWith('/api/v1/fleet/events'));
      if (r === null) return refuse(reply, 401, 'FS_CONTROL_UNAUTHORIZED', 'an operator or viewer token is required');
      if (req.method !== 'GET' && r !== 'operator') return refuse(reply, 403, 'FS_CONTROL_FORBIDDEN', 'this needs the operator role');
    });
    app.get('/api/v1/fleet/status', async () => this.status());
    app.get('/api/v1/sites', async (req) => {
      const q = req.query as Record<string, string | undefined>;
      const text = q.q?.toLowerCase();
      return {
        sites: this.sites.filter((s) => (!q.tenant || s.tenant === q.tenant) && (!q.group || s.group === q.group) && (!q.state || s.state === q.state)
          && (!text || s.site.includes(text) || s.version.includes(text) || Object.values(s.labels).some((v) => v.includes(text))))
          .map(({ history: _h, ...rest }) => rest),
      };
    });
    app.get('/api/v1/sites/:site/detail', async (req, reply) => {
      const s = this.sites.find((x) => x.site === (req.params as { site: string }).site);
      return s ?? refuse(reply, 404, 'FS_CONTROL_SITE_NOT_FOUND', 'no such site');
    });
    app.get('/api/v1/registrations', async (req) => ({ registrations: this.registrations.filter((r) => r.state === ((req.query as { state?: string }).state ?? r.state)) }));
    app.post('/api/v1/registrations/:id/:decision', async (req, reply) => {
      const { id, decision } = req.params as { id: string; decision: string };
      const r = this.registrations.find((x) => x.id === id && x.state === 'pending');
      if (!r) return refuse(reply, 404, 'FS_CONTROL_REGISTRATION_NOT_FOUND', 'no such pending registration');
      const body = (req.body ?? {}) as { site?: unknown; reason?: unknown };
      if (decision === 'approve' && (typeof body.site !== 'string' || body.site === '')) return refuse(reply, 400, 'FS_CONTROL_INVALID_REQUEST', 'site: required');
      if (decision === 'reject' && typeof body.reason !== 'string') return refuse(reply, 400, 'FS_CONTROL_INVALID_REQUEST', 'reason: required');
      if (decision !== 'approve' && decision !== 'reject') return refuse(reply, 404, 'FS_CONTROL_NOT_FOUND', `no action ${decision}`);
      r.state = decision === 'approve' ? 'approved' : 'rejected';
      this.decisions.push({ id, decision, ...body });
      return { state: r.state };
    });
    app.get('/api/v1/rollouts', async () => ({ rollouts: this.rollouts }));
    app.get('/api/v1/rollouts/:id', async (req, reply) => this.rollouts.find((r) => r.id === (req.params as { id: string }).id) ?? refuse(reply, 404, 'FS_CONTROL_ROLLOUT_NOT_FOUND', 'no such rollout'));
    app.post('/api/v1/rollouts/:id/:action', async (req, reply) => {
      const { id, action } = req.params as { id: string; action: string };
      const r = this.rollouts.find((x) => x.id === id);
      if (!r) return refuse(reply, 404, 'FS_CONTROL_ROLLOUT_NOT_FOUND', 'no such rollout');
      const next = { pause: r.state === 'running' ? 'paused' : null, resume: r.state === 'paused' ? 'running' : null, abort: r.state === 'running' || r.state === 'paused' ? 'aborted' : null }[action];
      if (next === undefined) return refuse(reply, 404, 'FS_CONTROL_NOT_FOUND', `no action ${action}`);
      if (next === null) return refuse(reply, 409, 'FS_CONTROL_ROLLOUT_STATE', `cannot ${action} a ${r.state} rollout`);
      r.state = next as Rollout['state'];
      this.actions.push(`${action} ${id}`);
      this.emit('rollout', r);
      return reply.code(204).send();
    });
    app.get('/api/v1/fleet/events', (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
      res.write(': connected\n\n');
      this.streams.add(res);
      req.raw.on('close', () => this.streams.delete(res));
    });
  }

  closeStreams(): void {
    for (const s of this.streams) s.end();
  }
}

// ---- the servers and the browser ----

let control: FastifyInstance;
let collector: FastifyInstance;
let fixture: FixtureControlPlane;
let chromium: ChromiumPeer;
let page: Page;
let base = '';
let apiBase = '';
const faroRecords: FaroLogRecord[] = [];
let faroMetrics: () => Promise<string>;
const pageErrors: string[] = [];
const failedRequests: string[] = [];

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  collector = Fastify();
  control = Fastify();
  fixture = new FixtureControlPlane();
  fixture.register(control);
  // Page and API on "localhost", the collector on 127.0.0.1: two origins, so Faro's posts are cross-origin.
  const controlPort = await freePort();
  base = `http://localhost:${controlPort}`;
  apiBase = `http://127.0.0.1:${controlPort}`;
  const { registry } = registerFaroRoutes(collector, (records) => { faroRecords.push(...records); return true; }, { tenant: 'ops', re: 'control', allowedOrigins: [base] });
  faroMetrics = () => registry.metrics();
  const collectorUrl = await collector.listen({ host: '127.0.0.1', port: 0 });
  registerFleetPage(control, { faroUrl: `${collectorUrl}/faro/collect`, version: '0.1.0-test' });
  await control.listen({ host: '127.0.0.1', port: controlPort });
  chromium = await startChromium();
  page = await chromium.context.newPage();
  page.setDefaultTimeout(8000);
  page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
  // Failed requests are checked by URL below; the console's copy of them carries none.
  page.on('console', (msg) => { if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) pageErrors.push(`console: ${msg.text()}`); });
  page.on('response', (res) => { if (res.status() >= 400) failedRequests.push(`${res.request().method()} ${new URL(res.url()).pathname} ${res.status()}`); });
});

after(async () => {
  await chromium?.stop();
  fixture?.closeStreams();
  await control?.close();
  await collector?.close();
});

async function apiGet<T>(path: string): Promise<T> {
  const res = await fetch(`${apiBase}${path}`, { headers: { Authorization: `Bearer ${OPERATOR}` } });
  assert.equal(res.status, 200, path);
  return (await res.json()) as T;
}

const num = (s: string | null): number => Number((s ?? '').replace(/[^0-9]/g, ''));

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
  const status = await apiGet<{ total: number; by_state: Record<State, number>; by_tenant: Record<string, Record<State, number>>; by_re: Record<string, Record<State, number>> }>('/api/v1/fleet/status');
  for (const s of STATES) assert.equal(num(await page.locator(`#fleet-summary [data-state="${s}"] b`).textContent()), status.by_state[s], s);
  assert.equal(num(await page.locator('#fleet-summary [data-state="total"] b').textContent()), status.total);
  const f = (n: number): string => n.toLocaleString('en-US');
  assert.equal(await page.locator('#fleet-summary').innerText(), `${STATES.map((s) => `${f(status.by_state[s])} ${s}`).join(', ')} — ${f(status.total)} sites`);
  for (const [table, rows] of [['by-tenant', status.by_tenant], ['by-re', status.by_re]] as const) {
    assert.equal(await page.locator(`#${table} tbody tr`).count(), Object.keys(rows).length);
    for (const [name, counts] of Object.entries(rows)) {
      for (const s of STATES) assert.equal(num(await page.locator(`#${table} tr[data-name="${name}"] td[data-state="${s}"]`).textContent()), counts[s], `${table} ${name} ${s}`);
    }
  }
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
  assert.ok(expected.length > 0);
  await page.locator(`#sites-count[data-count="${expected.length}"]`).waitFor();
  assert.equal(await page.locator('#sites tbody tr').count(), expected.length);
  assert.deepEqual(await page.locator('#sites tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-site'))), expected.map((s) => s.site));
  await shot('sites');
  const first = expected[0]?.site as string;
  await page.getByRole('link', { name: first, exact: true }).click();
  await page.getByRole('heading', { name: `Site ${first}` }).waitFor();
  const detail = await apiGet<{ version: string; last_seen: string; series: number; history: unknown[]; state: string }>(`/api/v1/sites/${first}/detail`);
  await page.locator('#site-facts dd[data-fact="version"]', { hasText: detail.version }).waitFor();
  assert.equal(await page.locator('#site-facts dd[data-fact="state"]').innerText(), detail.state);
  assert.equal(num(await page.locator('#site-facts dd[data-fact="series"]').textContent()), detail.series);
  assert.equal(await page.locator('#site-facts dd[data-fact="last_seen"] time').getAttribute('datetime'), detail.last_seen);
  assert.equal(await page.locator('#site-history tbody tr').count(), detail.history.length);
  assert.match(await page.locator('#site-history').innerText(), /rolled-back\s+readiness probe failed on pos-api/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'site-title', 'focus moves to the new view\'s heading');
  await shot('site');
});

test('an operator pauses a rollout, and live events update the page without a reload', { timeout: 30_000 }, async () => {
  await page.getByRole('link', { name: 'Rollouts' }).click();
  const card = page.locator('article[data-rollout="r-2026-11-3"]');
  await card.waitFor();
  assert.match(await card.innerText(), /1,062 of 3,119 sites healthy; partition 2 of 5/);
  assert.equal(await page.getByRole('button', { name: 'Resume rollout r-2026-11-3' }).isDisabled(), true);
  assert.equal(await page.getByRole('button', { name: 'Pause rollout r-2026-11-2' }).isDisabled(), true, 'a finished rollout cannot be paused');
  await page.getByRole('button', { name: 'Pause rollout r-2026-11-3' }).click();
  await page.getByRole('status').filter({ hasText: 'Rollout r-2026-11-3 paused.' }).waitFor();
  await card.locator('.state', { hasText: 'paused' }).waitFor();
  assert.deepEqual(fixture.actions, ['pause r-2026-11-3']);
  assert.equal(await page.getByRole('button', { name: 'Resume rollout r-2026-11-3' }).isEnabled(), true);
  // Focus does not fall to the page when the clicked button is redrawn disabled: it moves to Resume.
  await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Resume rollout r-2026-11-3');
  await shot('rollouts');

  // Live: the rollout moves on the server; the page redraws from the event stream.
  await page.evaluate(() => { window.marker = 42; });
  const r = fixture.rollouts[0] as Rollout;
  r.counts.healthy = (r.counts.healthy ?? 0) + 100;
  r.counts.pending = (r.counts.pending ?? 0) - 100;
  fixture.emit('rollout', r);
  await card.getByText('1,162 of 3,119 sites healthy').waitFor({ timeout: 10_000 });
  await page.getByRole('link', { name: 'Fleet' }).click();
  // A keyboard user sitting on a link that a live redraw replaces keeps their place.
  const failureLink = page.locator('#failures tbody a').first();
  await failureLink.focus();
  const focusedHref = await failureLink.getAttribute('href');
  const count = (s: State): number => fixture.sites.filter((x) => x.state === s).length;
  const [healthy, unhealthy] = [count('healthy'), count('unhealthy')];
  await page.locator('#fleet-summary [data-state="healthy"] b', { hasText: healthy.toLocaleString('en-US') }).waitFor();
  for (const s of fixture.sites.filter((x) => x.state === 'healthy').slice(0, 25)) s.state = 'unhealthy';
  fixture.emit('status', { site: 'ce-0001', state: 'unhealthy' });
  await page.locator('#fleet-summary [data-state="healthy"] b', { hasText: (healthy - 25).toLocaleString('en-US') }).waitFor({ timeout: 10_000 });
  assert.equal(num(await page.locator('#fleet-summary [data-state="unhealthy"] b').textContent()), unhealthy + 25);
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('href')), focusedHref, 'focus survives the live redraw');
  assert.equal(await page.evaluate(() => window.marker), 42, 'updated in place, not reloaded');
  assert.ok(fixture.streamCount >= 1, 'the page holds the event stream open');
});

test('a viewer token sees the fleet but cannot pause', { timeout: 30_000 }, async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signIn(VIEWER);
  await page.getByRole('link', { name: 'Rollouts' }).click();
  await page.getByRole('button', { name: 'Resume rollout r-2026-11-3' }).click();
  await page.getByRole('status').filter({ hasText: 'Not allowed: resume needs an operator token (FS_CONTROL_FORBIDDEN).' }).waitFor();
  assert.deepEqual(fixture.actions, ['pause r-2026-11-3']);
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
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'site-title');
});

test('an operator approves and rejects pending registrations', { timeout: 30_000 }, async () => {
  await page.getByRole('link', { name: 'Registrations' }).click();
  await page.getByRole('heading', { name: 'Registrations waiting for approval' }).waitFor();
  const first = page.locator('article[data-registration="reg-7f3a"]');
  const second = page.locator('article[data-registration="reg-91c2"]');
  assert.equal(await first.getByLabel('Site name').inputValue(), 'store-0417', 'the site name starts as the hostname');
  assert.match(await first.innerText(), /machine_id\s+b1946ac92492d2347c6235b4d2611184/);
  await shot('registrations');
  await first.getByLabel('Site name').fill('ce-4000');
  await first.getByLabel('Group').fill('stores');
  await first.getByLabel('Labels (k=v, …)').fill('tier=gold, city=lyon');
  await first.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('status').filter({ hasText: 'Registration reg-7f3a approved.' }).waitFor();
  await first.waitFor({ state: 'detached' });
  await second.getByLabel('Labels (k=v, …)').fill('not a label');
  await second.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('status').filter({ hasText: 'Labels for reg-91c2 must be k=v pairs separated by commas.' }).waitFor();
  await second.getByLabel('Reason').fill('unknown hardware');
  await second.getByRole('button', { name: 'Reject' }).click();
  await page.getByRole('status').filter({ hasText: 'Registration reg-91c2 rejected.' }).waitFor();
  await page.getByText('No registrations are waiting.').waitFor();
  assert.deepEqual(fixture.decisions, [
    { id: 'reg-7f3a', decision: 'approve', site: 'ce-4000', group: 'stores', labels: { tier: 'gold', city: 'lyon' } },
    { id: 'reg-91c2', decision: 'reject', reason: 'unknown hardware' },
  ]);
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
  assert.equal(exception.doc.app_version, '0.1.0-test');
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
  // The only refused requests are the viewer's resume (403) and the wrong token (401, and its event stream).
  const refused = [...new Set(failedRequests)];
  assert.deepEqual(refused.filter((r) => !/^(GET \/api\/v1\/\S+ 401|POST \/api\/v1\/rollouts\/r-2026-11-3\/resume 403)$/.test(r)), []);
  assert.ok(refused.includes('POST /api/v1/rollouts/r-2026-11-3/resume 403'));
});

test('the page\'s browser code type-checks (tsc --checkJs against the DOM library)', { timeout: 60_000 }, async () => {
  // The root build has no DOM types, so the page's plain ES modules have their own tsconfig.
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const run = await promisify(execFile)(process.execPath, [tsc, '-p', join(root, 'control/page/tsconfig.json')], { cwd: root }).then(() => '', (err: { stdout?: string; message: string }) => err.stdout || err.message);
  assert.equal(run, '');
});
