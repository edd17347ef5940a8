// The Prometheus exposition formats: text 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/) and
// OpenMetrics 1.0 text (https://github.com/OpenObservability/OpenMetrics/blob/main/specification/OpenMetrics.md).
//
// What is accepted is what Prometheus 2.42 accepts, token for token: its
// lexers (model/textparse/promlex.l, openmetricslex.l) and parsers
// (promparse.go, openmetricsparse.go), checked by probing the real binary
// (test/exposition-differential.test.ts). Where the two disagree with the
// written spec, Prometheus wins, because a body it scrapes must not be
// refused here; the quirks that follow from that are marked "Prometheus:".
//
// The parser is a cursor. next() validates a whole entry (every token,
// limits, duplicate label names) but builds no strings: it records offsets.
// seriesKey() is the raw series text, a cache key; labels() builds the label
// array from the recorded offsets only when asked.
//
// Speed: V8's charCodeAt costs several times a typed-array read, so the body
// is first copied into a byte array of its UTF-16 code units (ASCII bodies in
// one native Latin-1 copy; see codeUnits()), and the scanners read that. Label
// values, the longest tokens, are skipped with the string's native indexOf.
import { WireError, type WireErrorCode } from './errors.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';
export type EntryKind = 'series' | 'help' | 'type' | 'unit' | 'eof';

export interface ExpositionLimits {
  /** Longest physical line, in UTF-16 code units, without its "\n". */
  readonly maxLineLength: number;
  /**
   * Most labels on one series, `__name__` counted: the same count as
   * Prometheus's `label_limit` and remote-write's `maxLabelsPerSeries`.
   */
  readonly maxLabels: number;
  /** Longest label name, in UTF-16 code units. */
  readonly maxLabelNameLength: number;
  /**
   * Longest label value after unescaping, in UTF-16 code units (as
   * remote-write measures it). The metric name counts as `__name__`'s value.
   */
  readonly maxLabelValueLength: number;
}

export const DEFAULT_EXPOSITION_LIMITS: ExpositionLimits = Object.freeze({
  maxLineLength: 64 * 1024,
  // Remote-write's default, so that whatever a scrape yields can be forwarded.
  maxLabels: 128,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 16 * 1024,
});

export interface ExpositionOptions extends Partial<ExpositionLimits> {
  /** Default 'prometheus' (text 0.0.4). See formatFromContentType(). */
  readonly format?: ExpositionFormat;
}

/** A malformed or over-limit exposition: `code` is FS_WIRE_EXPOSITION_SYNTAX or FS_WIRE_EXPOSITION_LIMIT. */
export class ExpositionError extends WireError {
  /** 1-based line of the body where the problem is. */
  readonly line: number;
  /** For FS_WIRE_EXPOSITION_LIMIT: which limit. */
  readonly limit: keyof ExpositionLimits | undefined;
  constructor(code: WireErrorCode, line: number, reason: string, limit?: keyof ExpositionLimits) {
    super(code, [line, reason]);
    this.name = 'ExpositionError';
    this.line = line;
    this.limit = limit;
  }
}

export interface Exemplar {
  /** Flat and sorted by name: `[name0, value0, name1, value1, …]`. */
  readonly labels: string[];
  readonly value: number;
  /** Milliseconds, or undefined when the exemplar has none. */
  readonly timestamp: number | undefined;
}

const PROM_TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const OM_TYPES = new Set(['counter', 'gauge', 'histogram', 'gaugehistogram', 'stateset', 'info', 'summary', 'unknown']);

const NUL = 0;
const TAB = 9;
const LF = 10;
const SPACE = 32;
const QUOTE = 34;
const HASH = 35;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const EQUALS = 61;
const BACKSLASH = 92;
const UNDERSCORE = 95;
const LBRACE = 123;
const RBRACE = 125;
/** What a code unit above U+00FF becomes in the byte view: no syntax character. */
const WIDE = 0x80;

// Character classes by byte. "\n" is in none but the two token ends, so
// every class loop stops at a line's end without a bounds check.
const LABEL_START = 1; // [a-zA-Z_]
const LABEL_CHAR = 2; // [a-zA-Z0-9_]
const NAME_START = 4; // [a-zA-Z_:]
const NAME_CHAR = 8; // [a-zA-Z0-9_:]
const BLANK = 16; // [ \t]
const PROM_VALUE_END = 32; // ends a 0.0.4 value token: [{ \t\n]
const OM_TOKEN_END = 64; // ends an OpenMetrics token: [ \n]
const CLASS = new Uint8Array(256);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === UNDERSCORE;
  const digit = c >= 48 && c <= 57;
  CLASS[c] =
    (letter ? LABEL_START | LABEL_CHAR | NAME_START | NAME_CHAR : 0) |
    (digit ? LABEL_CHAR | NAME_CHAR : 0) |
    (c === 58 ? NAME_START | NAME_CHAR : 0) |
    (c === SPACE || c === TAB ? BLANK | PROM_VALUE_END : 0) |
    (c === LBRACE || c === LF ? PROM_VALUE_END : 0) |
    (c === SPACE || c === LF ? OM_TOKEN_END : 0);
}

// The byte view: one byte per UTF-16 code unit of the body, so its indexes
// are the string's. ASCII is itself; U+0080–U+00FF are their Latin-1 byte;
// above that, WIDE. None of those is ASCII, and all syntax is ASCII. One
// spare view is kept for the next parser: scrapes come one after another.
const ABOVE_LATIN1 = /[\u0100-\uffff]/g;
const MAX_SPARE_BYTES = 64 * 1024 * 1024;
let spare: Uint8Array | undefined;

/** The byte view of `body`, with a "\n" after the end so that every scan stops. */
function codeUnits(body: string): Uint8Array {
  const n = body.length;
  let b = spare;
  if (b !== undefined && b.length > n) spare = undefined;
  else b = new Uint8Array(n + 1 + (n >> 3));
  // Latin-1 gives each code unit its low byte: for a one-byte string (any
  // ASCII body) a plain copy, twice as fast as encodeInto's UTF-8 checks.
  // Then the code units above U+00FF are marked; on a one-byte string the
  // regexp fails at once, without reading it.
  Buffer.from(b.buffer, b.byteOffset, n).write(body, 0, n, 'latin1');
  ABOVE_LATIN1.lastIndex = 0;
  for (let m = ABOVE_LATIN1.exec(body); m !== null; m = ABOVE_LATIN1.exec(body)) b[m.index] = WIDE;
  b[n] = LF;
  return b;
}

function releaseCodeUnits(b: Uint8Array): void {
  if (b.length <= MAX_SPARE_BYTES && (spare === undefined || spare.length < b.length)) spare = b;
}

