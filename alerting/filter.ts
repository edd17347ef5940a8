// ElastAlert `filter:` lists (all must match) compiled into predicates over a
// document's _source, following Elasticsearch's query semantics for fields as
// its dynamic mapping creates them: a JSON string is a `text` field (standard
// analyzer: Unicode words, lowercased) with an exact `.keyword` sub-field
// (`.raw`, the Logstash template's name, is read the same way); a number is a
// numeric field, a boolean a boolean field; objects are flattened into dotted
// names and arrays are multi-valued. Queries: term, terms, range, wildcard,
// prefix, regexp, exists, match, match_phrase, query_string, bool
// (must/filter/must_not/should/minimum_should_match), and the pre-ES5 forms
// ElastAlert rules still carry ({query: {query_string}}, {not: ...}, and,
// or, missing). `now` in date math is the record's event time.
import { AlertingError } from './errors.js';
import { parseLucene, type LuceneNode } from './lucene.js';
import type { Doc } from './fields.js';

export type Predicate = (doc: Doc, nowMs: number) => boolean;

/**
 * A necessary condition the engine indexes on: the record's index keys for
 * `field` (see indexKeys) must include one of `keys`.
 */
export interface IndexHint {
  readonly field: string;
  readonly keys: readonly string[];
}

export interface CompiledFilter {
  readonly match: Predicate;
  /** Index hints, each one alone necessary for a match (from the top-level conjunction). */
  readonly hints: readonly IndexHint[];
  /** Fields the filter reads. */
  readonly fields: ReadonlySet<string>;
}

interface Compiled {
  match: Predicate;
  hints: IndexHint[];
}

const TOKEN_RE = /[\p{L}\p{N}_]+(?:['\u2019.][\p{L}\p{N}_]+)*/gu;

const tokenCache = new Map<string, string[]>();
const TOKEN_CACHE_MAX = 50_000;
const TOKEN_CACHE_MAX_LEN = 512;

/** The standard analyzer's tokens (UAX#29 words, lowercased), close enough for log text. */
export function tokens(text: string): string[] {
  // Log values repeat (levels, services, templated messages): analyse each once.
  const cacheable = text.length <= TOKEN_CACHE_MAX_LEN;
  if (cacheable) {
    const hit = tokenCache.get(text);
    if (hit !== undefined) return hit;
  }
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(TOKEN_RE)) out.push(m[0]);
  if (cacheable) {
    if (tokenCache.size >= TOKEN_CACHE_MAX) tokenCache.clear();
    tokenCache.set(text, out);
  }
  return out;
}

interface FieldRef {
  readonly path: string;
  /** The path has a dot (a walk may be needed). */
  readonly dotted: boolean;
  /** `.keyword` / `.raw`: the exact sub-field of a string. */
  readonly exact: boolean;
}

function fieldRef(name: string): FieldRef {
  const path = name.endsWith('.keyword') ? name.slice(0, -8) : name.endsWith('.raw') ? name.slice(0, -4) : name;
  // A field literally named `x.keyword` falls back to the walk in values().
  return { path, exact: path !== name, dotted: path.includes('.') || path !== name };
}

/** Every leaf value at a dotted path, arrays flattened, the way Elasticsearch indexes _source. */
export function fieldValues(doc: Doc, path: string): unknown[] {
  if (path.indexOf('.') < 0) {
    // A top-level field, the common case: no walk.
    const v = doc[path];
    if (v === undefined || v === null || !Object.prototype.hasOwnProperty.call(doc, path)) return [];
    if (!Array.isArray(v)) return [v];
  }
  const out: unknown[] = [];
  const parts = path.split('.');
  const walk = (node: unknown, i: number): void => {
    if (Array.isArray(node)) {
      for (const el of node) walk(el, i);
      return;
    }
    if (i === parts.length) {
      if (node !== null && node !== undefined) out.push(node);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const obj = node as Doc;
    let key = '';
    for (let j = i; j < parts.length; j++) {
      key = j === i ? (parts[j] as string) : `${key}.${parts[j] as string}`;
      if (Object.prototype.hasOwnProperty.call(obj, key)) walk(obj[key], j + 1);
    }
  };
  walk(doc, 0);
  return out;
}

function values(doc: Doc, ref: FieldRef): unknown[] {
  const v = fieldValues(doc, ref.path);
  if (v.length > 0 || !ref.exact) return v;
  // A field really named `x.keyword` in the document.
  return fieldValues(doc, ref.exact ? `${ref.path}.keyword` : ref.path);
}

/** The index keys of one field of a record: `v:` exact values and `t:` text tokens. */
export function indexKeys(doc: Doc, field: string): string[] {
  const out: string[] = [];
  for (const v of fieldValues(doc, field)) {
    if (typeof v === 'string') {
      out.push(`v:${v}`);
      for (const t of tokens(v)) out.push(`t:${t}`);
    } else if (typeof v === 'number' || typeof v === 'boolean') out.push(`v:${String(v)}`);
  }
  return out;
}

// ---- date and number handling -------------------------------------------

const DATE_MATH_RE = /^now(?:([+-])(\d+)([yMwdhHms]))?(?:\/([yMwdhHms]))?$/;
const UNIT: Record<string, number> = { y: 365 * 86_400_000, M: 30 * 86_400_000, w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, H: 3_600_000, m: 60_000, s: 1000 };

function parseDateBound(s: string, nowMs: number): number | null {
  const m = DATE_MATH_RE.exec(s);
  if (m !== null) {
    let t = nowMs;
    if (m[1] !== undefined) t += (m[1] === '-' ? -1 : 1) * Number(m[2]) * (UNIT[m[3] as string] as number);
    if (m[4] !== undefined) t -= t % (UNIT[m[4]] as number);
    return t;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return null;
  const ms = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(s) || s.length === 10 ? s : `${s}Z`);
  return Number.isNaN(ms) ? null : ms;
}

function asNumber(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())) return Number(v);
  return null;
}

