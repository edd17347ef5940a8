// The control plane as a service object: the HTTP routes (server.ts), the
// command line and the tests call it. It holds the state mirror, the model
// loader and the registrar (registration.ts), serves desired versions and
// status, and runs the rollout controller (rollouts.ts).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type KeyObject, createPublicKey } from 'node:crypto';
import { signToken, tokenPrivateKey, tokenPublicKey, type TokenClaims } from '../wire/index.js';
import { type ArtifactStore, openArtifactStore } from './artifacts.js';
import { manifestChecksum } from './checksum.js';
import type { ControlConfig } from './config.js';
import { ControlError } from './errors.js';
import { type FleetStatus, type SiteSummary, fleetStatus, summarize } from './fleet.js';
import { type LoadOutcome, ModelLoader } from './loader.js';
import type { Desired, ModelRecord, RenderEntry, RenderIndex, Registration, Rollout, SiteRecord, SiteStatus } from './records.js';
import { NAME, parseBody, statusBody } from './requests.js';
import { Registrar, type SiteIdentityClaims } from './registration.js';
import { RolloutService, type RolloutView } from './rollouts.js';
import { State } from './state.js';
import type { StateStore } from './store.js';
import { FileStateStore } from './store-file.js';
import { EtcdStateStore } from './store-etcd.js';

export interface Operator {
  readonly name: string;
  readonly role: 'viewer' | 'operator';
}


export interface DesiredView {
  readonly version: string;
  readonly checksum: string;
  readonly artifact_url: string;
  readonly mode_summary: Desired['mode_summary'];
}

export type ControlEvent =
  | { readonly type: 'status'; readonly data: Record<string, unknown> }
  | { readonly type: 'rollout'; readonly data: Record<string, unknown> };


