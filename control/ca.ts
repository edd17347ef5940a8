// Tenant certificate authorities and site certificates, ECDSA P-256. A site
// sends a PKCS#10 CSR made with a key that never leaves it; on approval the
// tenant's CA signs a client certificate (CN = site, O = tenant, clientAuth).
// CAs (once per tenant) and test CSRs are made with @peculiar/x509 over
// node's WebCrypto; CSR checks and certificate signing, the per-site hot
// path, are DER built by hand (der.ts) and node:crypto.
import './reflect-metadata.js';
import { type KeyObject, createPrivateKey, createPublicKey, randomBytes, sign, verify, webcrypto } from 'node:crypto';
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import * as x509 from '@peculiar/x509';
import { DerError, type Tlv, bitString, children, decodeOid, derToPem, octetString, oid, pemToDer, readTlv, seq, set, time, tlv, uint, utf8 } from './der.js';
import { ControlError } from './errors.js';
import type { TenantCa } from './records.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** CSRs longer than this are refused before parsing. */
export const MAX_CSR_LENGTH = 16 * 1024;
const DAY_MS = 86_400_000;

export interface LoadedCa {
  readonly certPem: string;
  /** The CA certificate's subject, DER: the issuer of what it signs. */
  readonly subjectDer: Buffer;
  readonly key: KeyObject;
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
  const key = createPrivateKey(ca.key_pem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new ControlError('FS_CONTROL_CSR', ['a tenant CA key must be ECDSA P-256']);
  const der = pemToDer(ca.cert_pem, 'CERTIFICATE');
  const tbs = children(der, readTlv(der, 0))[0] as Tlv;
  const f = children(der, tbs);
  // TBSCertificate: [0] version, serial, signature, issuer, validity, subject, ...
  const subject = f[(f[0] as Tlv).tag === 0xa0 ? 5 : 4] as Tlv;
  return { certPem: ca.cert_pem, subjectDer: der.subarray(subject.start, subject.end), key };
}

export interface CheckedCsr {
  /** The SubjectPublicKeyInfo, DER, as the site sent it. */
  readonly spki: Buffer;
}

/** Signature algorithms a CSR may use: OID → node digest (null: the key decides, Ed25519). */
const CSR_SIGNATURES: Record<string, string | null> = {
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384', // ecdsa-with-SHA384
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384', // sha384WithRSAEncryption
  '1.3.101.112': null, // Ed25519
};

/** SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused, 0x04 uncompressed point) }. */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex');

/** Parses a PEM PKCS#10 CSR (RFC 2986) and checks its self-signature. Throws FS_CONTROL_CSR with the reason. */
export async function checkCsr(pem: string): Promise<CheckedCsr> {
  if (pem.length > MAX_CSR_LENGTH) throw new ControlError('FS_CONTROL_CSR', [`longer than ${MAX_CSR_LENGTH} characters`]);
  if (!pem.includes('-----BEGIN CERTIFICATE REQUEST-----')) throw new ControlError('FS_CONTROL_CSR', ['not a PEM "CERTIFICATE REQUEST"']);
  try {
    const der = pemToDer(pem, 'CERTIFICATE REQUEST');
    const top = readTlv(der, 0);
    if (top.tag !== 0x30 || top.end !== der.length) throw new DerError('not one SEQUENCE');
    const [cri, alg, sig] = children(der, top);
    if (!cri || !alg || !sig || cri.tag !== 0x30 || alg.tag !== 0x30 || sig.tag !== 0x03) throw new DerError('not a CertificationRequest');
    const parts = children(der, cri);
    const spki = parts[2];
    if (!spki || spki.tag !== 0x30) throw new DerError('no subjectPKInfo');
    const algOid = decodeOid(der, children(der, alg)[0] as Tlv);
    if (!(algOid in CSR_SIGNATURES)) throw new ControlError('FS_CONTROL_CSR', [`unsupported signature algorithm ${algOid}`]);
    const spkiDer = der.subarray(spki.start, spki.end);
    let key: KeyObject;
    try {
      // OpenSSL 3 decodes a DER SPKI in ~0.4 ms; a P-256 key given as JWK takes a third of that.
      key = spkiDer.length === 91 && spkiDer.subarray(0, 27).equals(P256_SPKI_PREFIX)
        ? createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: spkiDer.subarray(27, 59).toString('base64url'), y: spkiDer.subarray(59, 91).toString('base64url') }, format: 'jwk' })
        : createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
    } catch (err) {
      throw new ControlError('FS_CONTROL_CSR', [`unsupported public key: ${(err as Error).message}`], { cause: err });
    }
    if (der[sig.contentStart] !== 0) throw new DerError('signature has unused bits');
    const ok = verify(CSR_SIGNATURES[algOid] ?? null, der.subarray(cri.start, cri.end), key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'der' } : key, der.subarray(sig.contentStart + 1, sig.end));
    if (!ok) throw new ControlError('FS_CONTROL_CSR', ['its signature does not verify']);
    return { spki: Buffer.from(spkiDer) };
  } catch (err) {
    if (err instanceof ControlError) throw err;
    throw new ControlError('FS_CONTROL_CSR', [`not a PKCS#10 request: ${(err as Error).message}`], { cause: err });
  }
}

