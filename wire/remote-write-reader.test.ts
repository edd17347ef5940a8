// RemoteWriteReader reads the common shapes of a series inline (a Label
// field with a one-byte length, a Sample of `0x09 <double> 0x10 <varint>`)
// and everything else through its general path. These tests hold it to the
// decoder it replaced, kept below as `legacyRead`: on every body, valid or
// not, the same series, spans and sample bits, or the same error code and
// message (byte offsets included).
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { test } from 'node:test';
import { WireError } from './errors.js';
import { ProtoReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './protobuf.js';
import { DEFAULT_REMOTE_WRITE_LIMITS, RemoteWriteBatch, RemoteWriteReader, type RemoteWriteLimits, STALE_NAN, encodeLabels, encodeWriteRequest } from './remote-write.js';
import { encodeWriteRequestReference } from './remote-write-reference.js';

// mulberry32 with a fixed seed: every run sees the same inputs.
let state = 1234;
const rand = (n: number): number => {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
};
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)] as T;

/** A double's exact bits, so NaN payloads compare too. */
function bits(v: number): string {
  const f = new Float64Array([v]);
  return new BigUint64Array(f.buffer)[0]?.toString(16) ?? '';
}

function doubleOfBits(hex: bigint): number {
  return new Float64Array(new BigUint64Array([hex]).buffer)[0] as number;
}

interface Series {
  readonly index: number;
  readonly labelSpans: readonly number[];
  readonly labelsStart: number;
  readonly labelsEnd: number;
  readonly labelsKey: string;
  readonly samples: readonly string[];
  readonly exemplars: number;
}

type Outcome = { readonly series: readonly Series[]; readonly metadata: number } | { readonly error: string };

function errorOf(err: unknown): { error: string } {
  if (!(err instanceof WireError)) throw err;
  return { error: `${err.code}: ${err.message}` };
}

/** Everything the reader tells of a body, or its error. */
function readNew(body: Buffer, limits: Partial<RemoteWriteLimits>): Outcome {
  const series: Series[] = [];
  try {
    const r = new RemoteWriteReader(body, limits);
    while (r.next()) {
      const labelSpans: number[] = [];
      for (let i = 0; i < r.labelCount(); i++) labelSpans.push(r.labelFieldStart(i), r.labelFieldEnd(i));
      const samples: string[] = [];
      for (let i = 0; i < r.sampleCount(); i++) samples.push(`${bits(r.sampleValue(i))}@${r.sampleTimestamp(i)}`);
      // Exemplars are decoded on demand by code the inline paths do not touch: compared by count, -1 when one is malformed.
      let exemplars = -1;
      try {
        exemplars = r.exemplars().length;
      } catch (err) {
        errorOf(err);
      }
      series.push({ index: r.seriesIndex(), labelSpans, labelsStart: r.labelsStart(), labelsEnd: r.labelsEnd(), labelsKey: r.labelsKey(), samples, exemplars });
    }
    return { series, metadata: r.metadata.length };
  } catch (err) {
    return errorOf(err);
  }
}

function readString(r: ProtoReader, what: string): string {
  const end = r.lengthDelimitedEnd();
  const buf = r.buf;
  const start = r.pos;
  r.pos = end;
  for (let i = start; i < end; i++) {
    if ((buf[i] as number) >= 0x80) {
      if (!isUtf8(buf.subarray(start, end))) throw new WireError('FS_WIRE_INVALID_UTF8', [what]);
      return buf.toString('utf8', start, end);
    }
  }
  return buf.toString('latin1', start, end);
}

function readMetadata(r: ProtoReader): void {
  const end = r.lengthDelimitedEnd();
  const m = new ProtoReader(r.buf, r.pos, end);
  while (m.pos < end) {
    const key = m.uvarint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === WIRE_VARINT) m.uvarint();
    else if (field === 2 && wire === WIRE_LEN) readString(m, 'a metric family name');
    else if (field === 4 && wire === WIRE_LEN) readString(m, 'a help text');
    else if (field === 5 && wire === WIRE_LEN) readString(m, 'a unit');
    else m.skipUnknown(field, wire, 0b110110);
  }
  r.pos = end;
}

/**
 * The reader's series loop as it was before the inline paths (commit
 * efb7c7a), field by field through ProtoReader, with its readMetadata: the
 * oracle. Exemplars are counted (the reader decodes them on demand, with
 * code the inline paths do not touch).
 */
