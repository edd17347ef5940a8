// wire/ receive hot path, per series: snappy decompression and
// RemoteWriteReader.next() over a whole body, on the bodies the collector's
// push bench sends (bench/sim/push-site.ts: 2000 series of 16
// Kubernetes-like labels, ~380 label bytes each), compressed two ways: by
// snappyjs (what the push bench and a generic sender send) and by
// RemoteWriteSnappyBatch (what our agent sends). Each number is the median of
// several runs. Standalone: `node dist/bench/micro/wire-decode.bench.js [runs]`.
import { uncompress as snappyjsUncompress } from 'snappyjs';
import { RemoteWriteBatch, RemoteWriteReader, RemoteWriteSnappyBatch, type SnappyScratch, encodeLabels, snappyUncompress } from '../../wire/index.js';
import { pushSiteLabels } from '../sim/push-site.js';
import type { BenchResult } from './measure.js';

const SERIES = 2000;
const SITES = 8;

/** The push bench's body (snappyjs-compressed) and the same series as our agent compresses them. */
export function siteBodies(site: number, ts: number): { snappyjs: Buffer; labelAware: Buffer } {
  const labels = pushSiteLabels(site, SERIES).map((l) => encodeLabels(l));
  const b = new RemoteWriteBatch(SERIES * 700);
  const s = new RemoteWriteSnappyBatch({ initialBytes: SERIES * 700 });
  for (let i = 0; i < SERIES; i++) {
    b.add(labels[i] as Buffer, i * 1.5, ts);
    s.add(labels[i] as Buffer, i * 1.5, ts);
  }
  return { snappyjs: Buffer.from(b.finishCompressed()), labelAware: Buffer.from(s.finish()) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

/**
 * ns of this thread's CPU time per op, `runs` runs of ~300 ms after a
 * warm-up: CPU time rather than wall time, because the machine is shared and
 * wall time counts the time another process holds the core. The median,
 * with the spread in the note.
 */
function medianOf(runs: number, name: string, ops: number, batch: () => unknown, note: string): BenchResult {
  let sink: unknown;
  for (const until = performance.now() + 200; performance.now() < until;) sink = batch();
  const ns: number[] = [];
  for (let i = 0; i < runs; i++) {
    let done = 0;
    const before = process.cpuUsage();
    const until = performance.now() + 300;
    do {
      sink = batch();
      done += ops;
    } while (performance.now() < until);
    const used = process.cpuUsage(before);
    ns.push(((used.user + used.system) * 1000) / done);
  }
  if (sink === Symbol.for('never')) console.log(sink);
  const lo = Math.min(...ns);
  const hi = Math.max(...ns);
  return { name, nsPerOp: median(ns), note: `${note}; CPU ns, median of ${runs} (${lo.toFixed(0)}..${hi.toFixed(0)})` };
}

export function benchWireDecode(runs = 7): BenchResult[] {
  const ts = 1700000000000;
  const bodies = Array.from({ length: SITES }, (_, i) => siteBodies(i, ts));
  const plain = bodies.map((b) => Buffer.from(snappyUncompress(b.snappyjs)));
  const scratch: SnappyScratch = { bytes: new Uint8Array(1024 * 1024) };
  const rawBytes = plain.reduce((n, b) => n + b.length, 0) / SITES;
  const sj = bodies.reduce((n, b) => n + b.snappyjs.length, 0) / SITES;
  const la = bodies.reduce((n, b) => n + b.labelAware.length, 0) / SITES;
  const note = `${SERIES} series/body, ${(rawBytes / SERIES).toFixed(0)} B/series raw`;
  let bi = 0;
  const read = (body: Buffer): number => {
    const r = new RemoteWriteReader(body, {}, { allowEmptyValues: true });
    let n = 0;
    // What the collector's pipeline asks of every series.
    while (r.next()) n += r.labelsEnd() - r.labelsStart() + r.sampleCount() + r.sampleValue(0) + r.sampleTimestamp(0);
    return n;
  };
  return [
    medianOf(runs, 'wire-decode: snappy decompress, snappyjs-compressed body (ours, scratch)', SERIES, () => snappyUncompress(bodies[bi++ % SITES]?.snappyjs as Buffer, undefined, scratch).length, `${note}, ${(sj / SERIES).toFixed(0)} B/series compressed`),
    medianOf(runs, 'wire-decode: snappy decompress, label-aware body (ours, scratch)', SERIES, () => snappyUncompress(bodies[bi++ % SITES]?.labelAware as Buffer, undefined, scratch).length, `${note}, ${(la / SERIES).toFixed(0)} B/series compressed`),
    medianOf(runs, 'wire-decode: snappy decompress, snappyjs-compressed body (snappyjs)', SERIES, () => snappyjsUncompress(bodies[bi++ % SITES]?.snappyjs as Buffer).length, note),
    medianOf(runs, 'wire-decode: RemoteWriteReader next() over a body', SERIES, () => read(plain[bi++ % SITES] as Buffer), note),
  ];
}

if (process.argv[1]?.endsWith('wire-decode.bench.js')) {
  const runs = Number(process.argv[2] ?? 7);
  for (const r of benchWireDecode(runs)) console.log(`${r.nsPerOp.toFixed(1).padStart(8)} ns/series  ${r.name}  [${r.note}]`);
}
