// A remote-write snappy block to send again with new samples.
//
// A receiver forwards what its senders push, and an agent pushes the same
// series in the same order every time: only the samples change. Snappy
// copies point back by distance, and a sample is 8 bytes of value and a
// timestamp varint of fixed length, so when the same series come again with
// as many samples and timestamps of the same length, the block built last
// time differs from the one to build now only in the bytes of the samples.
// RemoteWriteSnappyBatch writes every sample inside a literal and no copy
// ever points at a sample (copies point at label fields), so those bytes can
// be written over in place: the template finds where each sample's bytes
// are in the block once, and later requests copy the block and put their
// samples there. That is a copy and ~20 bytes per sample, instead of
// finding the repeats of every label field again.
import { randomBytes } from 'node:crypto';
import xxhash from 'xxhash-wasm';
import { timestampVarint, writeCopy, writeValue } from './remote-write-snappy.js';

// A Sample field as RemoteWriteSnappyBatch writes it: 0x12, its length, 0x09,
// eight bytes of value, 0x10, the timestamp varint.
const VALUE_AT = 3;
const TIMESTAMP_AT = 12;

/** The end of the varint at `p` in block, or -1 when it runs past it. */
function varintEnd(block: Uint8Array, p: number): number {
  for (let i = 0; i < 5 && p < block.length; i++) if ((block[p++] as number) < 0x80) return p;
  return -1;
}

const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);

export class RemoteWriteTemplate {
  private out = EMPTY;
  private view = EMPTY_VIEW;
  /** The last timestamp put and its varint: samples of one scrape share it. */
  private readonly last = new Float64Array([Number.NaN]);
  private readonly lastBytes = new Uint8Array(10);

  private constructor(
    /** The block, owned by the template. */
    private readonly block: Uint8Array,
    /** Where in the block each sample's Sample field starts. */
    private readonly at: Int32Array,
    /** The length of every sample's timestamp varint. */
    readonly timestampLength: number,
  ) {}

  /**
   * The template of a finished batch: its block, a copy taken here, and
   * where each sample is in it (`sampleOffsets`, in the uncompressed body,
   * ascending; `timestampLength` shared by all, from the batch). Null when
   * a sample's bytes are not all inside one literal of the block, which
   * RemoteWriteSnappyBatch never writes, or the block does not parse.
   */
  static of(block: Uint8Array, sampleOffsets: Int32Array, timestampLength: number): RemoteWriteTemplate | null {
    const at = locateSamples(block, sampleOffsets, timestampLength, false);
    if (at === null) return null;
    const own = new Uint8Array(block.length);
    own.set(block);
    return new RemoteWriteTemplate(own, at, timestampLength);
  }

  get sampleCount(): number {
    return this.at.length;
  }

  /** Bytes the template holds (a block begun and not finished included). */
  get byteSize(): number {
    return this.block.byteLength + this.at.byteLength + this.out.buffer.byteLength + (this.view.buffer === this.out.buffer ? 0 : this.view.buffer.byteLength);
  }

  /** Starts a new block: a copy of the template's, for put() to write the samples into. */
  begin(): void {
    this.out = new Uint8Array(this.block.length);
    this.out.set(this.block);
    this.view = new DataView(this.out.buffer);
  }

  /**
   * Writes sample `k` of the block: values[i] at times[i]. False when that
   * timestamp's varint is not timestampLength bytes long (or it is not a
   * whole number of milliseconds): the block cannot carry it, build anew.
   */
  put(k: number, values: Float64Array, times: Float64Array, i: number): boolean {
    const p = this.at[k] as number;
    writeValue(this.view, p + VALUE_AT, values, i);
    const out = this.out;
    const ts = this.lastBytes;
    const n = this.timestampLength;
    if (times[i] !== this.last[0]) {
      if (timestampVarint(times, i, ts, 0) !== n) {
        this.last[0] = Number.NaN;
        return false;
      }
      this.last[0] = times[i] as number;
    }
    for (let j = 0; j < n; j++) out[p + TIMESTAMP_AT + j] = ts[j] as number;
    return true;
  }

  /**
   * Writes sample `k` of the block from a Sample field of the same shape
   * (RemoteWriteRepeat checked it) at `src[at]`: its value and timestamp
   * bytes as they are.
   */
  putRaw(k: number, src: Uint8Array, at: number): void {
    const p = this.at[k] as number;
    const out = this.out;
    const end = TIMESTAMP_AT + this.timestampLength;
    for (let j = VALUE_AT; j < VALUE_AT + 8; j++) out[p + j] = src[at + j] as number;
    for (let j = TIMESTAMP_AT; j < end; j++) out[p + j] = src[at + j] as number;
  }

