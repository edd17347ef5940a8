// TLS and client certificates from the agent, end to end, with certificates
// made by the openssl CLI in the test:
//   - the control plane here is a node:https server that speaks the top
//     README's contract §2 (register, poll, approve with a certificate it
//     signs from the CSR with the tenant's CA, via openssl; desired → 304;
//     status), verified by the agent with registration.tls.ca_file; once
//     approved, the agent presents its issued certificate to it;
//   - the collector is a real `fleetscope collector` process with a TLS
//     listener, client_ca_file = the tenant's CA and identity_from_certificate:
//     the agent (remote_write.auth: certificate, no token) ships its samples
//     over mTLS and they arrive at the collector's remote-write target
//     labelled with the certificate's tenant and site (O, CN);
//   - with a wrong ca_file the agent says which CA its collector's
//     certificate is not signed by, counts the retries as `tls`, and keeps
//     buffering; started again with the right CA it delivers the backlog,
//     every sample of it;
//   - the log shipper's HTTP output over mTLS, and its clear error (and
//     spooling) with a wrong CA.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, createServer as createHttpServer } from 'node:http';
import { type Server as HttpsServer, createServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { AgentDaemon, type ScrapeResult, startLogShipper, validateAgentConfig } from '../agent/index.js';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { decodeRemoteWriteBody } from '../wire/index.js';
import { freePort } from './peers/prometheus.js';

const BIN = new URL('../../bin/fleetscope.js', import.meta.url).pathname;
let dir = '';
let control: HttpsServer;
let controlUrl = '';
let sink: Server;
let sinkUrl = '';
let exposition: Server;
let expositionUrl = '';
let collector: ChildProcess | undefined;
let collectorUrl = '';
const received: { tenant: string; labels: Record<string, string>; ts: number }[] = [];
const controlSeen: { path: string; cn: string | undefined; authorized: boolean }[] = [];
const statuses: unknown[] = [];

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }).toString();
}

async function certs(): Promise<void> {
  for (const ca of ['server-ca', 'tenant-ca', 'rogue-ca']) openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=${ca}`);
  for (const name of ['collector', 'control']) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    await writeFile(join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'server-ca.crt', '-CAkey', 'server-ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  }
  // A client certificate for the log shipper test, of the tenant CA.
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'logs-client.key', '-out', 'logs-client.csr', '-subj', '/O=acme/CN=ce-logs');
  await writeFile(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl('x509', '-req', '-in', 'logs-client.csr', '-CA', 'tenant-ca.crt', '-CAkey', 'tenant-ca.key', '-CAcreateserial', '-out', 'logs-client.crt', '-days', '2', '-extfile', 'client.ext');
}

/** What the control plane does at approval: a certificate from the tenant's CA for the agent's CSR, subject O=tenant, OU=group, CN=site. */
async function issue(csrPem: string): Promise<string> {
  await writeFile(join(dir, 'site.csr'), csrPem);
  openssl('x509', '-req', '-in', 'site.csr', '-CA', 'tenant-ca.crt', '-CAkey', 'tenant-ca.key', '-CAcreateserial', '-out', 'site.crt', '-days', '2', '-extfile', 'client.ext', '-subj', '/O=acme/OU=stores/CN=ce-0042');
  return readFile(join(dir, 'site.crt'), 'utf8');
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function startCollector(): Promise<void> {
  const port = await freePort();
  const config = join(dir, 'collector.yml');
  await writeFile(config, [
    `listen: 127.0.0.1:${port}`,
    `queue: {dir: ${JSON.stringify(join(dir, 'queue'))}}`,
    `tls: {cert_file: ${JSON.stringify(join(dir, 'collector.crt'))}, key_file: ${JSON.stringify(join(dir, 'collector.key'))}, client_ca_file: ${JSON.stringify(join(dir, 'tenant-ca.crt'))}, identity_from_certificate: true}`,
    'tenants: {acme: {pipeline: {}}}',
    `remote_write: [{url: "${sinkUrl}", min_backoff: 20ms, max_backoff: 200ms, batch_send_deadline: 100ms}]`,
  ].join('\n'));
  collector = spawn(process.execPath, [BIN, 'collector', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  collectorUrl = `https://127.0.0.1:${port}`;
  const ca = await readFile(join(dir, 'server-ca.crt'));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const r = httpsRequest(`${collectorUrl}/-/ready`, { ca }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      r.on('error', () => resolve(false));
      r.end();
    });
    if (ok) return;
    if (collector.exitCode !== null) throw new Error(`collector exited with ${collector.exitCode}`);
    if (Date.now() > deadline) throw new Error('collector not ready in 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-tls-'));
  await certs();
  const f = (n: string): Promise<Buffer> => readFile(join(dir, n));
  // The collector's remote-write target: decodes what arrives, with its tenant header.
  sink = createHttpServer((req, res) => {
    void body(req).then((b) => {
      for (const ts of decodeRemoteWriteBody(b).timeseries) {
        const labels: Record<string, string> = {};
        for (let i = 0; i < ts.labels.length; i += 2) labels[ts.labels[i] as string] = ts.labels[i + 1] as string;
        for (const s of ts.samples) received.push({ tenant: String(req.headers['x-scope-orgid']), labels, ts: s.timestamp });
      }
      res.writeHead(204).end();
    }, () => undefined); // a request cut when the collector stops
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/api/v1/write`;
  let n = 0;
  exposition = createHttpServer((_req, res) => {
    n++;
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(`# TYPE edge_ticks_total counter\nedge_ticks_total ${n}\n`);
  });
  await new Promise<void>((r) => exposition.listen(0, '127.0.0.1', r));
  expositionUrl = `http://127.0.0.1:${(exposition.address() as AddressInfo).port}/metrics`;
  await startCollector();
  // The control plane: TLS with its server certificate; client certificates requested, verified against the tenant CA, not required (registration comes before one exists).
  control = createServer({ key: await f('control.key'), cert: await f('control.crt'), ca: await f('tenant-ca.crt'), requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const sock = req.socket as TLSSocket;
    const peer = sock.getPeerCertificate();
    const path = (req.url ?? '').split('?')[0] as string;
    controlSeen.push({ path, cn: peer?.subject?.CN as string | undefined, authorized: sock.authorized });
    void body(req).then(async (b) => {
      const json = (code: number, o: unknown): void => void res.writeHead(code, { 'Content-Type': 'application/json' }).end(JSON.stringify(o));
      if (req.method === 'POST' && path === '/api/v1/register') {
        const { csr } = JSON.parse(b.toString()) as { csr: string };
        await writeFile(join(dir, 'pending.csr'), csr);
        return json(202, { registration_id: 'reg-1', state: 'pending', poll_after_s: 0.2 });
      }
      if (path === '/api/v1/registrations/reg-1') {
        const certificate = await issue(await readFile(join(dir, 'pending.csr'), 'utf8'));
        return json(200, {
          registration_id: 'reg-1',
          state: 'approved',
          site: { tenant: 'acme', site: 'ce-0042', group: 'stores' },
          identity: { site_token: 'a-token-this-collector-does-not-know', certificate, ca: await readFile(join(dir, 'tenant-ca.crt'), 'utf8') },
          endpoints: { remote_write_url: `${collectorUrl}/api/v1/write`, control_url: controlUrl },
        });
      }
      if (path === '/api/v1/sites/ce-0042/desired') {
        // Only a site that presents its certificate is told anything.
        if (!sock.authorized || peer?.subject?.CN !== 'ce-0042') return json(401, { message: 'client certificate required' });
        return void res.writeHead(304).end();
      }
      if (req.method === 'POST' && path === '/api/v1/sites/ce-0042/status') {
        statuses.push(JSON.parse(b.toString()));
        return void res.writeHead(204).end();
      }
      json(404, { message: 'not found' });
    }).catch(() => undefined);
  });
  await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
  controlUrl = `https://127.0.0.1:${(control.address() as AddressInfo).port}`;
});

