// dashboards/: Grafana dashboards as code, and the means to check every query.
export { buildDashboards, type BuiltDashboard, DASHBOARD_SPECS, PROVISIONING_FILE, provisioningYaml, writeDashboards, type WriteOptions } from './build.js';
export { dashboard, type DashboardSpec, type PanelSpec, type QuerySpec, type RowSpec } from './builder.js';
export { declaredMetric, type MetricName, METRICS, type Producer } from './metric-names.js';
export { type Dashboard, type Panel, type QueryVariable, SCHEMA_VERSION, type Variable } from './model.js';
export { fillVariables, type Interval, metricsOf, panelQueries, type PanelQuery, queryVariables, referencedMetrics } from './queries.js';