const EMPTY = new Uint8Array(1);

// Powers of ten that are exact doubles: m × 10^k and m / 10^k are then
// correctly rounded for m < 2^53 (Clinger's fast path), exactly as Go's
// strconv.ParseFloat rounds.
const POW10: number[] = [];
for (let k = 0, p = 1; k <= 22; k++, p *= 10) POW10.push(p);

// Why the last readFloat() returned NaN: it read "NaN", bad syntax, or out of range.
const FLOAT_OK = 0;
const FLOAT_SYNTAX = 1;
const FLOAT_RANGE = 2;
let floatError = FLOAT_OK;

/**
 * Go's strconv.ParseFloat(s, 64) as Prometheus calls it (no hexadecimal, no
 * underscores) on [from, to) of the byte view `b` of `s`: an optional sign,
 * digits with an optional fraction and exponent, or case-insensitively NaN
 * (unsigned), Inf and Infinity (signed or not). Sets floatError when the
 * result is not a number: bad syntax, or an overflow, which Go refuses
 * (ErrRange) and JavaScript would make ±Infinity.
 */
function readFloat(b: Uint8Array, s: string, from: number, to: number): number {
  floatError = FLOAT_OK;
  let i = from;
  let c = b[i]!;
  const neg = c === MINUS;
  if (c === MINUS || c === PLUS) {
    i++;
    if (i === to) return syntaxError();
    c = b[i]!;
  }
  // The first 15 significant digits go into `m` (exact), the next 4 into `x`.
  let m = 0;
  let x = 0;
  let sig = 0;
  let digits = 0;
  let scale = 0;
  while (i < to && (c = b[i]!) >= 48 && c <= 57) {
    if (sig > 0 || c !== 48) {
      if (sig < 15) m = m * 10 + (c - 48);
      else if (sig < 19) x = x * 10 + (c - 48);
      sig++;
    }
    digits++;
    i++;
  }
  if (i < to && c === DOT) {
    i++;
    while (i < to && (c = b[i]!) >= 48 && c <= 57) {
      if (sig > 0 || c !== 48) {
        if (sig < 15) m = m * 10 + (c - 48);
        else if (sig < 19) x = x * 10 + (c - 48);
        sig++;
      }
      digits++;
      scale++;
      i++;
    }
  }
  if (digits === 0) return special(s, from, to);
  let exp = 0;
  if (i < to && (c === 101 || c === 69)) {
    i++;
    let expNeg = false;
    if (i < to && ((c = b[i]!) === PLUS || c === MINUS)) {
      expNeg = c === MINUS;
      i++;
    }
    const expStart = i;
    while (i < to && (c = b[i]!) >= 48 && c <= 57) {
      if (exp < 100_000_000) exp = exp * 10 + (c - 48);
      i++;
    }
    if (i === expStart) return syntaxError();
    if (expNeg) exp = -exp;
  }
  if (i !== to) return syntaxError();
  const p = exp - scale;
  if (sig <= 15 && p >= -22 && p <= 22) {
    const v = p >= 0 ? m * POW10[p]! : m / POW10[-p]!;
    return neg ? -v : v;
  }
  // Up to 19 significant digits: Eisel-Lemire, as Go's ParseFloat tries first.
  if (sig <= 19 && p >= MIN_EXP10 && p <= MAX_EXP10) {
    const v = sig <= 15 ? eiselLemire(Math.floor(m / 4294967296), m - Math.floor(m / 4294967296) * 4294967296, p) : eiselLemire19(m, x, sig - 15, p);
    if (v === v) return neg ? -v : v;
  }
  // A valid decimal, which Number() rounds as Go does.
  const v = Number(s.slice(from, to));
  if (v === Infinity || v === -Infinity) {
    floatError = FLOAT_RANGE;
    return NaN;
  }
  return v;
}

// Eisel-Lemire (Go's strconv/eisel_lemire.go, eiselLemire64), in 32-bit
// words: a decimal man × 10^e of up to 19 digits is multiplied by a 128-bit
// truncation of 10^e, and the top bits are the correctly rounded double
// unless the truncation could have changed them or the decimal is a tie;
// then it returns NaN and the caller asks Number(), which rounds as Go does.
// Go goes on to a wider product in the first case; here that is the rare
// fallback (about 1 in 512 values). Exponents are kept to what scrapes hold.
const MIN_EXP10 = -64;
const MAX_EXP10 = 64;
/** Per exponent, the 128-bit mantissa of 10^e rounded down, top bit set: 4 words, most significant first. */
const POW10_128 = new Uint32Array(4 * (MAX_EXP10 - MIN_EXP10 + 1));
for (let e = MIN_EXP10; e <= MAX_EXP10; e++) {
  let v: bigint;
  if (e >= 0) v = 10n ** BigInt(e);
  else {
    const d = 10n ** BigInt(-e);
    v = (1n << BigInt(d.toString(2).length + 127)) / d;
  }
  const bits = v.toString(2).length;
  v = bits > 128 ? v >> BigInt(bits - 128) : v << BigInt(128 - bits);
  const o = 4 * (e - MIN_EXP10);
  for (let k = 3; k >= 0; k--) {
    POW10_128[o + k] = Number(v & 0xffffffffn);
    v >>= 32n;
  }
}
/** 2^k at index 1100 + k, exact for k in [-1074, 1100) (lower ones underflow and are never used). */
const POW2 = new Float64Array(2200);
POW2[1100] = 1;
for (let k = 1; k < 1100; k++) {
  POW2[1100 + k] = POW2[1099 + k]! * 2;
  POW2[1100 - k] = POW2[1101 - k]! / 2;
}
/** man × 10^p, man given as its first 15 digits `m`, then `n` more digits `x`. */
function eiselLemire19(m: number, x: number, n: number, p: number): number {
  const scale = POW10[n]!;
  const mh = Math.floor(m / 4294967296);
  const ml = m - mh * 4294967296;
  let lo = ml * scale + x; // < 2^47
  const carry = Math.floor(lo / 4294967296);
  lo -= carry * 4294967296;
  return eiselLemire(mh * scale + carry, lo, p);
}

