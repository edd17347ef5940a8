// Loads a folder of ElastAlert rule files as ElastAlert's FileRulesLoader
// does (elastalert/loaders.py): every *.yaml/*.yml file is a rule, `import:`
// pulls in a fragment (relative to the importing file; the importer's keys
// win; both `filter` lists are joined, the imported one first), then the
// schema, the option checks of load_options, the rule type's required
// options and its constructor's checks. Every problem is reported with the
// file, the option path and the reason; unknown options are warnings (the
// schema lets them through, as ElastAlert does).
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join } from 'node:path';
import yaml from 'js-yaml';
import { AlertingError } from './errors.js';
import { validateRuleSchema, schemaOptionNames } from './schema.js';
import { elastalertSchema } from './elastalert-schema.js';
import { compileRule, type CompiledRule } from './rule.js';

export interface RuleIssue {
  readonly file: string;
  readonly path: string;
  readonly reason: string;
  readonly severity: 'error' | 'warning';
}

export interface LoadResult {
  readonly rules: readonly CompiledRule[];
  readonly issues: readonly RuleIssue[];
  /** True when there is no error (warnings allowed). */
  readonly ok: boolean;
}

/** Options each rule type's class requires (ruletypes.py required_options). */
export const REQUIRED_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  any: [],
  blacklist: ['compare_key', 'blacklist'],
  whitelist: ['compare_key', 'whitelist', 'ignore_null'],
  change: ['query_key', 'compare_key', 'ignore_null'],
  frequency: ['num_events', 'timeframe'],
  spike: ['timeframe', 'spike_height', 'spike_type'],
  flatline: ['timeframe', 'threshold'],
  new_term: [],
  cardinality: ['timeframe', 'cardinality_field'],
  metric_aggregation: ['metric_agg_key', 'metric_agg_type'],
  spike_aggregation: ['metric_agg_key', 'metric_agg_type', 'spike_height', 'spike_type'],
  percentage_match: ['match_bucket_filter'],
};

/** Options ElastAlert (and ElastAlert 2's Alertmanager alerter) read that its schema does not list. */
const EXTRA_OPTIONS = [
  'alert', 'type', 'is_enabled', 'description', 'category', 'run_every', 'aggregation_key', 'summary_table_fields',
  'alert_subject', 'alert_subject_args', 'alert_text_args', 'alert_text_kw', 'forget_keys', 'max_threshold', 'min_threshold',
  'min_percentage', 'max_percentage', 'min_denominator', 'percentage_format_string', 'bucket_interval', 'field_value',
  'timestamp_type', 'timestamp_format', 'timestamp_format_expr', 'terms_window_size', 'window_step_size', 'use_keyword_postfix',
  'start_date', 'metric_agg_key', 'metric_agg_script', 'match_bucket_filter', 'query_key', 'compare_key', 'filter_by_list',
  'include_match_in_root', 'run_enhancements_first', 'aggregate_by_match_time', 'aggregation_alert_time_compared_with_timestamp_field',
  'summary_prefix', 'summary_suffix', 'use_run_every_query_size', 'max_cardinality', 'min_cardinality', 'alertmanager_hosts',
  'alertmanager_alertname', 'alertmanager_labels', 'alertmanager_annotations', 'alertmanager_fields', 'alertmanager_alert_subject_labelname',
  'alertmanager_alert_text_labelname', 'alertmanager_api_version', 'severity', 'top_count_number', 'five', 'query_key_value',
];

const KNOWN_OPTIONS: ReadonlySet<string> = (() => {
  const s = new Set<string>([...schemaOptionNames, ...EXTRA_OPTIONS]);
  for (const b of elastalertSchema.oneOf as { properties?: Record<string, unknown> }[]) for (const k of Object.keys(b.properties ?? {})) s.add(k);
  return s;
})();

const MAX_RULE_FILE_BYTES = 1 << 20;
const MAX_IMPORT_DEPTH = 32;
const MAX_RULES = 100_000;

