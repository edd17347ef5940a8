// Staged rollouts: create (a version for a site, a group or a label selector,
// partitioned: canary first), pause, resume, abort with rollback, and the
// controller's tick, which releases sites partition by partition within
// max_unavailable and pauses past the failure threshold (the rules are
// rollout.ts, pure). Every step is a compare-and-set on the rollout record, so
// the controller runs on every replica and no step is applied twice.
import { randomBytes } from 'node:crypto';
import { parseDuration } from './config.js';
import { ControlError } from './errors.js';
import { resolveRelease } from './loader.js';
import type { ModelRecord, RenderEntry, Rollout, SiteRecord, SiteStatus } from './records.js';
import { type RolloutCounts, partitionSites, rolloutCounts, tickRollout } from './rollout.js';
import { abortBody, parseBody, rolloutBody } from './requests.js';
import type { State } from './state.js';

export interface RolloutView {
  readonly id: string;
  readonly version: string;
  readonly state: Rollout['state'];
  readonly reason?: string;
  readonly selector: Rollout['selector'];
  readonly strategy: Rollout['strategy'];
  readonly counts: RolloutCounts;
  readonly partition: number;
  readonly partitions: number;
  readonly sites: number;
  readonly created_at: string;
  readonly updated_at: string;
}

/** What the rollouts need of the control plane. */
export interface RolloutDeps {
  /** The site's last status, with polls counted as seen. */
  statusWithSeen(site: string): SiteStatus | null;
  /** Gives the site `entry` as its desired version, moved there by `rollout`. */
  setDesired(site: string, entry: RenderEntry, rollout: string | undefined): Promise<void>;
}

export class RolloutService {
  private ticking = false;

  constructor(private readonly state: State, private readonly offlineAfterMs: number, private readonly deps: RolloutDeps) {}

  private readonly siteView = (name: string) => ({ site: this.state.value<SiteRecord>(`sites/${name}`), status: this.deps.statusWithSeen(name) });

  view(r: Rollout): RolloutView {
    return {
      id: r.id,
      version: r.version,
      state: r.state,
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
      selector: r.selector,
      strategy: r.strategy,
      counts: rolloutCounts(r, this.siteView, Date.now(), this.offlineAfterMs),
      partition: r.partition,
      partitions: r.partitions.length,
      sites: Object.keys(r.targets).length,
      created_at: r.created_at,
      updated_at: r.updated_at,
    };
  }

  list(): RolloutView[] {
    const out: RolloutView[] = [];
    for (const [, e] of this.state.entries<Rollout>('rollouts/')) out.push(this.view(e.value));
    return out.sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  }

  get(id: string): RolloutView {
    const r = this.state.value<Rollout>(`rollouts/${id}`);
    if (!r) throw new ControlError('FS_CONTROL_NOT_FOUND', [`no rollout ${id}`]);
    return this.view(r);
  }

