// Prometheus remote-write 1.0 (https://prometheus.io/docs/concepts/remote_write_spec/):
// a snappy-compressed protobuf WriteRequest (prompb/remote.proto, types.proto).
//
//   WriteRequest   { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
//   TimeSeries     { repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3; }
//   Label          { string name = 1; string value = 2; }
//   Sample         { double value = 1; int64 timestamp = 2; }
//   Exemplar       { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
//   MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
//
// The encoder is built for the hot path: a series' label bytes are encoded
// once (encodeLabels) and cached by the caller, and a batch appends samples
// into one reused buffer. protobufjs (remote-write-reference.ts) stays the
// oracle in tests.
import { isUtf8 } from 'node:buffer';
import { WireError } from './errors.js';
import { ProtoReader, ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, varintSize } from './protobuf.js';
import { DEFAULT_MAX_DECOMPRESSED_BYTES, snappyCompress, snappyUncompress } from './snappy.js';

/** Headers every remote-write 1.0 request carries. */
export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
  'User-Agent': 'fleetscope/0.1.0',
};

// Prometheus's staleness marker: a NaN with this exact bit pattern.
const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;
const scratch = new DataView(new ArrayBuffer(8));
scratch.setUint32(0, STALE_LO, true);
scratch.setUint32(4, STALE_HI, true);
/** The staleness marker, value.StaleNaN (0x7ff0000000000002). */
export const STALE_NAN = scratch.getFloat64(0, true);

/**
 * True for the staleness marker. JavaScript engines may set a NaN's quiet
 * bit when it passes through arithmetic or a double array
 * (0x7ff0…02 → 0x7ff8…02), so the quiet bit is ignored: the payload decides.
 */
export function isStaleNaN(v: number): boolean {
  if (v === v) return false;
  scratch.setFloat64(0, v, true);
  return scratch.getUint32(0, true) === STALE_LO && (scratch.getUint32(4, true) & 0x7ff7ffff) === STALE_HI;
}

export const METRIC_TYPES = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset'] as const;
export type MetricTypeName = (typeof METRIC_TYPES)[number];

export interface Sample {
  readonly value: number;
  readonly timestamp: number;
}

export interface Exemplar {
  readonly labels: readonly string[];
  readonly value: number;
  readonly timestamp: number;
}

export interface TimeSeries {
  /** Flat, sorted `[name, value, …]`, `__name__` included. */
  readonly labels: readonly string[];
  readonly samples: readonly Sample[];
  readonly exemplars?: readonly Exemplar[];
}

export interface MetricMetadata {
  readonly type: MetricTypeName;
  readonly metricFamilyName: string;
  readonly help: string;
  readonly unit: string;
}

export interface WriteRequest {
  readonly timeseries: readonly TimeSeries[];
  readonly metadata?: readonly MetricMetadata[];
}

// ---------------------------------------------------------------------------
// Encoding

function writeStringField(w: ProtoWriter, tag: number, s: string): void {
  const len = Buffer.byteLength(s, 'utf8');
  w.ensure(len + 11);
  w.byte(tag);
  w.uvarint(len);
  w.pos += w.buf.write(s, w.pos, 'utf8');
}

function writeLabels(w: ProtoWriter, labels: readonly string[], tag: number): void {
  for (let i = 0; i < labels.length; i += 2) {
    const name = labels[i] as string;
    const value = labels[i + 1] as string;
    const nl = Buffer.byteLength(name, 'utf8');
    const vl = Buffer.byteLength(value, 'utf8');
    const inner = 1 + varintSize(nl) + nl + 1 + varintSize(vl) + vl;
    w.ensure(inner + 11);
    w.byte(tag);
    w.uvarint(inner);
    writeStringField(w, 0x0a, name);
    writeStringField(w, 0x12, value);
  }
}

/**
 * The protobuf bytes of a series' labels as repeated TimeSeries.labels
 * fields. Compute once per series and pass to RemoteWriteBatch.add.
 */
