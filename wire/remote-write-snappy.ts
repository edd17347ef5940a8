// A remote-write body built directly as a snappy block, for the send hot path.
//
// A generic snappy compressor finds repeats by hashing every few bytes of the
// body. ~95% of a remote-write body is label bytes that repeat between series
// (job, namespace, node, site, tenant, ...), and finding them is where its
// time goes: snappyjs manages ~230 MB/s here, 2.3 µs per sample of 500 label
// bytes, and the native snappy package 1.9 µs. But we already know where the
// repeats are. Each Label field of a series' cached label bytes
// (encodeLabels) gets an id, equal only for byte-identical fields; the batch
// remembers where in the uncompressed body each id was last written and emits
// a snappy copy back to it instead of the bytes. Runs of fields copied from
// one earlier series merge into one copy. A field not seen yet in this batch
// is diffed against the last one with the same label name: the name, and the
// value's common prefix and suffix (a pod's hash, an address's port), are
// copies too. Series headers and samples are literals.
//
// The output is an ordinary snappy block
// (https://github.com/google/snappy/blob/main/format_description.txt) that
// any decoder reads; it decompresses byte-for-byte to what RemoteWriteBatch
// builds from the same calls. It is larger than a real compressor's output
// (it finds no repeats inside new values and no repeated samples): a
// trade of bytes for CPU, for links where CPU is what is short.
import { WireError } from './errors.js';
import { encodeWriteRequest, isStaleNaN, type MetricMetadata, type RemoteWriteReader, type Sample, type TimeSeries } from './remote-write.js';

const FIELDS = Symbol('fleetscope.remoteWrite.labelFields');

/**
 * One series' Label fields as the batch writes them (addFields): for each,
 * its interned id (internLabelField; -1: never a copy source), which source
 * its bytes are in (setSource) and where. The caller fills it per series and
 * reuses it: the label bytes themselves stay wherever they already are (the
 * request being forwarded, a table of constant fields), so a cache of series
 * need keep only their ids.
 */
export class SeriesFields {
  count = 0;
  /** Sum of the fields' lengths: the label bytes of the series. */
  bytes = 0;
  ids = new Int32Array(32);
  src = new Uint8Array(32);
  at = new Int32Array(32);
  len = new Int32Array(32);

  clear(): void {
    this.count = 0;
    this.bytes = 0;
  }

  push(id: number, src: number, at: number, len: number): void {
    const i = this.count;
    if (i === this.ids.length) this.grow();
    this.ids[i] = id;
    this.src[i] = src;
    this.at[i] = at;
    this.len[i] = len;
    this.count = i + 1;
    this.bytes += len;
  }

  private grow(): void {
    const n = this.ids.length * 2;
    const ids = new Int32Array(n);
    ids.set(this.ids);
    this.ids = ids;
    const src = new Uint8Array(n);
    src.set(this.src);
    this.src = src;
    const at = new Int32Array(n);
    at.set(this.at);
    this.at = at;
    const len = new Int32Array(n);
    len.set(this.len);
    this.len = len;
  }
}

/** The sources addFields reads from; source 2 is the label bytes of add/addSamples/addFromReader. */
export const SOURCES = 3;
const OWN_SOURCE = 2;

const sharedViews = new WeakMap<ArrayBufferLike, { bytes: Uint8Array; view: DataView }>();

/**
 * The whole ArrayBuffer, as bytes and as a DataView (to copy four bytes at a
 * time), shared by every view of it: views per series would cost each
 * series a few hundred bytes, and a receiver caches hundreds of thousands.
 */
function viewsOf(buffer: ArrayBufferLike): { bytes: Uint8Array; view: DataView } {
  let v = sharedViews.get(buffer);
  if (v === undefined) {
    v = { bytes: new Uint8Array(buffer), view: new DataView(buffer) };
    sharedViews.set(buffer, v);
  }
  return v;
}

const NO_SOURCE = viewsOf(new ArrayBuffer(0));

// Per cached label buffer (add and friends): [id, length] per Label field,
// from shared slabs, not an ArrayBuffer per series: the garbage collector
// tracks every ArrayBuffer, and hundreds of thousands of small ones made it a
// receiver's biggest cost.
const SLAB_INTS = 1 << 16;
let slab = new Int32Array(SLAB_INTS);
let slabUsed = 0;

function idsFrom(values: readonly number[]): Int32Array {
  if (values.length > SLAB_INTS) return Int32Array.from(values);
  if (slabUsed + values.length > SLAB_INTS) {
    slab = new Int32Array(SLAB_INTS);
    slabUsed = 0;
  }
  const ids = slab.subarray(slabUsed, slabUsed + values.length);
  ids.set(values);
  slabUsed += values.length;
  return ids;
}

