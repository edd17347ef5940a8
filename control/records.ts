// The records kept in the state store, one JSON value per key:
//   sites/<site>         SiteRecord: identity and desired version
//   status/<site>        SiteStatus: what the site last reported, last seen, history
//   renders/<site>       RenderIndex: the versions rendered for the site
//   regs/<id>            Registration
//   jti/<jti>            the registration a single-use token was spent on
//   model/current        ModelRecord: the last good model
//   model/release/<v>    ModelRecord of each release loaded (its order)
//   rollouts/<id>        Rollout
//   ca/<tenant>          TenantCa (only when not given as files)
import type { ModeSummary } from './render.js';

export interface Desired {
  readonly version: string;
  readonly checksum: string;
  readonly artifact: string;
  readonly mode_summary: ModeSummary;
  /** The rollout that set it, if any. */
  readonly rollout?: string;
  /** What it was before that rollout set it (for abort with rollback). */
  readonly previous?: Desired | null;
}

export interface SiteRecord {
  readonly tenant: string;
  readonly site: string;
  readonly group: string;
  readonly labels: Record<string, string>;
  readonly registration_id: string;
  readonly machine_id: string;
  /** The `jti` of the site token issued: older tokens for this name are refused. */
  readonly token_id: string;
  /** Serial number (hex) of the client certificate issued: older certificates for this name are refused. */
  readonly cert_serial?: string;
  readonly created_at: string;
  readonly desired: Desired | null;
}

export type ReportedState = 'downloading' | 'pre-pulling' | 'applying' | 'healthy' | 'failed' | 'rolled-back';

export interface HistoryEntry {
  readonly version: string;
  readonly state: ReportedState;
  readonly reason?: string;
  readonly at: string;
}

export interface SiteStatus {
  readonly version: string;
  readonly state: ReportedState;
  readonly reason?: string;
  readonly at: string;
  readonly series?: number;
  /** Milliseconds since the epoch of the last report (the heartbeat). */
  readonly last_seen: number;
  readonly history: readonly HistoryEntry[];
}

export interface RenderEntry {
  readonly version: string;
  /** The load order of the release it was rendered in. */
  readonly seq: number;
  readonly inputs: string;
  readonly checksum: string;
  readonly artifact: string;
  readonly mode_summary: ModeSummary;
}

export interface RenderIndex {
  readonly tenant: string;
  /** Oldest first. */
  readonly versions: readonly RenderEntry[];
}

export interface Registration {
  readonly id: string;
  readonly tenant: string;
  /** sha256 of the registration token: only its holder may read the registration. */
  readonly token_hash: string;
  readonly machine_id: string;
  readonly facts: Record<string, string | number | boolean>;
  readonly csr: string;
  readonly state: 'pending' | 'approved' | 'rejected';
  readonly reason?: string;
  readonly created_at: string;
  readonly site?: { readonly tenant: string; readonly site: string; readonly group: string; readonly labels: Record<string, string> };
  readonly identity?: { readonly site_token: string; readonly certificate: string; readonly ca: string };
}

export interface ModelRecord {
  readonly release: string;
  readonly commit: string;
  readonly seq: number;
  readonly loaded_at: string;
  readonly repo: string;
  readonly sites: number;
  readonly rendered: number;
}

export type RolloutState = 'running' | 'paused' | 'aborted' | 'done';

export interface RolloutStrategy {
  readonly canary: number;
  readonly partitions: number;
  /** A count, or a percentage of the rollout's sites ("10%"). */
  readonly max_unavailable: string;
  readonly failure_threshold: string;
  /** Milliseconds a partition may wait for sites that do not finish (offline ones). */
  readonly deadline_ms: number;
}

export interface Rollout {
  readonly id: string;
  readonly version: string;
  readonly selector: { readonly site?: string; readonly group?: string; readonly labels?: Record<string, string>; readonly tenant?: string };
  readonly strategy: RolloutStrategy;
  readonly state: RolloutState;
  readonly reason?: string;
  readonly created_at: string;
  /** Site names per partition; the first is the canary when strategy.canary > 0. */
  readonly partitions: readonly (readonly string[])[];
  /** Target version per site (a site's own version of the release). */
  readonly targets: Record<string, string>;
  readonly partition: number;
  readonly partition_started_at: number;
  /** Failures already seen when an operator last resumed. */
  readonly acknowledged_failures: number;
  readonly updated_at: string;
}

export interface TenantCa {
  readonly key_pem: string;
  readonly cert_pem: string;
}