export function encodeLabels(labels: readonly string[]): Buffer {
  const w = new ProtoWriter(256);
  writeLabels(w, labels, 0x0a);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

function sampleSize(timestamp: number): number {
  // double value (tag + 8) and int64 timestamp (tag + varint); both always written.
  return 9 + 1 + (timestamp < 0 ? 10 : varintSize(timestamp));
}

function writeDouble(w: ProtoWriter, v: number): void {
  if (isStaleNaN(v)) {
    w.buf.writeUInt32LE(STALE_LO, w.pos);
    w.buf.writeUInt32LE(STALE_HI, w.pos + 4);
  } else {
    w.buf.writeDoubleLE(v, w.pos);
  }
  w.pos += 8;
}

function writeSample(w: ProtoWriter, value: number, timestamp: number): void {
  w.byte(0x12);
  w.byte(sampleSize(timestamp));
  w.byte(0x09);
  writeDouble(w, value);
  w.byte(0x10);
  w.int64(timestamp);
}

/**
 * A WriteRequest under construction in one reused buffer. add() appends a
 * TimeSeries from cached label bytes without allocating; finish() returns
 * the protobuf body (a view valid until the next reset or add).
 */
export class RemoteWriteBatch {
  private readonly w: ProtoWriter;
  private series = 0;
  private samples = 0;

  constructor(initialBytes = 256 * 1024) {
    this.w = new ProtoWriter(initialBytes);
  }

  /** One series with one sample. */
  add(labelBytes: Uint8Array, value: number, timestamp: number): void {
    const ss = 2 + sampleSize(timestamp);
    const len = labelBytes.length + ss;
    const w = this.w;
    w.ensure(len + 11);
    w.byte(0x0a);
    w.uvarint(len);
    w.bytes(labelBytes);
    writeSample(w, value, timestamp);
    this.series++;
    this.samples++;
  }

  /** One series with several samples, in timestamp order. */
  addSamples(labelBytes: Uint8Array, samples: readonly Sample[]): void {
    let len = labelBytes.length;
    for (const s of samples) len += 2 + sampleSize(s.timestamp);
    const w = this.w;
    w.ensure(len + 11);
    w.byte(0x0a);
    w.uvarint(len);
    w.bytes(labelBytes);
    for (const s of samples) writeSample(w, s.value, s.timestamp);
    this.series++;
    this.samples += samples.length;
  }

  /** A full series, exemplars included (the cold path). */
  addSeries(ts: TimeSeries): void {
    const inner = new ProtoWriter(1024);
    writeLabels(inner, ts.labels, 0x0a);
    for (const s of ts.samples) {
      inner.ensure(32);
      writeSample(inner, s.value, s.timestamp);
    }
    for (const e of ts.exemplars ?? []) {
      const ex = new ProtoWriter(256);
      writeLabels(ex, e.labels, 0x0a);
      ex.ensure(32);
      ex.byte(0x11);
      writeDouble(ex, e.value);
      ex.byte(0x18);
      ex.int64(e.timestamp);
      inner.ensure(ex.pos + 11);
      inner.byte(0x1a);
      inner.uvarint(ex.pos);
      inner.bytes(ex.buf.subarray(0, ex.pos));
    }
    const w = this.w;
    w.ensure(inner.pos + 11);
    w.byte(0x0a);
    w.uvarint(inner.pos);
    w.bytes(inner.buf.subarray(0, inner.pos));
    this.series++;
    this.samples += ts.samples.length;
  }

  addMetadata(m: MetricMetadata): void {
    const inner = new ProtoWriter(256);
    inner.ensure(11);
    inner.byte(0x08);
    inner.uvarint(Math.max(0, METRIC_TYPES.indexOf(m.type)));
    writeStringField(inner, 0x12, m.metricFamilyName);
    writeStringField(inner, 0x22, m.help);
    writeStringField(inner, 0x2a, m.unit);
    const w = this.w;
    w.ensure(inner.pos + 11);
    w.byte(0x1a);
    w.uvarint(inner.pos);
    w.bytes(inner.buf.subarray(0, inner.pos));
  }

  get seriesCount(): number {
    return this.series;
  }

  get sampleCount(): number {
    return this.samples;
  }

  get byteLength(): number {
    return this.w.pos;
  }

  /** The uncompressed protobuf body so far. */
  finish(): Buffer {
    return this.w.buf.subarray(0, this.w.pos);
  }

  /** Snappy-compressed body, ready to POST with REMOTE_WRITE_HEADERS. */
  finishCompressed(): Buffer {
    return snappyCompress(this.finish());
  }

  reset(): void {
    this.w.pos = 0;
    this.series = 0;
    this.samples = 0;
  }
}

/** Encodes a whole WriteRequest (uncompressed protobuf). */
export function encodeWriteRequest(req: WriteRequest): Buffer {
  const batch = new RemoteWriteBatch();
  for (const ts of req.timeseries) batch.addSeries(ts);
  for (const m of req.metadata ?? []) batch.addMetadata(m);
  return Buffer.from(batch.finish());
}

// ---------------------------------------------------------------------------
// Decoding

export interface RemoteWriteLimits {
  /** Largest compressed body. */
  readonly maxBodyBytes: number;
  /** Largest declared uncompressed size (decompression bombs). */
  readonly maxDecompressedBytes: number;
  readonly maxSeries: number;
  readonly maxLabelsPerSeries: number;
  readonly maxLabelNameLength: number;
  readonly maxLabelValueLength: number;
  readonly maxSamplesPerSeries: number;
}

export const DEFAULT_REMOTE_WRITE_LIMITS: RemoteWriteLimits = {
  maxBodyBytes: 16 * 1024 * 1024,
  maxDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
  maxSeries: 100_000,
  maxLabelsPerSeries: 128,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 16 * 1024,
  maxSamplesPerSeries: 10_000,
};

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

function readLabel(r: ProtoReader, out: string[], limits: RemoteWriteLimits): void {
  const end = r.lengthDelimitedEnd();
  let name = '';
  let value = '';
  const outer = new ProtoReader(r.buf, r.pos, end);
  while (outer.pos < end) {
    const key = outer.uvarint();
    const field = key >>> 3;
    if (field === 1 && (key & 7) === WIRE_LEN) name = readString(outer, 'a label name');
    else if (field === 2 && (key & 7) === WIRE_LEN) value = readString(outer, `the value of label "${name}"`);
    else outer.skip(key & 7);
  }
  r.pos = end;
  if (name.length > limits.maxLabelNameLength) {
    throw new WireError('FS_WIRE_REMOTE_WRITE_LIMIT', [`label name of ${name.length} characters is over the limit of ${limits.maxLabelNameLength}`]);
  }
  if (value.length > limits.maxLabelValueLength) {
    throw new WireError('FS_WIRE_REMOTE_WRITE_LIMIT', [`value of label "${name}" has ${value.length} characters, over the limit of ${limits.maxLabelValueLength}`]);
  }
  out.push(name, value);
}

function readSample(r: ProtoReader): Sample {
  const end = r.lengthDelimitedEnd();
  const s = new ProtoReader(r.buf, r.pos, end);
  let value = 0;
  let timestamp = 0;
  while (s.pos < end) {
    const key = s.uvarint();
    const field = key >>> 3;
    if (field === 1 && (key & 7) === WIRE_FIXED64) value = s.double();
    else if (field === 2 && (key & 7) === WIRE_VARINT) timestamp = s.int64();
    else s.skip(key & 7);
  }
  r.pos = end;
  return { value, timestamp };
}

function readExemplar(r: ProtoReader, limits: RemoteWriteLimits): Exemplar {
  const end = r.lengthDelimitedEnd();
  const e = new ProtoReader(r.buf, r.pos, end);
  const labels: string[] = [];
  let value = 0;
  let timestamp = 0;
  while (e.pos < end) {
    const key = e.uvarint();
    const field = key >>> 3;
    if (field === 1 && (key & 7) === WIRE_LEN) readLabel(e, labels, limits);
    else if (field === 2 && (key & 7) === WIRE_FIXED64) value = e.double();
    else if (field === 3 && (key & 7) === WIRE_VARINT) timestamp = e.int64();
    else e.skip(key & 7);
  }
  r.pos = end;
  return { labels, value, timestamp };
}

function readTimeSeries(r: ProtoReader, limits: RemoteWriteLimits, index: number): TimeSeries {
  const end = r.lengthDelimitedEnd();
  const t = new ProtoReader(r.buf, r.pos, end);
  const labels: string[] = [];
  const samples: Sample[] = [];
  let exemplars: Exemplar[] | undefined;
  while (t.pos < end) {
    const key = t.uvarint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === WIRE_LEN) {
      if (labels.length >= 2 * limits.maxLabelsPerSeries) {
        throw new WireError('FS_WIRE_REMOTE_WRITE_LIMIT', [`series ${index} has more than ${limits.maxLabelsPerSeries} labels`]);
      }
      readLabel(t, labels, limits);
    } else if (field === 2 && wire === WIRE_LEN) {
      if (samples.length >= limits.maxSamplesPerSeries) {
        throw new WireError('FS_WIRE_REMOTE_WRITE_LIMIT', [`series ${index} has more than ${limits.maxSamplesPerSeries} samples`]);
      }
      samples.push(readSample(t));
    } else if (field === 3 && wire === WIRE_LEN) (exemplars ??= []).push(readExemplar(t, limits));
    else t.skip(wire); // histograms (field 4) and anything newer: not part of remote-write 1.0
  }
  r.pos = end;
  return exemplars ? { labels, samples, exemplars } : { labels, samples };
}

