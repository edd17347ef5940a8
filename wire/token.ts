// Signed fleet tokens: the one format the control plane issues and the
// collector, control plane and agent check. Two kinds:
//   - `registration`: what a new site presents to call home (tenant inside,
//     expiring, optionally single-use through its `jti`);
//   - `site`: the site's identity once approved (tenant, site, group), which
//     collectors accept without per-site config: they hold only the control
//     plane's public keys.
// Text form: `fst1.<base64url(JSON claims)>.<base64url(Ed25519 signature)>`;
// the signature covers the bytes `fst1.<claims part>`. Ed25519 (RFC 8032)
// through node:crypto: small, fast to verify, and no algorithm choice an
// attacker could steer (the "alg: none" class of JWT bugs).
import { type KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';

export const TOKEN_PREFIX = 'fst1';
/** Longer tokens are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 4096;

export type TokenKind = 'registration' | 'site';

export interface TokenClaims {
  readonly kind: TokenKind;
  readonly tenant: string;
  /** `site` tokens: the site's name. */
  readonly site?: string;
  /** `site` tokens: the site's group, which picks its pipeline. */
  readonly group?: string;
  /** Issued at, seconds since the epoch. */
  readonly iat: number;
  /** Expires at, seconds since the epoch; absent means no expiry. */
  readonly exp?: number;
  /** Unique id: what makes a single-use registration token single-use. */
  readonly jti?: string;
  /** A registration token that may be used once only. */
  readonly single_use?: boolean;
}

export type TokenCheck =
  | { readonly ok: true; readonly claims: TokenClaims }
  | { readonly ok: false; readonly reason: string };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function b64url(buf: Buffer): string {
  return buf.toString('base64url');
}

/** Generates an Ed25519 key pair as PEM strings (PKCS#8 private, SPKI public). */
export function generateTokenKeys(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export function tokenPrivateKey(pem: string): KeyObject {
  return createPrivateKey(pem);
}

export function tokenPublicKey(pem: string): KeyObject {
  return createPublicKey(pem);
}

/** Signs claims into a token. Names must be DNS-label-like so they can become labels and paths. */
export function signToken(privateKey: KeyObject, claims: TokenClaims): string {
  const bad = checkClaims(claims);
  if (bad !== null) throw new TypeError(`cannot sign token: ${bad}`);
  const body = `${TOKEN_PREFIX}.${b64url(Buffer.from(JSON.stringify(claims)))}`;
  return `${body}.${b64url(sign(null, Buffer.from(body), privateKey))}`;
}

/**
 * Checks a token against any of the given public keys (several, so keys can
 * rotate), its kind and its expiry. Never throws: a bad token is data.
 */
export function verifyToken(publicKeys: readonly KeyObject[], token: string, kind: TokenKind, nowMs: number = Date.now()): TokenCheck {
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: `token is longer than ${MAX_TOKEN_LENGTH} characters` };
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX) return { ok: false, reason: `not a ${TOKEN_PREFIX} token` };
  const body = `${parts[0]}.${parts[1] as string}`;
  const sig = Buffer.from(parts[2] as string, 'base64url');
  if (sig.length !== 64) return { ok: false, reason: 'bad signature' };
  let signed = false;
  for (const key of publicKeys) {
    try {
      if (verify(null, Buffer.from(body), key, sig)) {
        signed = true;
        break;
      }
    } catch {
      // A key of another type cannot have signed it.
    }
  }
  if (!signed) return { ok: false, reason: 'bad signature' };
  let claims: TokenClaims;
  try {
    claims = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as TokenClaims;
  } catch {
    return { ok: false, reason: 'claims are not JSON' };
  }
  const bad = checkClaims(claims);
  if (bad !== null) return { ok: false, reason: bad };
  if (claims.kind !== kind) return { ok: false, reason: `a ${claims.kind} token where a ${kind} token is needed` };
  if (claims.exp !== undefined && claims.exp * 1000 <= nowMs) return { ok: false, reason: 'token has expired' };
  return { ok: true, claims };
}

function checkClaims(c: TokenClaims): string | null {
  if (typeof c !== 'object' || c === null) return 'claims are not an object';
  if (c.kind !== 'registration' && c.kind !== 'site') return 'kind must be "registration" or "site"';
  if (typeof c.tenant !== 'string' || !NAME.test(c.tenant)) return 'tenant must be 1-128 of [A-Za-z0-9._-], starting alphanumeric';
  if (typeof c.iat !== 'number' || !Number.isFinite(c.iat)) return 'iat must be a number';
  if (c.exp !== undefined && (typeof c.exp !== 'number' || !Number.isFinite(c.exp))) return 'exp must be a number';
  if (c.kind === 'site') {
    if (typeof c.site !== 'string' || !NAME.test(c.site)) return 'site must be 1-128 of [A-Za-z0-9._-], starting alphanumeric';
    if (c.group !== undefined && (typeof c.group !== 'string' || !NAME.test(c.group))) return 'group must be 1-128 of [A-Za-z0-9._-]';
  }
  if (c.jti !== undefined && (typeof c.jti !== 'string' || c.jti.length === 0 || c.jti.length > 128)) return 'jti must be 1-128 characters';
  return null;
}