  /** The block begin() started, with every sample put: to send as it is. */
  finish(): Buffer {
    const out = this.out;
    // Hold nothing of the block given away: a site's template lives as long as the site.
    this.out = EMPTY;
    this.view = EMPTY_VIEW;
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }
}

/** Where RemoteWriteRepeat puts a body with its samples' bytes masked, to digest it. */
export interface RepeatScratch {
  bytes: Uint8Array;
}

/**
 * A sender's body, recognised the next time before it is decompressed.
 *
 * An agent's body (RemoteWriteSnappyBatch, or a template of one) has every
 * sample inside a literal and no copy reading one: when it sends the same
 * series in the same order again, the new block is the old one with other
 * bytes at the samples' values and timestamps. This keeps where those bytes
 * are and a 64-bit digest of the block with them masked. A block of the same
 * length whose timestamps are varints of the same length, in order within
 * each series, and whose masked digest is the same, decompresses to the old
 * body with only those bytes changed: the same series at the same
 * positions, with as many samples each. Nothing of it is decompressed or
 * hashed series by series; its samples' bytes are read in place.
 */
export class RemoteWriteRepeat {
  private constructor(
    private readonly length: number,
    /** Where in the block each sample's Sample field starts. */
    readonly at: Int32Array,
    readonly timestampLength: number,
    private readonly digest: bigint,
  ) {}

  /**
   * The repeat of `block` (snappy), whose samples start at `sampleOffsets`
   * in the body it decompresses to (at their Sample fields, ascending), each
   * with a timestamp varint of `timestampLength` bytes (at most 7). Null when
   * a sample is not whole in one literal, has another shape or length, or a
   * copy reads one.
   */
  static of(block: Uint8Array, sampleOffsets: Int32Array, timestampLength: number, scratch: RepeatScratch): RemoteWriteRepeat | null {
    if (timestampLength < 1 || timestampLength > 7) return null;
    const at = locateSamples(block, sampleOffsets, timestampLength, true);
    if (at === null) return null;
    const masked = scratchOf(scratch, block);
    const view = new DataView(masked.buffer, masked.byteOffset, masked.byteLength);
    for (let k = 0; k < at.length; k++) mask(view, at[k] as number, timestampLength);
    return new RemoteWriteRepeat(block.length, at, timestampLength, digestOf(masked));
  }

  get sampleCount(): number {
    return this.at.length;
  }

  /** Bytes it holds. */
  get byteSize(): number {
    return this.at.byteLength + 8 + 64;
  }

  /**
   * Whether `block` is the one this was made of with other samples:
   * `counts` is how many samples each series has (a series' timestamps
   * must not go back, as RemoteWriteReader requires). Reads nothing but
   * `block`; its samples are then at `at`, in the same shape.
   */
  matches(block: Uint8Array, counts: Uint16Array, scratch: RepeatScratch): boolean {
    if (block.length !== this.length) return false;
    const at = this.at;
    const n = at.length;
    const tsLength = this.timestampLength;
    const masked = scratchOf(scratch, block);
    const view = new DataView(masked.buffer, masked.byteOffset, masked.byteLength);
    let k = 0;
    for (let s = 0; s < counts.length; s++) {
      const c = counts[s] as number;
      if (k + c > n) return false;
      let last = -1;
      for (let i = 0; i < c; i++, k++) {
        const p = at[k] as number;
        // The timestamp's tag is masked (with the value's bytes): it is checked here.
        if (block[p + TIMESTAMP_AT - 1] !== 0x10) return false;
        const t = p + TIMESTAMP_AT;
        let ts = 0;
        let mul = 1;
        for (let j = 0; j < tsLength - 1; j++, mul *= 128) {
          const b = block[t + j] as number;
          if (b < 0x80) return false;
          ts += (b & 0x7f) * mul;
        }
        const b = block[t + tsLength - 1] as number;
        // A last byte of 0 is a longer varint than its number needs: not what the batch writes.
        if (b >= 0x80 || (b === 0 && tsLength > 1)) return false;
        if (c > 1) {
          ts += b * mul;
          if (ts < last) return false;
          last = ts;
        }
        mask(view, p, tsLength);
      }
    }
    return k === n && digestOf(masked) === this.digest;
  }
}

/** A copy of block in scratch (grown when short): a view of its first block.length bytes. */
function scratchOf(scratch: RepeatScratch, block: Uint8Array): Uint8Array {
  if (scratch.bytes.length < block.length) scratch.bytes = new Uint8Array(Math.max(block.length, 2 * scratch.bytes.length));
  const out = scratch.bytes.subarray(0, block.length);
  out.set(block);
  return out;
}