function readMetadata(r: ProtoReader): MetricMetadata {
  const end = r.lengthDelimitedEnd();
  const m = new ProtoReader(r.buf, r.pos, end);
  let type = 0;
  let metricFamilyName = '';
  let help = '';
  let unit = '';
  while (m.pos < end) {
    const key = m.uvarint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === WIRE_VARINT) type = m.uvarint();
    else if (field === 2 && wire === WIRE_LEN) metricFamilyName = readString(m, 'a metric family name');
    else if (field === 4 && wire === WIRE_LEN) help = readString(m, 'a help text');
    else if (field === 5 && wire === WIRE_LEN) unit = readString(m, 'a unit');
    else m.skip(wire);
  }
  r.pos = end;
  return { type: METRIC_TYPES[type] ?? 'unknown', metricFamilyName, help, unit };
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Checks what remote-write 1.0 requires of each series: a `__name__`, label
 * names valid and unique, sorted by name, samples in timestamp order.
 * Throws FS_WIRE_REMOTE_WRITE_INVALID naming the series and the problem.
 */
export function validateTimeSeries(ts: TimeSeries, index: number): void {
  const l = ts.labels;
  let hasName = false;
  for (let i = 0; i < l.length; i += 2) {
    const name = l[i] as string;
    if (name === '__name__') hasName = (l[i + 1] as string) !== '';
    if (!LABEL_NAME.test(name)) throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [index, `invalid label name ${JSON.stringify(name)}`]);
    if (i > 0) {
      const prev = l[i - 2] as string;
      if (prev === name) throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [index, `duplicate label name "${name}"`]);
      if (prev > name) throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [index, `labels are not sorted by name ("${prev}" before "${name}")`]);
    }
  }
  if (!hasName) throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [index, 'no __name__ label']);
  const s = ts.samples;
  for (let i = 1; i < s.length; i++) {
    if ((s[i] as Sample).timestamp < (s[i - 1] as Sample).timestamp) {
      throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [index, 'samples are not in timestamp order']);
    }
  }
}

