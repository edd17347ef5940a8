// The log endpoints authenticate as the metrics path does: a signed site
// token (the top README's contract §1) is accepted with the identity of its
// claims, whatever the records say, and a token signed by another key, or a
// registration token, is refused 401 with nothing taken in.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { Collector, type LogRecordOut, validateCollectorConfig } from '../collector/index.js';
import { generateTokenKeys, signToken, tokenPrivateKey } from '../wire/index.js';

const keys = generateTokenKeys();
const other = generateTokenKeys();
const now = Math.floor(Date.now() / 1000);
const SIGNED = signToken(tokenPrivateKey(keys.privateKeyPem), { kind: 'site', tenant: 'acme', site: 'ce-0007', iat: now });
const FORGED = signToken(tokenPrivateKey(other.privateKeyPem), { kind: 'site', tenant: 'acme', site: 'ce-0007', iat: now });
const REGISTRATION = signToken(tokenPrivateKey(keys.privateKeyPem), { kind: 'registration', tenant: 'acme', iat: now });

let dir: string;
let collector: Collector;
const got: LogRecordOut[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-logs-token-'));
  collector = await Collector.start(validateCollectorConfig({
    external_labels: { re: 'eu-west-1' },
    queue: { dir: join(dir, 'q') },
    site_token_public_keys: [keys.publicKeyPem],
    tenants: { acme: {} },
    logs: { buffer: { dir: join(dir, 'logs') } },
  }, 'logs-token.yml'), { listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
  collector.logs?.onLogRecords((batch) => got.push(...batch));
});

after(async () => {
  await collector?.stop();
  await rm(dir, { recursive: true, force: true });
});

const post = (token: string): Promise<Response> => fetch(`${collector.url}/api/v1/logs`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/x-ndjson', Authorization: `Bearer ${token}` },
  body: `${JSON.stringify({ '@timestamp': new Date().toISOString(), message: 'hello', tenant: 'globex', site: 'spoofed' })}\n`,
});

test('a signed site token is accepted on the log path with the identity of its claims', async () => {
  const res = await post(SIGNED);
  assert.equal(res.status, 200, await res.text());
  assert.equal(got.length, 1);
  assert.equal(got[0]?.tenant, 'acme');
  assert.equal(got[0]?.site, 'ce-0007');
  assert.equal(got[0]?.doc.tenant, 'acme');
  assert.equal(got[0]?.doc.site, 'ce-0007');
  assert.equal(got[0]?.doc.re, 'eu-west-1');
});

test('a token signed by another key, or a registration token, is refused with nothing taken in', async () => {
  const before = got.length;
  for (const token of [FORGED, REGISTRATION, 'not-a-token']) {
    const res = await post(token);
    assert.equal(res.status, 401, `${token.slice(0, 12)}: ${res.status}`);
  }
  assert.equal(got.length, before);
});