async function readYaml(file: string): Promise<Record<string, unknown>> {
  const st = await stat(file);
  if (st.size > MAX_RULE_FILE_BYTES) throw new AlertingError('FS_ALERTING_INVALID_RULE', [file, '', `file is larger than ${MAX_RULE_FILE_BYTES} bytes`]);
  let doc: unknown;
  try {
    doc = yaml.load(await readFile(file, 'utf8'), { filename: file });
  } catch (err) {
    throw new AlertingError('FS_ALERTING_INVALID_RULE', [file, '', `cannot parse YAML: ${(err as Error).message.split('\n')[0]}`], { cause: err });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new AlertingError('FS_ALERTING_INVALID_RULE', [file, '', 'a rule file must be a YAML mapping']);
  return doc as Record<string, unknown>;
}

/** The rule document with its imports merged in (loaders.py load_yaml). */
export async function loadRuleYaml(file: string): Promise<Record<string, unknown>> {
  let rule: Record<string, unknown> = {};
  let current = file;
  const seen = new Set<string>();
  for (let depth = 0; ; depth++) {
    if (seen.has(current) || depth > MAX_IMPORT_DEPTH) {
      throw new AlertingError('FS_ALERTING_INVALID_RULE', [file, 'import', `import cycle or chain deeper than ${MAX_IMPORT_DEPTH} at ${current}`]);
    }
    seen.add(current);
    let loaded: Record<string, unknown>;
    try {
      loaded = await readYaml(current);
    } catch (err) {
      if (err instanceof AlertingError) throw err;
      throw new AlertingError('FS_ALERTING_INVALID_RULE', [file, current === file ? '' : 'import', `cannot read ${current}: ${(err as Error).message}`], { cause: err });
    }
    if ('filter' in rule && 'filter' in loaded) {
      const a = loaded.filter;
      const b = rule.filter;
      if (!Array.isArray(a) || !Array.isArray(b)) throw new AlertingError('FS_ALERTING_INVALID_RULE', [file, 'filter', 'filters of a rule and its import can only be joined when both are lists']);
      rule.filter = [...a, ...b];
    }
    rule = { ...loaded, ...rule };
    if (!('import' in rule)) break;
    const imp = rule.import;
    if (typeof imp !== 'string') throw new AlertingError('FS_ALERTING_INVALID_RULE', [file, 'import', `${JSON.stringify(imp)} is not of type 'string'`]);
    delete rule.import;
    // loaders.py: relative to the rule_file, which stays the first file's.
    current = isAbsolute(imp) ? imp : join(dirname(file), imp);
  }
  return rule;
}

function issue(file: string, path: string, reason: string, severity: 'error' | 'warning' = 'error'): RuleIssue {
  return { file, path, reason, severity };
}

/** The checks of loaders.py load_options/load_modules and the rule types' constructors. */
export function checkRule(file: string, rule: Record<string, unknown>): RuleIssue[] {
  const out: RuleIssue[] = [];
  for (const i of validateRuleSchema(rule)) out.push(issue(file, i.path, i.reason));
  if (out.length > 0) return out;
  for (const k of Object.keys(rule)) if (!KNOWN_OPTIONS.has(k)) out.push(issue(file, k, 'unknown option (ElastAlert ignores it; so does fleetscope)', 'warning'));
  for (const req of ['alert', 'type', 'index']) if (!(req in rule)) out.push(issue(file, req, `missing required option ${req}`));
  const type = rule.type as string;
  if (typeof type === 'string' && type.includes('.')) {
    out.push(issue(file, 'type', `custom rule type module ${type} cannot be loaded (fleetscope runs the twelve built-in types)`));
    return out;
  }
  const reqs = REQUIRED_OPTIONS[type];
  if (reqs === undefined) {
    out.push(issue(file, 'type', `${JSON.stringify(type)} is not a known rule type`));
    return out;
  }
  for (const r of reqs) if (!(r in rule)) out.push(issue(file, r, `missing required option ${r} for type ${type}`));
  if ('include' in rule && !Array.isArray(rule.include)) out.push(issue(file, 'include', 'include option must be a list'));
  if ((rule.use_count_query || rule.use_terms_query) && !('doc_type' in rule)) out.push(issue(file, 'doc_type', 'doc_type must be specified with use_count_query or use_terms_query'));
  if (rule.use_terms_query && !('query_key' in rule)) out.push(issue(file, 'query_key', 'query_key must be specified with use_terms_query'));
  if (rule.scan_entire_timeframe && !rule.timeframe) out.push(issue(file, 'scan_entire_timeframe', 'scan_entire_timeframe can only be used if there is a timeframe specified'));
  const tsType = typeof rule.timestamp_type === 'string' ? rule.timestamp_type.trim().toLowerCase() : 'iso';
  if (!['iso', 'unix', 'unix_ms', 'custom'].includes(tsType)) out.push(issue(file, 'timestamp_type', 'timestamp_type must be one of iso, unix, or unix_ms'));
  if (tsType === 'custom') out.push(issue(file, 'timestamp_type', 'timestamp_type custom (strptime formats) is not supported by fleetscope'));
  switch (type) {
    case 'cardinality':
      if (!('max_cardinality' in rule) && !('min_cardinality' in rule)) out.push(issue(file, 'max_cardinality', 'CardinalityRule must have one of either max_cardinality or min_cardinality'));
      break;
    case 'metric_aggregation':
      if (!('max_threshold' in rule) && !('min_threshold' in rule)) out.push(issue(file, 'max_threshold', 'MetricAggregationRule must have at least one of either max_threshold or min_threshold'));
      break;
    case 'spike_aggregation':
      if (rule.bucket_interval) out.push(issue(file, 'bucket_interval', 'bucket intervals are not supported for spike aggregation alerts'));
      break;
    case 'percentage_match':
      if (!('max_percentage' in rule) && !('min_percentage' in rule)) out.push(issue(file, 'max_percentage', 'PercentageMatchRule must have at least one of either min_percentage or max_percentage'));
      break;
    case 'new_term': {
      const fields = 'fields' in rule ? rule.fields : rule.query_key;
      if (fields === undefined) out.push(issue(file, 'fields', 'fields or query_key must be specified'));
      else if (Array.isArray(fields) && fields.length === 0) out.push(issue(file, 'fields', 'fields must not be an empty list'));
      break;
    }
    case 'blacklist':
    case 'whitelist': {
      const list = rule[type] as string[];
      list.forEach((e, i) => {
        if (e.startsWith('!file')) out.push(issue(file, `${type}[${i}]`, '"!file" list entries are not supported by fleetscope (put the entries in the rule)'));
      });
      break;
    }
  }
  if (typeof rule.aggregation === 'object' && rule.aggregation !== null && 'schedule' in rule.aggregation) {
    out.push(issue(file, 'aggregation.schedule', 'cron-scheduled aggregation is not supported by fleetscope; use a window ({minutes: N})'));
  }
  return out;
}

function isRuleFile(name: string): boolean {
  return name.endsWith('.yaml') || name.endsWith('.yml');
}

async function ruleFiles(dir: string, recursive: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) out.push(...(await ruleFiles(p, recursive)));
    } else if (e.isFile() && isRuleFile(e.name)) out.push(p);
  }
  return out;
}

