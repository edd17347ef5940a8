// The forward path's fast lane: one forward entry, `[time, record]` in
// msgpack, written straight into the batch's bulk body as its action line
// and its `_source` JSON, enriched, without building a JavaScript object
// for the record or a string for its JSON (the generic path decodes with
// @msgpack/msgpack, mutates the object, then JSON.stringify's it: most of
// the collector's CPU went there). It produces the same document the
// generic path does (key order aside), which `entry-json.test.ts` checks
// against it on a table of records. Anything it does not handle exactly
// like the generic path (a non-empty Fluent Bit metadata map, keys that are
// not strings, a key twice in one map, ext types other than EventTime,
// nesting deeper than 32, malformed bytes) it declines with -1 before any
// of the entry is kept, and the generic path takes that entry (and raises
// the error, for malformed bytes). Used only when the tenant has no drop or
// redaction rules.
// msgpack: https://github.com/msgpack/msgpack/blob/master/spec.md
import type { LogBatch } from './pipeline.js';
import { rfc3339FromSecNs } from './timestamp.js';

const HEX = '0123456789abcdef';
/** 1 for bytes a JSON string cannot hold as they are (escapes), or that are not ASCII (decoded first). */
const CARE = new Uint8Array(256).map((_, c) => (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80 ? 1 : 0));
/** From this length on, strings are scanned natively. */
const LONG = 32;
const MAX_DEPTH = 32;

/** The constant parts of one batch's documents. */
export interface EntryJsonParts {
  /** The action line up to the index name: `{"index":{"_index":"`. */
  readonly actionPrefix: string;
  /** The index for a millisecond timestamp. */
  readonly indexFor: (ms: number) => string;
  /** The enrichment after `@timestamp`'s value: `","tenant":…,"re":…,"site":…}` and a newline. */
  readonly tail: string;
  /** `"tag":<tag>,` for records without their own `tag`. */
  readonly tagField: string;
}

export class EntryJsonWriter {
  private s: Buffer = Buffer.alloc(0);
  private end = 0;
  private o: Buffer;
  private at = 0;
  /** Keys of the maps being written (start, length), for the duplicate check. */
  private keyStart: Int32Array = new Int32Array(256);
  private keyLen: Int32Array = new Int32Array(256);
  private keyTop = 0;
  private day = Number.NaN;
  private actionHead: Buffer = Buffer.alloc(0);
  private readonly actionTail = Buffer.from('"}}\n', 'latin1');
  private readonly tail: Buffer;
  private readonly tagField: Buffer;
  private readonly tsKey = Buffer.from('"@timestamp":"', 'latin1');
  private tsSec = Number.NaN;
  private tsPrefix: Buffer = Buffer.alloc(0);
  /** The last entry's time. */
  ms = 0;
  private sec = 0;
  private nsec = 0;

  constructor(
    private readonly batch: LogBatch,
    private readonly parts: EntryJsonParts,
  ) {
    this.o = batch.body;
    this.tail = Buffer.from(parts.tail, 'utf8');
    this.tagField = Buffer.from(parts.tagField, 'utf8');
  }

  /**
   * Writes the entry at `src[pos]` (entries end at `end`) as one document;
   * returns where the entry ends, or -1 (nothing written) when the generic
   * path must take it.
   */
  entry(src: Buffer, pos: number, end: number): number {
    this.s = src;
    this.end = end;
    const batch = this.batch;
    this.o = batch.body;
    const docStart = batch.length;
    this.at = docStart;
    this.keyTop = 0;
    if (pos >= end || src[pos] !== 0x92) return -1;
    let p = this.time(pos + 1);
    if (p < 0) return -1;
    // The action line: {"index":{"_index":"<index>","_id":"<idBase>.<ordinal>"}}
    const day = Math.floor(this.ms / 86_400_000);
    if (day !== this.day) {
      this.day = day;
      this.actionHead = Buffer.from(`${this.parts.actionPrefix}${this.parts.indexFor(this.ms)}","_id":"${batch.idBase}.`, 'utf8');
    }
    this.room(this.actionHead.length + 24);
    this.put(this.actionHead);
    this.digits(batch.received);
    this.put(this.actionTail);
    const srcStart = this.at;
    p = this.record(p);
    if (p < 0) return this.decline(docStart);
    batch.length = this.at;
    batch.received++;
    batch.stored++;
    if (batch.out !== null) {
      batch.out.push({ timestampMs: this.ms, tenant: batch.identity.tenant, site: batch.identity.site, doc: JSON.parse(this.o.toString('utf8', srcStart, this.at - 1)) as Record<string, unknown> });
    }
    return p;
  }

