// Each contender's config, generated from ONE scenario description: the
// same scrape targets, the same metric allowlist and label denylist (as
// Prometheus metric_relabel_configs for vmagent and Prometheus, compiled by
// relabel/'s MetricFilter.toRelabelConfigs, the same rules fleetscope runs on
// its fast path), the same remote-write sink. One function per contender.
import { join } from 'node:path';
import yaml from 'js-yaml';
import { MetricFilter } from '../../relabel/index.js';
import { siteName, siteToken } from '../sim/fleet.js';
import type { HistogramAggregation, Scenario } from './scenario.js';

export const CONTENDERS = ['fleetscope', 'vmagent', 'prometheus_agent'] as const;
export type ContenderName = (typeof CONTENDERS)[number];

export interface ContenderInput {
  readonly scenario: Scenario;
  readonly sites: number;
  readonly seriesPerSite: number;
  readonly intervalMs: number;
  /** The simulator's base URL, e.g. http://127.0.0.1:9000 (sites at /site/<n>/metrics). */
  readonly simUrl: string;
  /** The sink's remote-write URL. */
  readonly sinkUrl: string;
  /** A private, empty directory for the contender's config and data. */
  readonly dir: string;
  /** The port the contender listens on. */
  readonly port: number;
  /** Repository root (for bin/fleetscope.js). */
  readonly root: string;
  /** Another built checkout whose collector to run as the fleetscope contender (e.g. a branch not merged yet). */
  readonly fleetscopeRoot?: string;
  /** Whether the contender pre-aggregates (its aggregated families are then not checked per timestamp). */
  readonly aggregates?: boolean;
}

export interface LaunchPlan {
  readonly command: string;
  readonly args: readonly string[];
  /** Files to write before starting, by path. */
  readonly files: Readonly<Record<string, string>>;
  /** GET this until it answers 2xx. */
  readonly readyUrl: string;
  /** Where simulated sites push in push scenarios. */
  readonly pushUrl?: string;
  /** A command that validates the config files (exit 0) before the run. */
  readonly check?: { readonly command: string; readonly args: readonly string[] };
  /** What this contender does not do of the scenario, said in the report. */
  readonly notes: readonly string[];
}

const seconds = (ms: number): string => `${Math.max(1, Math.round(ms / 1000))}s`;

function relabelRules(scenario: Scenario): unknown[] {
  return scenario.filter === undefined ? [] : MetricFilter.compile(scenario.filter).toRelabelConfigs();
}

/** Prometheus-format scrape_configs: one target per site, its path and `site` label as target labels. */
function scrapeConfigs(input: ContenderInput): unknown[] {
  const host = new URL(input.simUrl).host;
  const rules = relabelRules(input.scenario);
  return [{
    job_name: 'sites',
    scrape_interval: seconds(input.intervalMs),
    scrape_timeout: seconds(input.intervalMs),
    // The simulated sites expose their own `instance`/`job` (as a federated CE would): keep them, and their timestamps.
    honor_labels: true,
    honor_timestamps: true,
    static_configs: Array.from({ length: input.sites }, (_, i) => ({
      targets: [host],
      labels: { __metrics_path__: `/site/${i}/metrics`, site: siteName(i) },
    })),
    ...(rules.length > 0 ? { metric_relabel_configs: rules } : {}),
  }];
}

const dump = (doc: unknown): string => yaml.dump(doc, { lineWidth: -1, noRefs: true });

/** vmagent stream aggregation (-streamAggr.config, VictoriaMetrics ≥ 1.86) for the pre-aggregation step. */
export function vmagentStreamAggregation(aggregation: readonly HistogramAggregation[], intervalMs: number): string {
  return dump(aggregation.map((a) => ({
    match: `{__name__=~"${a.family}_(bucket|sum|count)"}`,
    interval: seconds(intervalMs),
    without: [...a.without],
    outputs: ['total'],
  })));
}

export function vmagentPlan(input: ContenderInput, opts: { streamAggregation: boolean }): LaunchPlan {
  const { scenario, dir } = input;
  const files: Record<string, string> = {};
  const args = [
    `-httpListenAddr=127.0.0.1:${input.port}`,
    `-remoteWrite.url=${input.sinkUrl}`,
    `-remoteWrite.tmpDataPath=${join(dir, 'vmagent-data')}`,
    // The simulated sites' bodies are ~25 MB; the default limit is 16 MB.
    '-promscrape.maxScrapeSize=1GB',
    '-loggerLevel=ERROR',
  ];
  const notes: string[] = [];
  if (scenario.mode === 'scrape') {
    files[join(dir, 'scrape.yml')] = dump({ scrape_configs: scrapeConfigs(input) });
    args.push(`-promscrape.config=${join(dir, 'scrape.yml')}`);
  } else if (scenario.filter !== undefined) {
    files[join(dir, 'relabel.yml')] = dump(relabelRules(scenario));
    args.push(`-remoteWrite.relabelConfig=${join(dir, 'relabel.yml')}`);
  }
  if (scenario.aggregation !== undefined && scenario.aggregation.length > 0) {
    if (opts.streamAggregation) {
      files[join(dir, 'stream-aggr.yml')] = vmagentStreamAggregation(scenario.aggregation, input.intervalMs);
      args.push(`-remoteWrite.streamAggr.config=${join(dir, 'stream-aggr.yml')}`);
    } else {
      notes.push('this vmagent has no stream aggregation (added in VictoriaMetrics 1.86): it ran the allowlist and label denylist only, without the histogram pre-aggregation');
    }
  }
  const check = scenario.mode === 'scrape' ? { command: 'vmagent', args: ['-dryRun', `-promscrape.config=${join(dir, 'scrape.yml')}`, '-loggerLevel=ERROR'] } : undefined;
  const base = `http://127.0.0.1:${input.port}`;
  return { command: 'vmagent', args, files, readyUrl: `${base}/health`, pushUrl: `${base}/api/v1/write`, ...(check ? { check } : {}), notes };
}

