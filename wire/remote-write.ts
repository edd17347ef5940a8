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
  const len = utf8Length(s);
  w.ensure(len + 11);
  w.byte(tag);
  w.uvarint(len);
  writeStringBytes(w, s, len);
}

/** UTF-8 length of a string; for ASCII, its length (the common case, counted without a native call). */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

/** Writes a string's bytes whose UTF-8 length is known; short ASCII strings are copied in JS. */
function writeStringBytes(w: ProtoWriter, s: string, byteLength: number): void {
  if (byteLength === s.length && byteLength < 64) {
    const buf = w.buf;
    let p = w.pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    w.pos = p;
  } else {
    w.pos += w.buf.write(s, w.pos, 'utf8');
  }
}

function writeLabels(w: ProtoWriter, labels: readonly string[], tag: number): void {
  for (let i = 0; i < labels.length; i += 2) {
    const name = labels[i] as string;
    const value = labels[i + 1] as string;
    const nl = utf8Length(name);
    const vl = utf8Length(value);
    const inner = 1 + varintSize(nl) + nl + 1 + varintSize(vl) + vl;
    w.ensure(inner + 11);
    w.byte(tag);
    w.uvarint(inner);
    w.byte(0x0a);
    w.uvarint(nl);
    writeStringBytes(w, name, nl);
    w.byte(0x12);
    w.uvarint(vl);
    writeStringBytes(w, value, vl);
  }
}

/**
 * The protobuf bytes of a series' labels as repeated TimeSeries.labels
 * fields. Compute once per series and pass to RemoteWriteBatch.add.
 */
export function encodeLabels(labels: readonly string[]): Buffer {
  const w = labelWriter;
  w.pos = 0;
  writeLabels(w, labels, 0x0a);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

const labelWriter = new ProtoWriter(4096);

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

  /** One series carrying the current series' samples of a reader, without allocating. */
  addFromReader(labelBytes: Uint8Array, reader: RemoteWriteReader): void {
    const n = reader.sampleCount();
    let len = labelBytes.length;
    for (let i = 0; i < n; i++) len += 2 + sampleSize(reader.sampleTimestamp(i));
    const w = this.w;
    w.ensure(len + 11);
    w.byte(0x0a);
    w.uvarint(len);
    w.bytes(labelBytes);
    for (let i = 0; i < n; i++) writeSample(w, reader.sampleValue(i), reader.sampleTimestamp(i));
    this.series++;
    this.samples += n;
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
  const outerEnd = r.end;
  r.end = end;
  let name = '';
  let value = '';
  while (r.pos < end) {
    const key = r.uvarint();
    const field = key >>> 3;
    if (field === 1 && (key & 7) === WIRE_LEN) name = readString(r, 'a label name');
    else if (field === 2 && (key & 7) === WIRE_LEN) value = readString(r, `the value of label "${name}"`);
    else r.skipUnknown(field, key & 7, 0b110);
  }
  r.end = outerEnd;
  if (name.length > limits.maxLabelNameLength) {
    throw new WireError('FS_WIRE_REMOTE_WRITE_LIMIT', [`label name of ${name.length} characters is over the limit of ${limits.maxLabelNameLength}`]);
  }
  if (value.length > limits.maxLabelValueLength) {
    throw new WireError('FS_WIRE_REMOTE_WRITE_LIMIT', [`value of label "${name}" has ${value.length} characters, over the limit of ${limits.maxLabelValueLength}`]);
  }
  out.push(name, value);
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
    else e.skipUnknown(field, key & 7, 0b1110);
  }
  r.pos = end;
  return { labels, value, timestamp };
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
    else m.skipUnknown(field, wire, 0b110110);
  }
  r.pos = end;
  return { type: METRIC_TYPES[type] ?? 'unknown', metricFamilyName, help, unit };
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Checks what remote-write 1.0 requires of each series: a `__name__`, label
 * names valid and unique, sorted by name, samples in timestamp order.
 * Throws FS_WIRE_REMOTE_WRITE_INVALID naming the series and the problem.
 */
