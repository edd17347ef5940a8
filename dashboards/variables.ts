// The template variables every fleetscope dashboard shares: the data source
// (Cortex or Prometheus), then tenant, RE and site, each narrowing the next.
// The values come from the collector's per-site active-series gauge, which
// exists for every site that pushed within the idle timeout.
import { DATASOURCE } from './builder.js';
import { METRICS } from './metric-names.js';
import type { DatasourceVariable, QueryVariable, Variable } from './model.js';

const SOURCE = METRICS.activeSeries.name;

export const datasourceVariable: DatasourceVariable = {
  type: 'datasource', name: 'datasource', label: 'Data source', query: 'prometheus', regex: '', refresh: 1, hide: 0, current: {}, options: [],
};

function labelValues(name: string, label: string, selector: string, multi: boolean): QueryVariable {
  const definition = `label_values(${SOURCE}${selector}, ${name})`;
  return {
    type: 'query', name, label, datasource: DATASOURCE, definition,
    query: { query: definition, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    refresh: 2, multi, includeAll: multi, ...(multi ? { allValue: '.+' } : {}), sort: 1, hide: 0, regex: '', current: {}, options: [],
  };
}

/** tenant, re, site: multi-valued with "All" as `.+` (fleet views). */
export const fleetVariables: readonly Variable[] = [
  datasourceVariable,
  labelValues('tenant', 'Tenant', '', true),
  labelValues('re', 'RE', '{tenant=~"$tenant"}', true),
  labelValues('site', 'Site', '{tenant=~"$tenant", re=~"$re"}', true),
];

/** The same, with one site picked (the drill-down). */
export const siteVariables: readonly Variable[] = [
  datasourceVariable,
  labelValues('tenant', 'Tenant', '', true),
  labelValues('re', 'RE', '{tenant=~"$tenant"}', true),
  labelValues('site', 'Site', '{tenant=~"$tenant", re=~"$re"}', false),
];

/** The label matchers every per-site query starts with. */
export const SITE_MATCH = 'tenant=~"$tenant", re=~"$re", site=~"$site"';
/** For per-RE series (a collector's own metrics carry `re` from its scrape job). */
export const RE_MATCH = 're=~"$re"';
