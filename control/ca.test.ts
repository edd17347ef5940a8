// Site certificates signed with the hand-built DER (der.ts) are real X.509:
// node's parser reads them and verifies the CA's signature, and `openssl
// verify` (OpenSSL, the reference) accepts the chain for client auth.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkCsr, createCsr, generateTenantCa, loadCa, normalSerial, signSiteCertificate } from './ca.js';
import { ControlError } from './errors.js';

test('a site certificate from a CSR: subject, SAN, client auth, signed by the tenant CA, accepted by openssl', async () => {
  const ca = await generateTenantCa('acme');
  const loaded = await loadCa(ca);
  const { csrPem } = await createCsr('whatever');
  const { pem, serial } = await signSiteCertificate(loaded, csrPem, 'acme', 'ce-0042');
  const cert = new X509Certificate(pem);
  const caCert = new X509Certificate(ca.cert_pem);
  assert.ok(cert.verify(caCert.publicKey));
  assert.equal(normalSerial(cert.serialNumber), serial);
  assert.ok(cert.checkIssued(caCert));
  assert.equal(cert.subject, 'O=acme\nCN=ce-0042');
  assert.equal(cert.subjectAltName, 'DNS:ce-0042');
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.equal(cert.ca, false);
  assert.ok(Date.parse(cert.validTo) > Date.now() + 300 * 86_400_000);
  const dir = mkdtempSync(join(tmpdir(), 'fleetscope-ca-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), ca.cert_pem);
    writeFileSync(join(dir, 'site.pem'), pem);
    const out = execFileSync('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', join(dir, 'ca.pem'), join(dir, 'site.pem')], { encoding: 'utf8' });
    assert.match(out, /site\.pem: OK/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CSRs: Ed25519 and RSA ones are accepted; a tampered or garbage one is refused with the reason', async () => {
  for (const type of ['ed25519', 'rsa'] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'fleetscope-csr-'));
    try {
      const { privateKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
      writeFileSync(join(dir, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
      const csr = execFileSync('openssl', ['req', '-new', '-key', join(dir, 'k.pem'), '-subj', '/CN=x'], { encoding: 'utf8' });
      assert.ok((await checkCsr(csr)).spki.length > 30, type);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const { csrPem } = await createCsr('ce');
  const b64 = csrPem.split('\n').filter((l) => !l.startsWith('-----')).join('');
  const der = Buffer.from(b64, 'base64');
  der[40] = (der[40] as number) ^ 0x01; // inside the subject: the signature no longer covers it
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  await assert.rejects(checkCsr(tampered), (e: unknown) => e instanceof ControlError && e.code === 'FS_CONTROL_CSR');
  await assert.rejects(checkCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n'), /not a PKCS#10 request/);
  await assert.rejects(checkCsr('hello'), /not a PEM/);
});