type Bound = { value: unknown; incl: boolean } | null;

function inRange(v: unknown, lo: Bound, hi: Bound, nowMs: number): boolean {
  if (typeof v === 'number') {
    const l = lo === null ? null : asNumber(lo.value);
    const h = hi === null ? null : asNumber(hi.value);
    if ((lo !== null && l === null) || (hi !== null && h === null)) return false;
    if (l !== null && (lo?.incl ? v < l : v <= l)) return false;
    if (h !== null && (hi?.incl ? v > h : v >= h)) return false;
    return true;
  }
  if (typeof v !== 'string') return false;
  // A string that is a date (dynamic date detection) compares as a date.
  const vd = /^\d{4}-\d{2}-\d{2}/.test(v) ? parseDateBound(v, nowMs) : null;
  if (vd !== null) {
    const l = lo === null ? null : parseDateBound(String(lo.value), nowMs);
    const h = hi === null ? null : parseDateBound(String(hi.value), nowMs);
    if ((lo !== null && l === null) || (hi !== null && h === null)) return false;
    if (l !== null && (lo?.incl ? vd < l : vd <= l)) return false;
    if (h !== null && (hi?.incl ? vd > h : vd >= h)) return false;
    return true;
  }
  const l = lo === null ? null : String(lo.value);
  const h = hi === null ? null : String(hi.value);
  if (l !== null && (lo?.incl ? v < l : v <= l)) return false;
  if (h !== null && (hi?.incl ? v > h : v >= h)) return false;
  return true;
}

/** Term equality for a non-text value (number, boolean, exact string). */
function exactEquals(v: unknown, term: unknown): boolean {
  if (typeof v === 'number') {
    const n = asNumber(term);
    return n !== null && n === v;
  }
  if (typeof v === 'boolean') return String(term) === String(v);
  if (typeof v === 'string') return typeof term === 'string' ? v === term : typeof term === 'number' || typeof term === 'boolean' ? v === String(term) : false;
  return false;
}

function termHint(field: string, term: unknown): IndexHint | null {
  const ref = fieldRef(field);
  if (typeof term === 'number' || typeof term === 'boolean') return { field: ref.path, keys: [`v:${String(term)}`] };
  if (typeof term !== 'string') return null;
  // A string term matches an exact value (keyword, or a number written as a string) or one token.
  return ref.exact ? { field: ref.path, keys: [`v:${term}`] } : { field: ref.path, keys: [`v:${term}`, `t:${term}`] };
}

