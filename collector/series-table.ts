// What the push path remembers of one site's series, in typed arrays and
// without label bytes: a regional collector carries millions of series, and
// both what it holds per series and how many objects the garbage collector
// has to walk decide whether it fits (3,000 sites × 2,000 series in < 2 GB).
//
// Per series (an entry): a 64-bit hash and the length of its input label
// bytes, what became of it (kept, dropped and why, aggregated), when it was
// last seen, and, when kept, its output as a recipe: the interned id of
// every output Label field (what the snappy batch needs to find repeats)
// and a shape shared by the site's series: which input field, or which
// constant field (external and identity labels, values a rule set), each
// output field is. The output bytes are then the input's own bytes, in the
// request being forwarded, plus the site's constants: nothing per series.
//
// A series is known by its hash: four lanes over the label bytes, folded into 64 bits.
// The table is per site (the identity labels every output carries come from
// the sender, so sites never mix), and two distinct label sets of one site
// of 2,000 series share a hash with a chance of about 1e-13. A site that
// forges a collision on purpose only mislabels its own series.
import { type RemoteWriteReader, type RemoteWriteRepeat, type RemoteWriteTemplate, type SeriesFields, internLabelField } from '../wire/index.js';

export const KEPT = 1;
export const AGGREGATE = 2;
export const FORWARD = 4;
const FLAG_BITS = 3;

// An entry's ints in `meta`.
const H1 = 0;
const H2 = 1;
const LEN = 2;
const NEXT = 3; // the next entry in its input-hash chain, or the next free entry; -1 ends
const IDS = 4; // where its output field ids start in `ids`; -1 once dropped (dropIds)
const COUNT = 5; // how many output fields (0 when dropped)
const SHAPE = 6; // where its shape starts in `shapes`
const FLAGS = 7; // KEPT | AGGREGATE | FORWARD, and the drop reason's number above FLAG_BITS
const SEEN = 8; // last seen, seconds since SEEN_BASE
const OH1 = 9; // output labels' hash (kept series): what tells a duplicate
const OH2 = 10;
const ONEXT = 11; // the next kept entry in its output-hash chain
const STRIDE = 12;

const SEEN_BASE = 1_700_000_000;
export const seenSecond = (now: number): number => Math.floor(now / 1000) - SEEN_BASE;

/** Drop reasons by number: flags keep a number, not a string. */
const reasons: string[] = [''];
const reasonNumbers = new Map<string, number>([['', 0]]);

export function reasonNumber(reason: string): number {
  let n = reasonNumbers.get(reason);
  if (n === undefined) {
    n = reasons.length;
    reasons.push(reason);
    reasonNumbers.set(reason, n);
  }
  return n;
}

export const reasonOf = (flags: number): string => reasons[flags >>> FLAG_BITS] as string;

/** Where hashLabels leaves the second lane. */
let high = 0;

/**
 * A 64-bit hash of bytes[start, end) (`view` over the same ArrayBuffer as
 * `bytes`, offsets the same): the first half is returned, the second is
 * left in hashHigh(). The label bytes of every series are hashed on every
 * push, so it takes sixteen bytes a step into four 32-bit lanes that do not
 * wait on each other (a multiply and a rotate each). Every step is a
 * bijection of a lane's state for given input, and of the input for a given
 * state, and so is the fold of the four lanes into two at the end: two label
 * sets of one length that differ only within one 4-byte word never collide,
 * and for others a collision takes 64 bits of luck. The finish mixes each
 * half (murmur3's fmix32, also a bijection).
 */
