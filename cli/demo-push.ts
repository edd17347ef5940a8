// The push half of `fleetscope demo`: simulated sites push remote-write to a
// real collector (in this process, with its durable queue in a temporary
// directory), which cuts their series down and delivers them to a
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
import { REMOTE_WRITE_HEADERS, RemoteWriteBatch, RemoteWriteReader, encodeLabels, snappyUncompress } from '../wire/index.js';

export interface PushDemoOptions {
  readonly sites: number;
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
  close(): Promise<void>;
}

/** A remote-write receiver that decodes, checks and counts what it gets. */
async function startReceiver(): Promise<Receiver> {
  const r = { samples: 0, bytes: 0, series: new Set<string>(), tenants: new Set<string>() };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = Buffer.concat(chunks);
        const reader = new RemoteWriteReader(snappyUncompress(body));
        while (reader.next()) {
          r.series.add(reader.labelsKey());
          r.samples += reader.sampleCount();
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

/** Runs the push demo and returns the lines of its report. */
export async function runPushDemo(opts: PushDemoOptions): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-demo-'));
  const receiver = opts.remoteWrite === undefined ? await startReceiver() : undefined;
  const tokens = Array.from({ length: opts.sites }, (_, i) => `demo-site-token-${String(i).padStart(6, '0')}`);
  const loaded = validateCollectorConfig({
    external_labels: { re: 'demo-re' },
    queue: { dir: join(dir, 'queue') },
    sites: tokens.map((token, i) => ({ token, tenant: 'acme', site: `ce-${String(i + 1).padStart(4, '0')}` })),
    tenants: { acme: { pipeline: { ...opts.pipeline, series_limit_per_site: Math.max(opts.seriesPerSite, 1) } } },
    remote_write: [{ url: opts.remoteWrite ?? (receiver as Receiver).url }],
  }, 'embedded demo config');
  const collector = await Collector.start(loaded, { listen: '127.0.0.1:0', logger: pino({ level: 'warn' }) });
  const lines: string[] = [];
  try {
    // Each site's series, encoded once, as an agent would cache them.
    const sites = tokens.map((_, i) => generateSite({ ...DEFAULT_SITE, site: `ce-${String(i + 1).padStart(4, '0')}`, seed: opts.seed + i, series: opts.seriesPerSite }).series.map((s) => ({ labels: encodeLabels(s.labels), value: s.value })));
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
    const kept = [...(await sum(collector, 'fleetscope_collector_samples_received_total')).values()].reduce((a, b) => a + b, 0)
      - [...(await sum(collector, 'fleetscope_collector_samples_dropped_total')).values()].reduce((a, b) => a + b, 0);
    // Wait for the sender to deliver everything that was acknowledged.
    const deadline = Date.now() + 60_000;
    let delivered = 0;
    while (Date.now() < deadline) {
      delivered = [...(await sum(collector, 'fleetscope_collector_samples_sent_total')).values()].reduce((a, b) => a + b, 0);
      if (delivered >= kept) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const dropped = await sum(collector, 'fleetscope_collector_samples_dropped_total', 'reason');
    lines.push(
      `push path: ${opts.sites} simulated sites push remote-write to a fleetscope collector, which delivers to ${opts.remoteWrite ?? 'an in-process remote-write receiver standing in for Cortex'}`,
      ...rounds,
      `  the collector kept ${fmt(kept)} of ${fmt(pushed.samples)} samples; dropped ${[...dropped].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${fmt(n)} ${r}`).join(', ') || 'none'}`,
      `  delivered ${fmt(delivered)} samples, each acknowledged only once durable on disk; ${fmt(pushed.bytes)} bytes came in from sites`,
    );
    if (receiver) {
      const exact = receiver.samples === kept ? 'exactly what was kept' : `expected ${fmt(kept)}`;
      lines.push(
        `  the receiver decoded ${fmt(receiver.samples)} samples (${exact}) of ${fmt(receiver.series.size)} series for tenant ${[...receiver.tenants].join(', ')}, in ${fmt(receiver.bytes)} bytes: ${(receiver.bytes / Math.max(receiver.samples, 1)).toFixed(1)} bytes per sample`,
      );
      if (receiver.samples !== kept) throw new Error(`the receiver got ${receiver.samples} samples, the collector kept ${kept}`);
    }
    lines.push('');
    return lines;
  } finally {
    await collector.stop();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