/**
 * Zeroes the value and timestamp bytes of the Sample field at p (and the
 * timestamp's tag between them): two 8-byte stores, as a timestamp has at
 * most 7 bytes.
 */
function mask(view: DataView, p: number, tsLength: number): void {
  view.setFloat64(p + VALUE_AT, 0);
  view.setFloat64(p + TIMESTAMP_AT + tsLength - 8, 0);
}

const { h64Raw } = await xxhash();
const DIGEST_SEED = randomBytes(8).readBigUInt64LE(0);

/**
 * The masked block's digest: XXH64 (xxhash-wasm), seeded at random per
 * process. It was SHA-256, a quarter of a push worker's CPU (~150 us for an
 * agent's 258 KB body against ~24 us). A digest only says whether the site
 * sends the series of its last body again; whatever it says, matches() has
 * checked every sample's place and shape, so the template's body stays a
 * valid request of that site's own series. A collision, by chance ~2^-64
 * per changed body, or made on purpose by a site against its own last body,
 * can only put that site's samples under its own earlier series: nothing of
 * another site or tenant, and nothing a site could not send anyway.
 */
function digestOf(bytes: Uint8Array): bigint {
  return h64Raw(bytes, DIGEST_SEED);
}

/**
 * Calls `element` for each element of a snappy block with where its bytes
 * are (p: in the block, for a literal), where it starts in the uncompressed
 * body (raw), its length there, whether it is a literal and, for a copy,
 * how far back its source is, until it returns false. False when the block
 * does not parse or `element` stopped.
 */
function walk(block: Uint8Array, element: (p: number, raw: number, len: number, literal: boolean, offset: number) => boolean): boolean {
  let p = varintEnd(block, 0);
  if (p < 0) return false;
  let raw = 0;
  while (p < block.length) {
    const tag = block[p] as number;
    let len: number;
    if ((tag & 3) === 0) {
      len = (tag >>> 2) + 1;
      p++;
      if (len > 60) {
        const extra = len - 60;
        len = 0;
        for (let j = 0; j < extra; j++) len += (block[p + j] as number) * 2 ** (8 * j);
        len++;
        p += extra;
      }
      if (p + len > block.length || !element(p, raw, len, true, 0)) return false;
      p += len;
    } else {
      const kind = tag & 3;
      const size = kind === 1 ? 2 : kind === 2 ? 3 : 5;
      if (p + size > block.length) return false;
      len = kind === 1 ? ((tag >>> 2) & 7) + 4 : (tag >>> 2) + 1;
      let offset = kind === 1 ? ((tag >>> 5) << 8) | (block[p + 1] as number) : (block[p + 1] as number) | ((block[p + 2] as number) << 8);
      if (kind === 3) offset = (offset | ((block[p + 3] as number) << 16)) + (block[p + 4] as number) * 0x1000000;
      if (offset === 0 || offset > raw || !element(p, raw, len, false, offset)) return false;
      p += size;
    }
    raw += len;
  }
  return p === block.length;
}

/**
 * Where in `block` (a snappy block) each Sample field starts, given where
 * they start in the body it decompresses to (`sampleOffsets`, ascending):
 * null unless every one is whole inside one literal and has the shape
 * RemoteWriteSnappyBatch writes (0x12, its length, 0x09, eight bytes of
 * value, 0x10, a timestamp varint of `timestampLength` bytes). With
 * `unread`, also null when a copy reads any sample's value or timestamp
 * bytes (the body would then depend on them elsewhere too).
 */
function locateSamples(block: Uint8Array, sampleOffsets: Int32Array, timestampLength: number, unread: boolean): Int32Array | null {
  const n = sampleOffsets.length;
  if (n === 0 || timestampLength <= 0) return null;
  const sampleBytes = TIMESTAMP_AT + timestampLength;
  const at = new Int32Array(n);
  let k = 0;
  let hint = 0;
  const ok = walk(block, (p, raw, len, literal, offset) => {
    if (!literal && unread) {
      // The first sample whose bytes end after the source starts must start after the source ends.
      const from = raw - offset;
      hint = firstAbove(sampleOffsets, from - sampleBytes, hint);
      if (hint < n && (sampleOffsets[hint] as number) + VALUE_AT < from + len) return false;
    }
    for (; k < n && (sampleOffsets[k] as number) < raw + len; k++) {
      const s = sampleOffsets[k] as number;
      // A sample that starts inside a copy, or runs out of its literal, cannot be written over.
      if (!literal || s < raw || s + sampleBytes > raw + len) return false;
      at[k] = p + (s - raw);
    }
    return true;
  });
  if (!ok || k < n) return null;
  for (let i = 0; i < n; i++) {
    const s = at[i] as number;
    if (block[s] !== 0x12 || block[s + 1] !== sampleBytes - 2 || block[s + 2] !== 0x09 || block[s + 11] !== 0x10) return null;
    for (let j = 0; j < timestampLength - 1; j++) if ((block[s + TIMESTAMP_AT + j] as number) < 0x80) return null;
    if ((block[s + sampleBytes - 1] as number) >= 0x80) return null;
  }
  return at;
}