function legacyRead(body: Buffer, limitsIn: Partial<RemoteWriteLimits>): Outcome {
  const limits = { ...DEFAULT_REMOTE_WRITE_LIMITS, ...limitsIn };
  const series: Series[] = [];
  const r = new ProtoReader(body);
  let index = -1;
  let metadata = 0;
  try {
    while (r.pos < r.end) {
      const key = r.uvarint();
      const field = key >>> 3;
      const wire = key & 7;
      if (field === 1 && wire === WIRE_LEN) {
        if (++index >= limits.maxSeries) throw new WireError('FS_WIRE_REMOTE_WRITE_LIMIT', [`request has more than ${limits.maxSeries} series`]);
        const end = r.lengthDelimitedEnd();
        const t = new ProtoReader(body, r.pos, end);
        const spans: number[] = [];
        const samples: string[] = [];
        const times: number[] = [];
        const exemplars: number[] = [];
        while (t.pos < end) {
          const tagStart = t.pos;
          const k = t.uvarint();
          const f = k >>> 3;
          const w = k & 7;
          if (f === 1 && w === WIRE_LEN) {
            if (spans.length / 2 >= limits.maxLabelsPerSeries) throw new WireError('FS_WIRE_REMOTE_WRITE_LIMIT', [`series ${index} has more than ${limits.maxLabelsPerSeries} labels`]);
            spans.push(tagStart);
            t.pos = t.lengthDelimitedEnd();
            spans.push(t.pos);
          } else if (f === 2 && w === WIRE_LEN) {
            if (samples.length >= limits.maxSamplesPerSeries) throw new WireError('FS_WIRE_REMOTE_WRITE_LIMIT', [`series ${index} has more than ${limits.maxSamplesPerSeries} samples`]);
            const sEnd = t.lengthDelimitedEnd();
            const s = new ProtoReader(body, t.pos, sEnd);
            let value = 0;
            let timestamp = 0;
            while (s.pos < sEnd) {
              const sk = s.uvarint();
              const sf = sk >>> 3;
              if (sf === 1 && (sk & 7) === WIRE_FIXED64) value = s.double();
              else if (sf === 2 && (sk & 7) === WIRE_VARINT) timestamp = s.int64();
              else s.skipUnknown(sf, sk & 7, 0b110);
            }
            t.pos = sEnd;
            if (times.length > 0 && timestamp < (times[times.length - 1] as number)) throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [index, 'samples are not in timestamp order']);
            times.push(timestamp);
            samples.push(`${bits(new Float64Array([value])[0] as number)}@${timestamp}`);
          } else if (f === 3 && w === WIRE_LEN) {
            const start = t.pos;
            t.pos = t.lengthDelimitedEnd();
            exemplars.push(start, t.pos);
          } else t.skipUnknown(f, w, 0b1110);
        }
        r.pos = end;
        let contiguous = spans.length > 0;
        for (let i = 2; i < spans.length; i += 2) contiguous &&= spans[i] === spans[i - 1];
        let labelsKey = '';
        for (let i = 0; i < spans.length; i += 2) labelsKey += body.toString('latin1', spans[i], spans[i + 1]);
        series.push({ index, labelSpans: spans, labelsStart: contiguous ? (spans[0] as number) : -1, labelsEnd: spans.length === 0 ? -1 : (spans[spans.length - 1] as number), labelsKey, samples, exemplars: exemplars.length / 2 });
      } else if (field === 3 && wire === WIRE_LEN) {
        readMetadata(r);
        metadata++;
      } else if (field === 0) r.fail('field number 0 is not valid');
      else r.skipUnknown(field, wire, 0b1010);
    }
    return { series, metadata };
  } catch (err) {
    return errorOf(err);
  }
}

/** Compares the two: the same series, spans and sample bits, or the same error. */
function assertSame(body: Buffer, limits: Partial<RemoteWriteLimits>, what: string): 'ok' | 'error' {
  const got = readNew(body, limits);
  const want = legacyRead(body, limits);
  if ('error' in want || 'error' in got) {
    assert.deepEqual(got, want, what);
    return 'error';
  }
  assert.equal(got.metadata, want.metadata, `${what}: metadata`);
  assert.equal(got.series.length, want.series.length, `${what}: series`);
  for (let i = 0; i < got.series.length; i++) {
    const g = got.series[i] as Series;
    const w = want.series[i] as Series;
    // A malformed exemplar (-1) can only be one the old loop found too.
    assert.deepEqual({ ...g, exemplars: g.exemplars < 0 && w.exemplars > 0 ? w.exemplars : g.exemplars }, w, `${what}: series ${i}`);
  }
  return 'ok';
}

