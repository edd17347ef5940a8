// Who is pushing: the sender's identity (tenant, site, group) from its
// bearer token, never from the payload. Two kinds of token are accepted:
//   - a static token listed under `sites:` in the config;
//   - a signed site token (`fst1.…`, CONTRACTS.md §1) that verifies against
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
  readonly token: string;
  readonly tenant: string;
  readonly site: string;
  readonly group?: string | undefined;
}

export class SiteAuthenticator {
  private readonly staticSites: ReadonlyMap<string, Identity>;
  private readonly verified = new Map<string, CachedToken>();

  constructor(
    sites: readonly StaticSite[],
    private readonly publicKeys: readonly KeyObject[],
    /** Tenants this collector has a pipeline for: a signed token naming another is refused. */
    private readonly tenants: ReadonlySet<string>,
  ) {
    this.staticSites = new Map(sites.map((s) => [tokenKey(s.token), { tenant: s.tenant, site: s.site, group: s.group }]));
  }

  /** The identity behind an `Authorization` header value. Never throws. */
  identify(authorization: string | undefined, nowMs: number): AuthOutcome {
    const token = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
    if (token === undefined || token === '') return { ok: false, status: 401, reason: 'a site token is required: Authorization: Bearer <token>' };
    if (this.publicKeys.length > 0 && token.startsWith(`${TOKEN_PREFIX}.`)) return this.signed(token, nowMs);
    const id = this.staticSites.get(tokenKey(token));
    return id ? { ok: true, identity: id } : { ok: false, status: 401, reason: 'unknown site token' };
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
