// wire/ remote-write: encode+compress and decode, per sample, batches of 2000.
import {
  RemoteWriteBatch,
  RemoteWriteReader,
  decodeRemoteWriteBody,
  decodeWriteRequestReference,
  encodeLabels,
  encodeWriteRequestReference,
  snappyCompress,
  snappyUncompress,
} from '../../wire/index.js';
import { DEFAULT_SITE, generateSite } from '../sim/site.js';
import { measure, type BenchResult } from './measure.js';

const BATCH = 2000;

export function benchRemoteWrite(): BenchResult[] {
  const { series } = generateSite({ ...DEFAULT_SITE, series: 10_000 });
  const batches: { labels: readonly string[]; value: number }[][] = [];
  for (let i = 0; i + BATCH <= series.length; i += BATCH) batches.push(series.slice(i, i + BATCH).map((s) => ({ labels: s.labels, value: s.value })));
  const cached = batches.map((b) => b.map((s) => encodeLabels(s.labels)));
  const batch = new RemoteWriteBatch();
  const ts = 1700000000000;
  const labelBytes = cached.flat().reduce((n, b) => n + b.length, 0) / (batches.length * BATCH);
  const note = `${BATCH}-sample batches, ${labelBytes.toFixed(0)} label bytes per series`;
  let bi = 0;
  const compressedBodies = batches.map((b, i) => {
    batch.reset();
    b.forEach((s, j) => batch.add(cached[i]?.[j] as Buffer, s.value, ts));
    return Buffer.from(batch.finishCompressed());
  });
  const rawBodies = compressedBodies.map((c) => snappyUncompress(c));
  /** The next batch, encoded from cached label bytes. */
  const encodeCached = (): RemoteWriteBatch => {
    const i = bi++ % batches.length;
    const b = batches[i] as { value: number }[];
    const c = cached[i] as Buffer[];
    batch.reset();
    for (let j = 0; j < b.length; j++) batch.add(c[j] as Buffer, (b[j] as { value: number }).value, ts);
    return batch;
  };
  const compression = (compressedBodies.reduce((n, b) => n + b.length, 0) / rawBodies.reduce((n, b) => n + b.length, 0)).toFixed(2);
  return [
    measure('remote-write: encode+compress, labels encoded cold', BATCH, () => {
      const b = batches[bi++ % batches.length] as { labels: readonly string[]; value: number }[];
      batch.reset();
      for (const s of b) batch.add(encodeLabels(s.labels), s.value, ts);
      return batch.finishCompressed().length;
    }, note),
    measure('remote-write: encode+compress, cached label bytes', BATCH, () => encodeCached().finishCompressed().length, `${note}; snappy ratio ${compression}`),
    measure('remote-write: encode only, cached label bytes', BATCH, () => encodeCached().byteLength, note),
    measure('remote-write: snappy compress only (snappyjs)', BATCH, () => snappyCompress(rawBodies[bi++ % rawBodies.length] as Buffer).length, note),
    measure('remote-write: receive, series key + samples (snappy + protobuf)', BATCH, () => {
      const r = new RemoteWriteReader(snappyUncompress(compressedBodies[bi++ % compressedBodies.length] as Buffer));
      let n = 0;
      while (r.next()) n += r.labelsKey().length + r.sampleValue(0);
      return n;
    }, note),
    measure('remote-write: decode everything (snappy + protobuf + labels + validation)', BATCH, () => decodeRemoteWriteBody(compressedBodies[bi++ % compressedBodies.length] as Buffer).timeseries.length, note),
    measure('remote-write: reference encode (protobufjs) + snappyjs', BATCH, () => {
      const b = batches[bi++ % batches.length] as { labels: readonly string[]; value: number }[];
      return snappyCompress(encodeWriteRequestReference({ timeseries: b.map((s) => ({ labels: s.labels, samples: [{ value: s.value, timestamp: ts }] })) })).length;
    }, note, 500),
    measure('remote-write: reference decode (snappyjs + protobufjs)', BATCH, () => decodeWriteRequestReference(snappyUncompress(compressedBodies[bi++ % compressedBodies.length] as Buffer)).timeseries.length, note, 500),
  ];
}