export function validateTimeSeries(ts: TimeSeries, index: number): void {
  validateLabels(ts.labels, index);
  const s = ts.samples;
  for (let i = 1; i < s.length; i++) {
    if ((s[i] as Sample).timestamp < (s[i - 1] as Sample).timestamp) {
      throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [index, 'samples are not in timestamp order']);
    }
  }
}

/** Where a receiver chooses to be more lenient than the spec. */
export interface LabelRules {
  /**
   * Accept empty label values (the spec forbids them; Prometheus 2.42 stores
   * them as absent labels). A receiver that would rather treat them as
   * absent than make the sender drop the whole request sets this.
   */
  readonly allowEmptyValues?: boolean;
}

/**
 * The label rules of remote-write 1.0 for series `index`: names match
 * LABEL_NAME, are unique and sorted; no value is empty; `__name__` is there
 * and matches METRIC_NAME. (Prometheus 2.42's own receiver checks none of
 * these but uniqueness, and answers that one with a 500.)
 */
export function validateLabels(l: readonly string[], index: number, rules: LabelRules = {}): void {
  let hasName = false;
  for (let i = 0; i < l.length; i += 2) {
    const name = l[i] as string;
    const value = l[i + 1] as string;
    if (!LABEL_NAME.test(name)) throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [index, `invalid label name ${JSON.stringify(name)}`]);
    // The spec: "MUST NOT contain any empty label names or values"; metric names match METRIC_NAME.
    if (value === '' && !rules.allowEmptyValues) throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [index, `label "${name}" has an empty value`]);
    if (name === '__name__') {
      if (!METRIC_NAME.test(value)) throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [index, `invalid metric name ${JSON.stringify(value)}`]);
      hasName = true;
    }
    if (i > 0) {
      const prev = l[i - 2] as string;
      if (prev === name) throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [index, `duplicate label name "${name}"`]);
      if (prev > name) throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [index, `labels are not sorted by name ("${prev}" before "${name}")`]);
    }
  }
  if (!hasName) throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [index, 'no __name__ label']);
}

/**
 * A cursor over an uncompressed WriteRequest, for the receive hot path. For
 * each series it reads the samples but not the labels: labelsKey() is the
 * series' raw label bytes as one string, equal exactly when the encoded
 * label sets are equal, so a receiver can look up what it already knows of
 * the series (its relabeled, re-encoded labels) and decode labels() only
 * for series it has not seen. Metadata entries are collected on the way.
 */
export class RemoteWriteReader {
  readonly metadata: MetricMetadata[] = [];
  private readonly r: ProtoReader;
  private readonly limits: RemoteWriteLimits;
  private index = -1;
  // Typed arrays: a store into a number[] checks its elements kind and was a third of next().
  // Doubles, so that any offset of any Buffer is exact.
  private labelStarts = new Float64Array(32);
  private labelEnds = new Float64Array(32);
  private nLabels = 0;
  // True when other fields come between the current series' Label fields (labelsStart() is then -1).
  private labelsSplit = false;
  private values = new Float64Array(16);
  private times = new Float64Array(16);
  /** Where each sample's Sample field starts (at its tag). */
  private fieldStarts = new Float64Array(16);
  private nSamples = 0;
  private exemplarSpans: number[] = [];
  private readonly scratch: ProtoReader;
  // Reused for every series and sample: no reader allocated per series.
  private readonly seriesReader: ProtoReader;
  private readonly sampleReader: ProtoReader;

  // The body as a DataView, made once: the fast sample path reads doubles through it.
  private readonly view: DataView;

  constructor(body: Uint8Array, limits: Partial<RemoteWriteLimits> = {}, private readonly rules: LabelRules = {}) {
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.r = new ProtoReader(buf);
    this.scratch = new ProtoReader(buf);
    this.seriesReader = new ProtoReader(buf);
    this.sampleReader = new ProtoReader(buf);
    this.limits = { ...DEFAULT_REMOTE_WRITE_LIMITS, ...limits };
  }