/** The double nearest (hi × 2^32 + lo) × 10^e, or NaN when undecided. */
function eiselLemire(hi: number, lo: number, e: number): number {
  if (hi === 0 && lo === 0) return 0;
  // Normalise to 64 bits with the top bit set.
  const clz = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
  if (clz >= 32) {
    hi = lo << (clz - 32);
    lo = 0;
  } else if (clz > 0) {
    hi = (hi << clz) | (lo >>> (32 - clz));
    lo = lo << clz;
  }
  hi >>>= 0;
  lo >>>= 0;
  const o = 4 * (e - MIN_EXP10);
  const p3 = POW10_128[o]!;
  const p2 = POW10_128[o + 1]!;
  // The top 64 bits of man × 10^e's mantissa (w3:w2) and the next 64
  // (w1:w0): man × (p3:p2), from four 32 × 32-bit products, each computed
  // exactly in doubles from 16-bit halves (inlined: a helper returning two
  // words through module variables allocated a heap number per call).
  // Floating-point `%` is a call into C; floor and exact products are not.
  let aHi = 0, aLo = 0, bHi = 0, bLo = 0, cHi = 0, cLo = 0, dHi = 0, dLo = 0;
  {
    const ph = (lo >>> 16) * p2;
    const hiTop = Math.floor(ph / 65536);
    const pt = (ph - hiTop * 65536) * 65536 + (lo & 0xffff) * p2;
    const pc = Math.floor(pt / 4294967296);
    aLo = pt - pc * 4294967296;
    aHi = hiTop + pc;
  }
  {
    const ph = (hi >>> 16) * p2;
    const hiTop = Math.floor(ph / 65536);
    const pt = (ph - hiTop * 65536) * 65536 + (hi & 0xffff) * p2;
    const pc = Math.floor(pt / 4294967296);
    bLo = pt - pc * 4294967296;
    bHi = hiTop + pc;
  }
  {
    const ph = (lo >>> 16) * p3;
    const hiTop = Math.floor(ph / 65536);
    const pt = (ph - hiTop * 65536) * 65536 + (lo & 0xffff) * p3;
    const pc = Math.floor(pt / 4294967296);
    cLo = pt - pc * 4294967296;
    cHi = hiTop + pc;
  }
  {
    const ph = (hi >>> 16) * p3;
    const hiTop = Math.floor(ph / 65536);
    const pt = (ph - hiTop * 65536) * 65536 + (hi & 0xffff) * p3;
    const pc = Math.floor(pt / 4294967296);
    dLo = pt - pc * 4294967296;
    dHi = hiTop + pc;
  }
  const w0 = aLo;
  let t = aHi + bLo + cLo; // < 3 × 2^32
  let c = Math.floor(t / 4294967296);
  const w1 = t - c * 4294967296;
  t = c + bHi + cHi + dLo;
  c = Math.floor(t / 4294967296);
  const w2 = t - c * 4294967296;
  const w3 = c + dHi;
  // The truncated table could have lowered the product by less than one unit of w2: then only a carry through 9 low bits changes the result.
  if ((w2 & 0x1ff) === 0x1ff) return NaN;
  const msb = w3 >>> 31;
  // xHi >> (9 + msb): 54 bits as rHi:rLo.
  const shift = 9 + msb;
  const rHi = w3 >>> shift;
  const rLo = ((w3 << (32 - shift)) | (w2 >>> shift)) >>> 0;
  // Exactly halfway between two doubles: round to even is Number()'s to decide.
  if (w0 === 0 && w1 === 0 && (w2 & 0x1ff) === 0 && (rLo & 3) === 1) return NaN;
  let exp2 = ((217706 * e) >> 16) + 64 + 1023 - clz - (1 ^ msb);
  // Round the 54 bits to 53 (an even 54-bit integer is exact as a double).
  let mant = (rHi * 4294967296 + (rLo + (rLo & 1))) / 2;
  if (mant >= 2 ** 53) {
    mant /= 2;
    exp2++;
  }
  // Subnormal or infinite: not for this fast path.
  if (exp2 - 1 >= 0x7fe || exp2 <= 0) return NaN;
  return mant * POW2[1100 + exp2 - 1075]!;
}

function syntaxError(): number {
  floatError = FLOAT_SYNTAX;
  return NaN;
}

/** Go's special(): [+-]?(inf|infinity) and nan, ignoring case, and nothing after. */
function special(s: string, from: number, to: number): number {
  const c0 = s.charCodeAt(from);
  const signed = c0 === PLUS || c0 === MINUS;
  const i = signed ? from + 1 : from;
  const n = to - i;
  if ((n === 3 && isWord(s, i, 'inf')) || (n === 8 && isWord(s, i, 'infinity'))) return c0 === MINUS ? -Infinity : Infinity;
  if (n === 3 && !signed && isWord(s, i, 'nan')) return NaN;
  return syntaxError();
}

