// top_count_keys: the `top_events_<key>` counts ElastAlert's send_alert adds
// to a match (get_top_counts / get_hits_terms): for each key, the top
// `top_count_number` (default 5) values of that field, with their record
// counts, among the records of the rule (its filter applied) whose timestamp
// is in (match − timeframe, match + 10 minutes] (flatline: 2 × timeframe; no
// timeframe: 10 minutes), restricted to the match's query_key value when the
// rule has one and the match carries it. Elasticsearch orders the buckets by
// count, then by value.
//
// On the stream the counts come from the records the engine has run for that
// rule and tenant: a match is counted when its run ends, over the records
// before that run's end (ElastAlert, run live, counts what is indexed by then;
// nothing here depends on arrival timing, so replicas count alike). With
// `raw_count_keys` (default true) a key is counted on its exact sub-field and
// named `<key>.keyword`, as ElastAlert renames it for Elasticsearch 5+: under
// dynamic mapping only strings have one, so numbers and booleans are not
// counted there. `raw_count_keys: false` counts the field's values as they are.
import { fieldValues } from './filter.js';
import { hashKey, lookupKey, pyStr, type Doc } from './fields.js';
import type { CompiledRule } from './rule.js';

export interface TopCountKey {
  /** The name in `top_events_<name>`: the key, `.keyword` added unless raw_count_keys is false. */
  readonly name: string;
  /** The document field the values are read from. */
  readonly field: string;
  /** Count only string values (the `.keyword` / `.raw` exact sub-field). */
  readonly stringsOnly: boolean;
}

export interface TopCountSpec {
  readonly keys: readonly TopCountKey[];
  readonly number: number;
  /** Records are counted when their timestamp is > match − behindMs and ≤ match + aheadMs. */
  readonly behindMs: number;
  readonly aheadMs: number;
}

/** One record as the counts need it: its time, query_key value and the values of each key. */
export interface CountedRecord {
  readonly ts: number;
  readonly qk: string | null;
  readonly values: readonly (readonly (string | number | boolean)[])[];
}

const TEN_MINUTES = 600_000;

export function compileTopCounts(rule: Readonly<Record<string, unknown>>, timeframeMs: number | null): TopCountSpec | null {
  const list = rule.top_count_keys;
  if (!Array.isArray(list) || list.length === 0) return null;
  const raw = rule.raw_count_keys !== false;
  const keys = list.map((k): TopCountKey => {
    const key = String(k);
    const exact = key.endsWith('.keyword') || key.endsWith('.raw');
    const field = exact ? key.slice(0, key.lastIndexOf('.')) : key;
    return { name: raw && !key.endsWith('.keyword') ? `${key}.keyword` : key, field, stringsOnly: raw || exact };
  });
  const number = typeof rule.top_count_number === 'number' && rule.top_count_number > 0 ? rule.top_count_number : 5;
  const behindMs = rule.type === 'flatline' ? 2 * (timeframeMs ?? 0) : (timeframeMs ?? TEN_MINUTES);
  return { keys, number, behindMs, aheadMs: TEN_MINUTES };
}

function qkOf(rule: CompiledRule, doc: Doc): string | null {
  if (rule.queryKey === null) return null;
  const v = lookupKey(doc, rule.queryKey);
  return v === undefined || v === null ? null : hashKey(v);
}

/** What a record contributes to the counts (read once, when it is run). */
export function countedRecord(rule: CompiledRule, spec: TopCountSpec, ts: number, doc: Doc): CountedRecord {
  const values = spec.keys.map((k) => {
    const seen = new Set<string>();
    const out: (string | number | boolean)[] = [];
    for (const v of fieldValues(doc, k.field)) {
      if (typeof v === 'string' || (!k.stringsOnly && (typeof v === 'number' || typeof v === 'boolean'))) {
        const h = hashKey(v);
        if (seen.has(h)) continue;
        seen.add(h);
        out.push(v);
      }
    }
    return out;
  });
  return { ts, qk: qkOf(rule, doc), values };
}

/** The `top_events_<key>` fields for one match, as get_top_counts returns them. */
export function topCounts(rule: CompiledRule, spec: TopCountSpec, records: readonly CountedRecord[], matchTs: number, match: Doc): Record<string, Record<string, number>> {
  const qk = qkOf(rule, match);
  const lo = matchTs - spec.behindMs;
  const hi = matchTs + spec.aheadMs;
  const counts = spec.keys.map(() => new Map<string, { value: string | number | boolean; n: number }>());
  for (const r of records) {
    if (r.ts <= lo || r.ts > hi) continue;
    if (qk !== null && r.qk !== qk) continue;
    r.values.forEach((vals, i) => {
      const m = counts[i] as Map<string, { value: string | number | boolean; n: number }>;
      for (const v of vals) {
        const h = hashKey(v);
        const c = m.get(h);
        if (c === undefined) m.set(h, { value: v, n: 1 });
        else c.n++;
      }
    });
  }
  const out: Record<string, Record<string, number>> = {};
  spec.keys.forEach((k, i) => {
    const buckets = [...(counts[i] as Map<string, { value: string | number | boolean; n: number }>).values()];
    buckets.sort((a, b) => b.n - a.n || compareKeys(a.value, b.value));
    const top: Record<string, number> = {};
    for (const b of buckets.slice(0, spec.number)) top[pyStr(b.value)] = b.n;
    out[`top_events_${k.name}`] = top;
  });
  return out;
}

function compareKeys(a: string | number | boolean, b: string | number | boolean): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