  /** Advances to the next series; false at the end. Throws WireError on malformed input. */
  next(): boolean {
    const r = this.r;
    while (r.pos < r.end) {
      // 0x0a, field 1 as a one-byte key, is what every encoder writes: no varint to read.
      const key = r.buf[r.pos] === 0x0a ? (r.pos++, 0x0a) : r.uvarint();
      const field = key >>> 3;
      const wire = key & 7;
      if (field === 1 && wire === WIRE_LEN) {
        if (++this.index >= this.limits.maxSeries) {
          throw new WireError('FS_WIRE_REMOTE_WRITE_LIMIT', [`request has more than ${this.limits.maxSeries} series`]);
        }
        this.readSeries();
        return true;
      }
      if (field === 3 && wire === WIRE_LEN) this.metadata.push(readMetadata(r));
      else if (field === 0) r.fail('field number 0 is not valid');
      else r.skipUnknown(field, wire, 0b1010);
    }
    return false;
  }

  /** Back to before the first series, to read the request again (its metadata is collected again). */
  rewind(): void {
    this.r.pos = 0;
    this.index = -1;
    this.nLabels = 0;
    this.nSamples = 0;
    this.metadata.length = 0;
  }

  /** Index of the current series in the request. */
  seriesIndex(): number {
    return this.index;
  }

  /** The buffer the reader reads: the label span offsets below index into it. */
  get buffer(): Buffer {
    return this.r.buf;
  }

  /**
   * Where the current series' Label fields are, as one span [start, end) of
   * buffer, when they are written together (every encoder does); -1 when
   * other fields come between them. Equal spans mean equal label sets.
   */
  labelsStart(): number {
    return this.nLabels === 0 || this.labelsSplit ? -1 : (this.labelStarts[0] as number);
  }

  /** How many Label fields the current series has. */
  labelCount(): number {
    return this.nLabels;
  }

  /** Where Label field `i` of the current series starts in buffer (at its tag). */
  labelFieldStart(i: number): number {
    return this.labelStarts[i] as number;
  }

  /** Where Label field `i` of the current series ends in buffer. */
  labelFieldEnd(i: number): number {
    return this.labelEnds[i] as number;
  }

  /** The current series' sample values, in [0, sampleCount()): a view valid until next(). Reading them in place boxes no doubles. */
  sampleValues(): Float64Array {
    return this.values;
  }

  /** The current series' sample timestamps, as sampleValues(). */
  sampleTimestamps(): Float64Array {
    return this.times;
  }

  /** Where the current series' Sample field `i` starts in buffer (at its tag). */
  sampleFieldStart(i: number): number {
    return this.fieldStarts[i] as number;
  }

  /** The end of the span labelsStart() starts. */
  labelsEnd(): number {
    return this.nLabels === 0 ? -1 : (this.labelEnds[this.nLabels - 1] as number);
  }

  /** The current series' raw label fields as a string: a cache key for its label set. */
  labelsKey(): string {
    const buf = this.r.buf;
    const n = this.nLabels;
    if (n === 0) return '';
    // Encoders write the labels together; then one slice covers them all.
    if (!this.labelsSplit) return buf.toString('latin1', this.labelStarts[0], this.labelEnds[n - 1]);
    let key = '';
    for (let i = 0; i < n; i++) key += buf.toString('latin1', this.labelStarts[i], this.labelEnds[i]);
    return key;
  }

  /** The current series' labels, decoded and checked (UTF-8, limits, and unless `validate` is false, the spec). */
  labels(validate = true): string[] {
    const out: string[] = [];
    const lr = this.scratch;
    for (let i = 0; i < this.nLabels; i++) {
      // A span starts at the field's tag; readLabel starts after it, at the length.
      lr.reset(this.labelStarts[i] as number, this.labelEnds[i] as number).uvarint();
      readLabel(lr, out, this.limits);
    }
    if (validate) validateLabels(out, this.index, this.rules);
    return out;
  }

  sampleCount(): number {
    return this.nSamples;
  }

  sampleValue(i: number): number {
    return this.values[i] as number;
  }

  sampleTimestamp(i: number): number {
    return this.times[i] as number;
  }

  samples(): Sample[] {
    const out: Sample[] = [];
    for (let i = 0; i < this.nSamples; i++) out.push({ value: this.values[i] as number, timestamp: this.times[i] as number });
    return out;
  }