/** The SubjectPublicKeyInfo of a CSR, without checking it (see checkCsr). */
export function csrPublicKeyInfo(pem: string): Buffer {
  try {
    const der = pemToDer(pem, 'CERTIFICATE REQUEST');
    const cri = children(der, readTlv(der, 0))[0] as Tlv;
    const spki = children(der, cri)[2] as Tlv;
    if (spki.tag !== 0x30) throw new DerError('no subjectPKInfo');
    return Buffer.from(der.subarray(spki.start, spki.end));
  } catch (err) {
    throw new ControlError('FS_CONTROL_CSR', [`not a PKCS#10 request: ${(err as Error).message}`], { cause: err });
  }
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const VERSION_3 = tlv(0xa0, uint(Buffer.from([2])));
const EXT_BASIC = seq(oid('2.5.29.19'), tlv(0x01, Buffer.from([0xff])), octetString(seq()));
// digitalSignature (bit 0) and keyEncipherment (bit 2): 0b101 followed by 5 unused bits.
const EXT_KEY_USAGE = seq(oid('2.5.29.15'), tlv(0x01, Buffer.from([0xff])), octetString(tlv(0x03, Buffer.from([5, 0xa0]))));
const EXT_CLIENT_AUTH = seq(oid('2.5.29.37'), octetString(seq(oid('1.3.6.1.5.5.7.3.2'))));
const OID_CN = oid('2.5.4.3');
const OID_O = oid('2.5.4.10');

/** Signs a client certificate (RFC 5280: CN = site, O = tenant, SAN dNSName = site, clientAuth) over the CSR's public key. */
export async function signSiteCertificate(ca: LoadedCa, csrPem: string, tenant: string, site: string, validDays = 365): Promise<{ pem: string; serial: string }> {
  // The CSR's signature was checked when the site registered (checkCsr); here its key is only taken out.
  const spki = csrPublicKeyInfo(csrPem);
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;
  const now = Date.now();
  const tbs = seq(
    VERSION_3,
    uint(serial),
    ECDSA_SHA256,
    ca.subjectDer,
    seq(time(new Date(now - 60_000)), time(new Date(now + validDays * DAY_MS))),
    seq(set(seq(OID_O, utf8(tenant))), set(seq(OID_CN, utf8(site)))),
    spki,
    tlv(0xa3, seq(EXT_BASIC, EXT_KEY_USAGE, EXT_CLIENT_AUTH, seq(oid('2.5.29.17'), octetString(seq(tlv(0x82, Buffer.from(site, 'ascii'))))))),
  );
  const signature = sign('sha256', tbs, { key: ca.key, dsaEncoding: 'der' });
  return { pem: derToPem(seq(tbs, ECDSA_SHA256, bitString(signature)), 'CERTIFICATE'), serial: normalSerial(serial.toString('hex')) };
}

/** A certificate serial as hex, upper case, without leading zeros (how node's X509Certificate and TLS show it). */
export function normalSerial(hex: string): string {
  return hex.toUpperCase().replace(/^0+(?=.)/, '');
}

/** A CSR for tests, benchmarks and agents: a new P-256 key and its request. */
export async function createCsr(commonName: string): Promise<{ csrPem: string; privateKeyPkcs8: Buffer }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${commonName}`, keys, signingAlgorithm: ALG });
  return { csrPem: csr.toString('pem'), privateKeyPkcs8: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}
