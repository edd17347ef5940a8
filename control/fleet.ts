// Site states and fleet status (the top README's contract §2), computed from the records:
//   offline    not seen within 3 poll intervals (never reported: since approval)
//   unhealthy  last report failed or rolled-back
//   upgrading  a step in progress, or a desired version not yet reported healthy
//   healthy    reported healthy on the desired version, seen recently
import type { SiteRecord, SiteStatus } from './records.js';

export type SiteState = 'healthy' | 'unhealthy' | 'offline' | 'upgrading';
export const SITE_STATES: readonly SiteState[] = ['healthy', 'unhealthy', 'offline', 'upgrading'];

export function siteState(site: SiteRecord, status: SiteStatus | null, nowMs: number, offlineAfterMs: number): SiteState {
  const lastSeen = status?.last_seen ?? Date.parse(site.created_at);
  if (nowMs - lastSeen > offlineAfterMs) return 'offline';
  if (!status) return 'upgrading';
  if (status.state === 'failed' || status.state === 'rolled-back') return 'unhealthy';
  if (status.state !== 'healthy') return 'upgrading';
  if (site.desired && site.desired.version !== status.version) return 'upgrading';
  return 'healthy';
}

export interface SiteSummary {
  readonly tenant: string;
  readonly site: string;
  readonly group: string;
  readonly labels: Record<string, string>;
  readonly re: string;
  readonly state: SiteState;
  readonly version: string | null;
  readonly desired_version: string | null;
  readonly available_version: string | null;
  readonly last_seen: string | null;
  readonly series: number | null;
}

export function summarize(site: SiteRecord, status: SiteStatus | null, available: string | null, nowMs: number, offlineAfterMs: number): SiteSummary {
  return {
    tenant: site.tenant,
    site: site.site,
    group: site.group,
    labels: site.labels,
    re: site.labels.re ?? '',
    state: siteState(site, status, nowMs, offlineAfterMs),
    version: status?.state === 'healthy' ? status.version : (status?.history.find((h) => h.state === 'healthy')?.version ?? null),
    desired_version: site.desired?.version ?? null,
    available_version: available,
    last_seen: status ? new Date(status.last_seen).toISOString() : null,
    series: status?.series ?? null,
  };
}

export type Counts = Record<SiteState, number>;
const zero = (): Counts => ({ healthy: 0, unhealthy: 0, offline: 0, upgrading: 0 });

export interface FleetStatus {
  readonly total: number;
  readonly by_state: Counts;
  readonly by_tenant: Record<string, Counts>;
  readonly by_group: Record<string, Counts>;
  readonly by_re: Record<string, Counts>;
  readonly by_version: Record<string, Counts>;
  readonly failures: readonly { site: string; tenant: string; version: string; reason: string; at: string }[];
}

export function fleetStatus(sites: Iterable<{ summary: SiteSummary; status: SiteStatus | null }>, maxFailures = 200): FleetStatus {
  const by_state = zero();
  const by_tenant: Record<string, Counts> = {};
  const by_group: Record<string, Counts> = {};
  const by_re: Record<string, Counts> = {};
  const by_version: Record<string, Counts> = {};
  const failures: { site: string; tenant: string; version: string; reason: string; at: string }[] = [];
  let total = 0;
  for (const { summary: s, status } of sites) {
    total++;
    by_state[s.state]++;
    (by_tenant[s.tenant] ??= zero())[s.state]++;
    (by_group[`${s.tenant}/${s.group}`] ??= zero())[s.state]++;
    (by_re[s.re] ??= zero())[s.state]++;
    (by_version[status?.version ?? 'none'] ??= zero())[s.state]++;
    if (status && (status.state === 'failed' || status.state === 'rolled-back')) {
      failures.push({ site: s.site, tenant: s.tenant, version: status.version, reason: status.reason ?? status.state, at: status.at });
    }
  }
  failures.sort((a, b) => (a.at < b.at ? 1 : -1));
  return { total, by_state, by_tenant, by_group, by_re, by_version, failures: failures.slice(0, maxFailures) };
}