interface TaggedLabelBytes extends Uint8Array {
  [FIELDS]?: Int32Array;
}

// Label field bytes → id. An id names exactly one byte string for the life
// of the process (ids are never reused), so equal ids mean equal bytes and a
// copy is always right. The table is bounded: when full it starts over, and
// fields seen before that get new ids when next interned (fewer matches,
// never a wrong one). It is an open-addressing table of [hash, id, where the
// bytes are] over one arena of the fields' bytes: no string per field.
const MAX_INTERNED = 1 << 18;
const MAX_ARENA_BYTES = 16 * 1024 * 1024;
// Both start small and double as needed, so that an agent with a few thousand
// series does not pay for a collector's table.
let slots = 1 << 12;
let table = new Int32Array(slots * 3);
let arena = new Uint8Array(64 * 1024);
let arenaUsed = 0;
let internedCount = 0;
let nextId = 1;

function startOver(): void {
  table = new Int32Array(slots * 3);
  arenaUsed = 0;
  internedCount = 0;
}

/** Twice the slots, every entry placed again by its hash. */
function growTable(): void {
  const old = table;
  const oldSlots = slots;
  slots *= 2;
  table = new Int32Array(slots * 3);
  const mask = slots - 1;
  for (let i = 0; i < oldSlots; i++) {
    const h = old[i * 3] as number;
    if (h === 0) continue;
    let slot = h & mask;
    while ((table[slot * 3] as number) !== 0) slot = (slot + 1) & mask;
    table.set(old.subarray(i * 3, i * 3 + 3), slot * 3);
  }
}

/**
 * The id of the Label field bytes[start, end): equal ids are equal bytes,
 * for the life of the process. -1 for a field too long to be worth a copy.
 */
export function internLabelField(bytes: Uint8Array, start: number, end: number): number {
  const len = end - start;
  // A field this long is never a copy source (nor worth an arena).
  if (len + 2 > MAX_ARENA_BYTES >> 4 || nextId >= 0x7fffffff) return -1;
  const h = hashBytes(bytes, start, end) | 1; // 0 marks an empty slot
  const mask = slots - 1;
  for (let slot = h & mask; ; slot = (slot + 1) & mask) {
    const t = slot * 3;
    const sh = table[t] as number;
    if (sh === 0) {
      if (internedCount >= MAX_INTERNED || arenaUsed + len + 2 > MAX_ARENA_BYTES) {
        startOver();
        return internLabelField(bytes, start, end);
      }
      if ((internedCount + 1) * 2 > slots) {
        growTable();
        return internLabelField(bytes, start, end);
      }
      if (arenaUsed + len + 2 > arena.length) {
        const bigger = new Uint8Array(Math.min(MAX_ARENA_BYTES, Math.max(arena.length * 2, arenaUsed + len + 2)));
        bigger.set(arena.subarray(0, arenaUsed));
        arena = bigger;
      }
      const at = arenaUsed;
      arena[at] = len & 0xff;
      arena[at + 1] = len >>> 8;
      arena.set(bytes.subarray(start, end), at + 2);
      arenaUsed = at + 2 + len;
      const id = nextId++;
      table[t] = h;
      table[t + 1] = id;
      table[t + 2] = at;
      internedCount++;
      return id;
    }
    if (sh === h) {
      const at = table[t + 2] as number;
      if (((arena[at] as number) | ((arena[at + 1] as number) << 8)) === len && bytesEqual(arena, at + 2, bytes, start, len)) return table[t + 1] as number;
    }
  }
}

/** FNV-1a over bytes, as a non-negative 31-bit number. */
function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (bytes[i] as number), 16777619);
  return h >>> 1;
}

/** The end of the varint at `p` (at most 5 bytes, within `end`), or -1. */
function varintEnd(bytes: Uint8Array, p: number, end: number): number {
  for (let i = 0; i < 5 && p < end; i++) if ((bytes[p++] as number) < 0x80) return p;
  return -1;
}

function varintValue(bytes: Uint8Array, p: number): number {
  let v = 0;
  for (let mul = 1; ; mul *= 128) {
    const b = bytes[p++] as number;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
  }
}

/**
 * The end of the Label field (tag 0x0a, length, message) at `pos`, or -1
 * when the bytes there are not one that ends within `end`.
 */
export function labelFieldEnd(bytes: Uint8Array, pos: number, end: number): number {
  const inner = bytes[pos] === 0x0a ? varintEnd(bytes, pos + 1, end) : -1;
  const fieldEnd = inner < 0 ? -1 : inner + varintValue(bytes, pos + 1);
  return fieldEnd < 0 || fieldEnd > end ? -1 : fieldEnd;
}

