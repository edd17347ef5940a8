// Zero-touch registration and site identity: registration tokens, CSRs,
// approval (tenant CA certificate, site token, first version), and the checks
// that a site token or client certificate is the one issued to the site now.
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { signToken, verifyToken, type TokenClaims } from '../wire/index.js';
import { type LoadedCa, checkCsr, generateTenantCa, loadCa, normalSerial, signSiteCertificate } from './ca.js';
import type { ControlConfig } from './config.js';
import { ControlError } from './errors.js';
import type { ModelLoader } from './loader.js';
import type { RenderEntry, RenderIndex, Registration, SiteRecord, TenantCa } from './records.js';
import { checkPlan, planSite } from './render.js';
import { approveBody, parseBody, registerBody, rejectBody } from './requests.js';
import type { State } from './state.js';

export interface SiteIdentityClaims {
  readonly tenant: string;
  readonly site: string;
  readonly group?: string;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export class Registrar {
  private readonly cas = new Map<string, Promise<LoadedCa>>();
  private readonly verifiedSiteTokens = new Map<string, TokenClaims>();
  private readonly verifiedRegistrationTokens = new Map<string, { claims: TokenClaims; tokenHash: string }>();

  constructor(
    private readonly config: ControlConfig,
    private readonly state: State,
    private readonly loader: ModelLoader,
    private readonly privateKey: KeyObject,
    private readonly publicKeys: readonly KeyObject[],
  ) {}

  /** The site a site token names, if the token verifies and is the one issued to the site now. */
  siteAuth(token: string | null): SiteIdentityClaims | null {
    if (token === null) return null;
    // Signatures are checked once per token (Ed25519 verification is most of a poll's cost);
    // whether the token is still the site's is checked on every call below.
    let c = this.verifiedSiteTokens.get(token);
    if (!c) {
      const r = verifyToken(this.publicKeys, token, 'site');
      if (!r.ok) return null;
      c = r.claims;
      if (this.verifiedSiteTokens.size >= 200_000) this.verifiedSiteTokens.clear();
      this.verifiedSiteTokens.set(token, c);
    } else if (c.exp !== undefined && c.exp * 1000 <= Date.now()) return null;
    const rec = this.state.value<SiteRecord>(`sites/${c.site as string}`);
    if (!rec || rec.tenant !== c.tenant || rec.token_id !== c.jti) return null;
    return { tenant: c.tenant, site: c.site as string, ...(c.group !== undefined ? { group: c.group } : {}) };
  }

  /**
   * The site a verified client certificate names (mTLS): CN = site, O = tenant, and the
   * serial of the certificate issued to the site now (a reset site's old certificate is refused).
   */
  siteAuthByCertificate(cert: { subject?: Record<string, string | string[]>; serialNumber?: string; raw?: Buffer; fingerprint256?: string } | null): SiteIdentityClaims | null {
    const cn = cert?.subject?.CN;
    const o = cert?.subject?.O;
    if (typeof cn !== 'string' || typeof o !== 'string' || typeof cert?.serialNumber !== 'string') return null;
    const rec = this.state.value<SiteRecord>(`sites/${cn}`);
    if (!rec || rec.tenant !== o || rec.cert_serial === undefined || rec.cert_serial !== normalSerial(cert.serialNumber)) return null;
    // TLS checked the chain against every tenant's CA; the issuer must be this tenant's own,
    // or one tenant's CA could sign certificates that act for another tenant's sites.
    if (!cert.raw || !this.issuedByTenantCa(rec.tenant, cert.raw, cert.fingerprint256)) return null;
    return { tenant: rec.tenant, site: rec.site, group: rec.group };
  }

  /** Tenant → its CA certificate (ca_dir files first, as tenantCa() uses them, then the store). */
  private readonly caCerts = new Map<string, X509Certificate>();
  /** `<tenant> <certificate fingerprint>` → whether that tenant's CA signed it (a site presents the same certificate on every request). */
  private readonly issuedCache = new Map<string, boolean>();

  private caCertFor(tenant: string): X509Certificate | null {
    let ca = this.caCerts.get(tenant);
    if (!ca) {
      const stored = this.state.value<TenantCa>(`ca/${tenant}`);
      if (!stored) return null;
      ca = new X509Certificate(stored.cert_pem);
      this.caCerts.set(tenant, ca);
    }
    return ca;
  }

  private issuedByTenantCa(tenant: string, raw: Buffer, fingerprint?: string): boolean {
    const key = fingerprint !== undefined ? `${tenant} ${fingerprint}` : null;
    const known = key !== null ? this.issuedCache.get(key) : undefined;
    if (known !== undefined) return known;
    const ca = this.caCertFor(tenant);
    let ok = false;
    try {
      const leaf = new X509Certificate(raw);
      ok = ca !== null && leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
    } catch {
      ok = false;
    }
    if (key !== null) {
      if (this.issuedCache.size >= 100_000) this.issuedCache.clear();
      this.issuedCache.set(key, ok);
    }
    return ok;
  }

  /** Every tenant CA certificate (files and store): whom TLS client certificates may come from. */
  async tenantCaCertificates(): Promise<string[]> {
    const out: string[] = [];
    if (this.config.keys.ca_dir !== undefined) {
      const names = await readdir(this.config.keys.ca_dir).catch(() => [] as string[]);
      for (const n of names) {
        if (!n.endsWith('.crt.pem')) continue;
        const pem = await readFile(join(this.config.keys.ca_dir, n), 'utf8');
        out.push(pem);
        try {
          this.caCerts.set(n.slice(0, -'.crt.pem'.length), new X509Certificate(pem));
        } catch {
          // not a certificate: TLS will say so
        }
      }
    }
    for (const [, e] of this.state.entries<TenantCa>('ca/')) out.push(e.value.cert_pem);
    return out;
  }

  private registrationClaims(token: string | null): { claims: TokenClaims; tokenHash: string } {
    if (token === null) throw new ControlError('FS_CONTROL_UNAUTHORIZED', ['a registration token is required (Authorization: Bearer ...)']);
    const cached = this.verifiedRegistrationTokens.get(token);
    if (cached && (cached.claims.exp === undefined || cached.claims.exp * 1000 > Date.now())) return cached;
    const r = verifyToken(this.publicKeys, token, 'registration');
    if (!r.ok) throw new ControlError('FS_CONTROL_UNAUTHORIZED', [`registration token refused: ${r.reason}`]);
    const out = { claims: r.claims, tokenHash: sha256(token) };
    if (this.verifiedRegistrationTokens.size >= 10_000) this.verifiedRegistrationTokens.clear();
    this.verifiedRegistrationTokens.set(token, out);
    return out;
  }

  async register(token: string | null, body: unknown): Promise<{ registration_id: string; state: Registration['state']; poll_after_s: number }> {
    const { claims, tokenHash } = this.registrationClaims(token);
    const req = parseBody(registerBody, body);
    const machineId = req.facts.machine_id as string;
    const id = sha256(`${tokenHash}\0${machineId}`).slice(0, 24);
    const answer = (state: Registration['state']) => ({ registration_id: id, state, poll_after_s: this.config.registration_poll_after_s });
    const existing = this.state.value<Registration>(`regs/${id}`);
    if (existing) return answer(existing.state);
    if (claims.single_use) {
      if (claims.jti === undefined) throw new ControlError('FS_CONTROL_UNAUTHORIZED', ['a single-use registration token without a jti']);
      const taken = !(await this.state.create(`jti/${claims.jti}`, { registration_id: id }));
      if (taken && this.state.value<{ registration_id: string }>(`jti/${claims.jti}`)?.registration_id !== id) {
        throw new ControlError('FS_CONTROL_UNAUTHORIZED', ['this single-use registration token was already used']);
      }
    }
    await checkCsr(req.csr);
    const reg: Registration = {
      id,
      tenant: claims.tenant,
      token_hash: tokenHash,
      machine_id: machineId,
      facts: req.facts,
      csr: req.csr,
      state: 'pending',
      created_at: new Date().toISOString(),
    };
    await this.state.create(`regs/${id}`, reg);
    return answer(this.state.value<Registration>(`regs/${id}`)?.state ?? 'pending');
  }

  registrationFor(token: string | null, id: string): Record<string, unknown> {
    const { tokenHash } = this.registrationClaims(token);
    const reg = this.state.value<Registration>(`regs/${id}`);
    if (!reg || reg.token_hash !== tokenHash) throw new ControlError('FS_CONTROL_NOT_FOUND', [`no registration ${id} for this token`]);
    const out: Record<string, unknown> = { registration_id: reg.id, state: reg.state };
    if (reg.reason !== undefined) out.reason = reg.reason;
    if (reg.state === 'approved' && reg.site && reg.identity) {
      out.site = reg.site;
      out.identity = reg.identity;
      out.endpoints = this.endpointsFor(reg.tenant);
    }
    return out;
  }

  private endpointsFor(tenant: string): Record<string, string> {
    return { ...this.config.endpoints, ...(this.config.tenants[tenant]?.endpoints ?? {}) };
  }

  listRegistrations(state?: string): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const [, e] of this.state.entries<Registration>('regs/')) {
      const r = e.value;
      if (state !== undefined && r.state !== state) continue;
      out.push({ registration_id: r.id, tenant: r.tenant, state: r.state, facts: r.facts, created_at: r.created_at, ...(r.reason !== undefined ? { reason: r.reason } : {}), ...(r.site ? { site: r.site } : {}) });
    }
    return out.sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
  }

  private async tenantCa(tenant: string): Promise<LoadedCa> {
    let p = this.cas.get(tenant);
    if (!p) {
      p = (async () => {
        if (this.config.keys.ca_dir !== undefined) {
          const dir = this.config.keys.ca_dir;
          const files = await Promise.all([readFile(join(dir, `${tenant}.key.pem`), 'utf8'), readFile(join(dir, `${tenant}.crt.pem`), 'utf8')]).catch(() => null);
          if (files) return loadCa({ key_pem: files[0], cert_pem: files[1] });
        }
        const key = `ca/${tenant}`;
        if (!this.state.value<TenantCa>(key)) await this.state.create(key, await generateTenantCa(tenant));
        const ca = this.state.value<TenantCa>(key) ?? (await this.state.store.get(key).then((kv) => (kv ? (JSON.parse(kv.value) as TenantCa) : null)));
        if (!ca) throw new ControlError('FS_CONTROL_STORE', [`no CA for tenant ${tenant}`]);
        return loadCa(ca);
      })();
      p.catch(() => this.cas.delete(tenant));
      this.cas.set(tenant, p);
    }
    return p;
  }

  async approve(id: string, body: unknown): Promise<Record<string, unknown>> {
    const req = parseBody(approveBody, body);
    const reg = this.state.value<Registration>(`regs/${id}`);
    if (!reg) throw new ControlError('FS_CONTROL_NOT_FOUND', [`no registration ${id}`]);
    if (reg.state !== 'pending') throw new ControlError('FS_CONTROL_CONFLICT', [`registration ${id} is ${reg.state}, not pending`]);
    const identity = { name: req.site, tenant: reg.tenant, group: req.group, labels: req.labels };
    const model = await this.loader.model().catch(() => null);
    if (model) {
      try {
        checkPlan(planSite(model, identity));
      } catch (err) {
        throw new ControlError('FS_CONTROL_BAD_REQUEST', [`site ${req.site} cannot be rendered with the current model: ${(err as Error).message}`], { cause: err });
      }
    }
    const nameTaken = (): ControlError => new ControlError('FS_CONTROL_CONFLICT', [`site name ${req.site} is already in use`]);
    if (this.state.value<SiteRecord>(`sites/${req.site}`)) throw nameTaken();
    const tokenId = randomBytes(12).toString('hex');
    // Identity and first version are made first; then the site, the registration and the render
    // index are written in one transaction (one durable write, all or nothing).
    const ca = await this.tenantCa(reg.tenant);
    const { pem: certificate, serial } = await signSiteCertificate(ca, reg.csr, reg.tenant, req.site);
    const siteToken = signToken(this.privateKey, { kind: 'site', tenant: reg.tenant, site: req.site, group: req.group, iat: Math.floor(Date.now() / 1000), jti: tokenId });
    const rendered = this.config.first_version_on_approval ? await this.loader.renderSiteArtifact(identity).catch(() => null) : null;
    const first: RenderEntry | null = rendered?.entry ?? null;
    const site: SiteRecord = {
      tenant: reg.tenant,
      site: req.site,
      group: req.group,
      labels: req.labels,
      registration_id: id,
      machine_id: reg.machine_id,
      token_id: tokenId,
      cert_serial: serial,
      created_at: new Date().toISOString(),
      desired: first ? { version: first.version, checksum: first.checksum, artifact: first.artifact, mode_summary: first.mode_summary } : null,
    };
    const siteView = { tenant: reg.tenant, site: req.site, group: req.group, labels: req.labels };
    for (let attempt = 0; ; attempt++) {
      // The mirror first; after a lost race, the store itself.
      const read = async <T>(key: string): Promise<{ value: T; rev: number } | null> => {
        if (attempt === 0) return this.state.get<T>(key);
        const kv = await this.state.store.get(key);
        return kv ? { value: JSON.parse(kv.value) as T, rev: kv.rev } : null;
      };
      const cur = await read<Registration>(`regs/${id}`);
      if (!cur || cur.value.state !== 'pending') throw new ControlError('FS_CONTROL_CONFLICT', [`registration ${id} changed while it was being approved`]);
      if (attempt > 0 && (await read<SiteRecord>(`sites/${req.site}`))) throw nameTaken();
      const renders = rendered?.index ? await read<RenderIndex>(`renders/${req.site}`) : null;
      const ok = await this.state.txn([
        { key: `sites/${req.site}`, value: site, ifRev: 0 },
        { key: `regs/${id}`, value: { ...cur.value, state: 'approved', site: siteView, identity: { site_token: siteToken, certificate, ca: ca.certPem } }, ifRev: cur.rev },
        ...(rendered?.index ? [{ key: `renders/${req.site}`, value: rendered.index, ifRev: renders?.rev ?? 0 }] : []),
      ]);
      if (ok) break;
      if (attempt >= 4) throw new ControlError('FS_CONTROL_CONFLICT', [`registration ${id} or site ${req.site} kept changing while it was being approved`]);
    }
    const version = first?.version ?? null;
    return { registration_id: id, state: 'approved', site: { tenant: reg.tenant, site: req.site, group: req.group, labels: req.labels }, desired_version: version };
  }

  async reject(id: string, body: unknown): Promise<void> {
    const req = parseBody(rejectBody, body);
    const r = await this.state.update<Registration>(`regs/${id}`, (cur) => (cur && cur.state === 'pending' ? { ...cur, state: 'rejected', reason: req.reason } : undefined));
    if (!r) throw new ControlError('FS_CONTROL_NOT_FOUND', [`no registration ${id}`]);
    if (r.state !== 'rejected') throw new ControlError('FS_CONTROL_CONFLICT', [`registration ${id} is ${r.state}, not pending`]);
  }

}