  exemplars(): Exemplar[] {
    const out: Exemplar[] = [];
    for (let i = 0; i < this.exemplarSpans.length; i += 2) {
      const er = new ProtoReader(this.r.buf, this.exemplarSpans[i] as number, this.exemplarSpans[i + 1] as number);
      out.push(readExemplar(er, this.limits));
    }
    return out;
  }

  /**
   * Reads the series whose length comes next. The common shapes are read
   * inline: a Label field with a one-byte length (its span only), and a
   * Sample field with a one-byte length holding `0x09 <double>` and/or
   * `0x10 <varint of up to 7 bytes>` in that order, ending exactly at the
   * field's end. Anything else, valid or not, goes to readSeriesField, which
   * reads and rejects exactly as the general decoder does, from the same byte.
   */
  private readSeries(): void {
    const r = this.r;
    const end = r.lengthDelimitedEnd();
    const buf = r.buf;
    const view = this.view;
    const t = this.seriesReader.reset(r.pos, end);
    let starts = this.labelStarts;
    let ends = this.labelEnds;
    const maxLabels = this.limits.maxLabelsPerSeries;
    // Labels that fit before the arrays must grow or the limit is reached: one check per label.
    let room = Math.min(starts.length, maxLabels);
    const maxSamples = this.limits.maxSamplesPerSeries;
    this.nLabels = 0;
    this.nSamples = 0;
    // Setting an array's length is a runtime call, even to the length it has: only when there is something to clear.
    if (this.exemplarSpans.length !== 0) this.exemplarSpans.length = 0;
    let pos = r.pos;
    let nLabels = 0;
    let lastLabelEnd = -1;
    let split = false;
    while (pos < end) {
      const tag = buf[pos] as number;
      if (pos + 1 < end) {
        const len = buf[pos + 1] as number;
        const fieldEnd = pos + 2 + len;
        if (len < 0x80 && fieldEnd <= end) {
          if (tag === 0x0a) {
            if (nLabels >= room) {
              if (nLabels >= maxLabels) this.tooManyLabels();
              this.growLabels();
              starts = this.labelStarts;
              ends = this.labelEnds;
              room = Math.min(starts.length, maxLabels);
            }
            if (nLabels !== 0 && pos !== lastLabelEnd) split = true;
            starts[nLabels] = pos;
            ends[nLabels++] = fieldEnd;
            pos = lastLabelEnd = fieldEnd;
            continue;
          }
          if (tag === 0x12) {
            let p = pos + 2;
            let value = 0;
            let timestamp = 0;
            if (p + 9 <= fieldEnd && buf[p] === 0x09) {
              value = view.getFloat64(p + 1, true);
              p += 9;
            }
            if (p < fieldEnd && buf[p] === 0x10) {
              // An int64 varint of up to 7 bytes (below 2^49, exact); longer ones, the general path.
              let mul = 1;
              let q = p + 1;
              for (let k = 0; k < 7 && q < fieldEnd; k++) {
                const b = buf[q++] as number;
                timestamp += (b & 0x7f) * mul;
                if (b < 0x80) {
                  p = q;
                  break;
                }
                mul *= 128;
              }
            }
            if (p === fieldEnd) {
              if (this.nSamples >= maxSamples) this.tooManySamples();
              this.addSample(value, timestamp, pos);
              pos = fieldEnd;
              continue;
            }
          }
        }
      }
      t.pos = pos;
      this.nLabels = nLabels;
      this.readSeriesField(t);
      starts = this.labelStarts;
      ends = this.labelEnds;
      room = Math.min(starts.length, maxLabels);
      if (this.nLabels !== nLabels) {
        if (nLabels !== 0 && pos !== lastLabelEnd) split = true;
        lastLabelEnd = t.pos;
      }
      nLabels = this.nLabels;
      pos = t.pos;
    }
    this.nLabels = nLabels;
    this.labelsSplit = split;
    r.pos = end;
  }