// Where, from a field's start, its name part, the value's length varint and
// the value begin: what parseField leaves in `parsed`.
const P_NAME_AT = 0;
const P_VLEN_AT = 1;
const P_VALUE_AT = 2;

/**
 * Splits the Label field bytes[pos, pos + len) into name part and value:
 * returns a hash of the name part (the name field and the value's tag) and
 * leaves the offsets in `parsed`; -1 when the message is not exactly
 * (name = 1, value = 2), and such a field is never diffed. The hash only
 * keys a table: a collision is caught where it is used.
 */
function parseField(bytes: Uint8Array, pos: number, len: number, parsed: Int32Array): number {
  const end = pos + len;
  const inner = varintEnd(bytes, pos + 1, end);
  if (inner < 0) return -1;
  const nameEnd = bytes[inner] === 0x0a ? varintEnd(bytes, inner + 1, end) : -1;
  if (nameEnd < 0) return -1;
  const tagAt = nameEnd + varintValue(bytes, inner + 1);
  if (tagAt >= end || bytes[tagAt] !== 0x12) return -1;
  const valueStart = varintEnd(bytes, tagAt + 1, end);
  if (valueStart < 0 || valueStart + varintValue(bytes, tagAt + 1) !== end) return -1;
  parsed[P_NAME_AT] = inner - pos;
  parsed[P_VLEN_AT] = tagAt + 1 - pos;
  parsed[P_VALUE_AT] = valueStart - pos;
  return hashBytes(bytes, inner, tagAt + 1);
}

/**
 * [id, length] per Label field of label bytes from encodeLabels. Bytes that
 * are not such a sequence become one chunk with id -1, always a literal.
 */
function tagLabelBytes(tagged: TaggedLabelBytes): Int32Array {
  const bytes = tagged;
  const out: number[] = [];
  const n = bytes.length;
  let pos = 0;
  while (pos < n) {
    const end = labelFieldEnd(bytes, pos, n);
    if (end < 0) {
      out.length = 0;
      out.push(-1, n);
      break;
    }
    out.push(internLabelField(bytes, pos, end), end - pos);
    pos = end;
  }
  const ids = idsFrom(out);
  tagged[FIELDS] = ids;
  return ids;
}

function bytesEqual(a: Uint8Array, ai: number, b: Uint8Array, bi: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ai + i] !== b[bi + i]) return false;
  return true;
}