  private decline(docStart: number): number {
    this.batch.length = docStart;
    return -1;
  }

  /** The entry's time: EventTime, an unsigned integer, or Fluent Bit's [time, {}]. */
  private time(p: number): number {
    const s = this.s;
    if (p >= this.end) return -1;
    const b = s[p] as number;
    if (b === 0x92) {
      const q = this.time(p + 1);
      // Fluent Bit's metadata: only an empty map here (the generic path keeps a non-empty one).
      // Fluent Bit writes its maps with a map32 header (df 00000000 when empty).
      if (q < 0 || q >= this.end) return -1;
      if (s[q] === 0x80) return q + 1;
      if (s[q] === 0xde && q + 3 <= this.end && s[q + 1] === 0 && s[q + 2] === 0) return q + 3;
      if (s[q] === 0xdf && q + 5 <= this.end && s.readUInt32BE(q + 1) === 0) return q + 5;
      return -1;
    }
    let sec: number;
    let nsec = 0;
    let q: number;
    if (b === 0xd7 && s[p + 1] === 0x00) {
      q = p + 10;
      if (q > this.end) return -1;
      sec = s.readUInt32BE(p + 2);
      nsec = s.readUInt32BE(p + 6);
      if (nsec >= 1e9) return -1;
    } else if (b === 0xc7 && s[p + 1] === 0x08 && s[p + 2] === 0x00) {
      q = p + 11;
      if (q > this.end) return -1;
      sec = s.readUInt32BE(p + 3);
      nsec = s.readUInt32BE(p + 7);
      if (nsec >= 1e9) return -1;
    } else if (b <= 0x7f) {
      sec = b;
      q = p + 1;
    } else if (b === 0xce) {
      q = p + 5;
      if (q > this.end) return -1;
      sec = s.readUInt32BE(p + 1);
    } else return -1;
    this.sec = sec;
    this.nsec = nsec;
    this.ms = sec * 1000 + Math.floor(nsec / 1e6);
    return q;
  }

  /** The record map, enriched: its own keys but `@timestamp`, `tenant`, `re`, `site`, then `tag` (unless it has one) and those. */
  private record(p: number): number {
    const s = this.s;
    const b = s[p] as number;
    let n: number;
    if (b >= 0x80 && b <= 0x8f) {
      n = b & 0x0f;
      p += 1;
    } else if (b === 0xde && p + 3 <= this.end) {
      n = s.readUInt16BE(p + 1);
      p += 3;
    } else if (b === 0xdf && p + 5 <= this.end) {
      n = s.readUInt32BE(p + 1);
      p += 5;
    } else return -1;
    this.room(1);
    this.o[this.at++] = 0x7b;
    const keys = this.keyTop;
    let written = 0;
    let hasTag = false;
    for (let i = 0; i < n; i++) {
      const k = this.key(p, keys);
      if (k < 0) return -1;
      const ks = this.keyStart[this.keyTop - 1] as number;
      const kl = this.keyLen[this.keyTop - 1] as number;
      if (isOwnField(s, ks, kl)) {
        // The pipeline's own fields: never the sender's.
        p = this.skip(k, 0);
        if (p < 0) return -1;
        continue;
      }
      if (kl === 3 && s[ks] === 0x74 && s[ks + 1] === 0x61 && s[ks + 2] === 0x67) hasTag = true;
      if (written++ > 0) {
        this.room(1);
        this.o[this.at++] = 0x2c;
      }
      this.str(ks, kl);
      this.room(1);
      this.o[this.at++] = 0x3a;
      p = this.value(k, 1);
      if (p < 0) return -1;
    }
    this.keyTop = keys;
    this.room(this.tagField.length + this.tsKey.length + 32 + this.tail.length);
    if (written > 0) this.o[this.at++] = 0x2c;
    if (!hasTag) this.put(this.tagField);
    this.put(this.tsKey);
    this.timestamp(this.sec, this.nsec);
    this.put(this.tail);
    return p;
  }