after(async () => {
  if (collector !== undefined && collector.exitCode === null) {
    const exited = new Promise((r) => collector?.once('exit', r));
    collector.kill('SIGTERM');
    await exited;
  }
  control?.close();
  sink?.close();
  exposition?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function waitFor(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function agentConfig(caFile: string): ReturnType<typeof validateAgentConfig> {
  return validateAgentConfig({
    state_dir: join(dir, 'agent'),
    listen: '',
    scrape: { interval: '250ms', timeout: '200ms' },
    targets: [{ job: 'edge', url: expositionUrl }],
    self_metrics: { enabled: false },
    buffer: { fsync: false },
    remote_write: { auth: 'certificate', tls: { ca_file: caFile }, min_backoff: '50ms', max_backoff: '300ms' },
    registration: { control_url: controlUrl, poll_interval: '200ms', tls: { ca_file: join(dir, 'server-ca.crt') } },
    upgrades: { enabled: true, long_poll_seconds: 0, poll_interval: '300ms', jitter: 0 },
  }, 'agent.yml');
}

const edge = (): typeof received => received.filter((r) => r.labels.__name__ === 'edge_ticks_total');

test('registration over TLS, the issued certificate presented to the control plane and to a real collector with mTLS; a wrong CA is named and the backlog is kept', { timeout: 90_000 }, async () => {
  const logs: string[] = [];
  const log = (level: string, msg: string): void => void logs.push(`${level} ${msg}`);
  let agent = await AgentDaemon.start(agentConfig(join(dir, 'server-ca.crt')), { log, env: { FLEETSCOPE_REGISTRATION_TOKEN: 'fst1.test-registration-token' } });
  try {
    await waitFor('registration', () => agent.currentIdentity() !== null);
    const key = await readFile(join(dir, 'agent', 'cert.pem'), 'utf8');
    assert.match(key, /BEGIN CERTIFICATE/);
    // The registration calls had no certificate to present; the later ones present the issued one.
    assert.ok(controlSeen.filter((s) => s.path === '/api/v1/register').every((s) => s.cn === undefined));
    await waitFor('a status report over TLS with the site certificate', () => statuses.length > 0);
    const desired = controlSeen.filter((s) => s.path === '/api/v1/sites/ce-0042/desired');
    assert.ok(desired.length > 0 && desired.every((s) => s.authorized && s.cn === 'ce-0042'), JSON.stringify(desired));

    // Samples through the real collector, attributed by the certificate alone (the token is unknown to the collector and not sent).
    await waitFor('samples through the collector', () => edge().length >= 3);
    const first = edge()[0] as (typeof received)[number];
    assert.equal(first.tenant, 'acme');
    assert.equal(first.labels.site, 'ce-0042');
    assert.equal(first.labels.tenant, 'acme');
    assert.equal(first.labels.job, 'edge');
  } finally {
    await agent.stop();
  }

  // The wrong CA: a clear error, counted as tls; scrapes keep landing in the buffer.
  const scrapedDuringFailure: number[] = [];
  logs.length = 0;
  agent = await AgentDaemon.start(agentConfig(join(dir, 'rogue-ca.crt')), { log, onScrape: (_job: string, at: number, _r: ScrapeResult) => void scrapedDuringFailure.push(at) });
  try {
    await waitFor('the TLS error logged', () => logs.some((l) => l.includes('remote write: tls')));
    const line = logs.find((l) => l.includes('remote write: tls')) as string;
    assert.match(line, /is not signed by the CA in remote_write\.tls\.ca_file \(.*rogue-ca\.crt\)/, line);
    await waitFor('several scrapes buffered', () => agent.bufferStats.records >= 4 && scrapedDuringFailure.length >= 4, 10_000);
    const retries = await agent.metrics.registry.getSingleMetricAsString('fleetscope_agent_send_retries_total');
    assert.match(retries, /reason="tls"\} [1-9]/, retries);
    // By timestamp: what the first agent sent may still be on its way through the collector.
    assert.equal(edge().filter((r) => scrapedDuringFailure.includes(r.ts)).length, 0, 'nothing got through with the wrong CA');
  } finally {
    await agent.stop();
  }
  // The right CA again, same state directory: every sample scraped meanwhile arrives.
  agent = await AgentDaemon.start(agentConfig(join(dir, 'server-ca.crt')), { log });
  try {
    await waitFor('the backlog delivered', () => scrapedDuringFailure.every((at) => edge().some((r) => r.ts === at)), 20_000);
  } finally {
    await agent.stop();
  }
});

test('the log shipper over HTTPS with a client certificate; a wrong CA is a clear error and batches stay spooled', { timeout: 60_000 }, async () => {
  const f = (n: string): Promise<Buffer> => readFile(join(dir, n));
  const got: { cn: string | undefined; lines: string }[] = [];
  const logsServer = createServer({ key: await f('collector.key'), cert: await f('collector.crt'), ca: await f('tenant-ca.crt'), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    void body(req).then((b) => {
      got.push({ cn: (req.socket as TLSSocket).getPeerCertificate().subject?.CN as string | undefined, lines: b.toString() });
      res.writeHead(200).end('{}');
    }, () => undefined);
  });
  await new Promise<void>((r) => logsServer.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(logsServer.address() as AddressInfo).port}/api/v1/logs`;
  const logFile = join(dir, 'app.log');
  await writeFile(logFile, 'line one\nline two\n');
  const errors: string[] = [];
  const logger = pino({ base: undefined }, { write: (line: string) => void errors.push(line) });
  const config = (ca: string): Parameters<typeof startLogShipper>[0] => ({
    inputs: [{ paths: [logFile], exclude: [], tag: 't', start_at: 'beginning', fields: {} }],
    positions_file: join(dir, 'log-positions.json'),
    spool: { dir: join(dir, 'log-spool'), max_bytes: 1024 * 1024 },
    output: { http: { url, token: 'x', timeout: 5000, ca_file: join(dir, ca), cert_file: join(dir, 'logs-client.crt'), key_file: join(dir, 'logs-client.key') } },
    batch_max_records: 100,
    batch_max_bytes: 65536,
    poll_interval: 50,
    min_backoff: 50,
    max_backoff: 200,
  }) as Parameters<typeof startLogShipper>[0];
  try {
    let shipper = await startLogShipper(config('rogue-ca.crt'), { logger, registry: new Registry() });
    await waitFor('the shipper reports the TLS failure', () => errors.some((e) => /not signed by the CA in logs\.output\.http\.ca_file/.test(e)), 10_000);
    assert.equal(got.length, 0);
    await waitFor('the batch spooled', () => shipper.stats.spoolPendingBatches > 0, 5000);
    await shipper.stop();
    shipper = await startLogShipper(config('server-ca.crt'), { logger, registry: new Registry() });
    await waitFor('the spooled lines delivered over mTLS', () => got.some((g) => g.lines.includes('line two')), 10_000);
    assert.equal(got[0]?.cn, 'ce-logs');
    await shipper.stop();
  } finally {
    logsServer.close();
  }
});