// ---- wildcards and regexes ------------------------------------------------

function wildcardRegex(pattern: string, caseInsensitive: boolean): RegExp {
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) {
      src += (pattern[++i] as string).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else if (c === '*') src += '[^]*';
    else if (c === '?') src += '[^]';
    else src += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^(?:${src})$`, caseInsensitive ? 'iu' : 'u');
}

/** Lucene regular expressions are anchored and have no lookaround, anchors or \d-style classes. */
function luceneRegex(pattern: string, where: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`, 'u');
  } catch (err) {
    throw new AlertingError('FS_ALERTING_INVALID_QUERY', [where, `invalid regular expression /${pattern}/: ${(err as Error).message}`]);
  }
}

function anyValue(doc: Doc, ref: FieldRef, test: (v: unknown, text: boolean) => boolean): boolean {
  if (!ref.dotted) {
    const v = doc[ref.path];
    if (v !== undefined && v !== null && !Array.isArray(v) && typeof v !== 'object') return test(v, typeof v === 'string' && !ref.exact);
  }
  for (const v of values(doc, ref)) {
    const text = typeof v === 'string' && !ref.exact;
    if (test(v, text)) return true;
  }
  return false;
}

function allLeaves(doc: Doc, out: { path: string; value: unknown }[] = [], prefix = ''): { path: string; value: unknown }[] {
  for (const [k, v] of Object.entries(doc)) {
    const p = prefix === '' ? k : `${prefix}.${k}`;
    const list = Array.isArray(v) ? v : [v];
    for (const x of list) {
      if (typeof x === 'object' && x !== null && !Array.isArray(x)) allLeaves(x as Doc, out, p);
      else if (x !== null && x !== undefined) out.push({ path: p, value: x });
    }
  }
  return out;
}

// ---- query_string ---------------------------------------------------------

function compileLucene(node: LuceneNode, where: string, fields: Set<string>): Compiled {
  switch (node.kind) {
    case 'all':
      return { match: () => true, hints: [] };
    case 'exists': {
      fields.add(node.field);
      const ref = fieldRef(node.field);
      return { match: (d) => values(d, ref).length > 0, hints: [] };
    }
    case 'bool': {
      const parts = node.clauses.map((c) => ({ occur: c.occur, c: compileLucene(c.node, where, fields) }));
      const must = parts.filter((p) => p.occur === 'must').map((p) => p.c.match);
      const not = parts.filter((p) => p.occur === 'must_not').map((p) => p.c.match);
      const should = parts.filter((p) => p.occur === 'should').map((p) => p.c.match);
      const needShould = must.length === 0 && should.length > 0;
      const hints = parts.filter((p) => p.occur === 'must').flatMap((p) => p.c.hints);
      if (needShould && should.length === parts.length) {
        // A pure disjunction: a record must satisfy one of them; union the hints of one field.
        const each = parts.map((p) => p.c.hints);
        if (each.every((h) => h.length > 0) && each.every((h) => (h[0] as IndexHint).field === (each[0]?.[0] as IndexHint).field)) {
          hints.push({ field: (each[0]?.[0] as IndexHint).field, keys: each.flatMap((h) => (h[0] as IndexHint).keys) });
        }
      }
      return {
        match: (d, now) => {
          for (const m of must) if (!m(d, now)) return false;
          for (const m of not) if (m(d, now)) return false;
          if (needShould) {
            for (const m of should) if (m(d, now)) return true;
            return false;
          }
          return true;
        },
        hints,
      };
    }
    case 'term': {
      if (node.field !== null) fields.add(node.field);
      const qTokens = tokens(node.text);
      let test: (v: unknown, text: boolean) => boolean;
      if (node.wildcard) {
        const exactRe = wildcardRegex(node.text, false);
        const textRe = wildcardRegex(node.text.toLowerCase(), false);
        test = (v, text) => (text ? tokens(v as string).some((t) => textRe.test(t)) : typeof v === 'string' ? exactRe.test(v) : exactRe.test(String(v)));
      } else if (node.quoted && qTokens.length > 1) {
        test = (v, text) => (text ? containsPhrase(tokens(v as string), qTokens) : exactEquals(v, node.text));
      } else {
        // A bare term analysed into several tokens is their disjunction (default_operator OR).
        test = (v, text) => (text ? (qTokens.length === 0 ? false : tokens(v as string).some((t) => qTokens.includes(t))) : exactEquals(v, node.text));
      }
      if (node.field === null) {
        return { match: (d) => allLeaves(d).some((l) => test(l.value, typeof l.value === 'string') || (typeof l.value === 'string' && test(l.value, false))), hints: [] };
      }
      const ref = fieldRef(node.field);
      const hints: IndexHint[] = [];
      if (!node.wildcard) {
        const keys = ref.exact ? [`v:${node.text}`] : [`v:${node.text}`, ...(node.quoted && qTokens.length > 1 ? [`t:${qTokens[0] as string}`] : qTokens.map((t) => `t:${t}`))];
        hints.push({ field: ref.path, keys });
      }
      return { match: (d) => anyValue(d, ref, test), hints };
    }
    case 'regex': {
      if (node.field !== null) fields.add(node.field);
      const re = luceneRegex(node.pattern, where);
      const test = (v: unknown, text: boolean): boolean => (text ? tokens(v as string).some((t) => re.test(t)) : re.test(String(v)));
      if (node.field === null) return { match: (d) => allLeaves(d).some((l) => test(l.value, typeof l.value === 'string')), hints: [] };
      const ref = fieldRef(node.field);
      return { match: (d) => anyValue(d, ref, test), hints: [] };
    }
    case 'range': {
      if (node.field === null) throw new AlertingError('FS_ALERTING_INVALID_QUERY', [where, 'a range needs a field']);
      fields.add(node.field);
      const ref = fieldRef(node.field);
      const lo: Bound = node.lo === null ? null : { value: node.lo, incl: node.loIncl };
      const hi: Bound = node.hi === null ? null : { value: node.hi, incl: node.hiIncl };
      return { match: (d, now) => anyValue(d, ref, (v) => inRange(v, lo, hi, now)), hints: [] };
    }
  }
}

