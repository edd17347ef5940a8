// `fleetscope demo`: the main job on embedded defaults, no external service.
// At this stage: one simulated edge site's exposition through the edge
// filter and relabel rules, reporting what was kept, what was dropped and
// why, and what it would cost on the wire. It grows as the collector lands.
import { readFile } from 'node:fs/promises';
import yaml from 'js-yaml';
import { z } from 'zod';
import { type Labels, MetricFilter, RelabelError, Relabeler, getLabel } from '../relabel/index.js';
import { RemoteWriteBatch, WireError, encodeLabels, formatSeries, parseExposition, snappyCompress } from '../wire/index.js';
import { DEFAULT_SITE, generateSite } from '../bench/index.js';
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parseOptions } from './command.js';
import { runPushDemo } from './demo-push.js';

/** The embedded edge configuration: what an RE keeps of a CE's ~50,000 series. */
export const DEMO_CONFIG = {
  filter: {
    allow: {
      names: [
        'node_cpu_seconds_total', 'node_memory_MemAvailable_bytes', 'node_filesystem_avail_bytes', 'node_load1',
        'kube_pod_status_phase', 'kube_pod_container_status_restarts_total', 'kube_deployment_status_replicas_available',
        'kube_node_status_condition', 'up_site_tunnel_state', 'apiserver_request_total',
        'apiserver_request_duration_seconds_bucket', 'apiserver_request_duration_seconds_sum', 'apiserver_request_duration_seconds_count',
        'etcd_disk_wal_fsync_duration_seconds_bucket', 'coredns_dns_requests_total', 'container_memory_working_set_bytes',
      ],
      prefixes: [],
      regexes: [],
    },
    deny: { names: [], prefixes: ['go_', 'promhttp_'], regexes: [] },
    // Only labels that are constant per pod: dropping one that tells series apart would merge them
    // (and Cortex would refuse the duplicates). Cutting identifying labels is aggregation's job.
    label_deny: ['uid', 'image', 'endpoint', 'app_kubernetes_io_version'],
  },
  relabel_configs: [
    { source_labels: ['pod'], regex: '(.+)-[a-z0-9]+-[a-z0-9]+', target_label: 'workload' },
    { source_labels: ['__name__', 'le'], regex: 'apiserver_request_duration_seconds_bucket;(0\\.005|0\\.025|0\\.1|0\\.5|2\\.5|10|60)', action: 'drop' },
    { source_labels: ['__name__', 'mode'], regex: 'node_cpu_seconds_total;(irq|softirq|steal|nice)', action: 'drop' },
  ],
};

const configSchema = z
  .object({
    filter: z.unknown().optional(),
    relabel_configs: z.array(z.unknown()).default([]),
  })
  .strict();

const help = `Usage: fleetscope demo [options]

Runs simulated edge sites (deterministic from a seed) through fleetscope on
embedded defaults, needing no external service. First one site's exposition
through the edge pipeline: what came in, what was kept, what was dropped and
why, and what each costs in remote-write bytes. Then the collector: sites
push remote-write to a real collector (durable queue in a temporary
directory) and other sites are scraped by it; it cuts their series down,
pre-aggregates the scraped sites' latency histogram, marks the scraped series
stale when those targets leave, and delivers to a remote-write receiver; the
demo prints what came in, was kept, dropped (and why) and aggregated, what
went to the receiver, and checks that everything kept arrived.

Options:
  --sites N        simulated sites that push through the collector (default 2; 0 skips the collector)
  --scraped N      simulated sites the collector scrapes (default 2; their apiserver latency
                   histogram is pre-aggregated per site, code and method)
  --series N       series each simulated site exposes (default ${DEFAULT_SITE.series})
  --seed N         simulator seed (default ${DEFAULT_SITE.seed})
  --config FILE    pipeline config (YAML: filter, relabel_configs) instead of the embedded one
  --print-config   print the embedded config as YAML and exit
  --show N         also print the first N kept series as exposition text
  --remote-write URL  deliver the push path to this remote-write receiver (e.g. Cortex's
                   /api/v1/push) instead of the in-process stand-in
  -h, --help       this help
`;