export function openStore(url: string, prefix = '/fleetscope/'): Promise<StateStore> {
  return url.startsWith('etcd://') ? Promise.resolve(new EtcdStateStore(url, prefix)) : FileStateStore.open(url);
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A registration token for `tenant` (what `control token create` prints). */
export function createRegistrationToken(privateKey: KeyObject, tenant: string, opts: { ttlMs?: number; singleUse?: boolean; nowMs?: number } = {}): string {
  const now = Math.floor((opts.nowMs ?? Date.now()) / 1000);
  const claims: TokenClaims = {
    kind: 'registration',
    tenant,
    iat: now,
    jti: randomBytes(12).toString('hex'),
    ...(opts.ttlMs !== undefined ? { exp: now + Math.ceil(opts.ttlMs / 1000) } : {}),
    ...(opts.singleUse ? { single_use: true } : {}),
  };
  return signToken(privateKey, claims);
}

export type { RolloutView };

export class ControlPlane {
  readonly offlineAfterMs: number;
  private readonly operators = new Map<string, Operator>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly listeners = new Set<(ev: ControlEvent) => void>();
  /** Sites seen through polls since the last flush (heartbeats that cost no write each). */
  private readonly polled = new Map<string, number>();
  private readonly timers: NodeJS.Timeout[] = [];
  readonly registrar: Registrar;
  private readonly rollouts: RolloutService;
  private stopChanges: () => void;

  private constructor(
    readonly config: ControlConfig,
    readonly state: State,
    readonly artifacts: ArtifactStore,
    readonly loader: ModelLoader,
    private readonly privateKey: KeyObject,
    private readonly publicKeys: readonly KeyObject[],
  ) {
    this.offlineAfterMs = 3 * config.poll_interval;
    this.registrar = new Registrar(config, state, loader, privateKey, publicKeys);
    this.rollouts = new RolloutService(state, this.offlineAfterMs, { statusWithSeen: (site) => this.statusWithSeen(site), setDesired: (site, entry, rollout) => this.setDesired(site, entry, rollout) });
    for (const o of config.operators) this.operators.set(o.token_sha256 ?? sha256(o.token as string), { name: o.name, role: o.role });
    this.stopChanges = state.onChange((key, value) => this.onChange(key, value));
  }

  /** Opens the store (config.store, or `storeUrl`), the keys and the artifact store. Does not start timers. */
  static async open(config: ControlConfig, opts: { storeUrl?: string; store?: StateStore; artifacts?: ArtifactStore } = {}): Promise<ControlPlane> {
    const readKey = async (file: string): Promise<string> => {
      try {
        return await readFile(file, 'utf8');
      } catch (err) {
        throw new ControlError('FS_CONTROL_INVALID_CONFIG', [file, '(file)', `cannot read key: ${(err as Error).message}`], { cause: err });
      }
    };
    const privateKey = tokenPrivateKey(await readKey(config.keys.token_private_key));
    const publicKeys = [createPublicKey(privateKey)];
    for (const f of config.keys.token_public_keys) publicKeys.push(tokenPublicKey(await readKey(f)));
    // The artifact store first: a missing bucket or refused credentials stop the start before the state store is opened.
    const artifacts = opts.artifacts ?? (await openArtifactStore(config.artifacts));
    let state: State;
    try {
      const store = opts.store ?? (await openStore(opts.storeUrl ?? config.store, config.store_prefix));
      state = await State.open(store);
    } catch (err) {
      await artifacts.close();
      throw err;
    }
    const loader = new ModelLoader(state, artifacts, { cacheDir: config.git.cache_dir, root: config.git.path });
    return new ControlPlane(config, state, artifacts, loader, privateKey, publicKeys);
  }

  /** Starts the rollout controller, the heartbeat flush and (if configured) the git poller. */
  start(): void {
    this.timers.push(setInterval(() => void this.tickRollouts().catch(() => undefined), this.config.rollout_tick));
    // Poll heartbeats reach the store (and the other replicas) well within the offline threshold.
    this.timers.push(setInterval(() => void this.flushPolled().catch(() => undefined), Math.min(15_000, Math.max(100, this.config.poll_interval / 2))));
    if (this.config.git.poll_interval > 0 && this.config.git.repo !== undefined) {
      this.timers.push(setInterval(() => void this.load().catch(() => undefined), this.config.git.poll_interval));
    }
    for (const t of this.timers) t.unref();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    await this.flushPolled().catch(() => undefined);
    this.stopChanges();
    for (const set of this.waiters.values()) for (const w of set) w();
    this.state.close();
    await this.state.store.close();
    await this.artifacts.close();
  }

  // ---- events -------------------------------------------------------------

  onEvent(listener: (ev: ControlEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private emit(ev: ControlEvent): void {
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  private onChange(key: string, value: unknown): void {
    if (key.startsWith('sites/')) {
      const site = key.slice(6);
      const set = this.waiters.get(site);
      if (set) for (const w of [...set]) w();
    } else if (key.startsWith('status/') && value) {
      const site = key.slice(7);
      const rec = this.state.value<SiteRecord>(`sites/${site}`);
      const st = value as SiteStatus;
      if (rec) this.emit({ type: 'status', data: { ...summarize(rec, st, null, Date.now(), this.offlineAfterMs), reported: st.state, reason: st.reason ?? null, at: st.at } });
    } else if (key.startsWith('rollouts/') && value) {
      this.emit({ type: 'rollout', data: { ...this.rolloutView(value as Rollout) } });
    }
  }

  // ---- authentication ------------------------------------------------------

  operator(token: string | null): Operator | null {
    if (token === null || token.length > 4096) return null;
    const h = sha256(token);
    const op = this.operators.get(h);
    if (!op) return null;
    // The map lookup is by hash; compare again in constant time for form's sake.
    return timingSafeEqual(Buffer.from(h), Buffer.from(h)) ? op : null;
  }

  siteAuth(token: string | null): SiteIdentityClaims | null {
    return this.registrar.siteAuth(token);
  }

  siteAuthByCertificate(cert: Parameters<Registrar['siteAuthByCertificate']>[0]): SiteIdentityClaims | null {
    return this.registrar.siteAuthByCertificate(cert);
  }

  tenantCaCertificates(): Promise<string[]> {
    return this.registrar.tenantCaCertificates();
  }

  // ---- registration (registration.ts) ----------------------------------------

  register(token: string | null, body: unknown): ReturnType<Registrar['register']> {
    return this.registrar.register(token, body);
  }

  registrationFor(token: string | null, id: string): Record<string, unknown> {
    return this.registrar.registrationFor(token, id);
  }

  listRegistrations(state?: string): Record<string, unknown>[] {
    return this.registrar.listRegistrations(state);
  }

  approve(id: string, body: unknown): Promise<Record<string, unknown>> {
    return this.registrar.approve(id, body);
  }

  reject(id: string, body: unknown): Promise<void> {
    return this.registrar.reject(id, body);
  }

  private requireSite(site: string): SiteRecord {
    const rec = NAME.test(site) ? this.state.value<SiteRecord>(`sites/${site}`) : null;
    if (!rec) throw new ControlError('FS_CONTROL_NOT_FOUND', [`no site ${site}`]);
    return rec;
  }

  /** Removes the site: its token stops working; its registration stays, marked so. */
  async decommission(site: string): Promise<void> {
    const rec = this.requireSite(site);
    await this.removeSite(rec);
    await this.state.update<Registration>(`regs/${rec.registration_id}`, (cur) => (cur ? { ...cur, state: 'rejected', reason: `site ${site} was decommissioned` } : undefined));
  }

  /** Removes the site and its registration: the same machine registers again from scratch. */
  async factoryReset(site: string): Promise<void> {
    const rec = this.requireSite(site);
    await this.removeSite(rec);
    await this.state.delete(`regs/${rec.registration_id}`);
  }

  private async removeSite(rec: SiteRecord): Promise<void> {
    await this.state.delete(`sites/${rec.site}`);
    await this.state.delete(`status/${rec.site}`);
    await this.state.delete(`seen/${rec.site}`);
    await this.state.delete(`renders/${rec.site}`);
    this.polled.delete(rec.site);
  }

  // ---- desired version, artifacts, status ------------------------------------

  private async setDesired(site: string, entry: RenderEntry, rollout: string | undefined): Promise<void> {
    await this.state.update<SiteRecord>(`sites/${site}`, (cur) => {
      if (!cur) return undefined;
      if (cur.desired?.version === entry.version && cur.desired.rollout === rollout) return undefined;
      const desired: Desired = {
        version: entry.version,
        checksum: entry.checksum,
        artifact: entry.artifact,
        mode_summary: entry.mode_summary,
        ...(rollout !== undefined ? { rollout, previous: cur.desired } : {}),
      };
      return { ...cur, desired };
    });
  }

  desiredView(site: string): DesiredView | null {
    const d = this.state.value<SiteRecord>(`sites/${site}`)?.desired;
    if (!d) return null;
    const path = `/api/v1/sites/${site}/artifacts/${d.version}/manifests.yaml`;
    const base = this.config.endpoints.control_url;
    return { version: d.version, checksum: d.checksum, artifact_url: base ? new URL(path, base).toString() : path, mode_summary: d.mode_summary };
  }

  static etag(d: DesiredView | null): string {
    return d ? `"${d.version}/${d.checksum.slice(7, 23)}"` : '"none"';
  }

  /** Resolves when the site's record changes, or after `ms`, or when `signal` aborts. */
  waitForChange(site: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(site);
      if (!set) {
        set = new Set();
        this.waiters.set(site, set);
      }
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        const s = this.waiters.get(site);
        s?.delete(done);
        if (s?.size === 0) this.waiters.delete(site);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done);
      set.add(done);
    });
  }

  siteExists(site: string): boolean {
    return this.state.value<SiteRecord>(`sites/${site}`) !== null;
  }

  /** A poll: counts as the site being seen, without a store write per poll. */
  markSeen(site: string): void {
    this.polled.set(site, Date.now());
  }

  private async flushPolled(): Promise<void> {
    if (this.polled.size === 0) return;
    const entries = [...this.polled].map(([site, ms]) => ({ key: `seen/${site}`, value: ms }));
    this.polled.clear();
    await this.state.putMany(entries);
  }

  private statusWithSeen(site: string): SiteStatus | null {
    const st = this.state.value<SiteStatus>(`status/${site}`);
    const seen = Math.max(this.polled.get(site) ?? 0, this.state.value<number>(`seen/${site}`) ?? 0);
    if (!st || seen <= st.last_seen) return st;
    return { ...st, last_seen: seen };
  }

  async artifact(site: string, version: string): Promise<string> {
    const idx = this.state.value<RenderIndex>(`renders/${site}`);
    const entry = idx?.versions.find((v) => v.version === version);
    if (!entry) throw new ControlError('FS_CONTROL_NOT_FOUND', [`site ${site} has no version ${version}`]);
    const text = await this.artifacts.get(entry.artifact);
    if (text === null) throw new ControlError('FS_CONTROL_NOT_FOUND', [`artifact ${entry.artifact} is missing from the artifact store`]);
    // Whatever the store, a site is never handed bytes other than those rendered.
    const got = manifestChecksum(text);
    if (got !== entry.checksum) throw new ControlError('FS_CONTROL_ARTIFACTS_CHECKSUM', [entry.artifact, `${got} read, ${entry.checksum} rendered`]);
    return text;
  }

  async report(site: string, body: unknown): Promise<void> {
    const req = parseBody(statusBody, body);
    const keep = this.config.limits.history;
    const now = Date.now();
    this.polled.delete(site);
    await this.state.update<SiteStatus>(`status/${site}`, (cur) => {
      const history = cur?.history ?? [];
      const last = history[history.length - 1];
      const entry = { version: req.version, state: req.state, at: req.at, ...(req.reason !== undefined ? { reason: req.reason } : {}) };
      const nextHistory = last && last.version === req.version && last.state === req.state ? history : [...history, entry].slice(-keep);
      return { ...entry, ...(req.series !== undefined ? { series: req.series } : cur?.series !== undefined ? { series: cur.series } : {}), last_seen: now, history: nextHistory };
    });
    // A finished step may let a rollout go on.
    if (req.state === 'healthy' || req.state === 'failed' || req.state === 'rolled-back') void this.tickRollouts().catch(() => undefined);
  }

  // ---- fleet ---------------------------------------------------------------

  private availableVersion(site: string): string | null {
    const idx = this.state.value<RenderIndex>(`renders/${site}`);
    return idx?.versions[idx.versions.length - 1]?.version ?? null;
  }

  listSites(filter: { tenant?: string; group?: string; state?: string; q?: string } = {}): SiteSummary[] {
    const now = Date.now();
    const out: SiteSummary[] = [];
    const q = filter.q?.toLowerCase();
    for (const [, e] of this.state.entries<SiteRecord>('sites/')) {
      const r = e.value;
      if (filter.tenant !== undefined && r.tenant !== filter.tenant) continue;
      if (filter.group !== undefined && r.group !== filter.group) continue;
      if (q !== undefined && !r.site.toLowerCase().includes(q) && !Object.values(r.labels).some((v) => v.toLowerCase().includes(q))) continue;
      const s = summarize(r, this.statusWithSeen(r.site), this.availableVersion(r.site), now, this.offlineAfterMs);
      if (filter.state !== undefined && s.state !== filter.state) continue;
      out.push(s);
    }
    return out.sort((a, b) => (a.site < b.site ? -1 : 1));
  }

  siteDetail(site: string): Record<string, unknown> {
    const r = this.requireSite(site);
    const st = this.statusWithSeen(site);
    const idx = this.state.value<RenderIndex>(`renders/${site}`);
    return {
      ...summarize(r, st, this.availableVersion(site), Date.now(), this.offlineAfterMs),
      reported: st ? { version: st.version, state: st.state, reason: st.reason ?? null, at: st.at } : null,
      desired: this.desiredView(site),
      rollout: r.desired?.rollout ?? null,
      available_versions: (idx?.versions ?? []).map((v) => ({ version: v.version, checksum: v.checksum })),
      history: st?.history ?? [],
      registration_id: r.registration_id,
      created_at: r.created_at,
    };
  }

  fleetStatus(): FleetStatus & { model: ModelRecord | null; model_error: unknown } {
    const now = Date.now();
    const rows: { summary: SiteSummary; status: SiteStatus | null }[] = [];
    for (const [, e] of this.state.entries<SiteRecord>('sites/')) {
      const st = this.statusWithSeen(e.value.site);
      rows.push({ summary: summarize(e.value, st, null, now, this.offlineAfterMs), status: st });
    }
    return { ...fleetStatus(rows), model: this.state.value<ModelRecord>('model/current'), model_error: this.state.value('model/last_error') };
  }

  // ---- the model -------------------------------------------------------------

  async load(repo?: string, ref?: string): Promise<LoadOutcome> {
    const r = repo ?? this.config.git.repo;
    if (r === undefined) throw new ControlError('FS_CONTROL_BAD_REQUEST', ['no repository: give one, or set git.repo in the config']);
    const out = await this.loader.load(r, ref ?? this.config.git.ref);
    // Sites approved before there was any model get their first version now.
    if (this.config.first_version_on_approval) {
      for (const [, e] of [...this.state.entries<SiteRecord>('sites/')]) {
        if (e.value.desired) continue;
        const idx = this.state.value<RenderIndex>(`renders/${e.value.site}`);
        const last = idx?.versions[idx.versions.length - 1];
        if (last) await this.setDesired(e.value.site, last, undefined);
      }
    }
    return out;
  }

  // ---- rollouts (rollouts.ts) -----------------------------------------------

  rolloutView(r: Rollout): RolloutView {
    return this.rollouts.view(r);
  }

  listRollouts(): RolloutView[] {
    return this.rollouts.list();
  }

  rollout(id: string): RolloutView {
    return this.rollouts.get(id);
  }

  createRollout(body: unknown): Promise<{ id: string; sites: number; skipped: string[] }> {
    return this.rollouts.create(body);
  }

  setRolloutState(id: string, action: 'pause' | 'resume' | 'abort', body?: unknown): Promise<RolloutView> {
    return this.rollouts.setState(id, action, body);
  }

  /** One pass of the rollout controller over running rollouts; safe on several replicas (CAS). */
  tickRollouts(): Promise<void> {
    return this.rollouts.tick();
  }
}
