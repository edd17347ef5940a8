import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { REMOTE_WRITE_HEADERS, encodeWriteRequest, generateTokenKeys, signToken, snappyCompress, tokenPrivateKey, tokenPublicKey } from '../wire/index.js';
import { SiteAuthenticator } from './auth.js';
import { Collector } from './collector.js';
import { validateCollectorConfig } from './config.js';
import { CollectorError } from './errors.js';

const control = generateTokenKeys();
const other = generateTokenKeys();
const sign = tokenPrivateKey(control.privateKeyPem);
const now = Date.now();
const iat = Math.floor(now / 1000);

test('signed site tokens: the right key gives the claims as identity; anything else is refused', () => {
  const auth = new SiteAuthenticator([{ token: 'static-token-0123456789', tenant: 'acme', site: 'ce-static' }], [tokenPublicKey(control.publicKeyPem)], new Set(['acme']));
  const good = signToken(sign, { kind: 'site', tenant: 'acme', site: 'ce-0007', group: 'stores', iat });
  assert.deepEqual(auth.identify(`Bearer ${good}`, now), { ok: true, identity: { tenant: 'acme', site: 'ce-0007', group: 'stores' } });
  // Cached, still the same answer.
  assert.deepEqual(auth.identify(`Bearer ${good}`, now), { ok: true, identity: { tenant: 'acme', site: 'ce-0007', group: 'stores' } });
  assert.deepEqual(auth.identify('Bearer static-token-0123456789', now), { ok: true, identity: { tenant: 'acme', site: 'ce-static', group: undefined } });
  const cases: [string, string | undefined, number, RegExp][] = [
    ['no header', undefined, 401, /required/],
    ['unknown static token', 'Bearer nope-nope-nope-nope', 401, /unknown site token/],
    ['another key', `Bearer ${signToken(tokenPrivateKey(other.privateKeyPem), { kind: 'site', tenant: 'acme', site: 'ce-0007', iat })}`, 401, /bad signature/],
    ['expired', `Bearer ${signToken(sign, { kind: 'site', tenant: 'acme', site: 'ce-0007', iat: iat - 100, exp: iat - 1 })}`, 401, /expired/],
    ['registration kind', `Bearer ${signToken(sign, { kind: 'registration', tenant: 'acme', iat })}`, 401, /registration token where a site token/],
    ['tampered claims', `Bearer ${good.split('.')[0]}.${Buffer.from(JSON.stringify({ kind: 'site', tenant: 'acme', site: 'ce-other', iat })).toString('base64url')}.${good.split('.')[2]}`, 401, /bad signature/],
    ['tenant not configured here', `Bearer ${signToken(sign, { kind: 'site', tenant: 'globex', site: 'ce-1', iat })}`, 403, /not configured/],
  ];
  for (const [what, header, status, reason] of cases) {
    const r = auth.identify(header, now);
    assert.equal(r.ok, false, what);
    if (!r.ok) {
      assert.equal(r.status, status, what);
      assert.match(r.reason, reason, what);
    }
  }
  // A token that expires later is accepted now and refused once expired, cache or not.
  const soon = signToken(sign, { kind: 'site', tenant: 'acme', site: 'ce-0008', iat, exp: iat + 60 });
  assert.equal(auth.identify(`Bearer ${soon}`, now).ok, true);
  assert.equal(auth.identify(`Bearer ${soon}`, (iat + 61) * 1000).ok, false);
});

test('site_token_public_keys: PEM text or a file; a bad key names its index', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-keys-'));
  try {
    await writeFile(join(dir, 'control.pub'), control.publicKeyPem);
    const loaded = validateCollectorConfig({ site_token_public_keys: [other.publicKeyPem, 'control.pub'], tenants: { acme: {} } }, join(dir, 'c.yml'));
    assert.equal(loaded.siteTokenKeys.length, 2);
    for (const [keys, reason] of [[['missing.pub'], /cannot read key file/], [['-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----\n'], /not a PEM public key/]] as const) {
      assert.throws(() => validateCollectorConfig({ site_token_public_keys: keys, tenants: {} }, join(dir, 'c.yml')), (e: unknown) => {
        assert.ok(e instanceof CollectorError);
        assert.match(e.message, /site_token_public_keys\.0: /);
        assert.match(e.message, reason);
        return true;
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the receiver takes a push with a signed site token under the identity in its claims', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-sitetoken-'));
  const loaded = validateCollectorConfig({ queue: { dir: join(dir, 'q') }, site_token_public_keys: [control.publicKeyPem], tenants: { acme: {} } }, 'c.yml');
  const collector = await Collector.start(loaded, { listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
  const body = snappyCompress(encodeWriteRequest({ timeseries: [{ labels: ['__name__', 'm', 'site', 'spoofed', 'tenant', 'evil'], samples: [{ value: 1, timestamp: now }] }] }));
  const push = async (token: string): Promise<number> =>
    (await fetch(`${collector.url}/api/v1/write`, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, Authorization: `Bearer ${token}` }, body })).status;
  try {
    assert.equal(await push(signToken(sign, { kind: 'site', tenant: 'acme', site: 'ce-0042', iat })), 204);
    assert.equal(await push(signToken(tokenPrivateKey(other.privateKeyPem), { kind: 'site', tenant: 'acme', site: 'ce-0042', iat })), 401);
    assert.equal(await push(signToken(sign, { kind: 'registration', tenant: 'acme', iat })), 401);
    const metrics = await (await fetch(`${collector.url}/metrics`)).text();
    // Counted under the token's identity (no remote_write here, so dropped as such), not the payload's.
    assert.match(metrics, /samples_received_total\{tenant="acme",site="ce-0042"\} 1/);
    assert.doesNotMatch(metrics, /site="spoofed"/);
  } finally {
    await collector.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
