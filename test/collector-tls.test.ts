// TLS and mTLS on both sides of the collector, with certificates made by
// the openssl CLI in the test: the listener serves HTTPS; a site's client
// certificate (verified against client_ca_file) is its identity, by a
// configured certificate name or by its subject (O tenant, CN site, OU
// group); a certificate of another CA, or none, gets 401. Towards the
// remote-write target the sender verifies the target's certificate with its
// ca_file and presents its own client certificate. The target here is a
// node:https server that requires a client certificate and decodes what it
// gets (Prometheus's TLS web config would need an HTTPS-aware peer helper).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { Collector, validateCollectorConfig } from '../collector/index.js';
import { REMOTE_WRITE_HEADERS, RemoteWriteBatch, RemoteWriteReader, encodeLabels, snappyUncompress } from '../wire/index.js';

let dir = '';
let collector: Collector;
let target: Server;
const received: { tenant: string; labels: string[] }[] = [];
const targetClients: string[] = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, and leaf certificates it signs: `name` with `subject` and SANs. */
async function makeCerts(): Promise<void> {
  for (const ca of ['ca', 'rogue']) openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=${ca}`);
  const leaf = async (name: string, subject: string, ext: string, ca = 'ca'): Promise<void> => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    await writeFile(join(dir, `${name}.ext`), ext);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  };
  await leaf('server', '/CN=collector', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await leaf('site-a', '/CN=ce-0001', 'subjectAltName=DNS:ce-0001.sites.example\nextendedKeyUsage=clientAuth\n');
  await leaf('site-b', '/O=acme/OU=stores/CN=ce-0099', 'extendedKeyUsage=clientAuth\n');
  await leaf('site-evil', '/O=acme/CN=ce-0001', 'extendedKeyUsage=clientAuth\n', 'rogue');
  await leaf('sender', '/CN=collector-sender', 'extendedKeyUsage=clientAuth\n');
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-tls-'));
  await makeCerts();
  const f = (n: string): Promise<Buffer> => readFile(join(dir, n));
  target = createServer({ key: await f('server.key'), cert: await f('server.crt'), ca: await f('ca.crt'), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    targetClients.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = new RemoteWriteReader(snappyUncompress(Buffer.concat(chunks)));
      while (r.next()) received.push({ tenant: String(req.headers['x-scope-orgid']), labels: r.labels() });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  collector = await Collector.start(validateCollectorConfig({
    queue: { dir: join(dir, 'q') },
    tls: { cert_file: 'server.crt', key_file: 'server.key', client_ca_file: 'ca.crt', identity_from_certificate: true },
    sites: [
      { certificate_name: 'ce-0001.sites.example', tenant: 'acme', site: 'ce-0001' },
      { token: 'a-token-over-tls-0123456789', tenant: 'acme', site: 'ce-token' },
    ],
    tenants: { acme: { groups: { stores: {} } } },
    remote_write: [{
      url: `https://127.0.0.1:${(target.address() as AddressInfo).port}/api/v1/write`,
      batch_send_deadline: '50ms',
      tls_config: { ca_file: join(dir, 'ca.crt'), cert_file: join(dir, 'sender.crt'), key_file: join(dir, 'sender.key') },
    }],
  }, join(dir, 'collector.yml')), { listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
});

after(async () => {
  await collector?.stop();
  await new Promise<void>((r) => target?.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

async function push(client: string | null, name: string, token?: string): Promise<number> {
  const b = new RemoteWriteBatch();
  b.add(encodeLabels(['__name__', name, 'site', 'spoofed']), 1, Date.now());
  const body = b.finishCompressed();
  const f = (n: string): Promise<Buffer> => readFile(join(dir, n));
  const tlsOpts = { ca: await f('ca.crt'), ...(client === null ? {} : { cert: await f(`${client}.crt`), key: await f(`${client}.key`) }) };
  const url = new URL('/api/v1/write', collector.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ...tlsOpts, headers: { ...REMOTE_WRITE_HEADERS, ...(token ? { Authorization: `Bearer ${token}` } : {}) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('the listener speaks HTTPS, and a verified client certificate is the site identity', async () => {
  assert.match(collector.url, /^https:/);
  assert.equal(await push('site-a', 'by_name'), 204, 'a configured certificate_name (its DNS SAN)');
  assert.equal(await push('site-b', 'by_subject'), 204, 'identity from the subject: O=acme, OU=stores, CN=ce-0099');
  assert.equal(await push(null, 'by_token', 'a-token-over-tls-0123456789'), 204, 'a token still works over TLS, without a certificate');
  assert.equal(await push('site-evil', 'rogue'), 401, 'a certificate of another CA is no identity');
  assert.equal(await push(null, 'nothing'), 401);
  for (const deadline = Date.now() + 15_000; received.length < 3 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
  const sites = Object.fromEntries(received.map((r) => [r.labels[1], r.labels[r.labels.indexOf('site') + 1]]));
  assert.deepEqual(sites, { by_name: 'ce-0001', by_subject: 'ce-0099', by_token: 'ce-token' });
  assert.ok(received.every((r) => r.tenant === 'acme'));
  assert.ok(targetClients.every((cn) => cn === 'collector-sender'), 'the sender presented its client certificate to the target');
});