function grownTo(a: Int32Array, need: number): Int32Array<ArrayBuffer> {
  let n = a.length * 2;
  while (n < need) n *= 2;
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

const varintLength = (v: number): number => (v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5);

// value.StaleNaN, 0x7ff0000000000002, as two little-endian words.
const STALE_LO = 0x00000002;
const STALE_HI = 0x7ff00000;

/**
 * Writes timestamp `times[i]` as a protobuf int64 varint at out[at]; returns
 * its length, or -1 when it is not a safe whole number of milliseconds.
 * Taken as an array and an index, never as a number: see writeSeries.
 */
export function timestampVarint(times: Float64Array, i: number, out: Uint8Array, at: number): number {
  const timestamp = times[i] as number;
  if (!Number.isSafeInteger(timestamp)) return -1;
  let p = at;
  if (timestamp >= 0) {
    let lo = timestamp >>> 0;
    let hi = (timestamp - lo) / 4294967296;
    while (hi > 0) {
      out[p++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo >= 0x80) {
      out[p++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    out[p++] = lo;
  } else {
    // Two's complement over 64 bits: always ten bytes.
    const hiSigned = Math.floor(timestamp / 4294967296);
    let lo = (timestamp - hiSigned * 4294967296) >>> 0;
    let hi = hiSigned >>> 0;
    for (let k = 0; k < 9; k++) {
      out[p++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    out[p++] = lo & 0x01;
  }
  return p - at;
}

/** Writes `values[i]` as the eight little-endian bytes of a double at `at`, a stale marker exactly as value.StaleNaN. */
export function writeValue(view: DataView, at: number, values: Float64Array, i: number): void {
  const value = values[i] as number;
  if (value !== value && isStaleNaN(value)) {
    // The engine may have set the quiet bit; the marker goes out exactly.
    view.setUint32(at, STALE_LO, true);
    view.setUint32(at + 4, STALE_HI, true);
  } else {
    view.setFloat64(at, value, true);
  }
}

/**
 * Writes snappy copy elements for `len` bytes from `offset` back into out at
 * `op`, each of at most 64 bytes, in their shortest forms; returns the new end.
 */
export function writeCopy(out: Uint8Array, op: number, offset: number, len: number): number {
  // Elements copy at most 64 bytes; keep the last one at 4 or more.
  while (len > 0) {
    const n = len >= 68 ? 64 : len > 64 ? 60 : len;
    len -= n;
    if (n >= 4 && n < 12 && offset < 2048) {
      out[op++] = 1 | ((n - 4) << 2) | ((offset >>> 8) << 5);
      out[op++] = offset & 0xff;
    } else if (offset < 0x10000) {
      out[op++] = 2 | ((n - 1) << 2);
      out[op++] = offset & 0xff;
      out[op++] = offset >>> 8;
    } else {
      out[op++] = 3 | ((n - 1) << 2);
      out[op++] = offset & 0xff;
      out[op++] = (offset >>> 8) & 0xff;
      out[op++] = (offset >>> 16) & 0xff;
      out[op++] = offset >>> 24;
    }
  }
  return op;
}

const FIELD_BITS = 16;
const FIELD_MASK = (1 << FIELD_BITS) - 1;
const NAME_BITS = 10;
const NAME_STRIDE = 8;
const NAME_MASK = (1 << NAME_BITS) - 1;
const HEADER_ROOM = 5; // the block's uncompressed-length varint, written last

export interface RemoteWriteSnappyOptions {
  /** Starting size of the output buffer, which grows by doubling (default 64 KiB). */
  readonly initialBytes?: number;
  /**
   * Diff a field not yet in the batch against the last new field with the
   * same name (default true). On the simulated edge series this takes the
   * body from 0.24 of its uncompressed size to 0.14 (real snappy: 0.13) for
   * about 40% more CPU; turn it off where CPU is short and bytes are not.
   */
  readonly diffNewValues?: boolean;
}

/**
 * A WriteRequest built straight into a snappy block. add() and addSamples()
 * take label bytes from encodeLabels, cached by the caller per series (do not
 * change them afterwards). The first time a label buffer is added it is
 * split into fields and tagged (~15 µs on the bench machine, so label bytes
 * encoded afresh for every sample are better served by RemoteWriteBatch and
 * snappyCompress). addFields() takes the fields from wherever the caller has
 * them instead (setSource), with ids the caller keeps. Once the output buffer
 * has grown to the batch size, nothing is allocated. finish() returns the
 * compressed body to POST with REMOTE_WRITE_HEADERS.
 */
export class RemoteWriteSnappyBatch {
  private out: Uint8Array;
  private view: DataView;
  private op = HEADER_ROOM;
  /** Length of the uncompressed body so far. */
  private raw = 0;
  /** Where the open literal's two tag bytes are, or -1. */
  private litStart = -1;
  /** The open copy: from where in the uncompressed body, and how long (0: none). */
  private copyFrom = 0;
  private copyLen = 0;
  // Where each field id was last written in this batch: slots of [id,
  // generation, position], direct-mapped by id (a collision only costs a
  // match) and interleaved so that a lookup touches one cache line. The
  // generation makes reset() O(1).
  private readonly fieldTable = new Int32Array(3 << FIELD_BITS);
  // The last field written as new, per name hash: [name hash, generation,
  // position, its offset in its source, its length, name, value length and
  // value offsets], and the source's bytes and view.
  private readonly nameTable = new Int32Array(NAME_STRIDE << NAME_BITS);
  private readonly nameBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(1 << NAME_BITS).fill(undefined);
  private readonly nameViews: (DataView | undefined)[] = new Array<DataView | undefined>(1 << NAME_BITS).fill(undefined);
  private readonly parsed = new Int32Array(3);
  // Per source: the whole ArrayBuffer its bytes are in, and where they start.
  private readonly sources: Uint8Array[] = [];
  private readonly sourceViews: DataView[] = [];
  private readonly sourceBases = new Int32Array(SOURCES);
  /** The fields of the label bytes add() and friends were given. */
  private readonly own = new SeriesFields();
  private gen = 1;
  /** The last timestamp encoded (kept in a typed array: a double field would box every store), and its length (0: none). */
  private readonly tsLast = new Float64Array(1);
  private tsLength = 0;
  /** add() and addSamples() put their samples here, to be written as a reader's are. */
  private values = new Float64Array(16);
  private times = new Float64Array(16);
  private readonly tsBytes = new Uint8Array(10);
  private series = 0;
  private samples = 0;
  /** Where each sample's field starts in the uncompressed body (sampleOffsets). */
  private sampleRaw = new Int32Array(1024);
  /** The timestamp length all samples share; 0: no samples yet; -1: not one, or a series written as a literal. */
  private tsUniform = 0;

  private readonly diffNewValues: boolean;

  constructor(options: RemoteWriteSnappyOptions = {}) {
    this.out = new Uint8Array(Math.max(options.initialBytes ?? 64 * 1024, 64));
    this.view = new DataView(this.out.buffer);
    this.diffNewValues = options.diffNewValues ?? true;
    for (let i = 0; i < SOURCES; i++) {
      this.sources.push(NO_SOURCE.bytes);
      this.sourceViews.push(NO_SOURCE.view);
    }
  }

  /**
   * Where addFields() finds the bytes of fields from source `i` (0 or 1),
   * their `at` counting from the start of `bytes`, until the next reset();
   * the bytes must stay unchanged until finish().
   */
  setSource(i: number, bytes: Uint8Array): void {
    if (i < 0 || i >= OWN_SOURCE) throw new RangeError(`source ${i} is not 0 or 1`);
    this.setSourceBytes(i, bytes);
  }

  /** One series with one sample. */
  add(labelBytes: Uint8Array, value: number, timestamp: number): void {
    this.values[0] = value;
    this.times[0] = timestamp;
    this.writeSeries(this.ownFields(labelBytes), this.values, this.times, 1);
  }

  /** One series with several samples, which must be in timestamp order. */
  addSamples(labelBytes: Uint8Array, samples: readonly Sample[]): void {
    if (samples.length > this.values.length) {
      this.values = new Float64Array(samples.length * 2);
      this.times = new Float64Array(samples.length * 2);
    }
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i] as Sample;
      this.values[i] = s.value;
      this.times[i] = s.timestamp;
    }
    this.writeSeries(this.ownFields(labelBytes), this.values, this.times, samples.length);
  }

  /** One series carrying the current series' samples of a reader (a receiver forwarding), without allocating. */
  addFromReader(labelBytes: Uint8Array, reader: RemoteWriteReader): void {
    this.addFields(this.ownFields(labelBytes), reader);
  }

  /**
   * One series whose Label fields are `fields` (in their sources, set with
   * setSource), carrying the current series' samples of a reader.
   */
  addFields(fields: SeriesFields, reader: RemoteWriteReader): void {
    this.writeSeries(fields, reader.sampleValues(), reader.sampleTimestamps(), reader.sampleCount());
  }

  /**
   * One series: its fields, then samples [0, n) of values and times (in
   * timestamp order). Samples are passed as arrays and an index, never as
   * numbers: a double passed to a call or stored in a field is a heap
   * allocation, and at one per sample that was most of the receiver's garbage.
   */
  private writeSeries(fields: SeriesFields, values: Float64Array, times: Float64Array, n: number): void {
    let len = fields.bytes;
    for (let i = 0; i < n; i++) len += 12 + this.encodeTimestamp(times, i);
    this.writeFields(fields, len, len - fields.bytes);
    if (this.samples + n > this.sampleRaw.length) this.sampleRaw = grownTo(this.sampleRaw, this.samples + n);
    for (let i = 0; i < n; i++) {
      const tsLen = this.encodeTimestamp(times, i);
      this.sampleRaw[this.samples + i] = this.raw;
      if (this.tsUniform !== tsLen) this.tsUniform = this.tsUniform === 0 ? tsLen : -1;
      this.writeSample(values, i, 12 + tsLen);
    }
    this.samples += n;
  }

  /** A full series, exemplars included: the cold path, written as a literal. */
  addSeries(ts: TimeSeries): void {
    this.tsUniform = -1; // its samples are not where sampleOffsets() says
    this.literalBytes(encodeWriteRequest({ timeseries: [ts] }));
    this.series++;
    this.samples += ts.samples.length;
  }

  addMetadata(m: MetricMetadata): void {
    this.tsUniform = -1;
    this.literalBytes(encodeWriteRequest({ timeseries: [], metadata: [m] }));
  }

  get seriesCount(): number {
    return this.series;
  }

  get sampleCount(): number {
    return this.samples;
  }

  /** Bytes of the protobuf body the block decompresses to. */
  get uncompressedLength(): number {
    return this.raw;
  }

  /**
   * Where each sample written so far starts in the uncompressed body (at its
   * Sample field's tag), in order: a view valid until the next add or reset.
   * What RemoteWriteTemplate.of() needs to find them in the block.
   */
  sampleOffsets(): Int32Array {
    return this.sampleRaw.subarray(0, this.samples);
  }

  /**
   * The length of every sample's timestamp varint when they all have one
   * length and every series went through add, addSamples, addFromReader or
   * addFields; else -1 (or 0: no samples).
   */
  get uniformTimestampLength(): number {
    return this.tsUniform;
  }

  /** The snappy block: a view valid until the next add or reset. */
  finish(): Buffer {
    this.ensure(16 + this.copyLen / 12);
    if (this.litStart >= 0) this.op = this.closeLiteral(this.litStart, this.op);
    this.litStart = -1;
    if (this.copyLen > 0) this.op = this.emitCopy(this.op, this.raw - this.copyLen - this.copyFrom, this.copyLen);
    this.copyLen = 0;
    let v = this.raw;
    const start = HEADER_ROOM - varintLength(v);
    let p = start;
    while (v >= 0x80) {
      this.out[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.out[p] = v;
    return Buffer.from(this.out.buffer, this.out.byteOffset + start, this.op - start);
  }

  reset(): void {
    this.op = HEADER_ROOM;
    this.raw = 0;
    this.litStart = -1;
    this.copyLen = 0;
    this.series = 0;
    this.samples = 0;
    this.tsUniform = 0;
    if (++this.gen === 0x7fffffff) {
      this.fieldTable.fill(0);
      this.nameTable.fill(0);
      this.gen = 1;
    }
    // Let go of bytes the caller has dropped.
    this.nameBytes.fill(undefined);
    this.nameViews.fill(undefined);
    for (let i = 0; i < SOURCES; i++) {
      this.sources[i] = NO_SOURCE.bytes;
      this.sourceViews[i] = NO_SOURCE.view;
    }
  }

  private setSourceBytes(i: number, bytes: Uint8Array): void {
    const v = viewsOf(bytes.buffer);
    this.sources[i] = v.bytes;
    this.sourceViews[i] = v.view;
    this.sourceBases[i] = bytes.byteOffset;
  }

  /** The fields of cached label bytes, in source 2 (the whole ArrayBuffer they are in). */
  private ownFields(labelBytes: Uint8Array): SeriesFields {
    const tagged = labelBytes as TaggedLabelBytes;
    const tags = tagged[FIELDS] ?? tagLabelBytes(tagged);
    const f = this.own;
    f.clear();
    let at = 0;
    for (let i = 0; i < tags.length; i += 2) {
      const len = tags[i + 1] as number;
      f.push(tags[i] as number, OWN_SOURCE, at, len);
      at += len;
    }
    this.setSourceBytes(OWN_SOURCE, labelBytes);
    return f;
  }

  private writeFields(fields: SeriesFields, seriesLen: number, sampleBytes: number): void {
    const count = fields.count;
    const ids = fields.ids;
    const srcs = fields.src;
    const ats = fields.at;
    const lens = fields.len;
    // Room for the worst case (every field a literal or a copy, each with its
    // header), so that nothing below reallocates the buffer.
    this.ensure(2 * fields.bytes + 8 * count + sampleBytes + 64 + this.copyLen / 12);
    const out = this.out;
    const dst = this.view;
    const fieldTable = this.fieldTable;
    const gen = this.gen;
    const sources = this.sources;
    const views = this.sourceViews;
    // The open literal and copy live in locals for the loop: no calls per field.
    let op = this.op;
    let raw = this.raw;
    let litStart = this.litStart;
    let copyFrom = this.copyFrom;
    let copyLen = this.copyLen;
    if (litStart < 0) {
      if (copyLen > 0) op = this.emitCopy(op, raw - copyLen - copyFrom, copyLen);
      copyLen = 0;
      litStart = op;
      op += 2;
    }
    out[op++] = 0x0a;
    let v = seriesLen;
    raw++;
    while (v >= 0x80) {
      out[op++] = (v & 0x7f) | 0x80;
      v >>>= 7;
      raw++;
    }
    out[op++] = v;
    raw++;
    for (let i = 0; i < count; i++) {
      const id = ids[i] as number;
      const len = lens[i] as number;
      const slot = 3 * (id & FIELD_MASK);
      if (id >= 0 && fieldTable[slot] === id && fieldTable[slot + 1] === gen) {
        const at = fieldTable[slot + 2] as number;
        fieldTable[slot + 2] = raw; // the newest copy is the nearest
        if (litStart >= 0) {
          op = this.closeLiteral(litStart, op);
          litStart = -1;
        }
        if (copyLen > 0 && copyFrom + copyLen === at) {
          // Contiguous with the open copy, at the same distance back: extend it.
          copyLen += len;
        } else {
          if (copyLen > 0) op = this.emitCopy(op, raw - copyLen - copyFrom, copyLen);
          copyFrom = at;
          copyLen = len;
        }
      } else {
        const s = srcs[i] as number;
        const bytes = sources[s] as Uint8Array;
        const src = views[s] as DataView;
        const from = (ats[i] as number) + (this.sourceBases[s] as number);
        const nameId = this.diffNewValues && id >= 0 ? parseField(bytes, from, len, this.parsed) : -1;
        const nslot = NAME_STRIDE * (nameId & NAME_MASK);
        if (nameId >= 0 && this.nameTable[nslot] === nameId && this.nameTable[nslot + 1] === gen) {
          // New field, known name: diff against the last new field of that name.
          this.op = op;
          this.raw = raw;
          this.litStart = litStart;
          this.copyFrom = copyFrom;
          this.copyLen = copyLen;
          this.diffField(bytes, src, from, len, nslot);
          op = this.op;
          litStart = this.litStart;
          copyFrom = this.copyFrom;
          copyLen = this.copyLen;
        } else {
          if (litStart < 0) {
            if (copyLen > 0) op = this.emitCopy(op, raw - copyLen - copyFrom, copyLen);
            copyLen = 0;
            litStart = op;
            op += 2;
          }
          if (len < 256) {
            // Four bytes at a time through DataViews: ~3x a byte loop, and no
            // subarray allocated per field as set() would need.
            let k = 0;
            for (; k + 4 <= len; k += 4) dst.setUint32(op + k, src.getUint32(from + k, true), true);
            for (; k < len; k++) out[op + k] = bytes[from + k] as number;
          } else {
            out.set(bytes.subarray(from, from + len), op);
          }
          op += len;
        }
        if (id >= 0) {
          fieldTable[slot] = id;
          fieldTable[slot + 1] = gen;
          fieldTable[slot + 2] = raw;
        }
        if (nameId >= 0) {
          const nameTable = this.nameTable;
          const parsed = this.parsed;
          nameTable[nslot] = nameId;
          nameTable[nslot + 1] = gen;
          nameTable[nslot + 2] = raw;
          nameTable[nslot + 3] = from;
          nameTable[nslot + 4] = len;
          nameTable[nslot + 5] = parsed[P_NAME_AT] as number;
          nameTable[nslot + 6] = parsed[P_VLEN_AT] as number;
          nameTable[nslot + 7] = parsed[P_VALUE_AT] as number;
          this.nameBytes[nslot / NAME_STRIDE] = bytes;
          this.nameViews[nslot / NAME_STRIDE] = src;
        }
      }
      raw += len;
    }
    this.op = op;
    this.raw = raw;
    this.litStart = litStart;
    this.copyFrom = copyFrom;
    this.copyLen = copyLen;
    this.series++;
  }

  /**
   * Writes the field c[from, from + cLen) (just parsed into this.parsed) as a
   * diff against the field in name-table slot `nslot`: the name part is a
   * copy; the field's header and the value's length too when their bytes are
   * equal; then the value's common prefix and suffix. Leaves this.raw at the
   * field's end.
   */
  private diffField(c: Uint8Array, cView: DataView, from: number, cLen: number, nslot: number): void {
    const nameTable = this.nameTable;
    const b = this.nameBytes[nslot / NAME_STRIDE] as Uint8Array;
    const bView = this.nameViews[nslot / NAME_STRIDE] as DataView;
    const baseRaw = nameTable[nslot + 2] as number;
    const baseFrom = nameTable[nslot + 3] as number;
    const bLen = nameTable[nslot + 4] as number;
    const bName = nameTable[nslot + 5] as number;
    const bVlen = nameTable[nslot + 6] as number;
    const bValue = nameTable[nslot + 7] as number;
    const parsed = this.parsed;
    const cName = parsed[P_NAME_AT] as number;
    const cVlen = parsed[P_VLEN_AT] as number;
    const cValue = parsed[P_VALUE_AT] as number;
    const cv = cLen - cValue;
    const bv = bLen - bValue;
    const nameLen = cVlen - cName;
    if (nameLen !== bVlen - bName || !bytesEqual(c, from + cName, b, baseFrom + bName, nameLen)) {
      // Two names with one hash: no diff.
      this.literal(c, from, cLen);
      return;
    }
    // A varint's bytes are fixed by its value and its length, so these
    // compare the field's header and the value's length byte for byte.
    if (cName === bName && cLen === bLen) this.part(c, from, baseRaw, cName);
    else this.literal(c, from, cName);
    this.part(c, from + cName, baseRaw + bName, nameLen);
    if (cValue - cVlen === bValue - bVlen && cv === bv) this.part(c, from + cVlen, baseRaw + bVlen, cValue - cVlen);
    else this.literal(c, from + cVlen, cValue - cVlen);
    const max = cv < bv ? cv : bv;
    // The common prefix, four bytes at a time while it lasts.
    const cs = from + cValue;
    const bs = baseFrom + bValue;
    let prefix = 0;
    while (prefix + 4 <= max && cView.getUint32(cs + prefix) === bView.getUint32(bs + prefix)) prefix += 4;
    while (prefix < max && c[cs + prefix] === b[bs + prefix]) prefix++;
    let suffix = 0;
    while (suffix < max - prefix && c[from + cLen - 1 - suffix] === b[baseFrom + bLen - 1 - suffix]) suffix++;
    this.part(c, from + cValue, baseRaw + bValue, prefix);
    this.literal(c, from + cValue + prefix, cv - prefix - suffix);
    this.part(c, from + cLen - suffix, baseRaw + bLen - suffix, suffix);
  }

  /** `len` bytes equal to those at `at` in the body: a copy if that pays, else a literal of `bytes`. */
  private part(bytes: Uint8Array, start: number, at: number, len: number): void {
    if (len === 0) return;
    if (this.copyLen > 0 && this.copyFrom + this.copyLen === at) {
      this.copyLen += len;
      this.raw += len;
      return;
    }
    const offset = this.raw - at;
    if (len < 4 || len <= (offset < 2048 ? 2 : offset < 0x10000 ? 3 : 5)) {
      this.literal(bytes, start, len);
      return;
    }
    if (this.litStart >= 0) this.op = this.closeLiteral(this.litStart, this.op);
    this.litStart = -1;
    if (this.copyLen > 0) this.op = this.emitCopy(this.op, this.raw - this.copyLen - this.copyFrom, this.copyLen);
    this.copyFrom = at;
    this.copyLen = len;
    this.raw += len;
  }

  private literal(bytes: Uint8Array, start: number, len: number): void {
    if (len === 0) return;
    this.literalStart();
    const out = this.out;
    const op = this.op;
    for (let k = 0; k < len; k++) out[op + k] = bytes[start + k] as number;
    this.op = op + len;
    this.raw += len;
  }

  /**
   * Encodes a timestamp as an int64 varint into tsBytes and returns its
   * length. Samples of one scrape share a timestamp: the last one is kept.
   */
  private encodeTimestamp(times: Float64Array, i: number): number {
    if (this.tsLength !== 0 && times[i] === this.tsLast[0]) return this.tsLength;
    const p = timestampVarint(times, i, this.tsBytes, 0);
    if (p < 0) throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [this.series, `timestamp ${times[i] as number} is not a whole number of milliseconds`]);
    this.tsLast[0] = times[i] as number;
    this.tsLength = p;
    return p;
  }

  /** Writes sample `i` of values as a Sample field whose timestamp encodeTimestamp() has just encoded. */
  private writeSample(values: Float64Array, i: number, sampleLen: number): void {
    this.literalStart();
    const out = this.out;
    const p = this.op;
    out[p] = 0x12;
    out[p + 1] = sampleLen - 2;
    out[p + 2] = 0x09;
    writeValue(this.view, p + 3, values, i);
    out[p + 11] = 0x10;
    const ts = this.tsBytes;
    const n = this.tsLength;
    for (let k = 0; k < n; k++) out[p + 12 + k] = ts[k] as number;
    this.op = p + 12 + n;
    this.raw += sampleLen;
  }

  private literalBytes(bytes: Uint8Array): void {
    this.ensure(bytes.length + 16 + this.copyLen / 12);
    this.literalStart();
    this.out.set(bytes, this.op);
    this.op += bytes.length;
    this.raw += bytes.length;
  }

  /**
   * Opens a literal unless one is open. Its tag is written when it closes,
   * into two bytes reserved here: the form with a one-byte length (up to 256
   * bytes), so that closing it moves nothing, at one byte more than the
   * shortest form for literals of 60 bytes or less.
   */
  private literalStart(): void {
    if (this.litStart >= 0) return;
    if (this.copyLen > 0) this.op = this.emitCopy(this.op, this.raw - this.copyLen - this.copyFrom, this.copyLen);
    this.copyLen = 0;
    this.litStart = this.op;
    this.op += 2;
  }

  /** Writes the tag of the literal whose bytes run from start + 2 to op; returns the new end. */
  private closeLiteral(start: number, op: number): number {
    const n = op - start - 2;
    const out = this.out;
    if (n <= 0x100) {
      out[start] = 60 << 2;
      out[start + 1] = n - 1;
      return op;
    }
    // Longer literals carry their length in 2..4 bytes (the callers ensured
    // room for them): move the literal up.
    const extra = n <= 0x10000 ? 2 : n <= 0x1000000 ? 3 : 4;
    out.copyWithin(start + 1 + extra, start + 2, op);
    out[start] = (59 + extra) << 2;
    let v = n - 1;
    for (let i = 1; i <= extra; i++) {
      out[start + i] = v & 0xff;
      v >>>= 8;
    }
    return op + extra - 1;
  }

  /** Writes copy elements for `len` bytes from `offset` back; returns the new end. */
  private emitCopy(op: number, offset: number, len: number): number {
    return writeCopy(this.out, op, offset, len);
  }

  private ensure(extra: number): void {
    if (this.op + extra <= this.out.length) return;
    let size = this.out.length * 2;
    while (size < this.op + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.out.subarray(0, this.op));
    this.out = next;
    this.view = new DataView(next.buffer);
  }
}