// A small hand encoder, to write the shapes encoders may legally write and ours never does.
interface Shape {
  /** Keys as two-byte varints (0x8a 0x00 for 0x0a): valid protobuf that no fast path takes. */
  readonly longKeys: boolean;
  /** Lengths one byte longer than needed. */
  readonly longLengths: boolean;
}

function varint(v: number, long = false): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  if (long) out.push(v | 0x80, 0);
  else out.push(v);
  return out;
}

function int64(v: number): number[] {
  if (v >= 0) return varint(v);
  const out: number[] = [];
  let big = BigInt.asUintN(64, BigInt(v));
  for (let i = 0; i < 9; i++) {
    out.push(Number(big & 0x7fn) | 0x80);
    big >>= 7n;
  }
  out.push(Number(big));
  return out;
}

function key(k: number, shape: Shape): number[] {
  return shape.longKeys ? [k | 0x80, 0x00] : [k];
}

function lenField(k: number, body: number[], shape: Shape): number[] {
  return [...key(k, shape), ...varint(body.length, shape.longLengths), ...body];
}

function double(v: number): number[] {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  if (Number.isNaN(v)) new Float64Array(b.buffer, b.byteOffset, 1)[0] = v;
  return [...b];
}

const VALUES = [0, 0, 0, -0, 1, -1.5, 1e300, 5e-324, NaN, Infinity, STALE_NAN, doubleOfBits(0x7ff0000000000001n), doubleOfBits(0xfff8deadbeef0001n), 0.1];
const TIMESTAMPS = [0, 0, 0, 1, 127, 128, 16_383, 1_700_000_000_000, 2 ** 48 - 1, 2 ** 48, 2 ** 49, 2 ** 53 - 1, -1, -1_700_000_000_000];

/** One Sample's bytes, in one of the shapes a protobuf encoder may write for it. */
function sampleBytes(value: number, ts: number, shape: Shape): number[] {
  const v = [...key(0x09, shape), ...double(value)];
  const t = [...key(0x10, shape), ...int64(ts)];
  const r = rand(12);
  // proto3 leaves a zero value or timestamp out.
  if (r === 0 && bits(value) === '0') return ts === 0 ? [] : t;
  if (r === 1 && ts === 0) return v;
  if (r === 2) return [...t, ...v]; // either order
  if (r === 3) return [...v, ...t, ...key(0x18, shape), ...varint(rand(300))]; // a field from a newer version
  if (r === 4) return [...key(0x09, shape), ...double(1), ...v, ...t]; // repeated: the last one wins
  if (r === 5) return [...key(0x10, shape), ...int64(7), ...v, ...t];
  return [...v, ...t];
}

function labelValue(): string {
  const r = rand(10);
  if (r === 0) return 'v'.repeat(100 + rand(200)); // a Label field over 127 bytes: a two-byte length
  if (r === 1) return 'Grüße 日本語';
  return pick(['kube-system', 'coredns-5d78c9869d-x', '10.0.0.1:9100', 'GET', 'a']);
}

/** A body of a few series in varied shapes; `exemplars`/`metadata` mixed in when asked. */
function handBody(shape: Shape, extras: boolean): Buffer {
  const out: number[] = [];
  for (let s = 1 + rand(6); s > 0; s--) {
    const series: number[] = [];
    const names = new Set<string>(['__name__']);
    for (let l = rand(6); l > 0; l--) names.add(`l${rand(20)}`);
    for (const n of [...names].sort()) {
      series.push(...lenField(0x0a, [...lenField(0x0a, [...Buffer.from(n)], shape), ...lenField(0x12, [...Buffer.from(n === '__name__' ? `m_${rand(9)}` : labelValue())], shape)], shape));
    }
    let ts = pick(TIMESTAMPS);
    for (let k = rand(4); k > 0; k--) {
      series.push(...lenField(0x12, sampleBytes(pick(VALUES), ts, shape), shape));
      if (ts >= 0) ts += rand(3) * 1000;
    }
    if (extras && rand(3) === 0) series.push(...lenField(0x1a, [...lenField(0x0a, [...lenField(0x0a, [...Buffer.from('trace_id')], shape), ...lenField(0x12, [...Buffer.from('abc')], shape)], shape), 0x11, ...double(1.5), 0x18, ...varint(5)], shape));
    if (extras && rand(4) === 0) series.push(...key(0x20, shape), ...varint(rand(1000))); // a field the reader skips
    if (extras && rand(5) === 0) series.push(...lenField(0x0a, [...lenField(0x0a, [...Buffer.from('zz')], shape), ...lenField(0x12, [...Buffer.from('late')], shape)], shape)); // a label after the samples
    out.push(...lenField(0x0a, series, shape));
    if (extras && rand(6) === 0) out.push(...lenField(0x1a, [0x08, 1, ...lenField(0x12, [...Buffer.from('m_1')], shape)], shape));
  }
  return Buffer.from(out);
}

