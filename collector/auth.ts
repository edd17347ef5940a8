// Who is pushing: the sender's identity (tenant, site, group) from its
// bearer token, never from the payload. Two kinds of token are accepted:
//   - a static token listed under `sites:` in the config;
//   - a signed site token (`fst1.…`, the top README's contract §1) that verifies against
//     one of `site_token_public_keys`; its claims are the identity, so the
//     control plane can approve new sites without a collector config change.
// A site token's signature is checked once; the outcome is cached by the
// token's text (bounded), since every site pushes the same token every few
// seconds and Ed25519 verification costs ~50 µs.
import { createHash, type KeyObject } from 'node:crypto';
import { TOKEN_PREFIX, verifyToken } from '../wire/index.js';
import type { Identity } from './pipeline.js';

export type AuthOutcome =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly status: 401 | 403; readonly reason: string };

export const tokenKey = (token: string): string => createHash('sha256').update(token).digest('hex');

const MAX_CACHED_TOKENS = 50_000;

interface CachedToken {
  readonly outcome: AuthOutcome;
  /** Milliseconds since the epoch after which the token must be checked again (its exp), or Infinity. */
  readonly until: number;
}

export interface StaticSite {
  readonly token?: string | undefined;
  readonly certificate_name?: string | undefined;
  readonly tenant: string;
  readonly site: string;
  readonly group?: string | undefined;
}

/** What the listener takes from a client certificate that verified against client_ca_file. */
export interface VerifiedCertificate {
  readonly cn: string | undefined;
  readonly o: string | undefined;
  readonly ou: string | undefined;
  readonly dnsNames: readonly string[];
}

/** Reads the names of a peer certificate (node:tls getPeerCertificate()). */
export function certificateNames(cert: { subject?: Record<string, string | string[] | undefined>; subjectaltname?: string | undefined }): VerifiedCertificate {
  const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
  const dnsNames = (cert.subjectaltname ?? '').split(',').map((s) => s.trim()).filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
  return { cn: one(cert.subject?.CN), o: one(cert.subject?.O), ou: one(cert.subject?.OU), dnsNames };
}

export class SiteAuthenticator {
  private readonly staticSites = new Map<string, Identity>();
  private readonly byCertificate = new Map<string, Identity>();
  private readonly verified = new Map<string, CachedToken>();

  constructor(
    sites: readonly StaticSite[],
    private readonly publicKeys: readonly KeyObject[],
    /** Tenants this collector has a pipeline for: a signed token naming another is refused. */
    private readonly tenants: ReadonlySet<string>,
    /** Take a verified client certificate's subject as the identity (O tenant, CN site, OU group). */
    private readonly identityFromCertificate = false,
  ) {
    for (const s of sites) {
      const id = { tenant: s.tenant, site: s.site, group: s.group };
      if (s.token !== undefined) this.staticSites.set(tokenKey(s.token), id);
      if (s.certificate_name !== undefined) this.byCertificate.set(s.certificate_name, id);
    }
  }

  /**
   * The identity behind an `Authorization` header value or, without one, a
   * client certificate the TLS layer verified against client_ca_file. Never throws.
   */
  identify(authorization: string | undefined, nowMs: number, certificate?: VerifiedCertificate): AuthOutcome {
    const token = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
    if ((token === undefined || token === '') && certificate !== undefined) return this.fromCertificate(certificate);
    if (token === undefined || token === '') return { ok: false, status: 401, reason: 'a site token is required: Authorization: Bearer <token>' };
    if (this.publicKeys.length > 0 && token.startsWith(`${TOKEN_PREFIX}.`)) return this.signed(token, nowMs);
    const id = this.staticSites.get(tokenKey(token));
    return id ? { ok: true, identity: id } : { ok: false, status: 401, reason: 'unknown site token' };
  }

  private fromCertificate(cert: VerifiedCertificate): AuthOutcome {
    for (const name of [cert.cn, ...cert.dnsNames]) {
      if (name === undefined) continue;
      const id = this.byCertificate.get(name);
      if (id) return { ok: true, identity: id };
    }
    if (this.identityFromCertificate && cert.cn !== undefined && cert.o !== undefined) {
      if (!this.tenants.has(cert.o)) return { ok: false, status: 403, reason: `tenant "${cert.o}" of this client certificate is not configured on this collector` };
      return { ok: true, identity: { tenant: cert.o, site: cert.cn, group: cert.ou } };
    }
    return { ok: false, status: 401, reason: `client certificate "${cert.cn ?? '?'}" is not a known site` };
  }

  private signed(token: string, nowMs: number): AuthOutcome {
    const cached = this.verified.get(token);
    if (cached !== undefined && nowMs < cached.until) return cached.outcome;
    const check = verifyToken(this.publicKeys, token, 'site', nowMs);
    let outcome: AuthOutcome;
    let until = Infinity;
    if (!check.ok) {
      outcome = { ok: false, status: 401, reason: `site token refused: ${check.reason}` };
      // A bad token stays bad; an expired one too. Not cached: a flood of distinct junk must not evict good tokens.
      return outcome;
    }
    const c = check.claims;
    if (!this.tenants.has(c.tenant)) {
      outcome = { ok: false, status: 403, reason: `tenant "${c.tenant}" of this site token is not configured on this collector` };
    } else {
      outcome = { ok: true, identity: { tenant: c.tenant, site: c.site as string, group: c.group } };
      if (c.exp !== undefined) until = c.exp * 1000;
    }
    if (this.verified.size >= MAX_CACHED_TOKENS) this.verified.clear();
    this.verified.set(token, { outcome, until });
    return outcome;
  }
}