  /** One field of a series at t.pos, any shape: the general path of readSeries. */
  private readSeriesField(t: ProtoReader): void {
    const tagStart = t.pos;
    const key = t.uvarint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === WIRE_LEN) {
      if (this.nLabels >= this.limits.maxLabelsPerSeries) this.tooManyLabels();
      if (this.nLabels >= this.labelStarts.length) this.growLabels();
      this.labelStarts[this.nLabels] = tagStart;
      t.pos = t.lengthDelimitedEnd();
      this.labelEnds[this.nLabels++] = t.pos;
    } else if (field === 2 && wire === WIRE_LEN) {
      if (this.nSamples >= this.limits.maxSamplesPerSeries) this.tooManySamples();
      this.readSample(t, tagStart);
    } else if (field === 3 && wire === WIRE_LEN) {
      // From the exemplar's length to the end of its field, as readExemplar reads it.
      const start = t.pos;
      t.pos = t.lengthDelimitedEnd();
      this.exemplarSpans.push(start, t.pos);
    } else t.skipUnknown(field, wire, 0b1110); // histograms (field 4) and anything newer: not part of remote-write 1.0
  }

  private growLabels(): void {
    const starts = new Float64Array(this.labelStarts.length * 2);
    starts.set(this.labelStarts);
    this.labelStarts = starts;
    const ends = new Float64Array(this.labelEnds.length * 2);
    ends.set(this.labelEnds);
    this.labelEnds = ends;
  }

  private tooManyLabels(): never {
    throw new WireError('FS_WIRE_REMOTE_WRITE_LIMIT', [`series ${this.index} has more than ${this.limits.maxLabelsPerSeries} labels`]);
  }

  private tooManySamples(): never {
    throw new WireError('FS_WIRE_REMOTE_WRITE_LIMIT', [`series ${this.index} has more than ${this.limits.maxSamplesPerSeries} samples`]);
  }

  private readSample(t: ProtoReader, fieldStart: number): void {
    const end = t.lengthDelimitedEnd();
    const s = this.sampleReader.reset(t.pos, end);
    let value = 0;
    let timestamp = 0;
    while (s.pos < end) {
      const key = s.uvarint();
      const field = key >>> 3;
      if (field === 1 && (key & 7) === WIRE_FIXED64) value = s.double();
      else if (field === 2 && (key & 7) === WIRE_VARINT) timestamp = s.int64();
      else s.skipUnknown(field, key & 7, 0b110);
    }
    t.pos = end;
    this.addSample(value, timestamp, fieldStart);
  }

  private addSample(value: number, timestamp: number, fieldStart: number): void {
    const n = this.nSamples;
    if (n === this.values.length) {
      const v = new Float64Array(n * 2);
      v.set(this.values);
      this.values = v;
      const ts = new Float64Array(n * 2);
      ts.set(this.times);
      this.times = ts;
      const at = new Float64Array(n * 2);
      at.set(this.fieldStarts);
      this.fieldStarts = at;
    }
    if (n > 0 && timestamp < (this.times[n - 1] as number)) {
      throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [this.index, 'samples are not in timestamp order']);
    }
    // A Float64Array keeps a NaN's payload, so the stale marker survives.
    this.values[n] = value;
    this.times[n] = timestamp;
    this.fieldStarts[n] = fieldStart;
    this.nSamples = n + 1;
  }
}

/** Decodes an uncompressed WriteRequest body, validating every series unless told not to. */
export function decodeWriteRequest(body: Uint8Array, limits: Partial<RemoteWriteLimits> = {}, validate = true): WriteRequest {
  const reader = new RemoteWriteReader(body, limits);
  const timeseries: TimeSeries[] = [];
  while (reader.next()) {
    const labels = reader.labels(validate);
    const samples = reader.samples();
    const exemplars = reader.exemplars();
    timeseries.push(exemplars.length > 0 ? { labels, samples, exemplars } : { labels, samples });
  }
  return { timeseries, metadata: reader.metadata };
}

/** Decodes a request as it arrives over HTTP: size check, snappy, protobuf, validation. */
export function decodeRemoteWriteBody(compressed: Uint8Array, limits: Partial<RemoteWriteLimits> = {}): WriteRequest {
  const lim = { ...DEFAULT_REMOTE_WRITE_LIMITS, ...limits };
  if (compressed.length > lim.maxBodyBytes) throw new WireError('FS_WIRE_BODY_TOO_LARGE', [compressed.length, lim.maxBodyBytes]);
  return decodeWriteRequest(snappyUncompress(compressed, lim.maxDecompressedBytes), lim);
}