const HASH_BITS = 14;
const matches = new Int32Array(1 << HASH_BITS);

/** Writes raw[from, to) as one literal element at out[op]; returns the new end. */
function writeLiteral(out: Uint8Array, op: number, raw: Uint8Array, from: number, to: number): number {
  const n = to - from;
  if (n === 0) return op;
  const m = n - 1;
  if (m < 60) out[op++] = m << 2;
  else {
    const extra = m < 0x100 ? 1 : m < 0x10000 ? 2 : m < 0x1000000 ? 3 : 4;
    out[op++] = (59 + extra) << 2;
    for (let i = 0, v = m; i < extra; i++, v = Math.floor(v / 256)) out[op++] = v & 0xff;
  }
  if (n < 64) for (let i = 0; i < n; i++) out[op + i] = raw[from + i] as number;
  else out.set(raw.subarray(from, to), op);
  return op + n;
}

/**
 * The index of the first of the ascending `starts` above `at`: looked for
 * from `hint` (copies mostly come from just before) a few steps each way,
 * then by halves.
 */
function firstAbove(starts: Int32Array, at: number, hint: number): number {
  const n = starts.length;
  let i = hint < n ? hint : n;
  for (let step = 0; step < 8; step++) {
    if (i > 0 && (starts[i - 1] as number) > at) i--;
    else if (i < n && (starts[i] as number) <= at) i++;
    else return i;
  }
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((starts[mid] as number) <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A snappy block of `raw` in which each span [keepStart[k], keepEnd[k])
 * (ascending, apart) is in a literal and never the source of a copy: a
 * greedy compressor over a hash of four bytes, as snappy's own (with its
 * skipping over bytes that do not compress), whose matches stop short of
 * those spans on both sides. ~0.2 of a remote-write body's size on
 * Kubernetes-like series, about what snappy makes of them.
 */
export function snappyCompressKeeping(raw: Uint8Array, keepStart: Int32Array, keepEnd: Int32Array): Uint8Array {
  const n = raw.length;
  // A copy of four bytes can take five: room for the worst case, given back by the slice below.
  const out = new Uint8Array(2 * n + 64);
  let op = 0;
  for (let v = n; ; v >>>= 7) {
    if (v < 0x80) {
      out[op++] = v;
      break;
    }
    out[op++] = (v & 0x7f) | 0x80;
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  matches.fill(-1);
  const nk = keepStart.length;
  let ip = 0;
  let lit = 0;
  let b = 0;
  let skip = 32;
  let hint = 0;
  for (;;) {
    const limit = b < nk ? (keepStart[b] as number) : n;
    if (ip + 4 > limit) {
      if (b >= nk) break;
      ip = keepEnd[b++] as number; // its bytes go out in the literal
      skip = 32;
      continue;
    }
    const word = view.getUint32(ip, true);
    const h = Math.imul(word, 0x1e35a7bd) >>> (32 - HASH_BITS);
    const from = matches[h] as number;
    matches[h] = ip;
    if (from < 0 || view.getUint32(from, true) !== word) {
      // Bytes that do not compress are skipped over faster and faster, as snappy does.
      ip += skip++ >>> 5;
      continue;
    }
    skip = 32;
    // The source stops short of the first kept span after it, too.
    hint = firstAbove(keepStart, from, hint);
    const sourceLimit = hint < nk ? (keepStart[hint] as number) : n;
    const max = Math.min(limit - ip, sourceLimit - from);
    let len = 4;
    while (len + 4 <= max && view.getUint32(from + len, true) === view.getUint32(ip + len, true)) len += 4;
    while (len < max && raw[from + len] === raw[ip + len]) len++;
    op = writeLiteral(out, op, raw, lit, ip);
    op = writeCopy(out, op, ip - from, len);
    ip += len;
    lit = ip;
    // The position before the match's end is a likely source for later ones.
    if (ip - 1 + 4 <= limit) matches[Math.imul(view.getUint32(ip - 1, true), 0x1e35a7bd) >>> (32 - HASH_BITS)] = ip - 1;
  }
  op = writeLiteral(out, op, raw, lit, n);
  return out.slice(0, op);
}
