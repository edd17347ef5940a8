// The collector's push pipeline per sample, in isolation (no HTTP, no
// client in the same process): snappy decompression, reading the request,
// the per-site series cache, and re-encoding what is kept.
import { validateCollectorConfig, PushPipeline } from '../../collector/index.js';
import { RemoteWriteBatch, RemoteWriteReader, encodeLabels, snappyUncompress } from '../../wire/index.js';
import { DEFAULT_SITE, generateSite } from '../sim/site.js';
import { measure, type BenchResult } from './measure.js';

const BATCH = 2000;

export function benchCollector(): BenchResult[] {
  const { series } = generateSite({ ...DEFAULT_SITE, series: 10_000 });
  const bodies: Buffer[] = [];
  for (let i = 0; i + BATCH <= series.length; i += BATCH) {
    const b = new RemoteWriteBatch();
    for (const s of series.slice(i, i + BATCH)) b.add(encodeLabels(s.labels), s.value, 1700000000000);
    bodies.push(Buffer.from(b.finishCompressed()));
  }
  const raw = bodies.map((b) => snappyUncompress(b));
  const run = (filter: unknown): PushPipeline => {
    const { pipelines } = validateCollectorConfig({
      sites: [{ token: 'bench-token-0000000000', tenant: 't', site: 's' }],
      tenants: { t: { pipeline: { filter, series_limit_per_site: 1_000_000 } } },
    }, 'bench');
    const p = new PushPipeline(pipelines, { re: 'bench' }, 600_000);
    raw.forEach((body, i) => p.process(ids[i] as { tenant: string; site: string }, new RemoteWriteReader(body), Date.now()));
    return p;
  };
  // One site per body: a site sends the same series in the same order every time.
  const ids = raw.map((_, i) => ({ tenant: 't', site: `s${i}` }));
  const keepAll = run({});
  const allowlist = run({ allow: { prefixes: ['node_', 'kube_pod_', 'apiserver_request_total'] }, label_deny: ['uid', 'image'] });
  let i = 0;
  const note = `${BATCH}-sample requests of known series, ${bodies.length} sites, ${series.length} series`;
  const push = (p: PushPipeline): number => {
    const k = i++ % bodies.length;
    return p.process(ids[k] as { tenant: string; site: string }, new RemoteWriteReader(snappyUncompress(bodies[k] as Buffer)), Date.now()).samplesOut;
  };
  // The same requests from one site in turn: no series is where it was last time (the CRC-32 lookup).
  const one = { tenant: 't', site: 'shuffled' };
  for (const body of raw) keepAll.process(one, new RemoteWriteReader(body), Date.now());
  return [
    measure('collector: push pipeline, known series, keep all (decompress + read + cache + encode + compress)', BATCH, () => push(keepAll), note),
    measure('collector: push pipeline, known series in other positions, keep all', BATCH, () => keepAll.process(one, new RemoteWriteReader(snappyUncompress(bodies[i++ % bodies.length] as Buffer)), Date.now()).samplesOut, note),
    measure('collector: push pipeline, known series, allowlist keeps ~10%', BATCH, () => push(allowlist), note),
    measure('collector: of which snappy decompression', BATCH, () => snappyUncompress(bodies[i++ % bodies.length] as Buffer).length, note),
  ];
}
