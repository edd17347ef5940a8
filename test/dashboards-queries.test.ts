// Every panel query of every dashboard, run against a real Prometheus 2.42
// holding data fleetscope wrote: simulated sites push through the real
// collector into Prometheus's remote-write receiver; Prometheus scrapes the
// collector's /metrics (its log path on, delivering to the Elasticsearch
// stand-in), a Faro receiver's, a real control plane's (git model, file
// store, one site healthy, one in a rollout, one registration pending) and a
// real alerting engine's (fed by the collector's log path, posting to a real
// Alertmanager 0.25), and evaluates one alerting rule (ALERTS). A real agent
// (AgentDaemon) registers zero-touch with that control plane as ce-0001,
// applies its desired version to the in-test Kubernetes API server
// (test/peers/kube-apiserver.ts) and ships its own metrics (upgrade state and
// count) through the collector with its site token, as in production. Each
// query, with the variables filled in as Grafana fills them, must parse and
// return a finite value. Queries over metrics that no
// part in this tree produces yet are listed in dashboards/PENDING.md and
// reported as not checked; a pending metric that does show up fails.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Registry } from 'prom-client';
import { DEFAULT_SITE, generateSite } from '../bench/index.js';
import { Collector, validateCollectorConfig } from '../collector/index.js';
import { registerFaroRoutes } from '../collector/index.js';
import { buildDashboards, fillVariables, metricsOf, METRICS, panelQueries, queryVariables, type Dashboard } from '../dashboards/index.js';
import { REMOTE_WRITE_HEADERS, RemoteWriteBatch, encodeLabels, generateTokenKeys, tokenPrivateKey } from '../wire/index.js';
import { AgentDaemon, kubeApi, validateAgentConfig } from '../agent/index.js';
import { AlertingService, parseAlertingConfig } from '../alerting/index.js';
import { ControlPlane, buildServer, commitModel, createCsr, createRegistrationToken, exampleModelFiles, initRepo, parseControlConfig } from '../control/index.js';
import { startAlertmanager, type AlertmanagerPeer } from './peers/alertmanager.js';
import { type FakeKube, startFakeKube } from './peers/kube-apiserver.js';
import { startElasticsearchResponder, type ElasticsearchResponder } from './peers/elasticsearch-responder.js';
import { freePort, startPrometheus, type PrometheusPeer } from './peers/prometheus.js';

const RE = 'eu-west-1';
const SITES = [
  { tenant: 'acme', site: 'ce-0001' }, { tenant: 'acme', site: 'ce-0002' }, { tenant: 'acme', site: 'ce-0003' },
  { tenant: 'globex', site: 'ce-0101' }, { tenant: 'globex', site: 'ce-0102' },
].map((s, i) => ({ ...s, token: `dash-token-${s.site}-${'x'.repeat(16)}`, seed: 100 + i }));
const SERIES_PER_SITE = 3000;
const IV = { rateInterval: '5m', interval: '15s', range: '1h' };

let prom: PrometheusPeer;
let collector: Collector;
let faro: FastifyInstance;
let dir = '';
let faroUrl = '';
let faroRegistry: Registry;
let es: ElasticsearchResponder;
let am: AlertmanagerPeer;
let alerting: AlertingService;
let control: ControlPlane;
let controlApp: FastifyInstance;
let controlUrl = '';
const OPERATOR = 'operator-token-dashboards-0123';
let kube: FakeKube;
let agent: AgentDaemon | undefined;
const agentLog: string[] = [];
let tokenPublicKeyPem = '';
let agentVersion = '';

