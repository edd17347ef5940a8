// Every query of every panel, with Grafana's variables filled in the way
// Grafana fills them for Prometheus, so a test can run them against a real
// Prometheus; and the metric names each query reads.
import { declaredMetric, type MetricName } from './metric-names.js';
import type { Dashboard, Panel, QueryVariable } from './model.js';

export interface PanelQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
  readonly instant: boolean;
}

export function panelQueries(d: Dashboard): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const p of d.panels) {
    if (p.type === 'row') continue;
    for (const t of (p as Panel).targets) out.push({ dashboard: d.title, panel: p.title, refId: t.refId, expr: t.expr, instant: t.instant });
  }
  return out;
}

export function queryVariables(d: Dashboard): QueryVariable[] {
  return d.templating.list.filter((v): v is QueryVariable => v.type === 'query');
}

/** Grafana's escaping of a multi-value variable inside a regex matcher (`=~`). */
function regexEscape(v: string): string {
  return v.replace(/[\\^$*+?.()|[\]{}]/g, '\\\\$&');
}

export interface Interval {
  /** `$__rate_interval`, `$__interval`, `$__range` as PromQL durations. */
  readonly rateInterval: string;
  readonly interval: string;
  readonly range: string;
}

/**
 * Fills `$name`, `${name}` and Grafana's built-ins. A variable's values are
 * joined as `(a|b)`, escaped; `null` means "All", which becomes its allValue.
 */
export function fillVariables(expr: string, values: ReadonlyMap<string, readonly string[] | null>, allValues: ReadonlyMap<string, string>, iv: Interval): string {
  const builtins: Record<string, string> = { __rate_interval: iv.rateInterval, __interval: iv.interval, __range: iv.range };
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare) as string;
    if (name in builtins) return builtins[name] as string;
    if (!values.has(name)) return whole;
    const v = values.get(name);
    if (v === null || v === undefined) return allValues.get(name) ?? '.*';
    return v.length === 1 ? regexEscape(v[0] as string) : `(${v.map(regexEscape).join('|')})`;
  });
}

const KEYWORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'histogram_quantile', 'time', 'vector', 'scalar', 'abs', 'clamp_min', 'clamp_max',
  'label_replace', 'label_join', 'absent', 'sort', 'sort_desc', 'inf', 'nan',
]);

/**
 * The metric names a query reads: identifiers outside `{…}` and `(…)` label
 * lists that are not PromQL keywords or functions, plus `__name__` matches.
 */
export function referencedMetrics(expr: string): string[] {
  const names = new Set<string>();
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const noMatchers = noStrings.replace(/\{[^}]*\}/g, '{}').replace(/\[[^\]]*\]/g, '[]');
  const noGrouping = noMatchers.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1()');
  for (const m of noGrouping.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const id = m[0];
    const next = noGrouping.slice((m.index ?? 0) + id.length).trimStart();
    if (KEYWORDS.has(id) || next.startsWith('(')) continue;
    if (/^\d/.test(id)) continue;
    names.add(id);
  }
  return [...names];
}

/** The declared metrics a query reads, and any name it reads that metric-names.ts does not declare. */
export function metricsOf(expr: string): { declared: MetricName[]; undeclared: string[] } {
  const declared: MetricName[] = [];
  const undeclared: string[] = [];
  for (const n of referencedMetrics(expr)) {
    const d = declaredMetric(n);
    if (d) declared.push(d);
    else undeclared.push(n);
  }
  return { declared, undeclared };
}