/** Loads one rule file into a compiled rule, or the issues that stop it. */
export async function loadRuleFile(file: string): Promise<{ rule: CompiledRule | null; issues: RuleIssue[] }> {
  let doc: Record<string, unknown>;
  try {
    doc = await loadRuleYaml(file);
  } catch (err) {
    if (err instanceof AlertingError) {
      const [, path, reason] = /^[^:]*: ([^:]*): (.*)$/s.exec(err.message) ?? [];
      return { rule: null, issues: [issue(file, path ?? '', reason ?? err.message)] };
    }
    throw err;
  }
  const issues = checkRule(file, doc);
  if (issues.some((i) => i.severity === 'error')) return { rule: null, issues };
  if ('is_enabled' in doc && !doc.is_enabled) return { rule: null, issues };
  if (!('name' in doc)) doc.name = file.slice(0, file.length - extname(file).length);
  try {
    return { rule: compileRule(file, doc), issues };
  } catch (err) {
    if (err instanceof AlertingError) {
      const m = /^[^:]*: ([^:]*): (.*)$/s.exec(err.message);
      issues.push(issue(file, m?.[1] ?? '', m?.[2] ?? err.message));
      return { rule: null, issues };
    }
    throw err;
  }
}

/**
 * Loads every rule of a folder. With any error the result is not ok, and a
 * caller running rules keeps its previous set (a folder is taken whole).
 */
export async function loadRulesFolder(dir: string, opts: { recursive?: boolean } = {}): Promise<LoadResult> {
  const issues: RuleIssue[] = [];
  const rules: CompiledRule[] = [];
  let files: string[];
  try {
    files = (await stat(dir)).isFile() ? [dir] : await ruleFiles(dir, opts.recursive ?? false);
  } catch (err) {
    return { rules: [], issues: [issue(dir, '', `cannot read rules folder: ${(err as Error).message}`)], ok: false };
  }
  if (files.length > MAX_RULES) return { rules: [], issues: [issue(dir, '', `more than ${MAX_RULES} rule files`)], ok: false };
  const names = new Map<string, string>();
  for (const f of files) {
    const r = await loadRuleFile(f);
    issues.push(...r.issues);
    if (r.rule === null) continue;
    const other = names.get(r.rule.name);
    if (other !== undefined) {
      issues.push(issue(f, 'name', `duplicate rule named ${r.rule.name} (also in ${basename(other)})`));
      continue;
    }
    names.set(r.rule.name, f);
    rules.push(r.rule);
  }
  return { rules, issues, ok: !issues.some((i) => i.severity === 'error') };
}

export function formatIssue(i: RuleIssue): string {
  return `${i.file}: ${i.path === '' ? '(rule)' : i.path}: ${i.severity === 'warning' ? 'warning: ' : ''}${i.reason}`;
}
