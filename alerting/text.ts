// alert_subject / alert_text with their args, as ElastAlert's Alerter
// create_title and BasicMatchString._add_custom_alert_text build them:
// Python str.format with positional ({0}, {}) or keyword ({name}) fields,
// a value looked up in the match (or else in the rule), and
// alert_missing_value ('<MISSING VALUE>') for what is absent.
import { lookupKey, pyStr, type Doc } from './fields.js';
import type { CompiledRule } from './rule.js';

/** Python str.format for the fields people use: {}, {0}, {name}, {0:spec} (spec ignored), {{ }}. */
export function pyFormat(template: string, args: readonly unknown[], kw: Readonly<Record<string, unknown>> = {}): string {
  let auto = 0;
  return template.replace(/\{\{|\}\}|\{([^{}:!]*)(?:![rsa])?(?::([^{}]*))?\}/g, (m, name: string | undefined, spec: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    let v: unknown;
    if (name === undefined || name === '') v = args[auto++];
    else if (/^\d+$/.test(name)) v = args[Number(name)];
    else v = kw[name];
    if (v === undefined) return m;
    if (spec && typeof v === 'number') {
      const f = /^\.?(\d+)f$/.exec(spec);
      if (f) return v.toFixed(Number(f[1]));
    }
    return pyStr(v);
  });
}

function values(rule: CompiledRule, match: Doc, argsKey: string): unknown[] {
  const missing = String(rule.options.alert_missing_value ?? '<MISSING VALUE>');
  const args = (rule.options[argsKey] as string[] | undefined) ?? [];
  return args.map((a) => {
    const v = lookupKey(match, a) ?? rule.options[a];
    return v === undefined || v === null ? missing : v;
  });
}

/** Alerter.create_title. */
export function alertSubject(rule: CompiledRule, match: Doc): string {
  if (typeof rule.options.alert_subject !== 'string') {
    let title = `ElastAlert: ${rule.name}`;
    if (rule.queryKey !== null) {
      const qk = lookupKey(match, rule.queryKey);
      if (qk !== undefined && qk !== null) title += ` - ${pyStr(qk)}`;
    }
    return title;
  }
  let s = rule.options.alert_subject;
  if ('alert_subject_args' in rule.options) s = pyFormat(s, values(rule, match, 'alert_subject_args'));
  const max = Number(rule.options.alert_subject_max_len ?? 2048);
  return s.length > max ? s.slice(0, max) : s;
}

/** BasicMatchString._add_custom_alert_text (without the match's field dump). */
export function alertText(rule: CompiledRule, match: Doc): string {
  const text = typeof rule.options.alert_text === 'string' ? rule.options.alert_text : '';
  if ('alert_text_args' in rule.options) return pyFormat(text, values(rule, match, 'alert_text_args'));
  if (typeof rule.options.alert_text_kw === 'object' && rule.options.alert_text_kw !== null) {
    const missing = String(rule.options.alert_missing_value ?? '<MISSING VALUE>');
    const kw: Record<string, unknown> = {};
    for (const [name, kwName] of Object.entries(rule.options.alert_text_kw as Record<string, string>)) {
      const v = lookupKey(match, name) ?? rule.options[name];
      kw[kwName] = v === undefined || v === null ? missing : v;
    }
    return pyFormat(text, [], kw);
  }
  return text;
}

