// The Prometheus exposition formats: text 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/) and
// OpenMetrics 1.0 text (https://github.com/OpenObservability/OpenMetrics/blob/main/specification/OpenMetrics.md).
//
// The parser is a cursor over the body. For a sample it validates the whole
// line but builds nothing: seriesKey() is the raw text of the series
// (`name{a="b"}`), which a caller can use as a cache key to skip label
// parsing for series it has seen before; labels() parses them on demand.
import { WireError } from './errors.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';
export type EntryKind = 'series' | 'help' | 'type' | 'unit' | 'eof';

export interface ExpositionLimits {
  /** Longest line, in UTF-16 code units. */
  readonly maxLineLength: number;
  /** Most labels on one series, `__name__` not counted. */
  readonly maxLabels: number;
  readonly maxLabelNameLength: number;
  /** Longest label value as written (escapes included). */
  readonly maxLabelValueLength: number;
}

export const DEFAULT_EXPOSITION_LIMITS: ExpositionLimits = {
  maxLineLength: 64 * 1024,
  maxLabels: 128,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 16 * 1024,
};

export interface ExpositionOptions extends Partial<ExpositionLimits> {
  readonly format?: ExpositionFormat;
}

const PROM_TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const OM_TYPES = new Set(['counter', 'gauge', 'histogram', 'gaugehistogram', 'stateset', 'info', 'summary', 'unknown']);

const HASH = 35;
const LBRACE = 123;
const RBRACE = 125;
const QUOTE = 34;
const BACKSLASH = 92;
const EQUALS = 61;
const COMMA = 44;

// Character classes by code unit: 1 label-name start, 2 label-name char,
// 4 metric-name start, 8 metric-name char, 16 blank.
const CLASS = new Uint8Array(65536);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
  const digit = c >= 48 && c <= 57;
  CLASS[c] = (letter ? 1 | 2 | 4 | 8 : 0) | (digit ? 2 | 8 : 0) | (c === 58 ? 4 | 8 : 0) | (c === 32 || c === 9 ? 16 : 0);
}

// A whole well-formed label set after "{", through "}": one native regexp
// run. Values are matched in the unrolled form `[^"\\]*(?:\\.[^"\\]*)*`, and
// cannot span lines, so a match never leaves the line.
const VALUE = '"[^"\\\\\\n]*(?:\\\\.[^"\\\\\\n]*)*"';
const NAME = '[a-zA-Z_][a-zA-Z0-9_]*';
const LABEL_SET = new RegExp(`(?:[ \\t]*${NAME}[ \\t]*=[ \\t]*${VALUE}[ \\t]*,)*[ \\t]*(?:${NAME}[ \\t]*=[ \\t]*${VALUE}[ \\t]*)?\\}`, 'y');
const LABEL = new RegExp(`[ \\t]*(${NAME})[ \\t]*=[ \\t]*"([^"\\\\\\n]*(?:\\\\.[^"\\\\\\n]*)*)"[ \\t]*,?`, 'y');

function isNameStart(c: number): boolean {
  return ((CLASS[c] as number) & 1) !== 0;
}

function isNameChar(c: number): boolean {
  return ((CLASS[c] as number) & 2) !== 0;
}

/** The format a scrape's Content-Type announces. */
export function formatFromContentType(contentType: string | undefined): ExpositionFormat {
  return contentType !== undefined && /^\s*application\/openmetrics-text\b/i.test(contentType) ? 'openmetrics' : 'prometheus';
}

/**
 * Go's strconv.ParseFloat for the decimal forms Prometheus accepts: an
 * optional sign, digits with an optional fraction and exponent, or
 * (case-insensitively) NaN, Inf, Infinity. Returns undefined when invalid.
 */