function count(map: Map<string, number>, key: string, n = 1): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

const fmt = (n: number): string => n.toLocaleString('en-US');
const pct = (a: number, b: number): string => (b === 0 ? '0.0%' : `${((100 * a) / b).toFixed(1)}%`);

function top(map: Map<string, number>, n: number, indent: string): string {
  return [...map]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([k, v]) => `${indent}${k.padEnd(48)} ${fmt(v).padStart(8)}`)
    .join('\n');
}

function remoteWriteBytes(series: readonly { labels: Labels; value: number }[], timestamp: number): { raw: number; snappy: number } {
  const batch = new RemoteWriteBatch();
  for (const s of series) batch.add(encodeLabels(s.labels), s.value, timestamp);
  const body = batch.finish();
  return { raw: body.length, snappy: snappyCompress(body).length };
}

export const demoCommand: Command = {
  name: 'demo',
  help,
  async run(args, io) {
    const opts = parseOptions('demo', help, args, {
      series: { type: 'string' },
      seed: { type: 'string' },
      config: { type: 'string' },
      'print-config': { type: 'boolean' },
      show: { type: 'string' },
      sites: { type: 'string' },
      scraped: { type: 'string' },
      'remote-write': { type: 'string' },
    }, io);
    if (opts === null) return EXIT_USAGE;
    const int = (name: string, v: string | undefined, dflt: number, max: number): number => {
      if (v === undefined) return dflt;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`--${name} must be a whole number from 0 to ${max}, got "${v}"`);
      return n;
    };
    let seriesCount: number;
    let seed: number;
    let show: number;
    let sites: number;
    let scraped: number;
    try {
      sites = int('sites', opts.sites, 2, 1000);
      scraped = int('scraped', opts.scraped, 2, 100);
      seriesCount = int('series', opts.series, DEFAULT_SITE.series, 2_000_000);
      seed = int('seed', opts.seed, DEFAULT_SITE.seed, 2 ** 32 - 1);
      show = int('show', opts.show, 0, 1_000_000);
    } catch (err) {
      io.stderr.write(`fleetscope demo: ${(err as Error).message}\n`);
      return EXIT_USAGE;
    }
    if (opts['print-config']) {
      io.stdout.write(yaml.dump(DEMO_CONFIG, { lineWidth: 120 }));
      return EXIT_OK;
    }

    let filter: MetricFilter;
    let relabeler: Relabeler;
    let pipelineConfig: { filter?: unknown; relabel_configs?: unknown[] } = DEMO_CONFIG;
    const source = opts.config ?? 'embedded defaults';
    try {
      const raw: unknown = opts.config ? yaml.load(await readFile(opts.config, 'utf8'), { filename: opts.config }) : DEMO_CONFIG;
      const parsed = configSchema.safeParse(raw ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(`${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
      }
      filter = MetricFilter.compile(parsed.data.filter ?? {});
      relabeler = Relabeler.compile(parsed.data.relabel_configs);
      pipelineConfig = { filter: parsed.data.filter ?? {}, relabel_configs: parsed.data.relabel_configs };
    } catch (err) {
      const reason = err instanceof RelabelError ? err.message : (err as Error).message;
      io.stderr.write(`fleetscope demo: ${source}: ${reason}\n`);
      return EXIT_USAGE;
    }

    const out: string[] = [];
    const site = generateSite({ ...DEFAULT_SITE, series: seriesCount, seed });
    let text = '';
    for (const f of site.families) text += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
    const timestamp = Date.UTC(2026, 0, 1);
    for (const s of site.series) text += formatSeries(s.labels, s.value) + '\n';

    const t0 = performance.now();
    let parsed;
    try {
      parsed = parseExposition(text, { format: 'prometheus' });
    } catch (err) {
      io.stderr.write(`fleetscope demo: the simulated exposition did not parse: ${err instanceof WireError ? err.message : String(err)}\n`);
      return EXIT_FAILURE;
    }
    const t1 = performance.now();

    const dropped = new Map<string, number>();
    const keptFamilies = new Map<string, number>();
    const droppedFamilies = new Map<string, number>();
    const removedLabels = new Map<string, number>();
    const kept: { labels: Labels; value: number }[] = [];
    const distinct = new Set<string>();
    let labelsIn = 0;
    let labelsOut = 0;
    for (const s of parsed.series) {
      const name = getLabel(s.labels, '__name__');
      labelsIn += s.labels.length / 2;
      const filtered = filter.apply(s.labels);
      const out = filtered === null ? null : relabeler.process(filtered);
      if (out === null) {
        count(dropped, filtered === null ? filter.dropReason : relabeler.dropReason);
        count(droppedFamilies, name);
        continue;
      }
      count(keptFamilies, name);
      labelsOut += out.length / 2;
      for (let i = 0; i < s.labels.length; i += 2) {
        const ln = s.labels[i] as string;
        if (getLabel(out, ln) === '') count(removedLabels, ln);
      }
      kept.push({ labels: out, value: s.value });
      distinct.add(out.join('\u0000'));
    }
    const t2 = performance.now();
    const all = remoteWriteBytes(parsed.series, timestamp);
    const cut = remoteWriteBytes(kept, timestamp);

    const n = parsed.series.length;
    out.push(
      'fleetscope demo: one simulated edge site through the edge pipeline',
      '',
      `site ${DEFAULT_SITE.site} (seed ${seed}): ${fmt(n)} series, ${(labelsIn / Math.max(n, 1)).toFixed(1)} labels each on average, ${(text.length / 2 ** 20).toFixed(1)} MiB of exposition text`,
      `config: ${source}; ${relabeler.length} relabel rules after the filter`,
      `parsed in ${(t1 - t0).toFixed(0)} ms, filtered and relabeled in ${(t2 - t1).toFixed(0)} ms (one cold run; steady-state figures are in bench/README.md)`,
      '',
      `kept     ${fmt(kept.length).padStart(8)} series  ${pct(kept.length, n).padStart(6)}   ${(labelsOut / Math.max(kept.length, 1)).toFixed(1)} labels each`,
      `dropped  ${fmt(n - kept.length).padStart(8)} series  ${pct(n - kept.length, n).padStart(6)}`,
      ...(distinct.size < kept.length ? [`WARNING: the rules merge ${fmt(kept.length - distinct.size)} kept series into others (same labels); a receiver would refuse their samples as duplicates`] : []),
      top(dropped, 10, '  by '),
      '',
      `remote-write per scrape: ${fmt(all.snappy)} bytes for everything (${fmt(all.raw)} before snappy)`,
      `                         ${fmt(cut.snappy)} bytes for what is kept (${fmt(cut.raw)} before snappy), ${pct(cut.snappy, all.snappy)} of it`,
      '',
      'labels removed from kept series:',
      top(removedLabels, 8, '  '),
      '',
      'kept, by metric:',
      top(keptFamilies, 10, '  '),
      '',
      'dropped, largest metrics:',
      top(droppedFamilies, 10, '  '),
      '',
    );
    if (show > 0) {
      out.push(`first ${Math.min(show, kept.length)} kept series:`);
      for (const s of kept.slice(0, show)) out.push(formatSeries(s.labels, s.value));
      out.push('');
    }
    io.stdout.write(out.join('\n'));
    if (sites > 0) {
      io.stdout.write('\n');
      try {
        const lines = await runPushDemo({ sites, scrapedSites: scraped, seriesPerSite: seriesCount, seed, pipeline: pipelineConfig, remoteWrite: opts['remote-write'] });
        io.stdout.write(lines.join('\n'));
      } catch (err) {
        io.stderr.write(`fleetscope demo: the collector path failed: ${(err as Error).message}\n`);
        return EXIT_FAILURE;
      }
    }
    return EXIT_OK;
  },
};
