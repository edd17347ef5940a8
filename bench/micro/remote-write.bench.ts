// wire/ remote-write: encode+compress and decode, per sample, batches of 2000.
// The native `snappy` package (napi-rs) is measured when it is installed
// (`npm install --no-save snappy`); it is not a dependency.
import { createRequire } from 'node:module';
import { uncompress as snappyjsUncompress } from 'snappyjs';
import {
  RemoteWriteBatch,
  RemoteWriteReader,
  RemoteWriteSnappyBatch,
  decodeRemoteWriteBody,
  decodeWriteRequestReference,
  encodeLabels,
  encodeWriteRequestReference,
  snappyCompress,
  snappyUncompress,
} from '../../wire/index.js';
import { DEFAULT_SITE, generateSite } from '../sim/site.js';
import { measure, type BenchResult } from './measure.js';
import { benchWireDecode } from './wire-decode.bench.js';

const BATCH = 2000;

interface NativeSnappy {
  compressSync(input: Uint8Array): Buffer;
  uncompressSync(input: Uint8Array, options: { asBuffer: true }): Buffer;
}

function nativeSnappy(): NativeSnappy | undefined {
  try {
    return createRequire(import.meta.url)('snappy') as NativeSnappy;
  } catch {
    return undefined;
  }
}

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
  const rawBytes = rawBodies.reduce((n, b) => n + b.length, 0);
  const compression = (compressedBodies.reduce((n, b) => n + b.length, 0) / rawBytes).toFixed(3);
  const snappyBatch = new RemoteWriteSnappyBatch();
  const snappyBatchNoDiff = new RemoteWriteSnappyBatch({ diffNewValues: false });
  /** The next batch straight into a snappy block, from cached label bytes. */
  const encodeSnappy = (b: RemoteWriteSnappyBatch): Buffer => {
    const i = bi++ % batches.length;
    const values = batches[i] as { value: number }[];
    const c = cached[i] as Buffer[];
    b.reset();
    for (let j = 0; j < values.length; j++) b.add(c[j] as Buffer, (values[j] as { value: number }).value, ts);
    return b.finish();
  };
  const ratio = (b: RemoteWriteSnappyBatch): string => {
    let out = 0;
    for (let i = 0; i < batches.length; i++) out += encodeSnappy(b).length;
    return (out / rawBytes).toFixed(3);
  };
  const labelAwareNote = `${note}; ratio ${ratio(snappyBatch)} (snappyjs ${compression})`;
  const labelAwareNoDiffNote = `${note}; ratio ${ratio(snappyBatchNoDiff)}`;
  const native = nativeSnappy();
  const nativeResults: BenchResult[] = [];
  if (native) {
    const nativeRatio = (rawBodies.reduce((n, b) => n + native.compressSync(b).length, 0) / rawBytes).toFixed(3);
    const nativeBodies = rawBodies.map((b) => native.compressSync(b));
    nativeResults.push(
      measure('remote-write: encode+compress, cached label bytes, native snappy (not a dependency)', BATCH, () => native.compressSync(encodeCached().finish()).length, `${note}; ratio ${nativeRatio}`),
      measure('remote-write: snappy decompress only, native snappy', BATCH, () => native.uncompressSync(nativeBodies[bi++ % nativeBodies.length] as Buffer, { asBuffer: true }).length, note),
    );
  }
  return [
    measure('remote-write: encode+compress, labels encoded cold', BATCH, () => {
      const b = batches[bi++ % batches.length] as { labels: readonly string[]; value: number }[];
      batch.reset();
      for (const s of b) batch.add(encodeLabels(s.labels), s.value, ts);
      return batch.finishCompressed().length;
    }, note),
    measure('remote-write: encode+compress, cached label bytes', BATCH, () => encodeCached().finishCompressed().length, `${note}; snappy ratio ${compression}`),
    measure('remote-write: encode+compress, cached label bytes, label-aware snappy', BATCH, () => encodeSnappy(snappyBatch).length, labelAwareNote),
    measure('remote-write: encode+compress, cached label bytes, label-aware snappy, no diff', BATCH, () => encodeSnappy(snappyBatchNoDiff).length, labelAwareNoDiffNote),
    measure('remote-write: encode+compress, labels encoded cold, label-aware snappy', BATCH, () => {
      const b = batches[bi++ % batches.length] as { labels: readonly string[]; value: number }[];
      snappyBatch.reset();
      for (const s of b) snappyBatch.add(encodeLabels(s.labels), s.value, ts);
      return snappyBatch.finish().length;
    }, note),
    ...nativeResults,
    measure('remote-write: encode only, cached label bytes', BATCH, () => encodeCached().byteLength, note),
    measure('remote-write: snappy compress only (snappyjs)', BATCH, () => snappyCompress(rawBodies[bi++ % rawBodies.length] as Buffer).length, note),
    measure('remote-write: snappy decompress only (ours, strict)', BATCH, () => snappyUncompress(compressedBodies[bi++ % compressedBodies.length] as Buffer).length, note),
    measure('remote-write: snappy decompress only (snappyjs)', BATCH, () => snappyjsUncompress(compressedBodies[bi++ % compressedBodies.length] as Buffer).length, note),
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
    measure('remote-write: reference decode (snappyjs + protobufjs)', BATCH, () => decodeWriteRequestReference(snappyjsUncompress(compressedBodies[bi++ % compressedBodies.length] as Buffer)).timeseries.length, note, 500),
    // The receive hot path per series on the push bench's bodies, in CPU time.
    ...benchWireDecode(3),
  ];
}