  async create(body: unknown): Promise<{ id: string; sites: number; skipped: string[] }> {
    const req = parseBody(rolloutBody, body);
    if (!this.state.value<ModelRecord>(`model/release/${req.version}`)) throw new ControlError('FS_CONTROL_BAD_REQUEST', [`version ${req.version} is not a loaded release`]);
    const sel = req.selector;
    const names: string[] = [];
    const skipped: string[] = [];
    const targets: Record<string, string> = {};
    for (const [, e] of this.state.entries<SiteRecord>('sites/')) {
      const s = e.value;
      if (sel.tenant !== undefined && s.tenant !== sel.tenant) continue;
      if (sel.site !== undefined && s.site !== sel.site) continue;
      if (sel.group !== undefined && s.group !== sel.group) continue;
      if (sel.labels !== undefined && !Object.entries(sel.labels).every(([k, v]) => s.labels[k] === v)) continue;
      const entry = resolveRelease(this.state, s.site, req.version);
      if (!entry) {
        skipped.push(s.site);
        continue;
      }
      names.push(s.site);
      targets[s.site] = entry.version;
    }
    if (names.length === 0) throw new ControlError('FS_CONTROL_BAD_REQUEST', ['the selector matches no site that has this version']);
    const busy = new Set<string>();
    for (const [, e] of this.state.entries<Rollout>('rollouts/')) {
      if (e.value.state === 'running' || e.value.state === 'paused') for (const n of Object.keys(e.value.targets)) busy.add(n);
    }
    const overlap = names.filter((n) => busy.has(n));
    if (overlap.length > 0) throw new ControlError('FS_CONTROL_CONFLICT', [`${overlap.length} of these sites (${overlap.slice(0, 3).join(', ')}...) are in a running or paused rollout: abort it or let it finish`]);
    names.sort();
    const now = Date.now();
    const id = `r${now.toString(36)}${randomBytes(3).toString('hex')}`;
    const rollout: Rollout = {
      id,
      version: req.version,
      selector: sel,
      strategy: { canary: req.strategy.canary, partitions: req.strategy.partitions, max_unavailable: String(req.strategy.max_unavailable), failure_threshold: String(req.strategy.failure_threshold), deadline_ms: parseDuration(req.strategy.deadline) as number },
      state: 'running',
      created_at: new Date(now).toISOString(),
      partitions: partitionSites(names, req.strategy.canary, req.strategy.partitions),
      targets,
      partition: 0,
      partition_started_at: now,
      acknowledged_failures: 0,
      updated_at: new Date(now).toISOString(),
    };
    await this.state.create(`rollouts/${id}`, rollout);
    await this.tick();
    return { id, sites: names.length, skipped };
  }

  async setState(id: string, action: 'pause' | 'resume' | 'abort', body?: unknown): Promise<RolloutView> {
    const rollback = action === 'abort' ? parseBody(abortBody, body).rollback : false;
    const key = `rollouts/${id}`;
    let refused: string | null = null;
    const next = await this.state.update<Rollout>(key, (cur) => {
      if (!cur) return undefined;
      const stamp = new Date().toISOString();
      if (cur.state === 'done' || cur.state === 'aborted') {
        refused = `rollout ${id} is ${cur.state}`;
        return undefined;
      }
      if (action === 'pause') return cur.state === 'paused' ? undefined : { ...cur, state: 'paused', reason: 'paused by an operator', updated_at: stamp };
      if (action === 'resume') {
        const c = rolloutCounts(cur, this.siteView, Date.now(), this.offlineAfterMs);
        return { ...cur, state: 'running', reason: 'resumed by an operator', acknowledged_failures: c.failed + c['rolled-back'], partition_started_at: Date.now(), updated_at: stamp };
      }
      return { ...cur, state: 'aborted', reason: rollback ? 'aborted by an operator; sites rolled back' : 'aborted by an operator', updated_at: stamp };
    });
    if (!next) throw new ControlError('FS_CONTROL_NOT_FOUND', [`no rollout ${id}`]);
    if (refused !== null) throw new ControlError('FS_CONTROL_CONFLICT', [refused]);
    if (action === 'abort' && rollback) {
      for (const name of Object.keys(next.targets)) {
        await this.state.update<SiteRecord>(`sites/${name}`, (cur) => {
          if (!cur || cur.desired?.rollout !== id) return undefined;
          return { ...cur, desired: cur.desired.previous ?? null };
        });
      }
    }
    if (action === 'resume') await this.tick();
    return this.view(next);
  }

  /** One pass of the rollout controller over running rollouts; safe on several replicas (CAS). */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const now = Date.now();
      for (const [key, e] of [...this.state.entries<Rollout>('rollouts/')]) {
        if (e.value.state !== 'running') continue;
        const res = tickRollout(e.value, this.siteView, now, this.offlineAfterMs);
        if (res.next && !(await this.state.putIf(key, res.next, e.rev))) continue;
        for (const name of res.release) {
          const entry = resolveRelease(this.state, name, e.value.version);
          const target = e.value.targets[name];
          if (entry && entry.version === target) await this.deps.setDesired(name, entry, e.value.id);
        }
      }
    } finally {
      this.ticking = false;
    }
  }
}
