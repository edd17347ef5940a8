// `include`: the fields of a record a rule's matches carry, as Elasticsearch's
// `_source_includes` source filtering returns them to ElastAlert's get_hits
// (loaders.py adds query_key, compare_key, the compound keys, top_count_keys
// and timestamp_field to the list; `['*']`, the default, keeps everything).
// A pattern matches a field's full dotted path (`*` matches any characters,
// dots included); an object whose path matches is kept whole, one on the way
// to a pattern is filtered inside and dropped when nothing in it is left;
// arrays keep their position in the path (Elasticsearch
// XContentMapValues.filter).
import type { Doc } from './fields.js';

export interface IncludeFilter {
  readonly patterns: readonly string[];
  /** The record's _source trimmed to the patterns. */
  apply(doc: Doc): Doc;
}

function globRegex(p: string): RegExp {
  return new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
}

/** Can some path that starts with `prefix` match glob `p`? */
function globPrefix(p: string, i: number, s: string, j: number): boolean {
  for (;;) {
    if (j === s.length) return true;
    if (i === p.length) return false;
    if (p[i] === '*') return globPrefix(p, i + 1, s, j) || globPrefix(p, i, s, j + 1);
    if (p[i] !== s[j]) return false;
    i++;
    j++;
  }
}

export function compileInclude(patterns: readonly string[]): IncludeFilter | null {
  if (patterns.includes('*')) return null;
  const res = patterns.map(globRegex);
  const full = (path: string): boolean => res.some((r) => r.test(path));
  const inside = (path: string): boolean => patterns.some((p) => globPrefix(p, 0, `${path}.`, 0));
  const filterValue = (v: unknown, path: string): { keep: boolean; value: unknown } => {
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      for (const el of v) {
        const r = filterValue(el, path);
        if (r.keep) out.push(r.value);
      }
      return { keep: out.length > 0, value: out };
    }
    if (typeof v === 'object' && v !== null) {
      const o = filterObject(v as Doc, `${path}.`);
      return { keep: Object.keys(o).length > 0, value: o };
    }
    return { keep: false, value: v };
  };
  const filterObject = (doc: Doc, prefix: string): Doc => {
    const out: Doc = {};
    for (const k of Object.keys(doc)) {
      const path = prefix + k;
      const v = doc[k];
      if (full(path)) out[k] = v;
      else if (typeof v === 'object' && v !== null && inside(path)) {
        const r = filterValue(v, path);
        if (r.keep) out[k] = r.value;
      }
    }
    return out;
  };
  return { patterns, apply: (doc) => filterObject(doc, '') };
}
