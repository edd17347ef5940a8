// The benchmark scenarios: ONE description each, from which every
// contender's config is generated (harness/configs.ts) and against which
// what each delivered is checked (harness/expected.ts).
import type { MetricFilterConfig } from '../../relabel/index.js';
import type { FleetOptions } from '../sim/fleet.js';

export const SCENARIO_NAMES = ['pass-through', 'realistic-re', 'realistic-re-filter', 'push', 'outage', 'churn'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Histogram pre-aggregation: the family's buckets, sums and counts summed over everything but the labels kept. */
export interface HistogramAggregation {
  /** Histogram family name (without _bucket/_sum/_count). */
  readonly family: string;
  /** Labels removed by the aggregation (the rest, and `le`, stay). */
  readonly without: readonly string[];
}

export interface Scenario {
  readonly name: ScenarioName;
  readonly description: string;
  readonly mode: 'scrape' | 'push';
  /** Metric allowlist/denylist and label denylist (relabel/ MetricFilter config). */
  readonly filter?: MetricFilterConfig;
  readonly aggregation?: readonly HistogramAggregation[];
  readonly fleet: Partial<FleetOptions>;
  /** The remote-write receiver goes down at this share of the measured window, for this long. */
  readonly outage?: { readonly at: number; readonly durationMs: number };
}

/** What an RE keeps of a CE (the write-up's ~50,000 → ~2,000): two gauges and one histogram, pre-aggregated. */
export const REALISTIC_FILTER: MetricFilterConfig = {
  allow: {
    names: ['up_site_tunnel_state', 'kube_pod_status_phase'],
    prefixes: ['apiserver_request_duration_seconds_'],
  },
  // Labels constant per pod: dropping one never merges two series (that is aggregation's job).
  label_deny: ['uid', 'image', 'endpoint', 'app_kubernetes_io_version'],
};

export const REALISTIC_AGGREGATION: readonly HistogramAggregation[] = [
  { family: 'apiserver_request_duration_seconds', without: ['pod', 'instance', 'container', 'node', 'job', 'service'] },
];

export const SCENARIOS: Readonly<Record<ScenarioName, Scenario>> = {
  'pass-through': {
    name: 'pass-through',
    description: 'scrape every site, remote-write everything, no filtering',
    mode: 'scrape',
    fleet: {},
  },
  'realistic-re': {
    name: 'realistic-re',
    description: 'scrape; metric allowlist + label denylist + histogram pre-aggregation (~50,000 → ~2,000 series per site)',
    mode: 'scrape',
    filter: REALISTIC_FILTER,
    aggregation: REALISTIC_AGGREGATION,
    fleet: {},
  },
  'realistic-re-filter': {
    name: 'realistic-re-filter',
    description: 'realistic-re without the pre-aggregation: allowlist + label denylist only, the part every contender can do',
    mode: 'scrape',
    filter: REALISTIC_FILTER,
    fleet: {},
  },
  push: {
    name: 'push',
    description: 'sites remote-write their series to the contender, which forwards them (no filtering)',
    mode: 'push',
    fleet: {},
  },
  outage: {
    name: 'outage',
    description: 'pass-through, with the remote-write receiver down for a while mid-run, then back',
    mode: 'scrape',
    fleet: {},
    outage: { at: 0.3, durationMs: 20_000 },
  },
  churn: {
    name: 'churn',
    description: 'pass-through with 1% of series replaced every interval, 10% of sites offline (a different 10% each interval), counter resets',
    mode: 'scrape',
    fleet: { churn: 0.01, offlineShare: 0.1, counterResetShare: 0.05 },
  },
};
