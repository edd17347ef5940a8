// Field access on documents the way ElastAlert's util.lookup_es_key does it:
// a literal dotted key first, then a greedy walk that joins path segments
// with dots until one exists (`{"a.b": {"c": 1}}` answers `a.b.c`), and
// `name[0]` list indexes.

export type Doc = Record<string, unknown>;

const compiled = new Map<string, readonly (string | number)[][]>();

function segmentsOf(term: string): readonly (string | number)[][] {
  let c = compiled.get(term);
  if (c === undefined) {
    // Each part: a dotted name, optionally followed by one [digit] index (as ElastAlert's \[(\d)\]).
    const parts: (string | number)[][] = [];
    let rest = term;
    for (;;) {
      const m = /\[(\d)\]/.exec(rest);
      if (m === null) {
        parts.push([rest]);
        break;
      }
      parts.push([rest.slice(0, m.index), Number(m[1])]);
      rest = rest.slice(m.index + m[0].length);
      if (rest === '') break;
    }
    c = parts;
    if (compiled.size < 10_000) compiled.set(term, c);
  }
  return c;
}

function isObj(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at `term` in `doc`, or undefined when absent (ElastAlert's None). */
export function lookupKey(doc: Doc, term: string): unknown {
  if (Object.prototype.hasOwnProperty.call(doc, term)) return doc[term];
  let cursor: unknown = doc;
  for (const [name, index] of segmentsOf(term)) {
    const subs = (name as string).split('.');
    let sub = '';
    let found: string | null = null;
    for (let i = 0; i < subs.length; i++) {
      if (!isObj(cursor)) return undefined;
      sub += subs[i];
      if (Object.prototype.hasOwnProperty.call(cursor, sub)) {
        if (i === subs.length - 1) {
          found = sub;
          break;
        }
        cursor = cursor[sub];
        sub = '';
      } else if (i === subs.length - 1) {
        return undefined;
      } else {
        sub += '.';
      }
    }
    if (found === null || !isObj(cursor)) return undefined;
    cursor = cursor[found];
    if (index !== undefined) {
      if (!Array.isArray(cursor) || cursor.length <= (index as number)) return undefined;
      cursor = cursor[index as number];
    }
  }
  return cursor;
}

/** Python's str() of a JSON value, used where ElastAlert turns a value into a key. */
export function pyStr(v: unknown): string {
  if (v === undefined || v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloat(v);
  if (typeof v === 'string') return v;
  return pyRepr(v);
}

function pyFloat(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  const s = String(v);
  return /[.e]/.test(s) ? s.replace(/e([+-])(\d)$/, 'e$10$2') : `${s}.0`;
}

function pyRepr(v: unknown): string {
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (isObj(v)) return `{${Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return pyStr(v);
}

/** A value usable as a map key: ElastAlert's hashable() (lists and dicts become their str()). */
export function hashKey(v: unknown): string {
  if (v === undefined || v === null) return '\u0000None';
  if (typeof v === 'object') return `\u0000${pyRepr(v)}`;
  if (typeof v === 'string') return v;
  return `\u0000${typeof v}:${pyStr(v)}`;
}
