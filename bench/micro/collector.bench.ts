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
    for (const body of raw) p.process({ tenant: 't', site: 's' }, new RemoteWriteReader(body), Date.now());
    return p;
  };
  const id = { tenant: 't', site: 's' };
  const keepAll = run({});
  const allowlist = run({ allow: { prefixes: ['node_', 'kube_pod_', 'apiserver_request_total'] }, label_deny: ['uid', 'image'] });
  let i = 0;
  const note = `${BATCH}-sample requests of known series, ${series.length} series`;
  return [
    measure('collector: push pipeline, known series, keep all (decompress + read + cache + encode)', BATCH, () => keepAll.process(id, new RemoteWriteReader(snappyUncompress(bodies[i++ % bodies.length] as Buffer)), Date.now()).samplesOut, note),
    measure('collector: push pipeline, known series, allowlist keeps ~10%', BATCH, () => allowlist.process(id, new RemoteWriteReader(snappyUncompress(bodies[i++ % bodies.length] as Buffer)), Date.now()).samplesOut, note),
    measure('collector: of which snappy decompression', BATCH, () => snappyUncompress(bodies[i++ % bodies.length] as Buffer).length, note),
  ];
}