function containsPhrase(hay: readonly string[], needle: readonly string[]): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

// ---- the query DSL ----------------------------------------------------------

function fail(where: string, reason: string): never {
  throw new AlertingError('FS_ALERTING_INVALID_RULE', ['', where, reason]);
}

function single(q: unknown, where: string): [string, unknown] {
  if (typeof q !== 'object' || q === null || Array.isArray(q)) fail(where, 'a query must be an object with one key');
  const entries = Object.entries(q as Doc);
  if (entries.length !== 1) fail(where, `a query must have exactly one key, found ${entries.length}: ${entries.map((e) => e[0]).join(', ')}`);
  return entries[0] as [string, unknown];
}

function fieldAndParams(body: unknown, where: string, param: string): { field: string; value: unknown; params: Doc } {
  const [field, spec] = single(body, where);
  if (typeof spec === 'object' && spec !== null && !Array.isArray(spec)) {
    const p = spec as Doc;
    if (!(param in p)) fail(`${where}.${field}`, `missing ${param}`);
    return { field, value: p[param], params: p };
  }
  return { field, value: spec, params: {} };
}

function asList(v: unknown): unknown[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

function compileQuery(q: unknown, where: string, fields: Set<string>): Compiled {
  const [kind, body] = single(q, where);
  const at = `${where}.${kind}`;
  switch (kind) {
    case 'match_all':
      return { match: () => true, hints: [] };
    case 'match_none':
      return { match: () => false, hints: [] };
    case 'query':
    case 'filtered':
      if (kind === 'filtered') {
        const b = body as Doc;
        const parts = [b.query, b.filter].filter((x) => x !== undefined).map((x, i) => compileQuery(x, `${at}[${i}]`, fields));
        return { match: (d, n) => parts.every((p) => p.match(d, n)), hints: parts.flatMap((p) => p.hints) };
      }
      return compileQuery(body, at, fields);
    case 'not': {
      const inner = compileQuery((body as Doc)?.filter ?? (body as Doc)?.query ?? body, at, fields);
      return { match: (d, n) => !inner.match(d, n), hints: [] };
    }
    case 'and':
    case 'or': {
      const list = Array.isArray(body) ? body : asList((body as Doc)?.filters);
      const parts = list.map((x, i) => compileQuery(x, `${at}[${i}]`, fields));
      return kind === 'and'
        ? { match: (d, n) => parts.every((p) => p.match(d, n)), hints: parts.flatMap((p) => p.hints) }
        : { match: (d, n) => parts.some((p) => p.match(d, n)), hints: [] };
    }
    case 'bool': {
      if (typeof body !== 'object' || body === null) fail(at, 'bool must be an object');
      const b = body as Doc;
      for (const k of Object.keys(b)) if (!['must', 'filter', 'must_not', 'should', 'minimum_should_match', 'boost', '_name'].includes(k)) fail(`${at}.${k}`, 'unknown bool clause');
      const must = [...asList(b.must), ...asList(b.filter)].map((x, i) => compileQuery(x, `${at}.must[${i}]`, fields));
      const not = asList(b.must_not).map((x, i) => compileQuery(x, `${at}.must_not[${i}]`, fields));
      const should = asList(b.should).map((x, i) => compileQuery(x, `${at}.should[${i}]`, fields));
      let msm = must.length === 0 && should.length > 0 ? 1 : 0;
      if (b.minimum_should_match !== undefined) {
        const v = b.minimum_should_match;
        if (typeof v === 'number') msm = v < 0 ? should.length + v : v;
        else if (typeof v === 'string' && /^-?\d+%$/.test(v)) {
          const pct = Number(v.slice(0, -1));
          msm = pct < 0 ? should.length - Math.floor((should.length * -pct) / 100) : Math.floor((should.length * pct) / 100);
        } else if (typeof v === 'string' && /^-?\d+$/.test(v)) msm = Number(v) < 0 ? should.length + Number(v) : Number(v);
        else fail(`${at}.minimum_should_match`, `unsupported value ${JSON.stringify(v)}`);
      }
      const hints = must.flatMap((p) => p.hints);
      return {
        match: (d, n) => {
          for (const p of must) if (!p.match(d, n)) return false;
          for (const p of not) if (p.match(d, n)) return false;
          if (msm > 0) {
            let c = 0;
            for (const p of should) if (p.match(d, n) && ++c >= msm) return true;
            return false;
          }
          return true;
        },
        hints,
      };
    }
    case 'term': {
      const { field, value } = fieldAndParams(body, at, 'value');
      fields.add(field);
      const ref = fieldRef(field);
      const h = termHint(field, value);
      // A term query is not analysed: on a text field it must equal one (lowercase) token.
      return { match: (d) => anyValue(d, ref, (v, text) => (text ? tokens(v as string).includes(String(value)) : exactEquals(v, value))), hints: h ? [h] : [] };
    }
    case 'terms': {
      const [field, list] = single(body, at);
      if (!Array.isArray(list)) fail(`${at}.${field}`, 'terms needs a list of values');
      fields.add(field);
      const ref = fieldRef(field);
      const keys = list.flatMap((t) => termHint(field, t)?.keys ?? []);
      return {
        match: (d) => anyValue(d, ref, (v, text) => list.some((t) => (text ? tokens(v as string).includes(String(t)) : exactEquals(v, t)))),
        hints: keys.length === list.length * (fieldRef(field).exact ? 1 : 2) || keys.length > 0 ? [{ field: ref.path, keys }] : [],
      };
    }
    case 'range': {
      const [field, spec] = single(body, at);
      if (typeof spec !== 'object' || spec === null) fail(`${at}.${field}`, 'range needs an object of bounds');
      fields.add(field);
      const s = spec as Doc;
      const lo: Bound = s.gte !== undefined ? { value: s.gte, incl: true } : s.gt !== undefined ? { value: s.gt, incl: false } : s.from !== undefined ? { value: s.from, incl: s.include_lower !== false } : null;
      const hi: Bound = s.lte !== undefined ? { value: s.lte, incl: true } : s.lt !== undefined ? { value: s.lt, incl: false } : s.to !== undefined ? { value: s.to, incl: s.include_upper !== false } : null;
      const ref = fieldRef(field);
      return { match: (d, n) => anyValue(d, ref, (v) => inRange(v, lo, hi, n)), hints: [] };
    }
    case 'wildcard':
    case 'prefix': {
      const { field, value, params } = fieldAndParams(body, at, kind === 'wildcard' ? (body && typeof (body as Doc)[Object.keys(body as Doc)[0] as string] === 'object' && 'wildcard' in ((body as Doc)[Object.keys(body as Doc)[0] as string] as Doc) ? 'wildcard' : 'value') : 'value');
      fields.add(field);
      const pattern = kind === 'prefix' ? `${String(value).replace(/[*?\\]/g, '\\$&')}*` : String(value);
      const re = wildcardRegex(pattern, params.case_insensitive === true);
      const ref = fieldRef(field);
      return { match: (d) => anyValue(d, ref, (v, text) => (text ? tokens(v as string).some((t) => re.test(t)) : re.test(String(v)))), hints: [] };
    }
    case 'regexp': {
      const { field, value } = fieldAndParams(body, at, 'value');
      fields.add(field);
      const re = luceneRegex(String(value), at);
      const ref = fieldRef(field);
      return { match: (d) => anyValue(d, ref, (v, text) => (text ? tokens(v as string).some((t) => re.test(t)) : re.test(String(v)))), hints: [] };
    }
    case 'exists':
    case 'missing': {
      const field = (body as Doc)?.field;
      if (typeof field !== 'string') fail(at, `${kind} needs a field`);
      fields.add(field);
      const ref = fieldRef(field);
      return kind === 'exists' ? { match: (d) => values(d, ref).length > 0, hints: [] } : { match: (d) => values(d, ref).length === 0, hints: [] };
    }
    case 'match':
    case 'match_phrase': {
      const { field, value, params } = fieldAndParams(body, at, 'query');
      fields.add(field);
      const ref = fieldRef(field);
      const q = tokens(String(value));
      const and = params.operator === 'and' || params.operator === 'AND';
      return {
        match: (d) =>
          anyValue(d, ref, (v, text) => {
            if (!text) return exactEquals(v, value);
            const t = tokens(v as string);
            if (kind === 'match_phrase') return containsPhrase(t, q);
            return and ? q.every((x) => t.includes(x)) : q.some((x) => t.includes(x));
          }),
        hints: [],
      };
    }
    case 'query_string': {
      const b = body as Doc;
      if (typeof b?.query !== 'string') fail(`${at}.query`, 'query_string needs a query string');
      const op = String(b.default_operator ?? 'OR').toUpperCase();
      if (op !== 'OR' && op !== 'AND') fail(`${at}.default_operator`, 'must be OR or AND');
      let node: LuceneNode;
      try {
        node = parseLucene(b.query, op);
      } catch (err) {
        if (err instanceof AlertingError) fail(`${at}.query`, err.message);
        throw err;
      }
      if (typeof b.default_field === 'string') node = defaultField(node, b.default_field);
      return compileLucene(node, at, fields);
    }
    default:
      fail(at, `unsupported query type ${kind}`);
  }
}

function defaultField(node: LuceneNode, field: string): LuceneNode {
  if (node.kind === 'bool') return { kind: 'bool', clauses: node.clauses.map((c) => ({ occur: c.occur, node: defaultField(c.node, field) })) };
  if ((node.kind === 'term' || node.kind === 'regex' || node.kind === 'range') && node.field === null) return { ...node, field };
  return node;
}

/** Compiles a rule's `filter` (a list that must all match, or one query object). */
export function compileFilter(filter: unknown, where = 'filter'): CompiledFilter {
  const fields = new Set<string>();
  const list = filter === undefined || filter === null ? [] : Array.isArray(filter) ? filter : [filter];
  const parts = list.filter((f) => !(typeof f === 'object' && f !== null && Object.keys(f).length === 0)).map((f, i) => compileQuery(f, `${where}[${i}]`, fields));
  const preds = parts.map((p) => p.match);
  const match: Predicate = preds.length === 0 ? () => true : preds.length === 1 ? (preds[0] as Predicate) : (d, n) => {
    for (const p of preds) if (!p(d, n)) return false;
    return true;
  };
  return { match, hints: parts.flatMap((p) => p.hints), fields };
}