/** Whether `s` at `i` spells the lowercase ASCII `word` in any case. */
function isWord(s: string, i: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) {
    // Setting 0x20 lowercases an ASCII letter, and makes nothing else one.
    if ((s.charCodeAt(i + k) | 0x20) !== word.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * Go's strconv.ParseFloat for the forms Prometheus accepts: an optional
 * sign, digits with an optional fraction and exponent, or (ignoring case)
 * NaN, Inf, Infinity. Undefined when invalid or out of range (`1e400`).
 */
export function parseGoFloat(s: string): number | undefined {
  const n = s.length;
  if (n === 0) return undefined;
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    b[i] = c < 128 ? c : WIDE;
  }
  const v = readFloat(b, s, 0, n);
  return floatError === FLOAT_OK ? v : undefined;
}

/** The format a scrape's Content-Type announces, as Prometheus picks it (textparse.New). */
export function formatFromContentType(contentType: string | undefined): ExpositionFormat {
  return contentType !== undefined && /^\s*application\/openmetrics-text\s*(?:;|$)/i.test(contentType) ? 'openmetrics' : 'prometheus';
}

/**
 * Unescaping as Prometheus's strings.Replacer does it: `\\`, `\n` and, when
 * `quote`, `\"`; any other backslash stays as written. Label values and
 * OpenMetrics HELP text have all three, 0.0.4 HELP text no `\"`.
 */
function unescape(s: string, from: number, to: number, quote: boolean): string {
  let out = '';
  let run = from;
  for (let i = from; i < to - 1; i++) {
    if (s.charCodeAt(i) !== BACKSLASH) continue;
    const c = s.charCodeAt(i + 1);
    if (c === BACKSLASH || c === 110 || (quote && c === QUOTE)) {
      out += s.slice(run, i) + (c === 110 ? '\n' : c === QUOTE ? '"' : '\\');
      i++;
      run = i + 1;
    }
  }
  return out + s.slice(run, to);
}

/** What is at `i`, for an error message. */
function describe(s: string, i: number, end: number): string {
  if (i >= end) return 'end of line';
  const c = s.charCodeAt(i);
  return c === SPACE ? 'a space' : c === TAB ? 'a tab' : JSON.stringify(s.slice(i, Math.min(end, i + 12)));
}

/**
 * A cursor over an exposition body.
 *
 * ```ts
 * const p = new ExpositionParser(body, { format: formatFromContentType(ct) });
 * for (let k = p.next(); k !== null; k = p.next()) {
 *   if (k === 'series') use(p.seriesKey(), p.value(), p.timestamp());
 * }
 * ```
 *
 * Strings it returns are slices of the body, and V8 keeps a whole body alive
 * while any slice of 13 or more characters of it lives: a cache that
 * outlives the scrape should keep copies (or interned strings), not slices.
 */
export class ExpositionParser {
  private readonly body: string;
  private readonly len: number;
  private readonly om: boolean;
  private readonly maxLineLength: number;
  private readonly maxLabels: number;
  private readonly maxLabelNameLength: number;
  private readonly maxLabelValueLength: number;
  /** The byte view of the body (codeUnits()); EMPTY once done. */
  private b: Uint8Array;
  private pos = 0;
  /** The physical line being read: number, start, and end (its "\n" or the body's end). */
  private line = 0;
  private lineStart = 0;
  private lineEnd = 0;
  private entryLine = 0;
  private finished = false;
  /** The error next() threw; it throws it again rather than read on. */
  private error: ExpositionError | undefined = undefined;
  private eofSeen = false;
  // The current series.
  private keyStart = 0;
  private nameEnd = 0;
  private keyEnd = 0;
  private nLabels = 0;
  /** Whether the labels are strictly ascending by name as written (then labels() needs no sort). */
  private sorted = true;
  /** Per label: name start, name end, value start, value end. */
  private offsets = new Int32Array(4 * 32);
  /** Per label: 1 when the value has an escape to undo. */
  private escaped = new Uint8Array(32);
  private val = 0;
  private ts: number | undefined = undefined;
  private exemplarStart = -1;
  private exemplarVal = 0;
  private exemplarTs: number | undefined = undefined;
  /** Escapes in the value quotedEndSlow() last read. */
  private escapes = 0;
  /** The next backslash at or after the last value read (the body's length if none). */
  private nextBackslash = -1;
  // The current help/type/unit entry.
  private metaName = '';
  private metaText = '';

  constructor(body: string, opts: ExpositionOptions = {}) {
    this.body = body;
    this.len = body.length;
    this.om = opts.format === 'openmetrics';
    this.maxLineLength = opts.maxLineLength ?? DEFAULT_EXPOSITION_LIMITS.maxLineLength;
    this.maxLabels = opts.maxLabels ?? DEFAULT_EXPOSITION_LIMITS.maxLabels;
    this.maxLabelNameLength = opts.maxLabelNameLength ?? DEFAULT_EXPOSITION_LIMITS.maxLabelNameLength;
    this.maxLabelValueLength = opts.maxLabelValueLength ?? DEFAULT_EXPOSITION_LIMITS.maxLabelValueLength;
    this.b = codeUnits(body);
  }

  /**
   * Advances to the next entry and validates all of it; null at the end of
   * the body. Comments and (0.0.4) blank lines are skipped. Throws an
   * ExpositionError on malformed or over-limit input, and again on every
   * later call.
   */
  next(): EntryKind | null {
    if (this.finished) return null;
    if (this.error !== undefined) throw this.error;
    const b = this.b;
    for (;;) {
      const start = this.pos;
      if (start >= this.len) {
        if (this.om && !this.eofSeen) this.fail('OpenMetrics input must end with "# EOF"', Math.max(1, this.line));
        this.finish();
        return null;
      }
      this.startLine(start);
      this.entryLine = this.line;
      let kind: EntryKind | null;
      if (this.om) {
        if (this.eofSeen) this.fail('unexpected data after "# EOF"');
        const c = b[start]!;
        if ((CLASS[c]! & NAME_START) !== 0) kind = this.omSample(start);
        else if (c === HASH) kind = this.omComment(start);
        else if (c === LF) this.fail('blank lines are not allowed in OpenMetrics');
        else this.fail(`expected a metric name or "#" at the start of a line, found ${describe(this.body, start, this.lineEnd)}`);
      } else {
        let i = start;
        while ((CLASS[b[i]!]! & BLANK) !== 0) i++;
        const c = b[i]!;
        if ((CLASS[c]! & NAME_START) !== 0) {
          // Prometheus: leading blanks become part of the metric name, which then fails validation.
          if (i !== start) this.fail('a sample line must not start with blanks');
          kind = this.promSample(start);
        } else if (c === LF) {
          kind = null;
        } else if (c === HASH) {
          kind = this.promComment(i);
        } else if (c === NUL) {
          // Prometheus: a NUL where a line starts ends the input (promlex.l `\0 return tEOF`).
          this.finish();
          return null;
        } else this.fail(`expected a metric name or "#" at the start of a line, found ${describe(this.body, i, this.lineEnd)}`);
      }
      this.pos = this.lineEnd + 1;
      if (kind !== null) return kind;
    }
  }

  /** 1-based line number where the current entry starts. */
  lineNumber(): number {
    return this.entryLine;
  }

  /**
   * The raw text of the current series, metric name and label set exactly as
   * written (`foo{a="b"}`): the same text always means the same labels, so it
   * is a cache key for labels(). Two spellings of one series (label order,
   * blanks) give two keys.
   */
  seriesKey(): string {
    return this.body.slice(this.keyStart, this.keyEnd);
  }

  /** The current series' metric name (the value of `__name__`). */
  metricName(): string {
    return this.body.slice(this.keyStart, this.nameEnd);
  }

  /** The current sample's value; NaN and ±Infinity as written. */
  value(): number {
    return this.val;
  }

  /** Milliseconds since the epoch, or undefined when the line has none. */
  timestamp(): number | undefined {
    return this.ts;
  }

  /** Labels of the current series, `__name__` counted. */
  labelCount(): number {
    return this.nLabels + 1;
  }

  /** For help/type/unit entries: the metric family name. */
  familyName(): string {
    return this.metaName;
  }

  /** For help: the unescaped text; type: the type; unit: the unit. */
  text(): string {
    return this.metaText;
  }

  /**
   * The current series' labels, built now: flat and sorted by name
   * (`[name0, value0, …]`), `__name__` included, values unescaped. Empty
   * values are kept. Names are unique (next() checked).
   */
  labels(): string[] {
    const body = this.body;
    const offsets = this.offsets;
    const n = this.nLabels;
    const out: string[] = [];
    let named = false;
    if (this.sorted) {
      for (let k = 0; k < n; k++) {
        const o = 4 * k;
        if (!named && !this.precedesName(offsets[o]!, offsets[o + 1]!)) {
          out.push('__name__', body.slice(this.keyStart, this.nameEnd));
          named = true;
        }
        out.push(body.slice(offsets[o]!, offsets[o + 1]!), this.labelValue(k));
      }
    } else {
      // Written out of order: insertion-sort the label indexes, comparing names in the body.
      const order: number[] = [];
      for (let k = 0; k < n; k++) {
        let j = k - 1;
        while (j >= 0 && this.compareNames(order[j]!, k) > 0) j--;
        order.splice(j + 1, 0, k);
      }
      for (const k of order) {
        const o = 4 * k;
        if (!named && !this.precedesName(offsets[o]!, offsets[o + 1]!)) {
          out.push('__name__', body.slice(this.keyStart, this.nameEnd));
          named = true;
        }
        out.push(body.slice(offsets[o]!, offsets[o + 1]!), this.labelValue(k));
      }
    }
    if (!named) out.push('__name__', body.slice(this.keyStart, this.nameEnd));
    return out;
  }

  /** The OpenMetrics exemplar of the current series, if it has one. */
  exemplar(): Exemplar | undefined {
    if (this.exemplarStart < 0) return undefined;
    const body = this.body;
    const pairs: string[] = [];
    let i = this.exemplarStart;
    // Already validated: `name="value"` separated by commas, no blanks, then "}".
    while (body.charCodeAt(i) !== RBRACE) {
      const ns = i;
      while (body.charCodeAt(i) !== EQUALS) i++;
      const name = body.slice(ns, i);
      const vs = i + 2;
      let escaped = false;
      for (i = vs; body.charCodeAt(i) !== QUOTE; i++) {
        if (body.charCodeAt(i) === BACKSLASH) {
          escaped = true;
          i++;
        }
      }
      pairs.push(name, escaped ? unescape(body, vs, i, true) : body.slice(vs, i));
      i++;
      if (body.charCodeAt(i) === COMMA) i++;
    }
    const labels: string[] = [];
    for (let k = 0; k < pairs.length; k += 2) {
      let j = labels.length;
      while (j > 0 && labels[j - 2]! > pairs[k]!) j -= 2;
      labels.splice(j, 0, pairs[k]!, pairs[k + 1]!);
    }
    return { labels, value: this.exemplarVal, timestamp: this.exemplarTs };
  }

  private labelValue(k: number): string {
    const o = 4 * k;
    const vs = this.offsets[o + 2]!;
    const ve = this.offsets[o + 3]!;
    return this.escaped[k] === 1 ? unescape(this.body, vs, ve, true) : this.body.slice(vs, ve);
  }

  /** Whether the label name at [from, to) sorts before "__name__". */
  private precedesName(from: number, to: number): boolean {
    const body = this.body;
    const NAME = '__name__';
    for (let i = 0; i < 8; i++) {
      if (from + i >= to) return true;
      const a = body.charCodeAt(from + i);
      const b = NAME.charCodeAt(i);
      if (a !== b) return a < b;
    }
    // "__name__" itself cannot be among the labels (next() refuses it); longer sorts after.
    return false;
  }

  /** Compares the names of labels a and b by UTF-16 code units, as `<` on strings does. */
  private compareNames(a: number, b: number): number {
    const body = this.body;
    const o = this.offsets;
    let i = o[4 * a]!;
    const ie = o[4 * a + 1]!;
    let j = o[4 * b]!;
    const je = o[4 * b + 1]!;
    for (; i < ie && j < je; i++, j++) {
      const d = body.charCodeAt(i) - body.charCodeAt(j);
      if (d !== 0) return d;
    }
    return ie - i - (je - j);
  }

  private finish(): void {
    this.finished = true;
    releaseCodeUnits(this.b);
    this.b = EMPTY;
  }

  private fail(reason: string, line = this.line): never {
    this.error = new ExpositionError('FS_WIRE_EXPOSITION_SYNTAX', line, reason);
    this.finish();
    this.finished = false;
    throw this.error;
  }

  private overLimit(limit: keyof ExpositionLimits, reason: string): never {
    this.error = new ExpositionError('FS_WIRE_EXPOSITION_LIMIT', this.line, `${reason} (${limit})`, limit);
    this.finish();
    this.finished = false;
    throw this.error;
  }

  private lineTooLong(length: number): never {
    this.overLimit('maxLineLength', `line of ${length} characters is over the limit of ${this.maxLineLength}`);
  }

  /**
   * Makes the physical line starting at `start` the current one. Its length
   * is checked before anything in it, so a line over the limit is reported
   * as that, whatever else is wrong with it.
   */
  private startLine(start: number): void {
    this.line++;
    this.lineStart = start;
    const nl = this.body.indexOf('\n', start);
    const end = nl < 0 ? this.len : nl;
    this.lineEnd = end;
    if (end - start > this.maxLineLength) this.lineTooLong(end - start);
  }

  /**
   * A 0.0.4 `#` line from the "#" at `i`. Prometheus: "#" and blanks, then
   * HELP or TYPE and blanks, make a metadata line; anything else (`#HELP`,
   * `# HELP` alone) is a comment.
   */
  private promComment(i: number): EntryKind | null {
    const b = this.b;
    const body = this.body;
    const end = this.lineEnd;
    let k = i + 1;
    if ((CLASS[b[k]!]! & BLANK) === 0) return null;
    while ((CLASS[b[k]!]! & BLANK) !== 0) k++;
    let kind: 'help' | 'type';
    if (body.startsWith('HELP', k)) kind = 'help';
    else if (body.startsWith('TYPE', k)) kind = 'type';
    else return null;
    k += 4;
    if ((CLASS[b[k]!]! & BLANK) === 0) return null;
    while ((CLASS[b[k]!]! & BLANK) !== 0) k++;
    const nameEnd = this.readFamilyName(k, kind);
    // Prometheus: the rest of the line less its first character is the text;
    // a rest of only blanks is no text at all.
    let j = nameEnd;
    while ((CLASS[b[j]!]! & BLANK) !== 0) j++;
    const text = j < end ? body.slice(nameEnd + 1, end) : '';
    if (kind === 'help') this.metaText = text.indexOf('\\') < 0 ? text : unescape(text, 0, text.length, false);
    else {
      if (!PROM_TYPES.has(text)) this.fail(`invalid metric type ${JSON.stringify(text)}`);
      this.metaText = text;
    }
    return kind;
  }

  /** Reads the family name of a metadata line at `k`; returns its end. */
  private readFamilyName(k: number, kind: string): number {
    const b = this.b;
    if ((CLASS[b[k]!]! & NAME_START) === 0) {
      this.fail(`expected a metric name after "# ${kind.toUpperCase()}", found ${describe(this.body, k, this.lineEnd)}`);
    }
    let j = k + 1;
    while ((CLASS[b[j]!]! & NAME_CHAR) !== 0) j++;
    this.metaName = this.body.slice(k, j);
    return j;
  }

  /** An OpenMetrics `#` line: exactly "# HELP ", "# TYPE ", "# UNIT " or "# EOF". */
  private omComment(i: number): EntryKind {
    const body = this.body;
    const end = this.lineEnd;
    const k = i + 2;
    if (this.b[i + 1] !== SPACE || k >= end) this.fail('expected "# HELP", "# TYPE", "# UNIT" or "# EOF"; OpenMetrics has no other comments');
    if (end - k === 3 && body.startsWith('EOF', k)) {
      this.eofSeen = true;
      if (end + 1 < this.len) this.fail('unexpected data after "# EOF"', this.line + 1);
      return 'eof';
    }
    let kind: 'help' | 'type' | 'unit';
    if (body.startsWith('HELP ', k)) kind = 'help';
    else if (body.startsWith('TYPE ', k)) kind = 'type';
    else if (body.startsWith('UNIT ', k)) kind = 'unit';
    else this.fail('expected "# HELP", "# TYPE", "# UNIT" or "# EOF"; OpenMetrics has no other comments');
    const nameEnd = this.readFamilyName(k + 5, kind);
    const word = kind.toUpperCase();
    if (nameEnd >= end) this.fail(`expected a space and text after the metric name in "# ${word}"`);
    if (this.b[nameEnd] !== SPACE) this.fail(`expected a space after the metric name in "# ${word}", found ${describe(body, nameEnd, end)}`);
    if (end >= this.len) this.fail(`expected a line break after "# ${word}"`);
    if (kind === 'help') {
      this.metaText = unescape(body, nameEnd + 1, end, true);
      return kind;
    }
    const text = body.slice(nameEnd + 1, end);
    if (kind === 'type') {
      if (!OM_TYPES.has(text)) this.fail(`invalid metric type ${JSON.stringify(text)}`);
    } else if (text !== '') {
      // openmetricsparse.go: a non-empty unit is a suffix of the name, after "_".
      const name = this.metaName;
      if (!(name.length >= text.length + 1 && name.endsWith(text) && name.charCodeAt(name.length - text.length - 1) === UNDERSCORE)) {
        this.fail(`unit ${JSON.stringify(text)} is not a suffix of metric "${name}" after "_"`);
      }
    }
    this.metaText = text;
    return kind;
  }

  /** Starts a series at the metric name at `start`; returns the name's end. */
  private seriesName(start: number): number {
    const b = this.b;
    let i = start + 1;
    while ((CLASS[b[i]!]! & NAME_CHAR) !== 0) i++;
    if (i - start > this.maxLabelValueLength) {
      this.overLimit('maxLabelValueLength', `metric name of ${i - start} characters is over the limit of ${this.maxLabelValueLength}`);
    }
    this.keyStart = start;
    this.nameEnd = i;
    this.keyEnd = i;
    this.nLabels = 0;
    this.sorted = true;
    this.ts = undefined;
    this.exemplarStart = -1;
    return i;
  }

  /** A 0.0.4 sample line: `name [{labels}] value [timestamp]`, blanks between tokens. */
  private promSample(start: number): EntryKind {
    const b = this.b;
    let i = this.seriesName(start);
    while ((CLASS[b[i]!]! & BLANK) !== 0) i++;
    if (b[i] === LBRACE) {
      i = this.labelSet(i + 1);
      this.keyEnd = i;
      while ((CLASS[b[i]!]! & BLANK) !== 0) i++;
    }
    // Prometheus: the value is whatever runs up to a blank, "{" or the line's end.
    // Most are integers of 15 digits or fewer: read as scanned, exactly.
    const vs = i;
    let v = 0;
    let d = b[i]!;
    while (d >= 48 && d <= 57) {
      v = v * 10 + (d - 48);
      d = b[++i]!;
    }
    if (i > vs && i - vs <= 15 && (CLASS[d]! & PROM_VALUE_END) !== 0) this.val = v;
    else {
      while ((CLASS[b[i]!]! & PROM_VALUE_END) === 0) i++;
      if (i === vs) this.fail(`expected a value after the series, found ${describe(this.body, i, this.lineEnd)}`);
      this.val = this.readValue(vs, i, 'value');
    }
    while ((CLASS[b[i]!]! & BLANK) !== 0) i++;
    if (b[i] === LF) return 'series';
    const ts = i;
    let c = b[i]!;
    // Read as scanned: 15 digits or fewer are exact; promTimestamp() reads longer ones.
    let t = 0;
    while (c >= 48 && c <= 57) {
      t = t * 10 + (c - 48);
      c = b[++i]!;
    }
    if (i === ts) this.fail(`expected a timestamp (integer milliseconds) or the end of the line after the value, found ${describe(this.body, i, this.lineEnd)}`);
    this.ts = i - ts <= 15 ? t : this.promTimestamp(ts, i);
    while ((CLASS[b[i]!]! & BLANK) !== 0) i++;
    if (b[i] !== LF) this.fail(`expected the end of the line after the timestamp, found ${describe(this.body, i, this.lineEnd)}`);
    return 'series';
  }

  /**
   * A series' label set from just after "{"; returns the index after "}".
   * Records each label's offsets, and checks limits, order and duplicates.
   * OpenMetrics: `a="1",b="2"` and nothing else. Prometheus 0.0.4: blanks
   * between any tokens, the comma after a value optional (also before "}"),
   * and a value may hold a raw line break.
   */
  private labelSet(from: number): number {
    const b = this.b;
    const body = this.body;
    const om = this.om;
    const maxLabels = this.maxLabels;
    const maxName = this.maxLabelNameLength;
    const maxValue = this.maxLabelValueLength;
    let offsets: Int32Array = this.offsets;
    let nextBackslash = this.nextBackslash;
    let lineEnd = this.lineEnd;
    let sorted = true;
    let k = 0;
    let i = from;
    let c = b[i]!;
    if (om && c === RBRACE) return i + 1;
    for (;;) {
      if (!om) {
        while ((CLASS[c]! & BLANK) !== 0) c = b[++i]!;
        if (c === RBRACE) break;
      }
      if ((CLASS[c]! & LABEL_START) === 0) {
        this.fail(c === LF && !om ? 'label set is not closed with "}"' : `expected a label name${om ? '' : ' or "}"'}, found ${describe(body, i, this.lineEnd)}`);
      }
      const ns = i;
      while ((CLASS[(c = b[++i]!)]! & LABEL_CHAR) !== 0);
      const ne = i;
      if (!om) while ((CLASS[c]! & BLANK) !== 0) c = b[++i]!;
      if (c !== EQUALS) this.fail(`expected "=" after label name "${body.slice(ns, ne)}", found ${describe(body, i, this.lineEnd)}`);
      c = b[++i]!;
      if (!om) while ((CLASS[c]! & BLANK) !== 0) c = b[++i]!;
      if (c !== QUOTE) this.fail(`expected '"' to open the value of label "${body.slice(ns, ne)}", found ${describe(body, i, this.lineEnd)}`);
      if (ne - ns > maxName) this.overLimit('maxLabelNameLength', `label name of ${ne - ns} characters is over the limit of ${maxName}`);
      if (k + 2 > maxLabels) this.overLimit('maxLabels', `series has more than ${maxLabels} labels, __name__ counted`);
      const vs = i + 1;
      // Most values have no backslash and no line break: then the next
      // quote closes the value, and native indexOf finds it fastest.
      let q = body.indexOf('"', vs);
      if (nextBackslash < vs) {
        const bs = body.indexOf('\\', vs);
        nextBackslash = bs < 0 ? this.len : bs;
      }
      let escapes = 0;
      if (q < 0 || q >= nextBackslash || q >= lineEnd) {
        q = this.quotedEndSlow(vs);
        escapes = this.escapes;
        lineEnd = this.lineEnd;
      }
      // Each of Prometheus's three escapes writes one character with two.
      if (q - vs - escapes > maxValue) {
        this.overLimit('maxLabelValueLength', `value of label "${body.slice(ns, ne)}" has ${q - vs - escapes} characters, over the limit of ${maxValue}`);
      }
      const o = 4 * k;
      if (o + 4 > offsets.length) offsets = this.growOffsets();
      // Compare with the previous name: writers usually sort, and then the first characters decide.
      if (k > 0 && sorted && b[offsets[o - 4]!]! >= b[ns]!) sorted = this.follows(offsets[o - 4]!, offsets[o - 3]!, ns, ne);
      if (ne - ns === 8 && b[ns] === UNDERSCORE && body.startsWith('__name__', ns)) {
        this.fail('duplicate label name "__name__": the metric name is __name__');
      }
      offsets[o] = ns;
      offsets[o + 1] = ne;
      offsets[o + 2] = vs;
      offsets[o + 3] = q;
      this.escaped[k] = escapes > 0 ? 1 : 0;
      k++;
      i = q + 1;
      c = b[i]!;
      if (om) {
        if (c === RBRACE) break;
        if (c !== COMMA) this.fail(`expected "," or "}" after the value of label "${body.slice(ns, ne)}", found ${describe(body, i, this.lineEnd)}`);
        c = b[++i]!;
      } else {
        while ((CLASS[c]! & BLANK) !== 0) c = b[++i]!;
        if (c === COMMA) c = b[++i]!;
      }
    }
    this.nLabels = k;
    this.nextBackslash = nextBackslash;
    this.sorted = sorted;
    if (!sorted) this.checkDuplicates();
    return i + 1;
  }

  /** Whether name [ns, ne) sorts after name [x, xe); fails if they are the same. */
  private follows(x: number, xe: number, ns: number, ne: number): boolean {
    const b = this.b;
    let y = ns;
    while (x < xe && y < ne && b[x] === b[y]) {
      x++;
      y++;
    }
    if (x === xe && y === ne) this.fail(`duplicate label name "${this.body.slice(ns, ne)}"`);
    return !(y === ne || (x < xe && b[x]! > b[y]!));
  }

  /** An exemplar's label set from just after "{", as in OpenMetrics; returns the index after "}". */
  private exemplarLabels(from: number): number {
    const b = this.b;
    let i = from;
    if (b[i] === RBRACE) return i + 1;
    for (;;) {
      let c = b[i]!;
      if ((CLASS[c]! & LABEL_START) === 0) this.fail(`expected a label name in the exemplar, found ${describe(this.body, i, this.lineEnd)}`);
      while ((CLASS[(c = b[++i]!)]! & LABEL_CHAR) !== 0);
      if (c !== EQUALS) this.fail(`expected "=" after a label name in the exemplar, found ${describe(this.body, i, this.lineEnd)}`);
      if (b[++i] !== QUOTE) this.fail(`expected '"' to open a label value in the exemplar, found ${describe(this.body, i, this.lineEnd)}`);
      i = this.quotedEndSlow(i + 1) + 1;
      c = b[i]!;
      if (c === RBRACE) return i + 1;
      if (c !== COMMA) this.fail(`expected "," or "}" after a label value in the exemplar, found ${describe(this.body, i, this.lineEnd)}`);
      i++;
    }
  }

  private growOffsets(): Int32Array {
    const offsets = new Int32Array(this.offsets.length * 2);
    offsets.set(this.offsets);
    this.offsets = offsets;
    const escaped = new Uint8Array(this.escaped.length * 2);
    escaped.set(this.escaped);
    this.escaped = escaped;
    return offsets;
  }

  /**
   * The closing quote of a label value starting at `vs`, and its escapes
   * (this.escapes). `\` escapes any one character but a line break.
   * Prometheus 0.0.4 (not OpenMetrics) lets a raw line break into a value;
   * the value then runs on into the next line.
   */
  private quotedEndSlow(vs: number): number {
    const b = this.b;
    let i = vs;
    let escapes = 0;
    const opened = this.line;
    for (;;) {
      let c = b[i]!;
      while (c !== QUOTE && c !== BACKSLASH && c !== LF) c = b[++i]!;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        c = b[++i]!;
        if (c === LF) this.fail('a label value must not end a line with "\\"');
        if (c === BACKSLASH || c === QUOTE || c === 110) escapes++;
        i++;
        continue;
      }
      if (this.om || i + 1 >= this.len) this.fail(`label value is not closed with '"'`, opened);
      this.startLine(++i);
    }
    this.escapes = escapes;
    return i;
  }

  /** Checks a label set written out of order for repeated names. */
  private checkDuplicates(): void {
    const b = this.b;
    const o = this.offsets;
    const n = this.nLabels;
    for (let x = 1; x < n; x++) {
      const xs = o[4 * x]!;
      const len = o[4 * x + 1]! - xs;
      const first = b[xs];
      for (let y = 0; y < x; y++) {
        const ys = o[4 * y]!;
        if (o[4 * y + 1]! - ys === len && b[ys] === first && this.compareNames(x, y) === 0) {
          this.fail(`duplicate label name "${this.body.slice(xs, xs + len)}"`);
        }
      }
    }
  }

  /** An OpenMetrics sample line: `name[{labels}] value[ timestamp][ # {labels} value[ timestamp]]`, single spaces. */
  private omSample(start: number): EntryKind {
    const b = this.b;
    let i = this.seriesName(start);
    if (b[i] === LBRACE) {
      i = this.labelSet(i + 1);
      this.keyEnd = i;
    }
    if (b[i] !== SPACE) this.fail(`expected a space and a value after the series, found ${describe(this.body, i, this.lineEnd)}`);
    let vs = ++i;
    while ((CLASS[b[i]!]! & OM_TOKEN_END) === 0) i++;
    if (i === vs) this.fail(`expected a value after the series, found ${describe(this.body, i, this.lineEnd)}`);
    this.val = this.readValue(vs, i, 'value');
    if (b[i] === LF) return this.omLineEnd(i);
    i++;
    if (!this.exemplarAt(i)) {
      vs = i;
      while ((CLASS[b[i]!]! & OM_TOKEN_END) === 0) i++;
      if (i === vs) this.fail(`expected a timestamp or "# {" after the value, found ${describe(this.body, i, this.lineEnd)}`);
      this.ts = this.omTimestamp(vs, i, 'timestamp');
      if (b[i] === LF) return this.omLineEnd(i);
      i++;
      if (!this.exemplarAt(i)) this.fail(`expected "# {" or the end of the line after the timestamp, found ${describe(this.body, i, this.lineEnd)}`);
    }
    return this.omExemplar(i + 3);
  }

  private exemplarAt(i: number): boolean {
    const b = this.b;
    return b[i] === HASH && b[i + 1] === SPACE && b[i + 2] === LBRACE;
  }

  /** OpenMetrics: every line, the last sample's too, ends with "\n" (the body ends with "# EOF"). */
  private omLineEnd(end: number): EntryKind {
    if (end >= this.len) this.fail('OpenMetrics input must end with "# EOF"');
    return 'series';
  }

  /** An exemplar from just after "# {". Prometheus: only on `_total` and `_bucket` series. */
  private omExemplar(from: number): EntryKind {
    const b = this.b;
    const name = this.body.slice(this.keyStart, this.nameEnd);
    if (!name.endsWith('_total') && !name.endsWith('_bucket')) this.fail(`metric "${name}" cannot have an exemplar: only _total and _bucket series can`);
    this.exemplarStart = from;
    let i = this.exemplarLabels(from);
    if (b[i] !== SPACE) this.fail(`expected a space and a value after the exemplar's labels, found ${describe(this.body, i, this.lineEnd)}`);
    let vs = ++i;
    while ((CLASS[b[i]!]! & OM_TOKEN_END) === 0) i++;
    if (i === vs) this.fail(`expected an exemplar value, found ${describe(this.body, i, this.lineEnd)}`);
    this.exemplarVal = this.readValue(vs, i, 'exemplar value');
    this.exemplarTs = undefined;
    if (b[i] === SPACE) {
      vs = ++i;
      while ((CLASS[b[i]!]! & OM_TOKEN_END) === 0) i++;
      if (i === vs) this.fail(`expected an exemplar timestamp, found ${describe(this.body, i, this.lineEnd)}`);
      this.exemplarTs = this.omTimestamp(vs, i, 'exemplar timestamp');
      if (b[i] !== LF) this.fail(`expected the end of the line after the exemplar, found ${describe(this.body, i, this.lineEnd)}`);
    }
    return this.omLineEnd(i);
  }

  /** A float token [from, to), as Go's ParseFloat reads it. */
  private readValue(from: number, to: number, what: string): number {
    const v = readFloat(this.b, this.body, from, to);
    if (floatError !== FLOAT_OK) {
      this.fail(`${floatError === FLOAT_RANGE ? `${what} out of range` : `invalid ${what}`} ${JSON.stringify(this.body.slice(from, to))}`);
    }
    return v;
  }

  /** 0.0.4: integer milliseconds, digits only (no sign), within int64 (strconv.ParseInt). */
  private promTimestamp(from: number, to: number): number {
    const b = this.b;
    let i = from;
    while (i < to - 1 && b[i] === 48) i++;
    const digits = to - i;
    if (digits <= 15) {
      let v = 0;
      for (; i < to; i++) v = v * 10 + (b[i]! - 48);
      return v;
    }
    const s = this.body.slice(i, to);
    if (digits > 19 || (digits === 19 && s > '9223372036854775807')) this.fail(`timestamp out of range ${JSON.stringify(this.body.slice(from, to))}`);
    return Number(s);
  }

  /**
   * OpenMetrics: float seconds, finite, to integer milliseconds as Prometheus
   * converts them (`int64(ts * 1000)`, truncating).
   */
  private omTimestamp(from: number, to: number, what: string): number {
    const seconds = this.readValue(from, to, what);
    if (!Number.isFinite(seconds)) this.fail(`invalid ${what} ${JSON.stringify(this.body.slice(from, to))}`);
    const ms = Math.trunc(seconds * 1000);
    if (Math.abs(ms) >= 2 ** 63) this.fail(`${what} out of range ${JSON.stringify(this.body.slice(from, to))}`);
    return ms + 0;
  }
}