/** Bodies as our own encoders write them: every field on the inline paths. */
function batchBody(): Buffer {
  const b = new RemoteWriteBatch();
  for (let s = 1 + rand(30); s > 0; s--) {
    const labels = ['__name__', `m_${rand(5)}`, 'instance', `10.0.0.${rand(255)}:9100`, 'job', pick(['a', 'node-exporter', 'v'.repeat(rand(300))])];
    const samples = [];
    let ts = pick(TIMESTAMPS);
    for (let k = rand(3); k >= 0; k--) {
      samples.push({ value: pick(VALUES), timestamp: ts });
      if (ts >= 0) ts += rand(1000);
    }
    b.addSamples(encodeLabels(labels), samples);
  }
  return Buffer.from(b.finish());
}

/** A few random edits: flipped bytes, a cut, an inserted byte. */
function mutate(body: Buffer): Buffer {
  let b = Buffer.from(body);
  for (let m = 1 + rand(3); m > 0 && b.length > 0; m--) {
    const r = rand(4);
    if (r === 0) b = b.subarray(0, rand(b.length));
    else if (r === 1) b = Buffer.concat([b.subarray(0, rand(b.length)), Buffer.from([rand(256)]), b.subarray(rand(b.length))]);
    else b[rand(b.length)] = pick([0x0a, 0x12, 0x09, 0x10, 0x80, 0xff, 0x00, rand(256)]);
  }
  return b;
}

const LIMITS: Partial<RemoteWriteLimits>[] = [{}, { maxLabelsPerSeries: 2 }, { maxSamplesPerSeries: 1 }, { maxSeries: 2 }];

test('valid bodies of every shape read exactly as the general decoder reads them', () => {
  let n = 0;
  for (let i = 0; i < 400; i++) {
    const shape = { longKeys: rand(4) === 0, longLengths: rand(4) === 0 };
    assert.equal(assertSame(handBody(shape, rand(2) === 0), {}, `hand body ${i}`), 'ok');
    assert.equal(assertSame(batchBody(), {}, `batch body ${i}`), 'ok');
    n += 2;
  }
  assert.equal(n, 800);
});

test('the inline paths and the general path read a body and its long-keyed twin alike', () => {
  for (let i = 0; i < 300; i++) {
    const seed = state;
    const short = handBody({ longKeys: false, longLengths: false }, false);
    state = seed; // the same series, every key and length written long: nothing on the inline paths
    const long = handBody({ longKeys: true, longLengths: true }, false);
    assert.notDeepEqual(short, long);
    const a = new RemoteWriteReader(short);
    const b = new RemoteWriteReader(long);
    for (;;) {
      const more = a.next();
      assert.equal(b.next(), more, `body ${i}`);
      if (!more) break;
      assert.deepEqual(a.labels(false), b.labels(false), `body ${i}`);
      assert.equal(a.sampleCount(), b.sampleCount());
      for (let k = 0; k < a.sampleCount(); k++) {
        assert.equal(bits(a.sampleValue(k)), bits(b.sampleValue(k)), `body ${i} sample ${k}`);
        assert.equal(a.sampleTimestamp(k), b.sampleTimestamp(k), `body ${i} sample ${k}`);
      }
    }
  }
});

test('mutated bodies: the same series or the same error, code and message, as the general decoder', () => {
  const outcomes = { ok: 0, error: 0 };
  for (let i = 0; i < 6000; i++) {
    const source = i % 3 === 0 ? batchBody() : handBody({ longKeys: rand(5) === 0, longLengths: rand(5) === 0 }, rand(3) === 0);
    const limits = pick(LIMITS);
    outcomes[assertSame(rand(5) === 0 ? source : mutate(source), limits, `body ${i} with ${JSON.stringify(limits)}`)]++;
  }
  assert.ok(outcomes.ok > 500 && outcomes.error > 1000, JSON.stringify(outcomes));
});