export function hashLabels(bytes: Uint8Array, view: DataView, start: number, end: number): number {
  const n = end - start;
  let a = 0x9747b28c ^ n;
  let b = 0x3c6ef372 + n;
  let c = 0x85ebca6b ^ n;
  let d = 0x27d4eb2f + n;
  let p = start;
  for (; p + 16 <= end; p += 16) {
    a = Math.imul(a ^ view.getInt32(p, true), 0x9e3779b1);
    a = (a << 15) | (a >>> 17);
    b = Math.imul(b ^ view.getInt32(p + 4, true), 0x85ebca77);
    b = (b << 13) | (b >>> 19);
    c = Math.imul(c ^ view.getInt32(p + 8, true), 0xc2b2ae3d);
    c = (c << 17) | (c >>> 15);
    d = Math.imul(d ^ view.getInt32(p + 12, true), 0x27d4eb2f);
    d = (d << 11) | (d >>> 21);
  }
  // The last words and bytes go into the first lane, the lanes turning after each word.
  for (; p + 4 <= end; p += 4) {
    let t = Math.imul(a ^ view.getInt32(p, true), 0x9e3779b1);
    t = (t << 15) | (t >>> 17);
    a = b;
    b = c;
    c = d;
    d = t;
  }
  for (; p < end; p++) {
    a = Math.imul(a ^ (bytes[p] as number), 0x01000193);
    a = (a << 15) | (a >>> 17);
  }
  // (a, b) takes (c, d) in: a bijection of either for the other.
  a = Math.imul(a ^ c, 0x9e3779b1);
  a = (a << 15) | (a >>> 17);
  b = Math.imul(b ^ d, 0x85ebca77);
  b = (b << 13) | (b >>> 19);
  a = (a + b) | 0;
  b ^= a;
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  a ^= a >>> 16;
  b ^= b >>> 16;
  b = Math.imul(b, 0x7feb352d);
  b ^= b >>> 15;
  b = Math.imul(b, 0x846ca68b);
  b ^= b >>> 16;
  high = b;
  return a;
}

export const hashHigh = (): number => high;

