// The collector half of `fleetscope demo`: simulated sites push remote-write
// to a real collector (in this process, with its durable queue in a
// temporary directory), and other simulated sites are scraped by it; it cuts
// their series down (allowlist, label denylist, relabel rules, a
// pre-aggregated histogram for the scraped ones) and delivers them to a
// remote-write receiver: an in-process stand-in for Cortex that decodes and
// counts what arrives, or a real one given with --remote-write.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Collector, validateCollectorConfig } from '../collector/index.js';
import { DEFAULT_SITE, generateSite } from '../bench/index.js';
import { REMOTE_WRITE_HEADERS, RemoteWriteBatch, RemoteWriteReader, encodeLabels, formatSeries, isStaleNaN, snappyUncompress } from '../wire/index.js';

export interface PushDemoOptions {
  readonly sites: number;
  /** Simulated sites the collector scrapes (their exposition served in process). */
  readonly scrapedSites?: number;
  readonly seriesPerSite: number;
  readonly seed: number;
  readonly pipeline: { filter?: unknown; relabel_configs?: unknown[] };
  /** A real remote-write receiver; the in-process stand-in when undefined. */
  readonly remoteWrite: string | undefined;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const BATCH = 2000;

interface Receiver {
  readonly url: string;
  samples: number;
  bytes: number;
  readonly series: Set<string>;
  readonly tenants: Set<string>;
  /** Samples per site label ('' for series without one: aggregates across sites). */
  readonly bySite: Map<string, number>;
  /** Samples per metric name. */
  readonly byName: Map<string, number>;
  stale: number;
  close(): Promise<void>;
}

/** A remote-write receiver that decodes, checks and counts what it gets. */
async function startReceiver(): Promise<Receiver> {
  const r = { samples: 0, bytes: 0, stale: 0, series: new Set<string>(), tenants: new Set<string>(), bySite: new Map<string, number>(), byName: new Map<string, number>() };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = Buffer.concat(chunks);
        const reader = new RemoteWriteReader(snappyUncompress(body));
        while (reader.next()) {
          r.series.add(reader.labelsKey());
          const n = reader.sampleCount();
          r.samples += n;
          const labels = reader.labels();
          const site = labels[labels.indexOf('site') + 1] ?? '';
          const name = labels[labels.indexOf('__name__') + 1] ?? '';
          r.bySite.set(labels.includes('site') ? site : '', (r.bySite.get(labels.includes('site') ? site : '') ?? 0) + n);
          r.byName.set(name, (r.byName.get(name) ?? 0) + n);
          for (let i = 0; i < n; i++) if (isStaleNaN(reader.sampleValue(i))) r.stale++;
        }
        r.bytes += body.length;
        r.tenants.add(String(req.headers['x-scope-orgid']));
        res.writeHead(204).end();
      } catch (err) {
        res.writeHead(400).end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(r, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

async function sum(collector: Collector, name: string, by?: string): Promise<Map<string, number>> {
  const metric = collector.metrics.registry.getSingleMetric(name);
  const out = new Map<string, number>();
  if (!metric) return out;
  for (const v of (await metric.get()).values) {
    const key = by === undefined ? '' : String(v.labels[by] ?? '');
    out.set(key, (out.get(key) ?? 0) + v.value);
  }
  return out;
}

const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
const siteName = (i: number): string => `ce-${String(i + 1).padStart(4, '0')}`;
/** The histogram the scraped sites' group pre-aggregates: per site, code and method, le kept. */
const HISTOGRAM = 'apiserver_request_duration_seconds';

/** Serves each scraped site's exposition at /sites/<site>/metrics; its values move on with every scrape. */
async function startExporters(sites: { site: string; series: { labels: readonly string[]; value: number }[] }[]): Promise<{ address: string; scrapes: Map<string, number>; close(): Promise<void> }> {
  const scrapes = new Map<string, number>();
  const bySite = new Map(sites.map((s) => [s.site, s.series]));
  const server = createServer((req, res) => {
    const m = /^\/sites\/([^/]+)\/metrics$/.exec(req.url ?? '');
    const series = m ? bySite.get(m[1] as string) : undefined;
    if (!m || !series) return void res.writeHead(404).end();
    const n = (scrapes.get(m[1] as string) ?? 0) + 1;
    scrapes.set(m[1] as string, n);
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(series.map((s) => formatSeries(s.labels, s.value + n)).join('\n') + '\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, scrapes, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Runs the push and scrape demo and returns the lines of its report. */
export async function runPushDemo(opts: PushDemoOptions): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-demo-'));
  const receiver = opts.remoteWrite === undefined ? await startReceiver() : undefined;
  const scrapedCount = opts.scrapedSites ?? 0;
  const tokens = Array.from({ length: opts.sites }, (_, i) => `demo-site-token-${String(i).padStart(6, '0')}`);
  const scraped = Array.from({ length: scrapedCount }, (_, i) => {
    const site = siteName(1000 + i);
    return { site, series: generateSite({ ...DEFAULT_SITE, site, seed: opts.seed + 1000 + i, series: opts.seriesPerSite }).series };
  });
  const exporters = scrapedCount > 0 ? await startExporters(scraped) : undefined;
  const limit = Math.max(opts.seriesPerSite, 1);
  const loaded = validateCollectorConfig({
    external_labels: { re: 'demo-re' },
    queue: { dir: join(dir, 'queue') },
    sites: tokens.map((token, i) => ({ token, tenant: 'acme', site: siteName(i) })),
    tenants: {
      acme: {
        pipeline: { ...opts.pipeline, series_limit_per_site: limit },
        groups: {
          scraped: {
            aggregate: [{ match: `${HISTOGRAM}_(bucket|sum|count)`, interval: '2s', max_delay: '1s', by: ['code', 'method', 'site'], outputs: ['total'] }],
          },
        },
      },
    },
    scrape_configs: scrapedCount === 0 ? [] : [{
      job_name: 'edge-sites',
      tenant: 'acme',
      scrape_interval: '1s',
      scrape_timeout: '1s',
      static_configs: scraped.map((s) => ({ targets: [(exporters as { address: string }).address], site: s.site, group: 'scraped', labels: { __metrics_path__: `/sites/${s.site}/metrics` } })),
    }],
    remote_write: [{ url: opts.remoteWrite ?? (receiver as Receiver).url, batch_send_deadline: '200ms' }],
  }, 'embedded demo config');
  const collector = await Collector.start(loaded, { listen: '127.0.0.1:0', logger: pino({ level: 'warn' }) });
  const lines: string[] = [];
  const pushSites = new Set(tokens.map((_, i) => siteName(i)));
  try {
    // Each site's series, encoded once, as an agent would cache them.
    const sites = tokens.map((_, i) => generateSite({ ...DEFAULT_SITE, site: siteName(i), seed: opts.seed + i, series: opts.seriesPerSite }).series.map((s) => ({ labels: encodeLabels(s.labels), value: s.value })));
    const pushed = { samples: 0, bytes: 0 };
    const rounds: string[] = [];
    const now = Date.now();
    for (const [round, label] of [[0, 'new series'], [1, 'known series']] as const) {
      const start = performance.now();
      const ts = now - (1 - round) * 15_000;
      let samples = 0;
      await Promise.all(sites.map(async (series, i) => {
        for (let k = 0; k < series.length; k += BATCH) {
          const batch = new RemoteWriteBatch();
          for (const s of series.slice(k, k + BATCH)) batch.add(s.labels, s.value + round, ts);
          const body = batch.finishCompressed();
          const res = await fetch(`${collector.url}/api/v1/write`, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, Authorization: `Bearer ${tokens[i]}` }, body });
          if (res.status !== 204) throw new Error(`the collector answered ${res.status}: ${await res.text()}`);
          samples += batch.sampleCount;
          pushed.bytes += body.length;
        }
      }));
      const secs = (performance.now() - start) / 1000;
      pushed.samples += samples;
      rounds.push(`  scrape ${round + 1} (${label}): ${fmt(samples)} samples pushed and acknowledged in ${secs.toFixed(2)} s (sites and collector share this process: not a benchmark)`);
    }
    const received = await sum(collector, 'fleetscope_collector_samples_received_total', 'site');
    const droppedBySite = await sum(collector, 'fleetscope_collector_samples_dropped_total', 'site');
    const pushedIn = [...received].filter(([s]) => pushSites.has(s)).reduce((a, [, n]) => a + n, 0);
    const pushedDropped = [...droppedBySite].filter(([s]) => pushSites.has(s)).reduce((a, [, n]) => a + n, 0);
    const kept = pushedIn - pushedDropped;
    const droppedPush = new Map<string, number>();
    for (const v of (await collector.metrics.registry.getSingleMetric('fleetscope_collector_samples_dropped_total')?.get())?.values ?? []) {
      if (pushSites.has(String(v.labels.site))) droppedPush.set(String(v.labels.reason), (droppedPush.get(String(v.labels.reason)) ?? 0) + v.value);
    }

    // The scraped sites: three good scrapes each, then they are taken out of the config, which marks their series stale.
    let scrapeLines: string[] = [];
    if (exporters) {
      const deadline = Date.now() + 60_000;
      const ok = async (): Promise<number> => total(await sum(collector, 'fleetscope_collector_scrapes_total', 'result').then((m) => new Map([...m].filter(([r]) => r === 'ok'))));
      while ((await ok()) < 3 * scrapedCount && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const before = await sum(collector, 'fleetscope_collector_samples_received_total', 'site');
      const dropBefore = await collector.metrics.registry.getSingleMetric('fleetscope_collector_samples_dropped_total')?.get();
      await collector.scraper.apply([], new Set(['acme']));
      // The last aggregation windows close 2 s + 1 s after their samples.
      await new Promise((r) => setTimeout(r, 3500));
      const scrapedIn = [...before].filter(([s]) => !pushSites.has(s)).reduce((a, [, n]) => a + n, 0);
      const scrapedDrop = new Map<string, number>();
      for (const v of dropBefore?.values ?? []) if (!pushSites.has(String(v.labels.site))) scrapedDrop.set(String(v.labels.reason), (scrapedDrop.get(String(v.labels.reason)) ?? 0) + v.value);
      const aggregated = total(await sum(collector, 'fleetscope_collector_samples_aggregated_total'));
      const outputs = total(await sum(collector, 'fleetscope_collector_aggregation_output_samples_total'));
      scrapeLines = [
        `scrape path: the collector scraped ${scrapedCount} simulated sites (${fmt(total(new Map(exporters.scrapes)))} scrapes, every 1 s), then they left the config`,
        `  came in: ${fmt(scrapedIn)} samples; dropped ${[...scrapedDrop].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${fmt(n)} ${r}`).join(', ') || 'none'}`,
        `  pre-aggregated: ${fmt(aggregated)} samples of ${HISTOGRAM}_{bucket,sum,count} became ${fmt(outputs)} samples of ${HISTOGRAM}_bucket:2s_by_code_method_site_total (and _sum, _count), le kept per bucket`,
        `  plus up and scrape_* per target, and stale markers for every series when the targets went away`,
      ];
    }
    // Wait for the sender to deliver everything that was acknowledged.
    const deadline = Date.now() + 60_000;
    let delivered = 0;
    let last = -1;
    let steadySince = Date.now();
    while (Date.now() < deadline) {
      delivered = total(await sum(collector, 'fleetscope_collector_samples_sent_total'));
      const pending = total(await sum(collector, 'fleetscope_collector_queue_pending_records'));
      if (delivered !== last) steadySince = Date.now();
      last = delivered;
      if (delivered >= kept && pending === 0 && Date.now() - steadySince > 1500) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    lines.push(
      `push path: ${opts.sites} simulated sites push remote-write to a fleetscope collector, which delivers to ${opts.remoteWrite ?? 'an in-process remote-write receiver standing in for Cortex'}`,
      ...rounds,
      `  the collector kept ${fmt(kept)} of ${fmt(pushed.samples)} samples; dropped ${[...droppedPush].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${fmt(n)} ${r}`).join(', ') || 'none'}`,
      `  ${fmt(pushed.bytes)} bytes came in from sites; each push acknowledged only once durable on disk`,
      ...scrapeLines,
      `what goes to Cortex: ${fmt(delivered)} samples delivered`,
    );
    if (receiver) {
      const pushedGot = [...receiver.bySite].filter(([s]) => pushSites.has(s)).reduce((a, [, n]) => a + n, 0);
      const exact = pushedGot === kept ? 'exactly what was kept' : `expected ${fmt(kept)}`;
      const aggregates = [...receiver.byName].filter(([n]) => n.includes(':')).reduce((a, [, n]) => a + n, 0);
      lines.push(
        `  the receiver decoded ${fmt(pushedGot)} samples (${exact}) from the pushing sites; ${fmt(receiver.samples)} in all (${fmt(aggregates)} aggregates, ${fmt(receiver.stale)} stale markers) of ${fmt(receiver.series.size)} series for tenant ${[...receiver.tenants].join(', ')}, in ${fmt(receiver.bytes)} bytes: ${(receiver.bytes / Math.max(receiver.samples, 1)).toFixed(1)} bytes per sample`,
      );
      if (pushedGot !== kept) throw new Error(`the receiver got ${pushedGot} samples of the pushing sites, the collector kept ${kept}`);
      if (receiver.samples !== delivered) throw new Error(`the receiver got ${receiver.samples} samples, the collector says it delivered ${delivered}`);
      if (scrapedCount > 0 && aggregates === 0) throw new Error('no aggregate arrived');
    }
    lines.push('');
    return lines;
  } finally {
    await collector.stop();
    await receiver?.close();
    await exporters?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
