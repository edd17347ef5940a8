// A validated ElastAlert rule document turned into what the engine runs:
// time options in milliseconds, keys split as loaders.py load_options splits
// them, the filter compiled (with enhance_filter's blacklist/whitelist
// query_string added, as ElastAlert adds it before querying).
import { timedeltaMs } from './duration.js';
import { AlertingError } from './errors.js';
import { compileFilter, type CompiledFilter } from './filter.js';
import { compileInclude, type IncludeFilter } from './include.js';
import { compileTopCounts, type TopCountSpec } from './topcounts.js';

export type RuleTypeName =
  | 'any' | 'blacklist' | 'whitelist' | 'change' | 'frequency' | 'spike' | 'flatline'
  | 'new_term' | 'cardinality' | 'metric_aggregation' | 'spike_aggregation' | 'percentage_match';

export interface CompiledRule {
  readonly file: string;
  readonly name: string;
  readonly type: RuleTypeName;
  /** The merged rule document as written (imports included). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly filter: CompiledFilter;
  readonly timestampField: string;
  readonly timestampType: 'iso' | 'unix' | 'unix_ms';
  /** query_key as ElastAlert keeps it: compound keys joined with ','. */
  readonly queryKey: string | null;
  readonly compoundQueryKey: readonly string[] | null;
  readonly aggregationKey: string | null;
  readonly compoundAggregationKey: readonly string[] | null;
  readonly compareKey: string | null;
  readonly compoundCompareKey: readonly string[] | null;
  readonly timeframeMs: number | null;
  readonly realertMs: number;
  readonly exponentialRealertMs: number | null;
  /** Aggregation window in ms; 0 sends every match at once. */
  readonly aggregationMs: number;
  readonly runEveryMs: number | null;
  /** `include` trimming of the records the rule sees; null keeps every field (`*`, the default). */
  readonly include: IncludeFilter | null;
  /** `top_count_keys`, or null. */
  readonly topCounts: TopCountSpec | null;
}

/**
 * loaders.py load_options: include (default `['*']`) plus query_key,
 * compare_key, the compound keys, top_count_keys and timestamp_field; and
 * fleetscope's `re` and `site`, which the alert's labels are read from.
 */
function includeList(rule: Record<string, unknown>, tsField: string, qk: string[], ck: string[], ak: string[]): string[] {
  const out = Array.isArray(rule.include) ? rule.include.map(String) : ['*'];
  out.push(...qk, ...ck, ...ak, tsField, 're', 'site');
  if (Array.isArray(rule.top_count_keys)) out.push(...rule.top_count_keys.map(String));
  return [...new Set(out)];
}

function td(file: string, rule: Record<string, unknown>, key: string): number | null {
  if (!(key in rule)) return null;
  const ms = timedeltaMs(rule[key]);
  if (ms === null) throw new AlertingError('FS_ALERTING_INVALID_RULE', [file, key, 'Invalid time format used']);
  return ms;
}

function keyList(v: unknown): { joined: string | null; compound: string[] | null } {
  if (Array.isArray(v)) {
    if (v.length > 1) return { joined: v.join(','), compound: v.map(String) };
    if (v.length === 1) return { joined: String(v[0]), compound: null };
    return { joined: null, compound: null };
  }
  return typeof v === 'string' ? { joined: v, compound: null } : { joined: null, compound: null };
}

/** elastalert.py enhance_filter: blacklist/whitelist become a query_string filter. */
function listFilter(rule: Record<string, unknown>, compareKey: string): unknown | null {
  if (rule.filter_by_list === false) return null;
  const listname = 'blacklist' in rule ? 'blacklist' : 'whitelist' in rule ? 'whitelist' : null;
  if (listname === null) return null;
  const terms = (rule[listname] as string[]).map((t) => (t.startsWith('/') && t.endsWith('/') ? `${compareKey}:${t}` : `${compareKey}:"${t}"`));
  if (terms.length === 0) return null;
  const query = listname === 'whitelist' ? `NOT ${terms.join(' AND NOT ')}` : terms.join(' OR ');
  return { query_string: { query } };
}

export function compileRule(file: string, rule: Record<string, unknown>): CompiledRule {
  const qk = keyList(rule.query_key);
  const ak = keyList(rule.aggregation_key);
  const ck = Array.isArray(rule.compare_key)
    ? { joined: rule.compare_key.join(','), compound: rule.compare_key.map(String) }
    : typeof rule.compare_key === 'string' ? { joined: rule.compare_key, compound: [rule.compare_key] } : { joined: null, compound: null };
  const filters = Array.isArray(rule.filter) ? [...rule.filter] : rule.filter === undefined ? [] : [rule.filter];
  const type = rule.type as RuleTypeName;
  if ((type === 'blacklist' || type === 'whitelist') && ck.joined !== null) {
    const lf = listFilter(rule, ck.joined);
    if (lf !== null) filters.push(lf);
  }
  let filter: CompiledFilter;
  try {
    filter = compileFilter(filters);
  } catch (err) {
    if (err instanceof AlertingError) {
      const m = /^[^:]*: ([^:]*): (.*)$/s.exec(err.message);
      throw new AlertingError('FS_ALERTING_INVALID_RULE', [file, m?.[1] ?? 'filter', m?.[2] ?? err.message], { cause: err });
    }
    throw err;
  }
  if (type === 'percentage_match') {
    try {
      compileFilter(rule.match_bucket_filter, 'match_bucket_filter');
    } catch (err) {
      if (err instanceof AlertingError) throw new AlertingError('FS_ALERTING_INVALID_RULE', [file, 'match_bucket_filter', err.message], { cause: err });
      throw err;
    }
  }
  const timeframeMs = td(file, rule, 'timeframe');
  const aggregation = rule.aggregation;
  const tsType = (typeof rule.timestamp_type === 'string' ? rule.timestamp_type.trim().toLowerCase() : 'iso') as CompiledRule['timestampType'];
  const realert = td(file, rule, 'realert');
  const timestampField = typeof rule.timestamp_field === 'string' ? rule.timestamp_field : '@timestamp';
  const parts = (k: { joined: string | null; compound: readonly string[] | null }): string[] => (k.compound !== null ? [k.joined as string, ...k.compound] : k.joined !== null ? [k.joined] : []);
  const include = compileInclude(includeList(rule, timestampField, parts(qk), parts(ck), ak.compound ?? []));
  return Object.freeze({
    file,
    name: String(rule.name),
    type,
    options: Object.freeze({ ...rule }),
    filter,
    timestampField,
    timestampType: tsType,
    queryKey: qk.joined,
    compoundQueryKey: qk.compound,
    aggregationKey: ak.joined,
    compoundAggregationKey: ak.compound,
    compareKey: ck.joined,
    compoundCompareKey: ck.compound,
    timeframeMs,
    // loaders.py: realert defaults to 1 minute, or 0 with aggregation.
    realertMs: realert ?? ('aggregation' in rule ? 0 : 60_000),
    exponentialRealertMs: td(file, rule, 'exponential_realert'),
    aggregationMs: aggregation === undefined ? 0 : (timedeltaMs(aggregation) ?? 0),
    runEveryMs: td(file, rule, 'run_every'),
    include,
    topCounts: compileTopCounts(rule, timeframeMs),
  });
}