function grown(a: Int32Array, need: number): Int32Array<ArrayBuffer> {
  let n = Math.max(a.length, 16);
  while (n < need) n *= 2;
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

/** The output of a series being remembered: its encoded output labels, split into fields, and where they come from. */
export interface Recipe {
  /** The encoded output labels. */
  readonly labels: Uint8Array;
  /** [start, end) of each output Label field in labels. */
  readonly fields: readonly number[];
}

/** A site's last request as written (pipeline.ts): its body as a template, and the sample count at each position. */
export interface SiteOutput {
  readonly template: RemoteWriteTemplate;
  readonly counts: Uint16Array;
  /** What the site's sender's body is recognised by, once a request has hit the template (and its body allows). */
  repeat: RemoteWriteRepeat | null;
  /** What it holds, in bytes (the repeat's included). */
  bytes: number;
}

export class SiteSeries {
  /** Series remembered (kept or dropped). */
  size = 0;
  /** Kept series, and scraped ones admitted through admitScraped: what the limit counts. */
  active = 0;
  /** The entries of the site's last request, by position (-1: not remembered). */
  order = new Int32Array(0);
  orderLength = 0;
  /** The output of the last request, when kept (the pipeline keeps it and its bound). */
  output: SiteOutput | null = null;
  /** Requests in a row that did not fit the site's output template. */
  outputMisses = 0;
  /** Requests in a row whose body could not be recognised by a repeat, or was not. */
  repeatMisses = 0;
  /** The oldest SEEN of any entry at the last sweep (or since): sweeps skip the site until it is idle. */
  oldestSeen = Number.MAX_SAFE_INTEGER;

  private meta = new Int32Array(0);
  private entries = 0;
  private free = -1;
  private heads = new Int32Array(16).fill(-1);
  private oheads = new Int32Array(16).fill(-1);
  private ids = new Int32Array(0);
  private idsUsed = 0;
  private idsGarbage = 0;
  private shapes = new Int32Array(0);
  private shapesUsed = 0;
  private readonly shapeAt = new Map<string, number>();
  /** Constant fields: bytes, and per constant [start, length, id]. */
  private constBytes = new Uint8Array(256);
  private constUsed = 0;
  private consts = new Int32Array(0);
  private constCount = 0;
  private readonly constAt = new Map<string, number>();
  private recipesAfterCompaction = 0;

  /** The entry with this input hash and length, or -1. */
  find(h1: number, h2: number, len: number): number {
    const meta = this.meta;
    for (let e = this.heads[h1 & (this.heads.length - 1)] as number; e >= 0; e = meta[e * STRIDE + NEXT] as number) {
      const m = e * STRIDE;
      if (meta[m + H1] === h1 && meta[m + H2] === h2 && meta[m + LEN] === len) return e;
    }
    return -1;
  }

  /** Whether entry `e` is a live entry with this input hash and length (a position's check). */
  is(e: number, h1: number, h2: number, len: number): boolean {
    const m = e * STRIDE;
    return e < this.entries && this.meta[m + H1] === h1 && this.meta[m + H2] === h2 && this.meta[m + LEN] === len && (this.meta[m + FLAGS] as number) >= 0;
  }

  flags(e: number): number {
    return this.meta[e * STRIDE + FLAGS] as number;
  }

  touch(e: number, seen: number): void {
    this.meta[e * STRIDE + SEEN] = seen;
  }

  /** Whether a kept series of the site has output labels with this hash. */
  hasOutput(oh1: number, oh2: number): boolean {
    const meta = this.meta;
    for (let e = this.oheads[oh1 & (this.oheads.length - 1)] as number; e >= 0; e = meta[e * STRIDE + ONEXT] as number) {
      if (meta[e * STRIDE + OH1] === oh1 && meta[e * STRIDE + OH2] === oh2) return true;
    }
    return false;
  }

  /**
   * Remembers a series. `recipe` is its output when kept (flags has KEPT),
   * `input` the request's reader positioned at it (its Label fields are what
   * output fields are matched against). Returns the entry.
   */
  add(h1: number, h2: number, len: number, flags: number, seen: number, reader: RemoteWriteReader, recipe: Recipe | null, oh1: number, oh2: number): number {
    let e = this.free;
    if (e >= 0) this.free = this.meta[e * STRIDE + NEXT] as number;
    else {
      e = this.entries++;
      if (this.entries * STRIDE > this.meta.length) this.meta = grown(this.meta, this.entries * STRIDE);
    }
    const m = e * STRIDE;
    const meta = this.meta;
    meta[m + H1] = h1;
    meta[m + H2] = h2;
    meta[m + LEN] = len;
    meta[m + FLAGS] = flags;
    meta[m + SEEN] = seen;
    meta[m + COUNT] = 0;
    meta[m + IDS] = 0;
    meta[m + SHAPE] = 0;
    meta[m + ONEXT] = -1;
    if (recipe !== null) this.setRecipe(e, reader, recipe, oh1, oh2);
    this.size++;
    if (seen < this.oldestSeen) this.oldestSeen = seen;
    // Chains of one entry on average: as many buckets as entries, not twice as many (8 bytes a series less).
    if (this.size > this.heads.length) this.rehash();
    else this.link(e);
    return e;
  }

  /**
   * Fills `out` with entry e's output fields, for a request whose reader is
   * at the series. Their ids (what the snappy batch finds repeats by) are
   * interned again and kept when dropIds() let them go; `withIds` false
   * gives -1 for them instead (for a caller that needs only the bytes).
   */
  fieldsOf(e: number, reader: RemoteWriteReader, out: SeriesFields, withIds = true): void {
    const m = e * STRIDE;
    const meta = this.meta;
    const count = meta[m + COUNT] as number;
    let idsAt = meta[m + IDS] as number;
    const shapeAt = meta[m + SHAPE] as number;
    const shapes = this.shapes;
    const consts = this.consts;
    if (idsAt < 0 && withIds) idsAt = this.internIds(e, reader);
    const ids = this.ids;
    out.clear();
    for (let k = 0; k < count; k++) {
      const code = shapes[shapeAt + k] as number;
      if (code >= 0) {
        const start = reader.labelFieldStart(code);
        out.push(idsAt < 0 ? -1 : (ids[idsAt + k] as number), 0, start, reader.labelFieldEnd(code) - start);
      } else {
        const c = 3 * ~code;
        out.push(consts[c + 2] as number, 1, consts[c] as number, consts[c + 1] as number);
      }
    }
  }

  /**
   * Lets go of every series' output field ids: a site whose requests are
   * written from a template does not need them, and at 19 a series they are
   * the biggest part of the table. fieldsOf() makes them again, series by
   * series, when a request is built anew.
   */
  dropIds(): void {
    const meta = this.meta;
    for (let e = 0; e < this.entries; e++) meta[e * STRIDE + IDS] = -1;
    this.ids = new Int32Array(0);
    this.idsUsed = 0;
    this.idsGarbage = 0;
  }

  /** Interns entry e's input-sourced output fields from the request at the series (constants keep theirs); where they start in `ids`. */
  private internIds(e: number, reader: RemoteWriteReader): number {
    const m = e * STRIDE;
    const meta = this.meta;
    const count = meta[m + COUNT] as number;
    const shapeAt = meta[m + SHAPE] as number;
    if (this.idsUsed + count > this.ids.length) this.ids = grown(this.ids, this.idsUsed + count + (this.idsUsed >> 1));
    const at = this.idsUsed;
    const body = reader.buffer;
    for (let k = 0; k < count; k++) {
      const code = this.shapes[shapeAt + k] as number;
      this.ids[at + k] = code >= 0 ? internLabelField(body, reader.labelFieldStart(code), reader.labelFieldEnd(code)) : (this.consts[3 * ~code + 2] as number);
    }
    this.idsUsed += count;
    meta[m + IDS] = at;
    return at;
  }

  /** The constant fields' bytes: source 1 of the batch. Valid until a series is added. */
  constants(): Uint8Array {
    return this.constBytes.subarray(0, this.constUsed);
  }

  /** Forgets the entries `leaves` picks (given flags and seen); returns their flags. */
  forget(leaves: (flags: number, seen: number) => boolean): number[] {
    const meta = this.meta;
    const gone: number[] = [];
    let oldest = Number.MAX_SAFE_INTEGER;
    for (let e = 0; e < this.entries; e++) {
      const m = e * STRIDE;
      const flags = meta[m + FLAGS] as number;
      if (flags < 0) continue; // free
      const seen = meta[m + SEEN] as number;
      if (leaves(flags, seen)) {
        gone.push(flags);
        this.unlink(e);
        if ((meta[m + IDS] as number) >= 0) this.idsGarbage += meta[m + COUNT] as number;
        meta[m + FLAGS] = -1;
        meta[m + H1] = meta[m + H2] = meta[m + LEN] = 0;
        meta[m + NEXT] = this.free;
        this.free = e;
        this.size--;
      } else if (seen < oldest) oldest = seen;
    }
    this.oldestSeen = oldest;
    if (this.idsGarbage > 4096 && this.idsGarbage * 2 > this.idsUsed) this.compactIds();
    // Shapes and constants are shared and never freed one by one; when rules make values per
    // series (a label copied from the pod's name), they would grow with every pod that ever came.
    if (gone.length > 0 && this.shapesUsed + this.constUsed > 2 * this.recipesAfterCompaction + 65_536) this.compactRecipes();
    return gone;
  }

  /** Bytes of shapes and constants still in use, for tests. */
  recipeBytes(): number {
    return this.shapesUsed * 4 + this.constUsed + this.constCount * 12;
  }

  /** Rebuilds shapes and constants from the live entries: what forgotten series alone used goes. */
  private compactRecipes(): void {
    const meta = this.meta;
    const oldShapes = this.shapes;
    const oldConsts = this.consts;
    const oldBytes = this.constBytes;
    this.shapes = new Int32Array(0);
    this.shapesUsed = 0;
    this.shapeAt.clear();
    this.constBytes = new Uint8Array(256);
    this.constUsed = 0;
    this.consts = new Int32Array(0);
    this.constCount = 0;
    this.constAt.clear();
    const shapeMoved = new Map<number, number>();
    const constMoved = new Map<number, number>();
    for (let e = 0; e < this.entries; e++) {
      const m = e * STRIDE;
      const flags = meta[m + FLAGS] as number;
      if (flags < 0 || (flags & KEPT) === 0) continue;
      const at = meta[m + SHAPE] as number;
      let moved = shapeMoved.get(at);
      if (moved === undefined) {
        const codes: number[] = [];
        for (let k = 0; k < (meta[m + COUNT] as number); k++) {
          const code = oldShapes[at + k] as number;
          if (code >= 0) codes.push(code);
          else {
            let c = constMoved.get(~code);
            if (c === undefined) {
              const from = oldConsts[3 * ~code] as number;
              c = this.constant(oldBytes, from, from + (oldConsts[3 * ~code + 1] as number), oldConsts[3 * ~code + 2] as number);
              constMoved.set(~code, c);
            }
            codes.push(~c);
          }
        }
        moved = this.shape(codes);
        shapeMoved.set(at, moved);
      }
      meta[m + SHAPE] = moved;
    }
    this.recipesAfterCompaction = this.shapesUsed + this.constUsed;
  }

  /** Takes back an entry added by the request in progress (which failed). */
  remove(e: number): void {
    const m = e * STRIDE;
    this.unlink(e);
    if ((this.meta[m + IDS] as number) >= 0) this.idsGarbage += this.meta[m + COUNT] as number;
    this.meta[m + FLAGS] = -1;
    this.meta[m + H1] = this.meta[m + H2] = this.meta[m + LEN] = 0;
    this.meta[m + NEXT] = this.free;
    this.free = e;
    this.size--;
  }

  /**
   * Gives back what doubling left unused, when over an eighth: a site's
   * arrays grow by doubling while its first requests come in, and 3,000
   * sites' worth of half-empty arrays is hundreds of MB. Called after a
   * request that added series.
   */
  trim(): void {
    const fit = (a: Int32Array, used: number): Int32Array<ArrayBuffer> | null => {
      const want = used + (used >> 3) + 16;
      return a.length > want ? a.slice(0, want) : null;
    };
    this.meta = fit(this.meta, this.entries * STRIDE) ?? this.meta;
    this.ids = fit(this.ids, this.idsUsed) ?? this.ids;
  }

  /** Bytes held in typed arrays (for tests and the bench). */
  byteSize(): number {
    return this.meta.byteLength + this.heads.byteLength + this.oheads.byteLength + this.ids.byteLength + this.shapes.byteLength + this.constBytes.byteLength + this.consts.byteLength + this.order.byteLength;
  }

  private setRecipe(e: number, reader: RemoteWriteReader, recipe: Recipe, oh1: number, oh2: number): void {
    const body = reader.buffer;
    const out = recipe.labels;
    const fields = recipe.fields;
    const count = fields.length / 2;
    const codes: number[] = [];
    const fieldIds: number[] = [];
    const inputs = reader.labelCount();
    let from = 0;
    for (let k = 0; k < fields.length; k += 2) {
      const s = fields[k] as number;
      const len = (fields[k + 1] as number) - s;
      // The next input field with these bytes (rules keep the order of the fields they keep).
      let j = -1;
      for (let i = from; i < inputs; i++) {
        const is = reader.labelFieldStart(i);
        if (reader.labelFieldEnd(i) - is === len && body.compare(out, s, s + len, is, is + len) === 0) {
          j = i;
          break;
        }
      }
      if (j >= 0) {
        codes.push(j);
        fieldIds.push(internLabelField(body, reader.labelFieldStart(j), reader.labelFieldEnd(j)));
        from = j + 1;
      } else {
        const c = this.constant(out, s, s + len);
        codes.push(~c);
        fieldIds.push(this.consts[3 * c + 2] as number);
      }
    }
    const m = e * STRIDE;
    const meta = this.meta;
    if (this.idsUsed + count > this.ids.length) this.ids = grown(this.ids, this.idsUsed + count);
    this.ids.set(fieldIds, this.idsUsed);
    meta[m + IDS] = this.idsUsed;
    meta[m + COUNT] = count;
    this.idsUsed += count;
    meta[m + SHAPE] = this.shape(codes);
    meta[m + OH1] = oh1;
    meta[m + OH2] = oh2;
    const slot = oh1 & (this.oheads.length - 1);
    meta[m + ONEXT] = this.oheads[slot] as number;
    this.oheads[slot] = e;
  }

  private shape(codes: number[]): number {
    const key = codes.join(',');
    let at = this.shapeAt.get(key);
    if (at === undefined) {
      at = this.shapesUsed;
      if (at + codes.length > this.shapes.length) this.shapes = grown(this.shapes, at + codes.length);
      this.shapes.set(codes, at);
      this.shapesUsed += codes.length;
      this.shapeAt.set(key, at);
    }
    return at;
  }

  /** The number of the constant field bytes[start, end), added when new (with `id`, else interned). */
  private constant(bytes: Uint8Array, start: number, end: number, id = -2): number {
    // Most sites have a few constants (external and identity labels), matched by every new
    // series: compared byte for byte first, without making a string key.
    const len = end - start;
    for (let k = 0; k < this.constCount && k < 8; k++) {
      const at = this.consts[3 * k] as number;
      if (this.consts[3 * k + 1] !== len) continue;
      let i = 0;
      while (i < len && bytes[start + i] === this.constBytes[at + i]) i++;
      if (i === len) return k;
    }
    const key = Buffer.from(bytes.buffer, bytes.byteOffset + start, len).toString('latin1');
    let c = this.constAt.get(key);
    if (c === undefined) {
      c = this.constCount++;
      if (this.constUsed + len > this.constBytes.length) {
        let n = this.constBytes.length * 2;
        while (n < this.constUsed + len) n *= 2;
        const b = new Uint8Array(n);
        b.set(this.constBytes.subarray(0, this.constUsed));
        this.constBytes = b;
      }
      this.constBytes.set(bytes.subarray(start, end), this.constUsed);
      if (3 * this.constCount > this.consts.length) this.consts = grown(this.consts, 3 * this.constCount);
      this.consts[3 * c] = this.constUsed;
      this.consts[3 * c + 1] = len;
      this.consts[3 * c + 2] = id === -2 ? internLabelField(this.constBytes, this.constUsed, this.constUsed + len) : id;
      this.constUsed += len;
      this.constAt.set(key, c);
    }
    return c;
  }

  private link(e: number): void {
    const m = e * STRIDE;
    const slot = (this.meta[m + H1] as number) & (this.heads.length - 1);
    this.meta[m + NEXT] = this.heads[slot] as number;
    this.heads[slot] = e;
  }

  private unlink(e: number): void {
    const meta = this.meta;
    const m = e * STRIDE;
    const unchain = (heads: Int32Array, hash: number, next: number): void => {
      const slot = hash & (heads.length - 1);
      if (heads[slot] === e) {
        heads[slot] = meta[m + next] as number;
        return;
      }
      for (let p = heads[slot] as number; p >= 0; p = meta[p * STRIDE + next] as number) {
        if (meta[p * STRIDE + next] === e) {
          meta[p * STRIDE + next] = meta[m + next] as number;
          return;
        }
      }
    };
    unchain(this.heads, meta[m + H1] as number, NEXT);
    if (((meta[m + FLAGS] as number) & KEPT) !== 0) unchain(this.oheads, meta[m + OH1] as number, ONEXT);
  }

  /** Twice the buckets (both chains), every live entry linked again. */
  private rehash(): void {
    const n = this.heads.length * 2;
    this.heads = new Int32Array(n).fill(-1);
    this.oheads = new Int32Array(n).fill(-1);
    const meta = this.meta;
    for (let e = 0; e < this.entries; e++) {
      const m = e * STRIDE;
      const flags = meta[m + FLAGS] as number;
      if (flags < 0) continue;
      this.link(e);
      if ((flags & KEPT) !== 0) {
        const slot = (meta[m + OH1] as number) & (n - 1);
        meta[m + ONEXT] = this.oheads[slot] as number;
        this.oheads[slot] = e;
      }
    }
  }

  /** Moves the live entries' output ids together, when more than half of the pool is ids of forgotten series. */
  private compactIds(): void {
    const meta = this.meta;
    const ids = new Int32Array(Math.max(16, this.idsUsed - this.idsGarbage));
    let used = 0;
    for (let e = 0; e < this.entries; e++) {
      const m = e * STRIDE;
      const at = meta[m + IDS] as number;
      if ((meta[m + FLAGS] as number) < 0 || at < 0) continue;
      const count = meta[m + COUNT] as number;
      ids.set(this.ids.subarray(at, at + count), used);
      meta[m + IDS] = used;
      used += count;
    }
    this.ids = ids;
    this.idsUsed = used;
    this.idsGarbage = 0;
  }
}