  /** A map key at `p` (a str, not a repeat of an earlier key of the same map); returns where its value starts. */
  private key(p: number, mapKeys: number): number {
    const s = this.s;
    if (p >= this.end) return -1;
    const b = s[p] as number;
    let len: number;
    let h: number;
    if (b >= 0xa0 && b <= 0xbf) {
      len = b & 0x1f;
      h = 1;
    } else if (b === 0xd9 && p + 2 <= this.end) {
      len = s[p + 1] as number;
      h = 2;
    } else if (b === 0xda && p + 3 <= this.end) {
      len = s.readUInt16BE(p + 1);
      h = 3;
    } else return -1;
    const ks = p + h;
    if (ks + len > this.end) return -1;
    // @msgpack/msgpack refuses __proto__ (the generic path then refuses the frame).
    if (len === 9 && s[ks] === 0x5f && s[ks + 1] === 0x5f && s.toString('latin1', ks, ks + 9) === '__proto__') return -1;
    for (let j = mapKeys; j < this.keyTop; j++) {
      if (this.keyLen[j] === len && s.compare(s, ks, ks + len, this.keyStart[j] as number, (this.keyStart[j] as number) + len) === 0) return -1;
    }
    if (this.keyTop === this.keyStart.length) {
      if (this.keyTop >= 4096) return -1;
      const grow = (a: Int32Array): Int32Array => {
        const g = new Int32Array(a.length * 2);
        g.set(a);
        return g;
      };
      this.keyStart = grow(this.keyStart);
      this.keyLen = grow(this.keyLen);
    }
    this.keyStart[this.keyTop] = ks;
    this.keyLen[this.keyTop] = len;
    this.keyTop++;
    return ks + len;
  }

  private value(p: number, depth: number): number {
    const s = this.s;
    if (p >= this.end) return -1;
    const b = s[p] as number;
    if (b <= 0x7f) {
      this.room(3);
      this.digits(b);
      return p + 1;
    }
    if (b >= 0xe0) return this.number(b - 256, p + 1);
    if (b >= 0xa0 && b <= 0xbf) return this.strAt(p + 1, b & 0x1f);
    if (b <= 0x8f) return this.map(p + 1, b & 0x0f, depth);
    if (b <= 0x9f) return this.array(p + 1, b & 0x0f, depth);
    const end = this.end;
    switch (b) {
      case 0xc0: return this.lit(NULL, p + 1);
      case 0xc2: return this.lit(FALSE, p + 1);
      case 0xc3: return this.lit(TRUE, p + 1);
      case 0xd9: case 0xc4: return p + 2 <= end ? this.strAt(p + 2, s[p + 1] as number) : -1;
      case 0xda: case 0xc5: return p + 3 <= end ? this.strAt(p + 3, s.readUInt16BE(p + 1)) : -1;
      case 0xdb: case 0xc6: return p + 5 <= end ? this.strAt(p + 5, s.readUInt32BE(p + 1)) : -1;
      case 0xcc: return p + 2 <= end ? this.number(s[p + 1] as number, p + 2) : -1;
      case 0xcd: return p + 3 <= end ? this.number(s.readUInt16BE(p + 1), p + 3) : -1;
      case 0xce: return p + 5 <= end ? this.number(s.readUInt32BE(p + 1), p + 5) : -1;
      // 64-bit integers as @msgpack/msgpack reads them (a double: precision beyond 2^53 is lost there too).
      case 0xcf: return p + 9 <= end ? this.number(s.readUInt32BE(p + 1) * 0x1_0000_0000 + s.readUInt32BE(p + 5), p + 9) : -1;
      case 0xd0: return p + 2 <= end ? this.number(s.readInt8(p + 1), p + 2) : -1;
      case 0xd1: return p + 3 <= end ? this.number(s.readInt16BE(p + 1), p + 3) : -1;
      case 0xd2: return p + 5 <= end ? this.number(s.readInt32BE(p + 1), p + 5) : -1;
      case 0xd3: return p + 9 <= end ? this.number(s.readInt32BE(p + 1) * 0x1_0000_0000 + s.readUInt32BE(p + 5), p + 9) : -1;
      case 0xca: return p + 5 <= end ? this.number(s.readFloatBE(p + 1), p + 5) : -1;
      case 0xcb: return p + 9 <= end ? this.number(s.readDoubleBE(p + 1), p + 9) : -1;
      case 0xde: return p + 3 <= end ? this.map(p + 3, s.readUInt16BE(p + 1), depth) : -1;
      case 0xdf: return p + 5 <= end ? this.map(p + 5, s.readUInt32BE(p + 1), depth) : -1;
      case 0xdc: return p + 3 <= end ? this.array(p + 3, s.readUInt16BE(p + 1), depth) : -1;
      case 0xdd: return p + 5 <= end ? this.array(p + 5, s.readUInt32BE(p + 1), depth) : -1;
      case 0xd7: {
        // EventTime inside a record: RFC 3339, as the generic path normalizes it.
        if (s[p + 1] !== 0x00 || p + 10 > end || s.readUInt32BE(p + 6) >= 1e9) return -1;
        this.room(32);
        this.o[this.at++] = 0x22;
        this.timestamp(s.readUInt32BE(p + 2), s.readUInt32BE(p + 6));
        this.o[this.at++] = 0x22;
        return p + 10;
      }
      default:
        return -1;
    }
  }

