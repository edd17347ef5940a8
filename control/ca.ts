// Tenant certificate authorities and site certificates: ECDSA P-256 through
// node's WebCrypto, X.509 through @peculiar/x509. A site sends a PKCS#10 CSR
// made with a key that never leaves it; on approval the tenant's CA signs a
// client certificate (CN = site, O = tenant, extendedKeyUsage clientAuth).
import './reflect-metadata.js';
import { randomBytes, webcrypto } from 'node:crypto';
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import * as x509 from '@peculiar/x509';
import { ControlError } from './errors.js';
import type { TenantCa } from './records.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** CSRs longer than this are refused before parsing. */
export const MAX_CSR_LENGTH = 16 * 1024;
const DAY_MS = 86_400_000;

export interface LoadedCa {
  readonly certPem: string;
  readonly cert: x509.X509Certificate;
  readonly key: CryptoKey;
}

/** A new self-signed CA for `tenant`, valid ten years. */
export async function generateTenantCa(tenant: string): Promise<TenantCa> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=fleetscope ${tenant} site CA, O=${tenant}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3650 * DAY_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
  return { key_pem: keyPem, cert_pem: cert.toString('pem') + '\n' };
}

export async function loadCa(ca: TenantCa): Promise<LoadedCa> {
  const der = Buffer.from(ca.key_pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const key = await webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
  return { certPem: ca.cert_pem, cert: new x509.X509Certificate(ca.cert_pem), key };
}

export interface CheckedCsr {
  readonly csr: x509.Pkcs10CertificateRequest;
}

/** Parses a PEM CSR and checks its self-signature. Throws FS_CONTROL_CSR with the reason. */
export async function checkCsr(pem: string): Promise<CheckedCsr> {
  if (pem.length > MAX_CSR_LENGTH) throw new ControlError('FS_CONTROL_CSR', [`longer than ${MAX_CSR_LENGTH} characters`]);
  if (!pem.includes('-----BEGIN CERTIFICATE REQUEST-----')) throw new ControlError('FS_CONTROL_CSR', ['not a PEM "CERTIFICATE REQUEST"']);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch (err) {
    throw new ControlError('FS_CONTROL_CSR', [`not a PKCS#10 request: ${(err as Error).message}`], { cause: err });
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch (err) {
    throw new ControlError('FS_CONTROL_CSR', [`unsupported key or signature: ${(err as Error).message}`], { cause: err });
  }
  if (!ok) throw new ControlError('FS_CONTROL_CSR', ['its signature does not verify']);
  return { csr };
}

/** Signs a client certificate for `site` of `tenant` over the CSR's public key. */
export async function signSiteCertificate(ca: LoadedCa, csrPem: string, tenant: string, site: string, validDays = 365): Promise<string> {
  const { csr } = await checkCsr(csrPem);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    subject: `CN=${site}, O=${tenant}`,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + validDays * DAY_MS),
    signingKey: ca.key,
    publicKey: csr.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: site }]),
    ],
  });
  return cert.toString('pem') + '\n';
}

/** A CSR for tests, benchmarks and agents: a new P-256 key and its request. */
export async function createCsr(commonName: string): Promise<{ csrPem: string; privateKeyPkcs8: Buffer }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${commonName}`, keys, signingAlgorithm: ALG });
  return { csrPem: csr.toString('pem'), privateKeyPkcs8: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}
