// The GitOps pull (the top README's contract §2, §3): learn of the site's desired version
// by long-polling GET /api/v1/sites/{site}/desired?wait=N with If-None-Match
// (a notification within a second of a change), falling back to polling
// every poll_interval ± jitter when the control plane does not hold the
// request or cannot be reached; download the manifests, verify the checksum,
// pre-pull the images, apply (apply.ts), and report every step to
// POST /api/v1/sites/{site}/status, which is also the heartbeat.
//
// On failure: report `failed` with the reason, then roll back to the last
// good version (re-apply it, prune what the failed one added) and report
// `rolled-back`. A failed version is not tried again until the desired
// version or its checksum changes. Being offline changes nothing on the
// cluster: no desired state, no apply, no prune.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Applier } from './apply.js';
import type { AgentConfig } from './config.js';
import { AgentError } from './errors.js';
import { controlRequest } from './control-client.js';
import type { HttpResponse } from './http.js';
import type { TlsClient } from './tls.js';
import { type SiteIdentity, writePrivateFile } from './identity.js';
import { type KubeApi, kubeApi } from './kube.js';
import { type KubeObject, type ObjectRef, type Release, parseRelease, refOf, splitHostLevel } from './manifests.js';
import { HostLock } from './host-lock.js';
import { hostname } from 'node:os';
import type { ApplyResult } from './apply.js';
import type { AgentMetrics } from './metrics.js';
import { type ImagePuller, KubernetesPrePuller } from './prepull.js';

export type UpgradeStep = 'downloading' | 'pre-pulling' | 'applying' | 'healthy' | 'failed' | 'rolled-back';

export interface Desired {
  readonly version: string;
  readonly checksum: string;
  readonly artifact_url: string;
  readonly mode_summary?: unknown;
}

interface AppliedRelease {
  readonly version: string;
  readonly checksum: string;
  readonly inventory: readonly ObjectRef[];
  readonly at: string;
}

export interface UpgradeState {
  current?: AppliedRelease;
  failed?: { readonly version: string; readonly checksum: string; readonly reason: string; readonly at: string };
  /** The last step reported, re-sent as the heartbeat. */
  last?: { readonly version: string; readonly state: UpgradeStep; readonly reason?: string };
}

export interface UpgraderOptions {
  readonly config: AgentConfig['upgrades'];
  readonly stateDir: string;
  readonly identity: () => SiteIdentity | null;
  readonly metrics: AgentMetrics;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** Called when the control plane answers 401/410 to the site's token (factory reset, decommission). */
  readonly onIdentityRevoked: () => void;
  /** Defaults: the cluster of `config.kubeconfig` (in-cluster without one), and the pre-pull DaemonSet. */
  readonly kube?: KubeApi;
  readonly puller?: ImagePuller;
  /** Active series, sent with status reports. */
  readonly series?: () => number;
  /** CA and client certificate for an https:// control plane. */
  readonly tls?: TlsClient;
  /** Where NODE_NAME is read when upgrades.node_name is unset (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

const STATE_FILE = 'upgrade-state.json';
const MAX_DESIRED_BYTES = 64 * 1024;

function releaseFile(version: string): string {
  return `release-${version.replace(/[^A-Za-z0-9._-]/g, '_')}.yaml`;
}

export class Upgrader {
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private state: UpgradeState = {};
  private etag: string | undefined;
  private kube: KubeApi | undefined;
  private puller: ImagePuller | undefined;
  private lastHeartbeat = 0;
  private readonly hostLock: HostLock;
  /** This node's name (reboot lock holder, `$(NODE_NAME)`). */
  readonly nodeName: string;