/** util.pretty_ts in UTC: "2024-03-01 10:05 UTC". */
function prettyTs(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function tsOf(rule: CompiledRule, doc: Doc): number {
  const v = doc[rule.timestampField];
  return typeof v === 'number' ? v : Date.parse(String(v));
}

/** Each rule type's get_match_str (ruletypes.py), in UTC. */
export function matchString(rule: CompiledRule, doc: Doc): string {
  const o = rule.options;
  const ts = tsOf(rule, doc);
  const tf = rule.timeframeMs ?? 0;
  switch (rule.type) {
    case 'frequency':
      return `At least ${pyStr(o.num_events)} events occurred between ${prettyTs(ts - tf)} and ${prettyTs(ts)}`;
    case 'spike':
    case 'spike_aggregation':
      return `An abnormal number (${pyStr(doc.spike_count)}) of events occurred around ${prettyTs(ts)}.\nPreceding that time, there were only ${pyStr(doc.reference_count)} events within ${tf / 1000}s`;
    case 'flatline':
      return `An abnormally low number of events occurred around ${prettyTs(ts)}.\nBetween ${prettyTs(ts - tf)} and ${prettyTs(ts)}, there were less than ${pyStr(o.threshold)} events.`;
    case 'cardinality':
      return 'max_cardinality' in o
        ? `A maximum of ${pyStr(o.max_cardinality)} unique ${pyStr(o.cardinality_field)}(s) occurred since last alert or between ${prettyTs(ts - tf)} and ${prettyTs(ts)}`
        : `Less than ${pyStr(o.min_cardinality)} unique ${pyStr(o.cardinality_field)}(s) occurred since last alert or between ${prettyTs(ts - tf)} and ${prettyTs(ts)}`;
    case 'metric_aggregation':
      return `Threshold violation, ${pyStr(o.metric_agg_type)}:${pyStr(o.metric_agg_key)} ${pyStr(doc[`metric_${pyStr(o.metric_agg_key)}_${pyStr(o.metric_agg_type)}`])} (min: ${pyStr(o.min_threshold)} max : ${pyStr(o.max_threshold)})`;
    case 'percentage_match':
      return `Percentage violation, value: ${pyStr(doc.percentage)} (min: ${pyStr(o.min_percentage)} max : ${pyStr(o.max_percentage)}) of ${pyStr(doc.denominator)} items`;
    default:
      return '';
  }
}

const MAX_BODY_FIELDS = 30;
const MAX_VALUE_CHARS = 200;
/** Matches of an aggregated alert written out in its body; the rest are counted. */
const MAX_BODY_MATCHES = 10;
const MATCH_SEPARATOR = '\n----------------------------------------\n';

function ensureNewLine(text: string): string {
  while (!text.endsWith('\n\n')) text += '\n';
  return text;
}

/** BasicMatchString._add_top_counts: each `top_events_<key>` as `key:` and its `value: count` lines. */
function topCountsText(match: Doc): string {
  let text = '';
  for (const [key, counts] of Object.entries(match)) {
    if (!key.startsWith('top_events_')) continue;
    text += `${key.slice(11)}:\n`;
    const events = Object.entries((typeof counts === 'object' && counts !== null ? counts : {}) as Record<string, unknown>);
    if (events.length === 0) text += 'No events found.\n';
    else {
      events.sort((a, b) => Number(b[1]) - Number(a[1]));
      for (const [term, n] of events) text += `${term}: ${pyStr(n)}\n`;
    }
    text += '\n';
  }
  return text;
}

/** BasicMatchString._add_match_items: the match's fields by name (bounded: 30 fields, 200 characters a value). */
function matchItems(match: Doc): string {
  const keys = Object.keys(match).filter((k) => !k.startsWith('top_events_')).sort().slice(0, MAX_BODY_FIELDS);
  let text = '';
  for (const k of keys) {
    const v = match[k];
    const s = typeof v === 'object' && v !== null ? JSON.stringify(v) : pyStr(v);
    text += `${k}: ${s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS - 3)}...` : s}\n`;
  }
  return text;
}

/**
 * BasicMatchString.__str__, one match's text: the rule's name when it has no
 * alert_text (fleetscope: its `description` stands in for a missing
 * alert_text), the alert_text, then, unless `alert_text_type: alert_text_only`,
 * the type's sentence, the top counts and, unless `exclude_fields`, the fields.
 */
export function matchBody(rule: CompiledRule, match: Doc): string {
  const o = rule.options;
  let text = '';
  const custom = alertText(rule, match);
  if (!('alert_text' in o)) {
    if (typeof o.description === 'string' && o.description !== '') text += o.description;
    else text += `${rule.name}\n\n`;
  }
  text = ensureNewLine(text + custom);
  if (o.alert_text_type !== 'alert_text_only') {
    text = ensureNewLine(text + matchString(rule, match));
    if (Array.isArray(o.top_count_keys) && o.top_count_keys.length > 0) text += topCountsText(match);
    if (o.alert_text_type !== 'exclude_fields') text += matchItems(match);
  }
  return text.replace(/\n+$/, '');
}

/**
 * Alerter.create_alert_body: the aggregation summary (with aggregation and
 * summary_table_fields), then, unless `alert_text_type:
 * aggregation_summary_only`, each match's text, separated by dashes.
 */
export function alertBody(rule: CompiledRule, matches: readonly { doc: Doc }[], more: number): string {
  const o = rule.options;
  const n = matches.length + more;
  let text = '';
  const cols = Array.isArray(o.summary_table_fields) ? (o.summary_table_fields as string[]) : typeof o.summary_table_fields === 'string' ? [o.summary_table_fields] : [];
  if ('aggregation' in o && cols.length > 0) {
    // The summary table: a count for each combination of the fields (plain text instead of Texttable's box).
    const counts = new Map<string, number>();
    for (const m of matches) {
      const row = cols.map((c) => pyStr(lookupKey(m.doc, c) ?? null)).join(' | ');
      counts.set(row, (counts.get(row) ?? 0) + 1);
    }
    text += `${typeof o.summary_prefix === 'string' ? o.summary_prefix : ''}${n} matches aggregated\n${cols.join(' | ')} | count\n${[...counts].map(([r, c]) => `${r} | ${c}`).join('\n')}\n\n`;
  }
  if (o.alert_text_type !== 'aggregation_summary_only') {
    const shown = matches.slice(0, MAX_BODY_MATCHES);
    text += shown.map((m) => matchBody(rule, m.doc)).join(MATCH_SEPARATOR);
    if (n > shown.length) text += `${MATCH_SEPARATOR}(${n - shown.length} more matches)`;
  }
  return text.replace(/\n+$/, '');
}