test('a sample value keeps its exact bits on the inline path: signalling NaN, NaN payloads, the stale marker, -0', () => {
  for (const hex of [0x7ff0000000000001n, 0x7ff0000000000002n, 0xfff8deadbeef0001n, 0x7ff4000000000000n, 0x8000000000000000n, 0x0000000000000001n]) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(hex);
    // A series with one label and one sample, written by hand in the canonical shape.
    const name = [0x0a, 0x08, ...Buffer.from('__name__'), 0x12, 0x01, 0x61];
    const label = [0x0a, name.length, ...name];
    const sample = [0x12, 11, 0x09, ...b, 0x10, 0x05];
    const body = Buffer.from([0x0a, label.length + sample.length, ...label, ...sample]);
    const r = new RemoteWriteReader(body);
    assert.ok(r.next());
    const out = Buffer.alloc(8);
    new Float64Array(out.buffer, out.byteOffset, 1)[0] = r.sampleValue(0);
    assert.equal(out.readBigUInt64LE().toString(16), hex.toString(16));
    assert.equal(r.sampleTimestamp(0), 5);
  }
});

test('reference-encoded requests (proto3: zero values and timestamps left out) read as the general decoder reads them', () => {
  for (let i = 0; i < 200; i++) {
    const timeseries = Array.from({ length: 1 + rand(5) }, () => ({
      labels: ['__name__', `m_${rand(3)}`, 'job', labelValue()],
      samples: Array.from({ length: rand(3) }, (_, k) => ({ value: rand(3) === 0 ? 0 : pick(VALUES), timestamp: rand(3) === 0 ? 0 : 1_700_000_000_000 + k })).sort((a, b) => a.timestamp - b.timestamp),
    }));
    assert.equal(assertSame(Buffer.from(encodeWriteRequestReference({ timeseries })), {}, `reference body ${i}`), 'ok');
    assert.equal(assertSame(Buffer.from(encodeWriteRequest({ timeseries })), {}, `our body ${i}`), 'ok');
  }
});

// Hand-made series bodies at the edges of the inline paths: [name, series field contents, what legacy gives].
const NAME_LABEL = [0x0a, 13, 0x0a, 0x08, ...Buffer.from('__name__'), 0x12, 0x01, 0x61];
const D8 = [0, 0, 0, 0, 0, 0, 0xf8, 0x3f]; // 1.5
const edges: [string, number[]][] = [
  ['canonical sample', [...NAME_LABEL, 0x12, 11, 0x09, ...D8, 0x10, 0x05]],
  ['sample whose double runs past its field', [...NAME_LABEL, 0x12, 3, 0x09, 0, 0]],
  ['sample whose double runs past the body', [...NAME_LABEL, 0x12, 9, 0x09, 0, 0, 0, 0, 0, 0, 0, 0]],
  ['sample whose timestamp varint runs past its field', [...NAME_LABEL, 0x12, 11, 0x09, ...D8, 0x10, 0x85, 0x85, 0x01]],
  ['sample whose timestamp has 7 continuation bytes', [...NAME_LABEL, 0x12, 17, 0x09, ...D8, 0x10, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01]],
  ['sample with a negative timestamp (10 bytes)', [...NAME_LABEL, 0x12, 20, 0x09, ...D8, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
  ['sample with a timestamp varint over 10 bytes', [...NAME_LABEL, 0x12, 21, 0x09, ...D8, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
  ['sample field with a length past the series', [...NAME_LABEL, 0x12, 40, 0x09, ...D8]],
  ['sample with a wrong wire type for its value', [...NAME_LABEL, 0x12, 2, 0x08, 0x01]],
  ['sample with field number 0', [...NAME_LABEL, 0x12, 2, 0x00, 0x01]],
  ['empty sample', [...NAME_LABEL, 0x12, 0]],
  ['label field whose length runs past the series', [0x0a, 50, 0x0a, 0x01]],
  ['label field that is the last byte', [...NAME_LABEL, 0x0a]],
  ['sample field that is the last byte', [...NAME_LABEL, 0x12]],
  ['label with a 2-byte length', [0x0a, 0x80, 0x01, ...Array.from({ length: 128 }, () => 0)]],
  ['samples out of order', [...NAME_LABEL, 0x12, 11, 0x09, ...D8, 0x10, 0x05, 0x12, 11, 0x09, ...D8, 0x10, 0x04]],
  ['labels after samples', [0x12, 11, 0x09, ...D8, 0x10, 0x05, ...NAME_LABEL]],
];

for (const [name, contents] of edges) {
  test(`edge: ${name} reads as the general decoder reads it`, () => {
    const body = Buffer.from([0x0a, ...varint(contents.length), ...contents]);
    for (const limits of LIMITS) assertSame(body, limits, name);
    // And cut short anywhere.
    for (let cut = 0; cut < body.length; cut++) assertSame(body.subarray(0, cut), {}, `${name}, cut at ${cut}`);
  });
}