  private map(p: number, n: number, depth: number): number {
    if (depth > MAX_DEPTH) return -1;
    const keys = this.keyTop;
    this.room(1);
    this.o[this.at++] = 0x7b;
    for (let i = 0; i < n; i++) {
      if (i > 0) {
        this.room(1);
        this.o[this.at++] = 0x2c;
      }
      const k = this.key(p, keys);
      if (k < 0) return -1;
      this.str(this.keyStart[this.keyTop - 1] as number, this.keyLen[this.keyTop - 1] as number);
      this.room(1);
      this.o[this.at++] = 0x3a;
      p = this.value(k, depth + 1);
      if (p < 0) return -1;
    }
    this.keyTop = keys;
    this.room(1);
    this.o[this.at++] = 0x7d;
    return p;
  }

  private array(p: number, n: number, depth: number): number {
    if (depth > MAX_DEPTH) return -1;
    this.room(1);
    this.o[this.at++] = 0x5b;
    for (let i = 0; i < n; i++) {
      if (i > 0) {
        this.room(1);
        this.o[this.at++] = 0x2c;
      }
      p = this.value(p, depth + 1);
      if (p < 0) return -1;
    }
    this.room(1);
    this.o[this.at++] = 0x5d;
    return p;
  }

  /** Skips the value at `p` (a field the pipeline sets itself). */
  private skip(p: number, depth: number): number {
    const s = this.s;
    const end = this.end;
    if (p >= end || depth > MAX_DEPTH) return -1;
    const b = s[p] as number;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return p + 1;
    if (b >= 0xa0 && b <= 0xbf) return this.within(p + 1 + (b & 0x1f));
    if (b <= 0x8f) return this.skipMany(p + 1, 2 * (b & 0x0f), depth);
    if (b <= 0x9f) return this.skipMany(p + 1, b & 0x0f, depth);
    const u8 = (): number => (p + 2 <= end ? (s[p + 1] as number) : end);
    const u16 = (): number => (p + 3 <= end ? s.readUInt16BE(p + 1) : end);
    const u32 = (): number => (p + 5 <= end ? s.readUInt32BE(p + 1) : end);
    switch (b) {
      case 0xd9: case 0xc4: return this.within(p + 2 + u8());
      case 0xda: case 0xc5: return this.within(p + 3 + u16());
      case 0xdb: case 0xc6: return this.within(p + 5 + u32());
      case 0xcc: case 0xd0: return this.within(p + 2);
      case 0xcd: case 0xd1: return this.within(p + 3);
      case 0xce: case 0xd2: case 0xca: return this.within(p + 5);
      case 0xcf: case 0xd3: case 0xcb: return this.within(p + 9);
      case 0xd4: return this.within(p + 3);
      case 0xd5: return this.within(p + 4);
      case 0xd6: return this.within(p + 6);
      case 0xd7: return this.within(p + 10);
      case 0xd8: return this.within(p + 18);
      case 0xc7: return this.within(p + 3 + u8());
      case 0xc8: return this.within(p + 4 + u16());
      case 0xc9: return this.within(p + 6 + u32());
      case 0xdc: return p + 3 <= end ? this.skipMany(p + 3, u16(), depth) : -1;
      case 0xdd: return p + 5 <= end ? this.skipMany(p + 5, u32(), depth) : -1;
      case 0xde: return p + 3 <= end ? this.skipMany(p + 3, 2 * u16(), depth) : -1;
      case 0xdf: return p + 5 <= end ? this.skipMany(p + 5, 2 * u32(), depth) : -1;
      default: return -1;
    }
  }

  private skipMany(p: number, n: number, depth: number): number {
    for (let i = 0; i < n && p >= 0; i++) p = this.skip(p, depth + 1);
    return p;
  }

  private within(next: number): number {
    return next <= this.end ? next : -1;
  }

  private strAt(p: number, len: number): number {
    if (p + len > this.end) return -1;
    this.str(p, len);
    return p + len;
  }