/** Decodes an uncompressed WriteRequest body, validating every series unless told not to. */
export function decodeWriteRequest(body: Uint8Array, limits: Partial<RemoteWriteLimits> = {}, validate = true): WriteRequest {
  const lim = { ...DEFAULT_REMOTE_WRITE_LIMITS, ...limits };
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const r = new ProtoReader(buf);
  const timeseries: TimeSeries[] = [];
  const metadata: MetricMetadata[] = [];
  while (r.pos < r.end) {
    const key = r.uvarint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === WIRE_LEN) {
      if (timeseries.length >= lim.maxSeries) {
        throw new WireError('FS_WIRE_REMOTE_WRITE_LIMIT', [`request has more than ${lim.maxSeries} series`]);
      }
      const ts = readTimeSeries(r, lim, timeseries.length);
      if (validate) validateTimeSeries(ts, timeseries.length);
      timeseries.push(ts);
    } else if (field === 3 && wire === WIRE_LEN) metadata.push(readMetadata(r));
    else if (field === 0) r.fail('field number 0 is not valid');
    else r.skip(wire);
  }
  return { timeseries, metadata };
}

/** Decodes a request as it arrives over HTTP: size check, snappy, protobuf, validation. */
export function decodeRemoteWriteBody(compressed: Uint8Array, limits: Partial<RemoteWriteLimits> = {}): WriteRequest {
  const lim = { ...DEFAULT_REMOTE_WRITE_LIMITS, ...limits };
  if (compressed.length > lim.maxBodyBytes) throw new WireError('FS_WIRE_BODY_TOO_LARGE', [compressed.length, lim.maxBodyBytes]);
  return decodeWriteRequest(snappyUncompress(compressed, lim.maxDecompressedBytes), lim);
}
