// Staged rollouts as pure decisions, so the rules are table-tested apart from
// the store: canary sites first, then equal partitions; within them at most
// `max_unavailable` sites upgrading at once (default 10%, at least one); a
// pause when the failures among released sites pass `failure_threshold`; a
// partition ends when each of its sites finished (healthy, failed, rolled
// back) or when its deadline passes, so offline sites are "offline"/"pending",
// never failed, and never block a rollout forever.
import { siteState } from './fleet.js';
import type { Rollout, SiteRecord, SiteStatus } from './records.js';

export type RolloutSiteState = 'pending' | 'downloading' | 'applying' | 'healthy' | 'failed' | 'rolled-back' | 'offline';
export type RolloutCounts = Record<RolloutSiteState, number>;
export const ROLLOUT_SITE_STATES: readonly RolloutSiteState[] = ['pending', 'downloading', 'applying', 'healthy', 'failed', 'rolled-back', 'offline'];

/** "10%" of `total` (rounded down) or a plain count. null if malformed. */
export function parsePortion(s: string, total: number): number | null {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(s);
  if (pct) {
    const p = Number(pct[1]);
    return p > 100 ? null : Math.floor((p / 100) * total);
  }
  return /^\d+$/.test(s) ? Number(s) : null;
}

/** A fraction in [0,1] from "5%" or "0.05". */
export function parseFraction(s: string): number | null {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(s);
  if (pct) return Number(pct[1]) <= 100 ? Number(pct[1]) / 100 : null;
  const n = Number(s);
  return /^\d*\.?\d+$/.test(s) && n <= 1 ? n : null;
}

/** Splits the (sorted) sites: the first `canary` alone, the rest into `partitions` near-equal parts. */
export function partitionSites(sites: readonly string[], canary: number, partitions: number): string[][] {
  const out: string[][] = [];
  const c = Math.min(canary, sites.length);
  if (c > 0) out.push(sites.slice(0, c));
  const rest = sites.slice(c);
  const n = Math.max(1, Math.min(partitions, rest.length));
  let start = 0;
  for (let i = 0; i < n && rest.length > 0; i++) {
    const size = Math.floor(rest.length / n) + (i < rest.length % n ? 1 : 0);
    out.push(rest.slice(start, start + size));
    start += size;
  }
  return out;
}

export interface SiteView {
  readonly site: SiteRecord | null;
  readonly status: SiteStatus | null;
}

export function isReleased(r: Rollout, name: string, v: SiteView): boolean {
  return v.site?.desired?.version === r.targets[name];
}

/** Where one site of a rollout stands. A gone site (decommissioned) counts as offline. */
export function rolloutSiteState(r: Rollout, name: string, v: SiteView, nowMs: number, offlineAfterMs: number): RolloutSiteState {
  const target = r.targets[name];
  if (!v.site) return 'offline';
  const st = v.status;
  if (st && st.version === target) {
    if (st.state === 'healthy' || st.state === 'failed' || st.state === 'rolled-back') return st.state;
  }
  if (siteState(v.site, st, nowMs, offlineAfterMs) === 'offline') return 'offline';
  if (!isReleased(r, name, v) || !st || st.version !== target) return 'pending';
  return st.state === 'applying' ? 'applying' : 'downloading';
}

export interface TickResult {
  readonly counts: RolloutCounts;
  /** Sites whose desired version is to be set to their target now. */
  readonly release: readonly string[];
  /** The rollout as it is to be stored, or null when nothing changed. */
  readonly next: Rollout | null;
}

const finished = (s: RolloutSiteState): boolean => s === 'healthy' || s === 'failed' || s === 'rolled-back';

export function emptyCounts(): RolloutCounts {
  return { pending: 0, downloading: 0, applying: 0, healthy: 0, failed: 0, 'rolled-back': 0, offline: 0 };
}

export function rolloutCounts(r: Rollout, view: (name: string) => SiteView, nowMs: number, offlineAfterMs: number): RolloutCounts {
  const counts = emptyCounts();
  for (const part of r.partitions) for (const name of part) counts[rolloutSiteState(r, name, view(name), nowMs, offlineAfterMs)]++;
  return counts;
}

/** One step of a rollout's controller. */
export function tickRollout(r: Rollout, view: (name: string) => SiteView, nowMs: number, offlineAfterMs: number): TickResult {
  const total = r.partitions.reduce((n, p) => n + p.length, 0);
  const states = new Map<string, RolloutSiteState>();
  const counts = emptyCounts();
  let released = 0;
  for (const part of r.partitions) {
    for (const name of part) {
      const v = view(name);
      const s = rolloutSiteState(r, name, v, nowMs, offlineAfterMs);
      states.set(name, s);
      counts[s]++;
      if (isReleased(r, name, v)) released++;
    }
  }
  if (r.state !== 'running') return { counts, release: [], next: null };
  const stamp = new Date(nowMs).toISOString();
  const failures = counts.failed + counts['rolled-back'];
  const threshold = parseFraction(r.strategy.failure_threshold) ?? 0.05;
  const fresh = failures - r.acknowledged_failures;
  if (released > 0 && fresh > 0 && fresh / released > threshold) {
    return {
      counts,
      release: [],
      next: { ...r, state: 'paused', reason: `${fresh} of ${released} released sites failed, over the ${r.strategy.failure_threshold} threshold`, updated_at: stamp },
    };
  }
  const maxUnavailable = Math.max(1, parsePortion(r.strategy.max_unavailable, total) ?? Math.floor(total / 10));
  let partition = r.partition;
  let startedAt = r.partition_started_at;
  const release: string[] = [];
  let inFlight = 0;
  for (let p = 0; p <= partition && p < r.partitions.length; p++) {
    for (const name of r.partitions[p] as readonly string[]) {
      const s = states.get(name) as RolloutSiteState;
      if ((s === 'pending' || s === 'downloading' || s === 'applying') && isReleased(r, name, view(name))) inFlight++;
    }
  }
  for (;;) {
    const part = r.partitions[partition];
    if (!part) break;
    for (const name of part) {
      if (inFlight >= maxUnavailable) break;
      const s = states.get(name) as RolloutSiteState;
      if (s === 'pending' && !isReleased(r, name, view(name))) {
        release.push(name);
        states.set(name, 'downloading');
        inFlight++;
      }
    }
    const allFinished = part.every((n) => finished(states.get(n) as RolloutSiteState));
    const overdue = nowMs - startedAt > r.strategy.deadline_ms;
    if (!allFinished && !overdue) break;
    if (overdue) {
      // Offline and unreleased sites of an overdue partition get the version for when they return.
      for (const name of part) {
        if (!finished(states.get(name) as RolloutSiteState) && !isReleased(r, name, view(name)) && view(name).site && !release.includes(name)) release.push(name);
      }
    }
    partition++;
    startedAt = nowMs;
    if (partition >= r.partitions.length) break;
  }
  const done = partition >= r.partitions.length;
  if (release.length === 0 && partition === r.partition && !done) return { counts, release, next: null };
  return {
    counts,
    release,
    next: {
      ...r,
      partition: Math.min(partition, r.partitions.length),
      partition_started_at: startedAt,
      ...(done ? { state: 'done' as const, reason: 'every partition finished or passed its deadline' } : {}),
      updated_at: stamp,
    },
  };
}