export function prometheusAgentPlan(input: ContenderInput): LaunchPlan {
  const { scenario, dir } = input;
  const config: Record<string, unknown> = {
    global: { scrape_interval: seconds(input.intervalMs), scrape_timeout: seconds(input.intervalMs) },
    remote_write: [{ url: input.sinkUrl }],
  };
  const notes: string[] = [];
  if (scenario.mode === 'scrape') config.scrape_configs = scrapeConfigs(input);
  else if (scenario.filter !== undefined) {
    // Agent mode applies write_relabel_configs on the way out; the same rules.
    (config.remote_write as Record<string, unknown>[])[0] = { url: input.sinkUrl, write_relabel_configs: relabelRules(scenario) };
  }
  if (scenario.aggregation !== undefined && scenario.aggregation.length > 0) {
    notes.push('Prometheus agent mode cannot aggregate (no rules, no stream aggregation): it ran the allowlist and label denylist only');
  }
  const file = join(dir, 'prometheus.yml');
  const args = [
    '--enable-feature=agent',
    `--config.file=${file}`,
    `--storage.agent.path=${join(dir, 'agent-data')}`,
    `--web.listen-address=127.0.0.1:${input.port}`,
    '--log.level=warn',
    ...(scenario.mode === 'push' ? ['--web.enable-remote-write-receiver'] : []),
  ];
  const base = `http://127.0.0.1:${input.port}`;
  return {
    command: 'prometheus',
    args,
    files: { [file]: dump(config) },
    readyUrl: `${base}/-/ready`,
    pushUrl: `${base}/api/v1/write`,
    check: { command: 'promtool', args: ['check', 'config', '--agent', file] },
    notes,
  };
}

/**
 * The fleetscope collector's config. The push path exists in this tree and
 * its config is the collector's real schema. For scrape scenarios this writes
 * the shape of the collector branch's scrape and pre-aggregation work as of
 * its commit f4203c7 (Prometheus's `scrape_configs` with `tenant` on the job
 * and `site` on each target group; `aggregate` rules in the pipeline, named
 * like vmagent's stream aggregation): ALIGN AFTER MERGING if that shape moved.
 * The harness runs `collector --check-config` first and reports "not run"
 * with the collector's own reason when it refuses the file.
 */
export function fleetscopePlan(input: ContenderInput): LaunchPlan {
  const { scenario, dir } = input;
  const pipeline: Record<string, unknown> = {
    ...(scenario.filter !== undefined ? { filter: scenario.filter } : {}),
    series_limit_per_site: Math.max(1, Math.ceil(input.seriesPerSite * 1.5)),
  };
  const config: Record<string, unknown> = {
    listen: `127.0.0.1:${input.port}`,
    queue: { dir: join(dir, 'queue') },
    tenants: { bench: { pipeline } },
    remote_write: [{ url: input.sinkUrl }],
  };
  const notes: string[] = [];
  if (scenario.mode === 'push') {
    config.sites = Array.from({ length: input.sites }, (_, i) => ({ token: siteToken(i), tenant: 'bench', site: siteName(i) }));
    notes.push('adds the identity labels `tenant` and `site` to every series (the peers forward labels as pushed)');
  } else {
    const host = new URL(input.simUrl).host;
    // One job per site: the path differs per site, and a job has one metrics_path.
    config.scrape_configs = Array.from({ length: input.sites }, (_, i) => ({
      job_name: `site-${i}`,
      tenant: 'bench',
      scrape_interval: seconds(input.intervalMs),
      scrape_timeout: seconds(input.intervalMs),
      metrics_path: `/site/${i}/metrics`,
      honor_labels: true,
      honor_timestamps: true,
      static_configs: [{ targets: [host], site: siteName(i) }],
    }));
    if (scenario.aggregation !== undefined && scenario.aggregation.length > 0) {
      pipeline.aggregate = scenario.aggregation.map((a) => ({
        match: `${a.family}_(bucket|sum|count)`,
        interval: seconds(input.intervalMs),
        without: [...a.without],
        outputs: ['total'],
      }));
      notes.push('pre-aggregates the histogram: its output series are counted (series out per site), and only the series it does not aggregate are checked sample for sample');
    }
    notes.push('adds the identity label `tenant` to every series');
  }
  const file = join(dir, 'collector.yml');
  const bin = join(input.fleetscopeRoot ?? input.root, 'bin', 'fleetscope.js');
  const base = `http://127.0.0.1:${input.port}`;
  return {
    command: process.execPath,
    args: [bin, 'collector', '--config', file],
    files: { [file]: dump(config) },
    readyUrl: `${base}/-/ready`,
    pushUrl: `${base}/api/v1/write`,
    check: { command: process.execPath, args: [bin, 'collector', '--check-config', file] },
    notes,
  };
}
