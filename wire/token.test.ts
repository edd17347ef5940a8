import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateTokenKeys, signToken, tokenPrivateKey, tokenPublicKey, verifyToken } from './token.js';

const a = generateTokenKeys();
const b = generateTokenKeys();
const priv = tokenPrivateKey(a.privateKeyPem);
const pubA = tokenPublicKey(a.publicKeyPem);
const pubB = tokenPublicKey(b.publicKeyPem);
const now = 1_700_000_000_000;

test('a signed site token verifies with its key, among several, and carries its claims', () => {
  const t = signToken(priv, { kind: 'site', tenant: 'acme', site: 'ce-0001', group: 'stores', iat: now / 1000 });
  const r = verifyToken([pubB, pubA], t, 'site', now);
  assert.deepEqual(r, { ok: true, claims: { kind: 'site', tenant: 'acme', site: 'ce-0001', group: 'stores', iat: now / 1000 } });
});

test('tampering, another key, the wrong kind and expiry are refused with a reason', () => {
  const t = signToken(priv, { kind: 'registration', tenant: 'acme', iat: now / 1000, exp: now / 1000 + 60, jti: 'x1', single_use: true });
  assert.equal(verifyToken([pubA], t, 'registration', now).ok, true);
  const [p, c, s] = t.split('.') as [string, string, string];
  const forged = `${p}.${Buffer.from(JSON.stringify({ kind: 'registration', tenant: 'evil', iat: 0 })).toString('base64url')}.${s}`;
  const cases: [string, string, string][] = [
    [forged, 'registration', 'bad signature'],
    [t, 'site', 'a registration token where a site token is needed'],
    [`${p}.${c}`, 'registration', 'not a fst1 token'],
    ['x'.repeat(5000), 'registration', 'token is longer than 4096 characters'],
    [`${p}.${c}.AAAA`, 'registration', 'bad signature'],
  ];
  for (const [tok, kind, reason] of cases) assert.deepEqual(verifyToken([pubA], tok, kind as 'site', now), { ok: false, reason });
  assert.deepEqual(verifyToken([pubB], t, 'registration', now), { ok: false, reason: 'bad signature' });
  assert.deepEqual(verifyToken([pubA], t, 'registration', now + 61_000), { ok: false, reason: 'token has expired' });
});

test('claims that could not become labels or paths are not signed', () => {
  assert.throws(() => signToken(priv, { kind: 'site', tenant: 'acme', site: '../etc', iat: 0 }), /site must be/);
  assert.throws(() => signToken(priv, { kind: 'site', tenant: '', site: 'a', iat: 0 }), /tenant must be/);
});