export interface ParsedSeries {
  /** Flat and sorted by name: `[name0, value0, …]`, `__name__` included. */
  readonly labels: string[];
  readonly value: number;
  /** Milliseconds, or undefined. */
  readonly timestamp: number | undefined;
  readonly exemplar?: Exemplar;
}

export interface FamilyMetadata {
  readonly name: string;
  type?: string;
  help?: string;
  unit?: string;
}

/**
 * Parses a whole body into series and, by family name, the metadata of the
 * HELP/TYPE/UNIT lines (the last line of each kind wins). Throws an
 * ExpositionError as ExpositionParser.next() does.
 */
export function parseExposition(body: string, opts: ExpositionOptions = {}): { series: ParsedSeries[]; metadata: Map<string, FamilyMetadata> } {
  const p = new ExpositionParser(body, opts);
  const series: ParsedSeries[] = [];
  const metadata = new Map<string, FamilyMetadata>();
  for (let kind = p.next(); kind !== null; kind = p.next()) {
    if (kind === 'series') {
      const ex = p.exemplar();
      const s: ParsedSeries = ex ? { labels: p.labels(), value: p.value(), timestamp: p.timestamp(), exemplar: ex } : { labels: p.labels(), value: p.value(), timestamp: p.timestamp() };
      series.push(s);
    } else if (kind !== 'eof') {
      const name = p.familyName();
      let m = metadata.get(name);
      if (m === undefined) {
        m = { name };
        metadata.set(name, m);
      }
      m[kind] = p.text();
    }
  }
  return { series, metadata };
}