/** A call to the control plane's API; JSON in and out. */
async function controlApi(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(controlUrl + path, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/**
 * A real control plane (file store, git model) with two approved sites named like the collector's:
 * ce-0001, a real agent that applies v1 and reports it healthy; ce-0002 (statuses posted here) in a
 * rollout of v2; and one registration left pending. The site identities point the agent at the collector.
 */
async function startControl(collectorWriteUrl: string): Promise<void> {
  const repo = join(dir, 'model');
  initRepo(repo);
  const keys = generateTokenKeys();
  await writeFile(join(dir, 'token.key'), keys.privateKeyPem);
  tokenPublicKeyPem = keys.publicKeyPem;
  const config = parseControlConfig({
    store: 'control-state', artifacts: { dir: 'artifacts' }, git: { repo, ref: 'main', cache_dir: 'git-cache' }, keys: { token_private_key: 'token.key' },
    operators: [{ name: 'ops', token: OPERATOR, role: 'operator' }], poll_interval: '1s', rollout_tick: '200ms',
    endpoints: { remote_write_url: collectorWriteUrl },
  }, 'dashboards-queries.test control config', dir);
  control = await ControlPlane.open(config);
  control.start();
  controlApp = await buildServer(control);
  controlUrl = await controlApp.listen({ host: '127.0.0.1', port: 0 });
  commitModel(repo, exampleModelFiles({ tenants: ['acme'], groups: ['stores', 'depots'] }), 'v1');
  let r = await controlApi('POST', '/api/v1/model/load', OPERATOR, {});
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const v1 = r.body.release as string;
  const regToken = createRegistrationToken(tokenPrivateKey(keys.privateKeyPem), 'acme', { ttlMs: 3_600_000 });
  const siteTokens = new Map<string, string>();
  const pendingIds = new Set<string>();
  for (const [site, group] of [['ce-0002', 'depots'], ['ce-0003', null]] as const) {
    const { csrPem } = await createCsr(site);
    r = await controlApi('POST', '/api/v1/register', regToken, { csr: csrPem, facts: { machine_id: `m-${site}`, hostname: site } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const id = r.body.registration_id as string;
    if (group === null) { // ce-0003 waits for an operator
      pendingIds.add(id);
      continue;
    }
    r = await controlApi('POST', `/api/v1/registrations/${id}/approve`, OPERATOR, { site, group, labels: { re: RE } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    r = await controlApi('GET', `/api/v1/registrations/${id}`, regToken);
    siteTokens.set(site, (r.body.identity as { site_token: string }).site_token);
  }
  await startAgent(regToken, pendingIds, v1);
  for (const [site, token] of siteTokens) {
    r = await controlApi('GET', `/api/v1/sites/${site}/desired`, token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.version, v1);
    for (const state of ['downloading', 'applying', 'healthy']) {
      r = await controlApi('POST', `/api/v1/sites/${site}/status`, token, { version: v1, state, at: new Date().toISOString(), series: 3000 });
      assert.equal(r.status, 204, JSON.stringify(r.body));
    }
  }
  // v2 changes the depots only: a rollout of it to ce-0002, which no agent here applies (it stays in progress).
  commitModel(repo, exampleModelFiles({ tenants: ['acme'], groups: ['stores', 'depots'], groupParams: { 'acme/depots': { replicas: 3 } } }), 'depots: 3 replicas');
  r = await controlApi('POST', '/api/v1/model/load', OPERATOR, { ref: 'main' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await controlApi('POST', '/api/v1/rollouts', OPERATOR, { version: r.body.release, selector: { site: 'ce-0002' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

/** ce-0001: a real agent registers (zero-touch, a registration token), is approved into "stores", applies v1 to the in-test Kubernetes API server and reports it healthy. */
async function startAgent(regToken: string, otherPending: ReadonlySet<string>, v1: string): Promise<void> {
  kube = await startFakeKube({ readyAfterMs: 100 });
  // The cluster already has the namespace the example model deploys into.
  await (await kubeApi(kube.kubeconfig)).apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'edge' } });
  agent = await AgentDaemon.start(validateAgentConfig({
    state_dir: join(dir, 'agent'), listen: '',
    scrape: { interval: '1s', timeout: '500ms' },
    remote_write: { min_backoff: '50ms', max_backoff: '300ms' },
    registration: { control_url: controlUrl, token_env: 'FS_DASH_TOKEN', cloud_init_user_data: join(dir, 'none'), poll_interval: '200ms', machine_id_file: join(dir, 'none') },
    upgrades: { enabled: true, kubeconfig: kube.kubeconfig, poll_interval: '1s', long_poll_seconds: 1, ready_timeout: '5s', api_retries: 2, prepull_timeout: '10s' },
  }, 'dashboards-queries.test agent config'), { env: { FS_DASH_TOKEN: regToken }, log: (l, m) => agentLog.push(`${l} ${m}`) });
  const id = await until('the agent\'s registration', async () => {
    const r = await controlApi('GET', '/api/v1/registrations?state=pending', OPERATOR);
    const regs = (r.body.registrations ?? []) as { registration_id?: string; id?: string }[];
    return regs.map((x) => x.registration_id ?? x.id).find((x) => x !== undefined && !otherPending.has(x));
  }, 15_000);
  const r = await controlApi('POST', `/api/v1/registrations/${id}/approve`, OPERATOR, { site: 'ce-0001', group: 'stores', labels: { re: RE } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await until('ce-0001 healthy on v1, reported by its agent', async () => {
    const d = (await controlApi('GET', '/api/v1/sites/ce-0001/detail', OPERATOR)).body;
    return d.state === 'healthy' && d.version === v1 ? true : undefined;
  }, 30_000);
  agentVersion = v1;
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${agentLog.slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The log-rule engine, with one rule that matches any `level: panic` record, posting to a real Alertmanager. */
async function startAlerting(): Promise<void> {
  am = await startAlertmanager({ groupBy: ['alertname', 'tenant'] });
  const rulesDir = join(dir, 'log-rules');
  await mkdir(rulesDir);
  await writeFile(join(rulesDir, 'panic.yaml'), 'name: kernel-panic\ntype: any\nindex: logs-*\nfilter:\n- term: {level: panic}\nalert: alertmanager\n');
  const config = parseAlertingConfig(join(dir, 'alerting.yml'), { rules_dir: rulesDir, alertmanagers: [am.url], run_every: '500ms', allowed_lateness: '200ms', resend_interval: '1s' });
  alerting = await AlertingService.start(config, { listen: '127.0.0.1:0' });
}

/** Log records from ce-0001 as the collector's JSON-lines endpoint takes them: one dropped by the tenant's filter, one the alerting rule matches. */
async function postLogs(): Promise<void> {
  const lines = [{ level: 'info', message: 'started' }, { level: 'debug', message: 'dropped by the filter' }, { level: 'panic', message: 'kernel panic' }, { level: 'error', message: 'retry-me once' }];
  const res = await fetch(`${collector.url}/api/v1/logs`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson', Authorization: `Bearer ${SITES[0]?.token}` }, body: lines.map((l) => JSON.stringify({ ...l, '@timestamp': new Date().toISOString() })).join('\n') + '\n' });
  assert.equal(res.status, 200, await res.text());
}

/** One fresh sample from every site and one log line: what a live fleet keeps doing between scrapes. */
async function heartbeat(): Promise<void> {
  await Promise.all(SITES.map(async (s) => {
    const b = new RemoteWriteBatch();
    b.add(encodeLabels(['__name__', 'node_heartbeat_probe', 'site_probe', s.site]), 1, Date.now());
    await fetch(`${collector.url}/api/v1/write`, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, Authorization: `Bearer ${s.token}` }, body: b.finishCompressed() });
  }));
  await fetch(`${collector.url}/api/v1/logs`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson', Authorization: `Bearer ${SITES[0]?.token}` }, body: `${JSON.stringify({ level: 'info', message: 'heartbeat', '@timestamp': new Date().toISOString() })}\n` });
}

async function eventually<T>(what: string, f: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${prom.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The page's telemetry, as the Faro web SDK posts it. */
async function postFaro(): Promise<Response> {
  const ts = new Date().toISOString();
  return fetch(`${faroUrl}/faro/collect`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: 'http://control.example' },
    body: JSON.stringify({
      meta: { app: { name: 'fleet-page', version: '0.1.0' }, session: { id: 'test-session' }, page: { url: 'http://control.example/' } },
      logs: [{ message: 'fleet page loaded', level: 'info', timestamp: ts }],
      exceptions: [{ type: 'Error', value: 'fixture exception', timestamp: ts }],
      measurements: [{ type: 'fleet-page', values: { api_fleet_status_ms: 12, first_render_ms: 80 }, timestamp: ts }],
      events: [{ name: 'view', timestamp: ts }],
    }),
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-dash-q-'));
  const collectorPort = await freePort();
  const deadPort = await freePort(); // a remote-write target that is down: the sender retries it
  faro = Fastify();
  const { registry } = registerFaroRoutes(faro, () => true, { tenant: 'ops', re: RE, allowedOrigins: ['*'] });
  faroRegistry = registry;
  faro.get('/metrics', async (_req, reply) => reply.header('Content-Type', registry.contentType).send(await registry.metrics()));
  faroUrl = await faro.listen({ host: '127.0.0.1', port: 0 });
  // Elasticsearch (stand-in, see its header): a 429 for the first attempt of a "retry-me" document, so the log path retries.
  const refusedOnce = new Set<string>();
  es = await startElasticsearchResponder({
    itemFault: (_op, _index, id, source) => {
      const key = id ?? JSON.stringify(source);
      if (!String(source.message ?? '').startsWith('retry-me') || refusedOnce.has(key)) return undefined;
      refusedOnce.add(key);
      return { status: 429, type: 'es_rejected_execution_exception', reason: 'rejected execution (fixture)' };
    },
  });
  await startAlerting();
  await startControl(`http://127.0.0.1:${collectorPort}/api/v1/write`);
  const rules = join(dir, 'rules.yml');
  await writeFile(rules, [
    'groups:',
    '  - name: fleetscope-dashboards-test',
    '    interval: 1s',
    '    rules:',
    '      - alert: FleetscopeSamplesDropped',
    '        expr: sum by (tenant, re, site) (fleetscope_collector_samples_dropped_total) > 0',
    '        labels: {severity: info}',
  ].join('\n'));
  prom = await startPrometheus({
    flags: ['--web.enable-remote-write-receiver'],
    config: [
      'global: {scrape_interval: 1s, evaluation_interval: 1s}',
      `rule_files: [${JSON.stringify(rules)}]`,
      'scrape_configs:',
      '  - job_name: fleetscope-collector',
      `    static_configs: [{targets: ["127.0.0.1:${collectorPort}"], labels: {re: ${RE}}}]`,
      '  - job_name: fleetscope-faro',
      `    static_configs: [{targets: ["${new URL(faroUrl).host}"], labels: {re: ${RE}}}]`,
      // The control plane's per-site series carry the site's own re: honor_labels keeps it (the target's applies to the rest).
      '  - job_name: fleetscope-control',
      '    honor_labels: true',
      `    static_configs: [{targets: ["${new URL(controlUrl).host}"], labels: {re: ${RE}}}]`,
      '  - job_name: fleetscope-alerting',
      `    static_configs: [{targets: ["${new URL(alerting.url).host}"], labels: {re: ${RE}}}]`,
    ].join('\n'),
  });
  const loaded = validateCollectorConfig({
    external_labels: { re: RE },
    // Agents present the site token the control plane issued them (ce-0001); the simulated sites use static tokens.
    site_token_public_keys: [tokenPublicKeyPem],
    queue: { dir: join(dir, 'queue') },
    sites: SITES.map((s) => ({ token: s.token, tenant: s.tenant, site: s.site })),
    tenants: {
      acme: { pipeline: { filter: { allow: { prefixes: ['node_', 'kube_', 'apiserver_request_duration_', 'fleetscope_agent_'] }, label_deny: ['uid', 'image'] } } },
      globex: { pipeline: { filter: { allow: { prefixes: ['node_', 'kube_', 'apiserver_request_duration_'] } }, series_limit_per_site: 400 } },
    },
    remote_write: [
      { url: `${prom.url}/api/v1/write`, min_backoff: '50ms', max_backoff: '500ms' },
      { url: `http://127.0.0.1:${deadPort}/api/v1/write`, min_backoff: '100ms', max_backoff: '1s' },
    ],
    logs: {
      buffer: { dir: join(dir, 'logs-buffer') },
      tenants: { acme: { drop: [{ field: 'level', equals: 'debug' }] } },
      elasticsearch: { nodes: [es.url], min_backoff: 10, max_backoff: 200, dead_letter_file: join(dir, 'logs-dead-letter.ndjson') },
    },
  }, 'dashboards-queries.test config');
  collector = await Collector.start(loaded, { listen: `127.0.0.1:${collectorPort}`, logger: pino({ level: 'silent' }) });
  // The alerting engine takes every log record the collector made durable (the top README's contract §4).
  collector.logs?.onLogRecords((batch) => alerting.offer(batch));
  await postLogs();

  assert.equal((await postFaro()).status, 202);
  // The page-timing histogram must be scraped before the second payload, or its rate is 0 (a loaded machine can delay the first scrape past all the pushes).
  await eventually('the first Faro payload scraped by Prometheus', async () => ((await query('fleetscope_collector_faro_measurement_value_count')) as { series?: number }).series ? true : undefined, 15_000);
  // Four scrapes' worth from every site, 15 s apart in sample time and a
  // second apart in real time, so Prometheus scrapes the collector between them.
  const sites = SITES.map((s) => ({ ...s, series: generateSite({ ...DEFAULT_SITE, site: s.site, seed: s.seed, series: SERIES_PER_SITE }).series.map((x) => ({ labels: encodeLabels(x.labels), value: x.value })) }));
  const now = Date.now();
  for (let round = 0; round < 4; round++) {
    await Promise.all(sites.map(async (s) => {
      const batch = new RemoteWriteBatch();
      for (const x of s.series) batch.add(x.labels, x.value + round, now - (3 - round) * 15_000);
      const res = await fetch(`${collector.url}/api/v1/write`, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, Authorization: `Bearer ${s.token}` }, body: batch.finishCompressed() });
      assert.equal(res.status, 204, await res.text());
    }));
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.equal((await postFaro()).status, 202);
  await postLogs();
  const refused = await fetch(`${faroUrl}/faro/collect`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"meta":' });
  assert.equal(refused.status, 400);
  // A sample older than the one stored for its series: Prometheus answers 400, the collector counts it refused for good.
  // The older one is sent only once Prometheus holds the newer: the sender batches a site's writes
  // (up to batch_send_deadline) into one request, and within one request Prometheus 2.42 drops an
  // out-of-order sample at commit without an error (204), so both in one batch would refuse nothing.
  const probe = async (t: number): Promise<void> => {
    const b = new RemoteWriteBatch();
    b.add(encodeLabels(['__name__', 'node_out_of_order_probe']), 1, t);
    assert.equal((await fetch(`${collector.url}/api/v1/write`, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, Authorization: `Bearer ${SITES[0]?.token}` }, body: b.finishCompressed() })).status, 204);
  };
  await probe(now);
  await eventually('the newer probe sample stored in Prometheus', async () => ((await query('node_out_of_order_probe')) as { series?: number }).series ? true : undefined, 15_000);
  await probe(now - 5000);
});

after(async () => {
  await agent?.stop();
  await collector?.stop();
  await alerting?.stop();
  await am?.stop();
  await controlApp?.close();
  await control?.close();
  await es?.stop();
  await faro?.close();
  await prom?.stop();
  await kube?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface PromResult { resultType: string; result: unknown }

async function query(expr: string): Promise<{ ok: true; finite: number; series: number } | { ok: false; error: string }> {
  const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${Date.now() / 1000}`);
  const body = (await res.json()) as { status: string; data?: PromResult; error?: string };
  if (body.status !== 'success' || !body.data) return { ok: false, error: `${res.status} ${body.error ?? ''}` };
  const d = body.data;
  const values: string[] = d.resultType === 'scalar' ? [(d.result as [number, string])[1]]
    : d.resultType === 'vector' ? (d.result as { value: [number, string] }[]).map((r) => r.value[1])
      : (d.result as { values: [number, string][] }[]).flatMap((r) => r.values.map((v) => v[1]));
  const series = d.resultType === 'scalar' ? 1 : (d.result as unknown[]).length;
  return { ok: true, finite: values.filter((v) => Number.isFinite(Number(v))).length, series };
}

/** Runs a `label_values(selector, label)` variable query the way Grafana does (series API). */
async function labelValues(definition: string, fill: (s: string) => string): Promise<string[]> {
  const m = /^label_values\((.*), (\w+)\)$/.exec(definition);
  assert.ok(m, definition);
  const data = await prom.api<Record<string, string>[]>(`/api/v1/series?match[]=${encodeURIComponent(fill(m[1] as string))}&start=${Date.now() / 1000 - 3600}`);
  return [...new Set(data.map((s) => s[m[2] as string]).filter((v): v is string => v !== undefined))].sort();
}

async function pendingMetrics(): Promise<Set<string>> {
  const text = await readFile(new URL('../../dashboards/PENDING.md', import.meta.url), 'utf8');
  return new Set([...text.matchAll(/^- pending: (\S+)$/gm)].map((m) => m[1] as string));
}

interface Choice { readonly label: string; readonly values: ReadonlyMap<string, readonly string[] | null> }

/** The variable values to try: "All" everywhere (where allowed), and the first value of each, picked in order. */
async function choices(d: Dashboard): Promise<Choice[]> {
  const vars = queryVariables(d);
  const allValues = new Map(vars.map((v) => [v.name, v.allValue ?? '.*']));
  const picked = new Map<string, readonly string[] | null>();
  for (const v of vars) {
    const values = await labelValues(v.definition, (s) => fillVariables(s, picked, allValues, IV));
    assert.ok(values.length > 0, `${d.title}: variable ${v.name} (${v.definition}) has no values`);
    picked.set(v.name, [values[0] as string]);
  }
  const out: Choice[] = [{ label: [...picked].map(([k, v]) => `${k}=${v?.[0]}`).join(' '), values: picked }];
  if (vars.every((v) => v.includeAll)) out.push({ label: 'All', values: new Map(vars.map((v) => [v.name, null])) });
  return out;
}

test('every panel query returns data from what fleetscope wrote into a real Prometheus', { timeout: 55_000 }, async (t) => {
  const pending = await pendingMetrics();
  // Only what no registry in this tree has may wait: a metric the running collector or Faro receiver registers must be checked.
  for (const p of pending) {
    const m = Object.values(METRICS).find((x) => x.name === p);
    assert.ok(m, `PENDING.md lists ${p}, which metric-names.ts does not declare`);
    assert.ok(!['site', 'prometheus'].includes(m.producer), `${p} is produced in this test (${m.producer}); it cannot be pending`);
    assert.equal(collector.metrics.registry.getSingleMetric(p), undefined, `${p} is in the collector's registry: remove it from PENDING.md`);
    assert.equal(faroRegistry.getSingleMetric(p), undefined, `${p} is in the Faro receiver's registry: remove it from PENDING.md`);
  }
  const dashboards = buildDashboards().map((b) => b.dashboard);
  // The collector publishes its per-site gauge every 10 s; the variables need it.
  await eventually('the collector\'s active-series gauge in Prometheus', async () => ((await query(METRICS.activeSeries.name)) as { series?: number }).series ? true : undefined, 30_000);
  // The agent's own series come through the collector with the site's labels (its site token's tenant and site, the collector's re).
  const agentSel = `tenant="acme", re="${RE}", site="ce-0001", job="fleetscope-agent"`;
  await eventually('the agent\'s upgrade series in Prometheus', async () => {
    const state = await query(`${METRICS.agentUpgradeState.name}{${agentSel}, version="${agentVersion}", state="healthy"} == 1`);
    const done = await query(`${METRICS.agentUpgrades.name}{${agentSel}, result="healthy"} == 1`);
    return state.ok && state.series === 1 && done.ok && done.series === 1 ? true : undefined;
  }, 20_000);

  const notYet: string[] = [];
  const toCheck: { what: string; expr: string }[] = [];
  for (const d of dashboards) {
    const vars = queryVariables(d);
    const allValues = new Map(vars.map((v) => [v.name, v.allValue ?? '.*']));
    for (const c of await choices(d)) {
      for (const q of panelQueries(d)) {
        const waiting = metricsOf(q.expr).declared.filter((m) => pending.has(m.name)).map((m) => m.name);
        const what = `${d.title} / ${q.panel} [${q.refId}] (${c.label})`;
        if (waiting.length > 0) {
          const line = `${d.title} / ${q.panel}: pending ${waiting.join(', ')}`;
          if (!notYet.includes(line)) notYet.push(line);
          continue;
        }
        toCheck.push({ what, expr: fillVariables(q.expr, c.values, allValues, IV) });
      }
    }
  }
  // Rates need two scrapes after the pushes and the alert a rule evaluation: wait until all answer, then report what never did.
  const failures = new Map<string, string>();
  const deadline = Date.now() + 20_000;
  let remaining = toCheck;
  while (remaining.length > 0) {
    const next: typeof toCheck = [];
    for (const q of remaining) {
      const r = await query(q.expr);
      if (!r.ok) failures.set(q.what, `does not parse or run: ${r.error}\n    ${q.expr}`);
      else if (r.finite === 0) {
        failures.set(q.what, `returns ${r.series === 0 ? 'no series' : 'no finite value'}\n    ${q.expr}`);
        next.push(q);
      } else failures.delete(q.what);
    }
    remaining = next.filter((q) => !(failures.get(q.what) ?? '').startsWith('does not parse'));
    if (remaining.length === 0 || Date.now() > deadline) break;
    // Keep the fleet sending while waiting: a rate needs its counter to move between two scrapes, and
    // on a loaded machine every push and bulk request may have finished before Prometheus's first scrape.
    await heartbeat();
    await new Promise((r) => setTimeout(r, 1000));
  }
  t.diagnostic(`${toCheck.length - failures.size} of ${toCheck.length} panel queries returned data (every dashboard, with one concrete tenant/re/site and with All)`);
  t.diagnostic(`not checked yet: ${notYet.length} panels over metrics no part in this tree produces (dashboards/PENDING.md):`);
  for (const n of notYet) t.diagnostic(`  ${n}`);
  assert.ok(toCheck.length >= 60, `only ${toCheck.length} queries were checked`);
  assert.deepEqual([...failures].map(([w, why]) => `${w}: ${why}`), []);

  // A pending metric that now exists must leave the list, so it gets checked.
  const nowProduced: string[] = [];
  for (const p of pending) {
    const r = await query(`count({__name__=~"${p}(_bucket|_sum|_count)?"})`);
    if (r.ok && r.finite > 0) nowProduced.push(p);
  }
  assert.deepEqual(nowProduced, [], 'these are produced now: delete them from dashboards/PENDING.md');
});