  constructor(private readonly opts: UpgraderOptions) {
    this.kube = opts.kube;
    this.puller = opts.puller;
    const c = opts.config;
    this.nodeName = c.node_name ?? (opts.env ?? process.env).NODE_NAME ?? hostname();
    this.hostLock = new HostLock({
      api: () => this.api(),
      namespace: c.reboot_lock.namespace,
      name: c.reboot_lock.name,
      node: this.nodeName,
      leaseDurationMs: c.reboot_lock.lease_duration,
      timeoutMs: c.reboot_lock.timeout,
      pollMs: c.reboot_lock.poll_interval,
      signal: this.abort.signal,
      metrics: opts.metrics,
      log: opts.log,
    });
  }

  get currentState(): Readonly<UpgradeState> {
    return this.state;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop?.catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.abort.signal.aborted) return resolve();
      const t = setTimeout(done, ms);
      const signal = this.abort.signal;
      function done(): void {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private jittered(): number {
    const { poll_interval: p, jitter } = this.opts.config;
    return Math.max(100, p * (1 - jitter + 2 * jitter * Math.random()));
  }

  private async api(): Promise<KubeApi> {
    this.kube ??= await kubeApi(this.opts.config.kubeconfig, { client: this.opts.config.client, ...(this.opts.env ? { env: this.opts.env } : {}) });
    return this.kube;
  }

  private async loadState(): Promise<void> {
    try {
      this.state = JSON.parse(await readFile(join(this.opts.stateDir, STATE_FILE), 'utf8')) as UpgradeState;
    } catch {
      this.state = {};
    }
  }

  private async saveState(): Promise<void> {
    await writePrivateFile(this.opts.stateDir, STATE_FILE, `${JSON.stringify(this.state, null, 2)}\n`);
  }

  private async run(): Promise<void> {
    await this.loadState();
    if (this.state.last) this.opts.metrics.setUpgradeState(this.state.last.version, this.state.last.state, Date.now());
    while (this.running) {
      const id = this.opts.identity();
      if (id === null) {
        await this.sleep(1000);
        continue;
      }
      const base = id.control_url;
      const wait = this.opts.config.long_poll_seconds;
      const url = `${base}/api/v1/sites/${encodeURIComponent(id.site.site)}/desired${wait > 0 ? `?wait=${wait}` : ''}`;
      const started = Date.now();
      let res: HttpResponse;
      try {
        const headers: Record<string, string> = { Authorization: `Bearer ${id.site_token}`, Accept: 'application/json' };
        if (this.etag !== undefined) headers['If-None-Match'] = this.etag;
        res = await controlRequest(this.opts.tls, url, { headers, signal: this.abort.signal, timeoutMs: wait * 1000 + 15_000, maxBytes: MAX_DESIRED_BYTES });
      } catch (err) {
        if (!this.running) return;
        this.opts.log('warn', `upgrades: GET desired: ${(err as Error).message}`);
        await this.sleep(this.jittered());
        continue;
      }
      if (res.status === 401 || res.status === 410) {
        this.opts.log('warn', `upgrades: the control plane answered ${res.status} to the site token`);
        this.running = false;
        this.opts.onIdentityRevoked();
        return;
      }
      if (res.status === 304) {
        await this.heartbeat(id);
        // A server that answers at once instead of holding the request is polled, not hammered.
        if (wait === 0 || Date.now() - started < 1000) await this.sleep(this.jittered());
        continue;
      }
      if (res.status !== 200) {
        this.opts.log('warn', `upgrades: GET desired answered ${res.status}: ${res.text().slice(0, 200)}`);
        await this.sleep(this.jittered());
        continue;
      }
      let desired: Desired;
      try {
        const text = res.text();
        desired = JSON.parse(text) as Desired;
        if (typeof desired.version !== 'string' || typeof desired.checksum !== 'string' || typeof desired.artifact_url !== 'string') throw new Error('version, checksum and artifact_url are required');
      } catch (err) {
        this.opts.log('warn', `upgrades: desired state is not valid: ${(err as Error).message}`);
        await this.sleep(this.jittered());
        continue;
      }
      this.etag = res.header('etag');
      if (this.needsUpgrade(desired)) await this.upgrade(id, desired);
      else await this.heartbeat(id);
      if (wait === 0 || this.etag === undefined) await this.sleep(this.jittered());
    }
  }

  private needsUpgrade(d: Desired): boolean {
    const cur = this.state.current;
    if (cur !== undefined && cur.version === d.version && cur.checksum === d.checksum) return false;
    const failed = this.state.failed;
    return !(failed !== undefined && failed.version === d.version && failed.checksum === d.checksum);
  }

  /** Sends the last reported step again, at most once a minute: the control plane's "last seen". */
  private async heartbeat(id: SiteIdentity): Promise<void> {
    if (Date.now() - this.lastHeartbeat < 60_000) return;
    const last = this.state.last;
    if (last !== undefined) await this.report(id, last.version, last.state, last.reason);
    else await this.report(id, this.state.current?.version ?? '', 'healthy');
  }

  private async report(id: SiteIdentity, version: string, state: UpgradeStep, reason?: string): Promise<void> {
    this.state.last = reason === undefined ? { version, state } : { version, state, reason };
    this.opts.metrics.setUpgradeState(version, state, Date.now());
    this.lastHeartbeat = Date.now();
    const body: Record<string, unknown> = { version, state, at: new Date().toISOString() };
    if (reason !== undefined) body.reason = reason.slice(0, 1000);
    if (this.opts.series) body.series = this.opts.series();
    try {
      const res = await controlRequest(this.opts.tls, `${id.control_url}/api/v1/sites/${encodeURIComponent(id.site.site)}/status`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${id.site_token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        timeoutMs: 15_000,
        maxBytes: 64 * 1024,
      });
      if (res.status !== 204 && res.status !== 200) this.opts.log('warn', `upgrades: status report answered ${res.status}`);
    } catch (err) {
      this.opts.log('warn', `upgrades: status report: ${(err as Error).message}`);
    }
  }

  private async download(id: SiteIdentity, d: Desired): Promise<Release> {
    const url = new URL(d.artifact_url, `${id.control_url}/`).toString();
    const max = this.opts.config.max_manifest_bytes;
    let res: HttpResponse;
    try {
      res = await controlRequest(this.opts.tls, url, { headers: { Authorization: `Bearer ${id.site_token}` }, signal: this.abort.signal, timeoutMs: 120_000, maxBytes: max });
    } catch (err) {
      throw new AgentError('FS_AGENT_INVALID_MANIFESTS', [d.version, `GET ${url}: ${(err as Error).message}`], { cause: err });
    }
    if (res.status !== 200) throw new AgentError('FS_AGENT_INVALID_MANIFESTS', [d.version, `GET ${url} answered ${res.status}`]);
    return parseRelease(res.text(), d.version, d.checksum);
  }

  private async applier(): Promise<Applier> {
    const c = this.opts.config;
    return new Applier(await this.api(), { readyTimeoutMs: c.ready_timeout, retries: c.api_retries, signal: this.abort.signal, log: this.opts.log });
  }

  /**
   * Applies a release's objects: everything but its host-level steps first,
   * then the host-level steps for this node under the reboot lock (always
   * waited for), then the prune. Without host-level steps, one apply as before.
   */
  private async applyRelease(applier: Applier, objects: readonly KubeObject[], previous: readonly ObjectRef[]): Promise<ApplyResult> {
    const { cluster, host } = splitHostLevel(objects, this.nodeName);
    if (host.length === 0) return applier.apply(objects, previous);
    const inventory = [...cluster, ...host].map(refOf);
    const first = await applier.apply(cluster, []);
    if (!first.ok) return { ok: false, reason: first.reason, inventory };
    this.opts.log('info', `upgrades: ${host.length} host-level step(s) for node ${this.nodeName}: taking the reboot lock`);
    const lock = await this.hostLock.ensure();
    if (!lock.ok) return { ok: false, reason: `host-level step on ${this.nodeName}: ${lock.reason}`, inventory };
    const stepped = await applier.apply(host, [], { waitAll: true });
    if (!stepped.ok) return { ok: false, reason: `host-level step on ${this.nodeName}: ${stepped.reason}`, inventory };
    return applier.pruneResult(previous, inventory);
  }

  /** One upgrade, every step reported; the reboot lock, if taken, is released however it ends. */
  private async upgrade(id: SiteIdentity, d: Desired): Promise<void> {
    try {
      await this.upgradeSteps(id, d);
    } finally {
      await this.hostLock.release();
    }
  }

  private async upgradeSteps(id: SiteIdentity, d: Desired): Promise<void> {
    const log = this.opts.log;
    const fail = async (reason: string): Promise<void> => {
      this.state.failed = { version: d.version, checksum: d.checksum, reason, at: new Date().toISOString() };
      this.opts.metrics.upgradeAttempts.inc({ result: 'failed' });
      await this.report(id, d.version, 'failed', reason);
      await this.saveState();
    };
    log('info', `upgrades: version ${d.version} offered (current ${this.state.current?.version ?? 'none'})`);
    await this.report(id, d.version, 'downloading');
    let release: Release;
    try {
      release = await this.download(id, d);
    } catch (err) {
      if (!this.running) return;
      return fail((err as Error).message);
    }
    await this.report(id, d.version, 'pre-pulling');
    this.puller ??= new KubernetesPrePuller(await this.api(), this.opts.config.prepull_namespace, { timeoutMs: this.opts.config.prepull_timeout, retries: this.opts.config.api_retries, log });
    const pulled = await this.puller.prePull(release.prepullImages, release.version, this.abort.signal);
    if (!pulled.ok) return fail(pulled.reason);
    await this.report(id, d.version, 'applying');
    const applier = await this.applier();
    const previous = this.state.current?.inventory ?? [];
    const r = await this.applyRelease(applier, release.objects, previous);
    if (r.ok) {
      await writePrivateFile(this.opts.stateDir, releaseFile(release.version), release.text);
      const old = this.state.current;
      this.state.current = { version: release.version, checksum: release.checksum, inventory: r.inventory, at: new Date().toISOString() };
      delete this.state.failed;
      this.opts.metrics.upgradeAttempts.inc({ result: 'healthy' });
      // The next node may go as soon as this one is done: freed before the report, not after.
      await this.hostLock.release();
      await this.report(id, d.version, 'healthy');
      await this.saveState();
      log('info', `upgrades: version ${d.version} healthy (${r.inventory.length} objects, ${r.pruned} pruned)`);
      if (old !== undefined && old.version !== release.version) await this.forgetRelease(old.version);
      return;
    }
    if (!this.running) return;
    log('error', `upgrades: version ${d.version} failed: ${r.reason}`);
    await fail(r.reason);
    const good = this.state.current;
    if (good === undefined) return;
    // Roll back: the last good release again, and what only the failed one had goes.
    let goodRelease: Release;
    try {
      goodRelease = parseRelease(await readFile(join(this.opts.stateDir, releaseFile(good.version)), 'utf8'), good.version, good.checksum);
    } catch (err) {
      await this.report(id, d.version, 'failed', `${r.reason}; rollback impossible: ${(err as Error).message}`);
      return;
    }
    const back = await this.applyRelease(applier, goodRelease.objects, r.inventory);
    if (back.ok) {
      this.opts.metrics.upgradeAttempts.inc({ result: 'rolled-back' });
      await this.hostLock.release();
      await this.report(id, d.version, 'rolled-back', `${r.reason}; back on ${good.version}`);
      // The state stays on the last good version; what is reported next is the rollback.
      this.state.last = { version: good.version, state: 'rolled-back', reason: r.reason };
      await this.saveState();
      log('warn', `upgrades: rolled back to ${good.version}`);
    } else {
      await this.report(id, d.version, 'failed', `${r.reason}; rollback to ${good.version} failed: ${back.reason}`);
    }
  }

  private async forgetRelease(version: string): Promise<void> {
    await rm(join(this.opts.stateDir, releaseFile(version)), { force: true });
  }
}