export function parseGoFloat(s: string): number | undefined {
  let i = 0;
  const n = s.length;
  if (n === 0) return undefined;
  let c = s.charCodeAt(0);
  if (c === 43 || c === 45) i++;
  if (i >= n) return undefined;
  c = s.charCodeAt(i);
  if (c === 78 || c === 110 || c === 73 || c === 105) {
    const word = s.slice(i).toLowerCase();
    if (word === 'nan') return i === 0 ? NaN : undefined;
    if (word === 'inf' || word === 'infinity') return s.charCodeAt(0) === 45 ? -Infinity : Infinity;
    return undefined;
  }
  let digits = 0;
  while (i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) {
    i++;
    digits++;
  }
  if (i < n && s.charCodeAt(i) === 46) {
    i++;
    while (i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return undefined;
  if (i < n && ((c = s.charCodeAt(i)) === 101 || c === 69)) {
    i++;
    if (i < n && ((c = s.charCodeAt(i)) === 43 || c === 45)) i++;
    let exp = 0;
    while (i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) {
      i++;
      exp++;
    }
    if (exp === 0) return undefined;
  }
  return i === n ? Number(s) : undefined;
}

function unescapeLabelValue(raw: string): string {
  if (raw.indexOf('\\') < 0) return raw;
  // Prometheus unescapes \\, \" and \n; any other escape is kept as written.
  return raw.replace(/\\(["\\n])/g, (_, ch: string) => (ch === 'n' ? '\n' : ch));
}

function unescapeHelp(raw: string): string {
  if (raw.indexOf('\\') < 0) return raw;
  return raw.replace(/\\([\\n])/g, (_, ch: string) => (ch === 'n' ? '\n' : ch));
}

export interface Exemplar {
  readonly labels: string[];
  readonly value: number;
  readonly timestamp: number | undefined;
}

/** A cursor over an exposition body. */
export class ExpositionParser {
  private readonly body: string;
  private readonly format: ExpositionFormat;
  private readonly limits: ExpositionLimits;
  private pos = 0;
  private line = 0;
  private eofSeen = false;
  // The current entry.
  private lineStart = 0;
  private lineEnd = 0;
  private nameEnd = 0;
  private labelsStart = -1;
  private keyEnd = 0;
  private labelCount = 0;
  private val = 0;
  private ts: number | undefined = undefined;
  private exemplarStart = -1;
  private metaName = '';
  private metaText = '';
  /** Label sets shorter than this cannot break a limit, so the regexp check suffices. */
  private readonly shortLabelSet: number;

  constructor(body: string, opts: ExpositionOptions = {}) {
    this.body = body;
    this.format = opts.format ?? 'prometheus';
    this.limits = { ...DEFAULT_EXPOSITION_LIMITS, ...stripUndefined(opts) };
    // The shortest label is `a=""` plus a comma: 5 characters.
    this.shortLabelSet = Math.min(5 * this.limits.maxLabels + 4, this.limits.maxLabelNameLength, this.limits.maxLabelValueLength);
  }

  /** Advances to the next entry; null at the end of the body. Throws WireError on malformed input. */
  next(): EntryKind | null {
    const body = this.body;
    const om = this.format === 'openmetrics';
    while (this.pos < body.length) {
      if (this.eofSeen) this.fail('unexpected content after "# EOF"', this.line + 1);
      this.line++;
      const start = this.pos;
      const nl = body.indexOf('\n', start);
      const end = nl < 0 ? body.length : nl;
      this.pos = nl < 0 ? body.length : nl + 1;
      if (end - start > this.limits.maxLineLength) {
        throw new WireError('FS_WIRE_EXPOSITION_LIMIT', [this.line, `line of ${end - start} characters is over the limit of ${this.limits.maxLineLength}`]);
      }
      this.lineStart = start;
      this.lineEnd = end;
      let i = start;
      while (i < end && isBlank(body.charCodeAt(i))) i++;
      if (i === end) {
        if (om) this.fail('blank lines are not allowed in OpenMetrics');
        continue;
      }
      if (body.charCodeAt(i) === HASH) {
        const kind = this.comment(i + 1, end);
        if (kind !== null) return kind;
        continue;
      }
      // Prometheus reads leading blanks as part of the metric name, which then fails.
      if (i !== start) this.fail('a sample line must not start with blanks');
      this.sample(i, end);
      return 'series';
    }
    if (om && !this.eofSeen) this.fail('OpenMetrics input must end with "# EOF"', this.line);
    return null;
  }

  /** 1-based line number of the current entry. */
  lineNumber(): number {
    return this.line;
  }

  /** The raw text of the current series: metric name and label set as written. */
  seriesKey(): string {
    return this.body.slice(this.lineStart + (this.nameStartOffset()), this.keyEnd);
  }

  metricName(): string {
    return this.body.slice(this.lineStart + this.nameStartOffset(), this.nameEnd);
  }

  value(): number {
    return this.val;
  }

  /** Milliseconds, or undefined when the line has none. */
  timestamp(): number | undefined {
    return this.ts;
  }

  /** For help/type/unit entries: the metric family name. */
  familyName(): string {
    return this.metaName;
  }

  /** For help: the unescaped text; type: the type; unit: the unit. */
  text(): string {
    return this.metaText;
  }

  /** The current series' labels: flat, sorted by name, `__name__` included. */
  labels(): string[] {
    const out = ['__name__', this.metricName()];
    if (this.labelsStart >= 0) this.readLabels(this.labelsStart, out);
    sortFlat(out);
    for (let k = 2; k < out.length; k += 2) {
      if (out[k] === out[k - 2]) this.fail(`duplicate label name "${out[k]}"`);
    }
    return out;
  }

  /** The OpenMetrics exemplar of the current series, if any. */
  exemplar(): Exemplar | undefined {
    if (this.exemplarStart < 0) return undefined;
    const body = this.body;
    const labels: string[] = [];
    let i = this.readLabels(this.exemplarStart, labels);
    sortFlat(labels);
    while (i < this.lineEnd && isBlank(body.charCodeAt(i))) i++;
    const after = this.tokenEnd(i);
    const value = this.floatAt(i, after, 'exemplar value');
    let j = after;
    while (j < this.lineEnd && isBlank(body.charCodeAt(j))) j++;
    const timestamp = j < this.lineEnd ? Math.trunc(this.floatAt(j, this.tokenEnd(j), 'exemplar timestamp') * 1000) : undefined;
    return { labels, value, timestamp };
  }

  private nameStartOffset(): number {
    let i = this.lineStart;
    while (isBlank(this.body.charCodeAt(i))) i++;
    return i - this.lineStart;
  }

  private fail(reason: string, line = this.line): never {
    throw new WireError('FS_WIRE_EXPOSITION_SYNTAX', [line, reason]);
  }

  /** Reads a `# ...` line starting after the '#'. Returns its kind, or null for a plain comment. */
  private comment(from: number, end: number): EntryKind | null {
    const body = this.body;
    const om = this.format === 'openmetrics';
    let i = from;
    if (i < end && !isBlank(body.charCodeAt(i))) {
      if (om) this.fail('a comment line must be "# HELP", "# TYPE", "# UNIT" or "# EOF"');
      return null;
    }
    while (i < end && isBlank(body.charCodeAt(i))) i++;
    const wordStart = i;
    while (i < end && !isBlank(body.charCodeAt(i))) i++;
    const word = body.slice(wordStart, i);
    if (om && word === 'EOF' && i === end) {
      this.eofSeen = true;
      return 'eof';
    }
    const kind: EntryKind | null = word === 'HELP' ? 'help' : word === 'TYPE' ? 'type' : word === 'UNIT' && om ? 'unit' : null;
    if (kind === null) {
      if (om) this.fail(`unknown comment "# ${word}"; OpenMetrics allows HELP, TYPE, UNIT and EOF`);
      return null;
    }
    while (i < end && isBlank(body.charCodeAt(i))) i++;
    const nameStart = i;
    if (i >= end || !isMetricNameStart(body.charCodeAt(i))) this.fail(`expected a metric name after "# ${word}"`);
    while (i < end && isMetricNameChar(body.charCodeAt(i))) i++;
    this.metaName = body.slice(nameStart, i);
    if (i < end && !isBlank(body.charCodeAt(i))) this.fail(`invalid character in metric name after "# ${word}"`);
    // One blank separates the name from the text; the rest is the text.
    const text = i < end ? body.slice(i + 1, end) : '';
    if (kind === 'help') this.metaText = unescapeHelp(text);
    else if (kind === 'unit') {
      // OpenMetrics: a family with a unit must be named with it as a suffix.
      if (text !== '' && !this.metaName.endsWith(`_${text}`)) this.fail(`unit "${text}" is not a suffix of metric "${this.metaName}"`);
      this.metaText = text;
    }
    else {
      const type = text.trim();
      if (!(om ? OM_TYPES : PROM_TYPES).has(type)) this.fail(`invalid metric type "${type}"`);
      this.metaText = type;
    }
    return kind;
  }

  /** Validates a sample line from `from` (its first non-blank) to `end`. */
  private sample(from: number, end: number): void {
    const body = this.body;
    const om = this.format === 'openmetrics';
    let i = from;
    if (!isMetricNameStart(body.charCodeAt(i))) this.fail(`expected a metric name, found "${body.slice(i, i + 10)}"`);
    i++;
    while (i < end && isMetricNameChar(body.charCodeAt(i))) i++;
    this.nameEnd = i;
    this.labelsStart = -1;
    this.labelCount = 0;
    this.exemplarStart = -1;
    let brace = i;
    while (brace < end && isBlank(body.charCodeAt(brace))) brace++;
    if (brace < end && body.charCodeAt(brace) === LBRACE) {
      i = brace;
      this.labelsStart = i + 1;
      LABEL_SET.lastIndex = i + 1;
      if (LABEL_SET.test(body) && LABEL_SET.lastIndex - i - 1 < this.shortLabelSet) i = LABEL_SET.lastIndex;
      else i = this.scanLabels(i + 1, end, true);
      this.keyEnd = i;
    } else {
      this.keyEnd = this.nameEnd;
    }
    if (i < end && !isBlank(body.charCodeAt(i))) this.fail(`unexpected "${body[i]}" after the series name`);
    while (i < end && isBlank(body.charCodeAt(i))) i++;
    if (i >= end) this.fail('expected a value');
    let next = this.tokenEnd(i);
    this.val = this.floatAt(i, next, 'value');
    this.ts = undefined;
    i = next;
    while (i < end && isBlank(body.charCodeAt(i))) i++;
    if (i < end && body.charCodeAt(i) !== HASH) {
      next = this.tokenEnd(i);
      if (om) {
        const t = this.floatAt(i, next, 'timestamp');
        if (!Number.isFinite(t)) this.fail(`invalid timestamp "${body.slice(i, next)}"`);
        this.ts = Math.trunc(t * 1000);
      } else {
        const tok = body.slice(i, next);
        if (!/^[+-]?\d{1,19}$/.test(tok)) this.fail(`invalid timestamp "${tok}"`);
        this.ts = Number(tok);
      }
      i = next;
      while (i < end && isBlank(body.charCodeAt(i))) i++;
    }
    if (i < end) {
      if (!om || body.charCodeAt(i) !== HASH) this.fail(`unexpected text "${body.slice(i, Math.min(end, i + 20))}" after the ${this.ts === undefined ? 'value' : 'timestamp'}`);
      this.exemplarLine(i + 1, end);
    }
  }

  private exemplarLine(from: number, end: number): void {
    const body = this.body;
    let i = from;
    while (i < end && isBlank(body.charCodeAt(i))) i++;
    if (body.charCodeAt(i) !== LBRACE) this.fail('expected "{" to open an exemplar');
    this.exemplarStart = i + 1;
    i = this.scanLabels(i + 1, end, false);
    while (i < end && isBlank(body.charCodeAt(i))) i++;
    if (i >= end) this.fail('expected an exemplar value');
    let next = this.tokenEnd(i);
    this.floatAt(i, next, 'exemplar value');
    i = next;
    while (i < end && isBlank(body.charCodeAt(i))) i++;
    if (i < end) {
      next = this.tokenEnd(i);
      if (!Number.isFinite(this.floatAt(i, next, 'exemplar timestamp'))) this.fail(`invalid exemplar timestamp "${body.slice(i, next)}"`);
      i = next;
      while (i < end && isBlank(body.charCodeAt(i))) i++;
      if (i < end) this.fail(`unexpected text "${body.slice(i, Math.min(end, i + 20))}" after the exemplar`);
    }
  }

  /** The end of the blank-delimited token starting at `i`. */
  private tokenEnd(i: number): number {
    const body = this.body;
    let j = i;
    while (j < this.lineEnd && !isBlank(body.charCodeAt(j))) j++;
    return j;
  }

  /** The float token from `i` to `j`; plain integers are read without slicing. */
  private floatAt(i: number, j: number, what: string): number {
    const body = this.body;
    let k = i;
    let neg = false;
    const c0 = body.charCodeAt(k);
    if (c0 === 45 || c0 === 43) {
      neg = c0 === 45;
      k++;
    }
    if (k < j && j - k <= 15) {
      let v = 0;
      for (; k < j; k++) {
        const c = body.charCodeAt(k);
        if (c < 48 || c > 57) break;
        v = v * 10 + (c - 48);
      }
      if (k === j) return neg ? -v : v;
    }
    const tok = body.slice(i, j);
    const v = parseGoFloat(tok);
    if (v === undefined) this.fail(`invalid ${what} "${tok}"`);
    return v;
  }

  /** Validates `name="value",...}` from just after '{'; returns the index after '}'. */
  private scanLabels(from: number, end: number, count: boolean): number {
    const body = this.body;
    const limits = this.limits;
    let i = from;
    for (;;) {
      while (i < end && isBlank(body.charCodeAt(i))) i++;
      if (i >= end) this.fail('label set is not closed with "}"');
      let c = body.charCodeAt(i);
      if (c === RBRACE) return i + 1;
      if (!isNameStart(c)) this.fail(`expected a label name, found "${body.slice(i, i + 10)}"`);
      const nameStart = i;
      i++;
      while (i < end && isNameChar(body.charCodeAt(i))) i++;
      if (i - nameStart > limits.maxLabelNameLength) {
        throw new WireError('FS_WIRE_EXPOSITION_LIMIT', [this.line, `label name of ${i - nameStart} characters is over the limit of ${limits.maxLabelNameLength}`]);
      }
      while (i < end && isBlank(body.charCodeAt(i))) i++;
      if (body.charCodeAt(i) !== EQUALS) this.fail(`expected "=" after label name "${body.slice(nameStart, i).trim()}"`);
      i++;
      while (i < end && isBlank(body.charCodeAt(i))) i++;
      if (body.charCodeAt(i) !== QUOTE) this.fail(`expected '"' to open the value of label "${body.slice(nameStart, i).split('=')[0]?.trim()}"`);
      const valueStart = i + 1;
      i = valueStart;
      for (;;) {
        const q = body.indexOf('"', i);
        if (q < 0 || q >= end) this.fail(`label value is not closed with '"'`);
        let bs = 0;
        while (body.charCodeAt(q - 1 - bs) === BACKSLASH && q - 1 - bs >= valueStart) bs++;
        i = q + 1;
        if (bs % 2 === 0) break;
      }
      if (i - 1 - valueStart > limits.maxLabelValueLength) {
        throw new WireError('FS_WIRE_EXPOSITION_LIMIT', [this.line, `label value of ${i - 1 - valueStart} characters is over the limit of ${limits.maxLabelValueLength}`]);
      }
      if (count && ++this.labelCount > limits.maxLabels) {
        throw new WireError('FS_WIRE_EXPOSITION_LIMIT', [this.line, `series has more than ${limits.maxLabels} labels`]);
      }
      while (i < end && isBlank(body.charCodeAt(i))) i++;
      c = body.charCodeAt(i);
      if (c === COMMA) {
        i++;
        continue;
      }
      if (c !== RBRACE) this.fail(`expected "," or "}" after a label value, found "${body.slice(i, i + 10)}"`);
    }
  }

  /** Appends the (already validated) labels from just after '{' to `out`; returns the index after '}'. */
  private readLabels(from: number, out: string[]): number {
    const body = this.body;
    let i = from;
    for (;;) {
      while (isBlank(body.charCodeAt(i))) i++;
      if (body.charCodeAt(i) === RBRACE) return i + 1;
      LABEL.lastIndex = i;
      const m = LABEL.exec(body) as RegExpExecArray;
      out.push(m[1] as string, unescapeLabelValue(m[2] as string));
      i = LABEL.lastIndex;
    }
  }
}

function isBlank(c: number): boolean {
  return ((CLASS[c] as number) & 16) !== 0;
}

function isMetricNameStart(c: number): boolean {
  return ((CLASS[c] as number) & 4) !== 0;
}

function isMetricNameChar(c: number): boolean {
  return ((CLASS[c] as number) & 8) !== 0;
}

/** Insertion sort of flat [name, value, …] pairs by name; exposition labels are usually sorted already. */
function sortFlat(flat: string[]): void {
  for (let i = 2; i < flat.length; i += 2) {
    const n = flat[i] as string;
    const v = flat[i + 1] as string;
    let j = i - 2;
    while (j >= 0 && (flat[j] as string) > n) {
      flat[j + 2] = flat[j] as string;
      flat[j + 3] = flat[j + 1] as string;
      j -= 2;
    }
    flat[j + 2] = n;
    flat[j + 3] = v;
  }
}

function stripUndefined(o: object): object {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export interface ParsedSeries {
  readonly labels: string[];
  readonly value: number;
  readonly timestamp: number | undefined;
  readonly exemplar?: Exemplar;
}

export interface FamilyMetadata {
  type?: string;
  help?: string;
  unit?: string;
}

/** Parses a whole body into series and per-family metadata. */
export function parseExposition(body: string, opts: ExpositionOptions = {}): { series: ParsedSeries[]; metadata: Map<string, FamilyMetadata> } {
  const p = new ExpositionParser(body, opts);
  const series: ParsedSeries[] = [];
  const metadata = new Map<string, FamilyMetadata>();
  for (let kind = p.next(); kind !== null; kind = p.next()) {
    if (kind === 'series') {
      const ex = p.exemplar();
      series.push(ex ? { labels: p.labels(), value: p.value(), timestamp: p.timestamp(), exemplar: ex } : { labels: p.labels(), value: p.value(), timestamp: p.timestamp() });
    } else if (kind !== 'eof') {
      const m = metadata.get(p.familyName()) ?? {};
      m[kind] = p.text();
      metadata.set(p.familyName(), m);
    }
  }
  return { series, metadata };
}