  /** A JSON string of the UTF-8 bytes src[p, p+len): ASCII copied and escaped here, anything else through JSON.stringify. */
  private str(p: number, len: number): void {
    this.room(6 * len + 2);
    const s = this.s;
    const o = this.o;
    const start = this.at;
    let at = start;
    o[at++] = 0x22;
    const stop = p + len;
    let i = p;
    if (len >= LONG) {
      // Long values: find the clean run four bytes a step, then one memcpy.
      const e4 = stop - 3;
      while (i < e4 && ((CARE[s[i] as number] as number) | (CARE[s[i + 1] as number] as number) | (CARE[s[i + 2] as number] as number) | (CARE[s[i + 3] as number] as number)) === 0) i += 4;
      while (i < stop && CARE[s[i] as number] === 0) i++;
      s.copy(o, at, p, i);
      at += i - p;
    }
    for (; i < stop; i++) {
      const c = s[i] as number;
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c < 0x80) {
        o[at++] = c;
        continue;
      }
      if (c >= 0x80) {
        // Not ASCII: decoded as the generic path does (invalid UTF-8 becomes U+FFFD), then JSON-escaped.
        this.at = start + o.write(JSON.stringify(s.toString('utf8', p, stop)), start, 'utf8');
        return;
      }
      o[at++] = 0x5c;
      switch (c) {
        case 0x22: o[at++] = 0x22; break;
        case 0x5c: o[at++] = 0x5c; break;
        case 0x08: o[at++] = 0x62; break;
        case 0x0c: o[at++] = 0x66; break;
        case 0x0a: o[at++] = 0x6e; break;
        case 0x0d: o[at++] = 0x72; break;
        case 0x09: o[at++] = 0x74; break;
        default:
          o[at++] = 0x75;
          o[at++] = 0x30;
          o[at++] = 0x30;
          o[at++] = HEX.charCodeAt(c >> 4);
          o[at++] = HEX.charCodeAt(c & 15);
      }
    }
    o[at++] = 0x22;
    this.at = at;
  }

  /** A number as JSON.stringify writes it (non-finite: null). */
  private number(v: number, next: number): number {
    if (Number.isInteger(v) && v >= 0 && v < 1e9) {
      this.room(10);
      this.digits(v);
      return next;
    }
    const text = Number.isFinite(v) ? String(v) : 'null';
    this.room(text.length);
    this.at += this.o.write(text, this.at, 'latin1');
    return next;
  }

  private lit(bytes: Buffer, next: number): number {
    this.room(bytes.length);
    this.put(bytes);
    return next;
  }

  /** `2026-12-01T08:00:00.123456789Z` (unquoted; room for 30 bytes made by the caller). */
  private timestamp(sec: number, nsec: number): void {
    if (sec !== this.tsSec) {
      this.tsSec = sec;
      this.tsPrefix = Buffer.from(rfc3339FromSecNs(sec, 0).slice(0, 20), 'latin1');
    }
    this.put(this.tsPrefix);
    const o = this.o;
    let at = this.at + 9;
    this.at = at;
    for (let i = 0; i < 9; i++) {
      o[--at] = 0x30 + (nsec % 10);
      nsec = Math.floor(nsec / 10);
    }
    o[this.at++] = 0x5a;
  }

  /** A non-negative integer below 1e15 in decimal (room made by the caller). */
  private digits(v: number): void {
    const o = this.o;
    if (v < 10) {
      o[this.at++] = 0x30 + v;
      return;
    }
    let n = 0;
    for (let x = v; x >= 1; x = Math.floor(x / 10)) n++;
    let at = this.at + n;
    this.at = at;
    for (let x = v; x >= 1; x = Math.floor(x / 10)) o[--at] = 0x30 + (x % 10);
  }

  private put(b: Buffer): void {
    const o = this.o;
    let at = this.at;
    for (let i = 0; i < b.length; i++) o[at++] = b[i] as number;
    this.at = at;
  }

  private room(n: number): void {
    if (this.at + n <= this.o.length) return;
    this.batch.length = this.at;
    this.o = this.batch.ensure(n);
  }
}

const NULL = Buffer.from('null', 'latin1');
const TRUE = Buffer.from('true', 'latin1');
const FALSE = Buffer.from('false', 'latin1');

/** `@timestamp`, `tenant`, `re`, `site`: set by the pipeline, dropped from what the sender sent. */
function isOwnField(s: Buffer, p: number, len: number): boolean {
  switch (len) {
    case 2: return s[p] === 0x72 && s[p + 1] === 0x65;
    case 4: return s[p] === 0x73 && s[p + 1] === 0x69 && s[p + 2] === 0x74 && s[p + 3] === 0x65;
    case 6: return s[p] === 0x74 && s.toString('latin1', p, p + 6) === 'tenant';
    case 10: return s[p] === 0x40 && s.toString('latin1', p, p + 10) === '@timestamp';
    default: return false;
  }
}
