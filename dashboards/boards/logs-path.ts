// The log path: records in from sites, dropped by reason, indexed into
// Elasticsearch, bulk latency and retries; and the fleet page's own Faro
// telemetry, which arrives at the collector like any other source.
import { type DashboardSpec } from '../builder.js';
import { METRICS as M } from '../metric-names.js';
import { fleetVariables, RE_MATCH, SITE_MATCH } from '../variables.js';

export const logsPath: DashboardSpec = {
  uid: 'fleetscope-logs',
  title: 'fleetscope / Logs path',
  description: 'Log records received, dropped and indexed, Elasticsearch bulk latency, queue and retries; Faro payloads from the fleet page.',
  tags: ['logs'],
  variables: fleetVariables,
  rows: [
    {
      title: 'Records',
      panels: [
        { type: 'timeseries', title: 'Records received by input', description: 'Log records per second from sites, by input (forward, bulk, jsonlines).', unit: 'cps', queries: [{ expr: `sum by (input) (rate(${M.logsReceived.name}{${SITE_MATCH}}[$__rate_interval]))`, legend: '{{input}}' }] },
        { type: 'timeseries', title: 'Records dropped by reason', description: 'Log records dropped per second, by reason.', unit: 'cps', stacked: true, queries: [{ expr: `sum by (reason) (rate(${M.logsDropped.name}{${SITE_MATCH}}[$__rate_interval]))`, legend: '{{reason}}' }] },
        { type: 'bargauge', title: 'Top sites by log records', description: 'The ten sites sending the most log records per second.', unit: 'cps', queries: [{ expr: `topk(10, sum by (tenant, site) (rate(${M.logsReceived.name}{${SITE_MATCH}}[$__rate_interval])))`, legend: '{{tenant}}/{{site}}' }] },
        { type: 'timeseries', title: 'Records indexed', description: 'Documents Elasticsearch stored per second, per collector.', unit: 'cps', queries: [{ expr: `sum by (instance) (rate(${M.logsIndexed.name}{${RE_MATCH}}[$__rate_interval]))`, legend: '{{instance}}' }] },
      ],
    },
    {
      title: 'Elasticsearch egress',
      panels: [
        { type: 'timeseries', title: 'Bulk latency p99', description: '99th percentile duration of bulk requests to Elasticsearch.', unit: 's', queries: [{ expr: `histogram_quantile(0.99, sum by (le, instance) (rate(${M.logsBulkDuration.name}_bucket{${RE_MATCH}}[$__rate_interval])))`, legend: '{{instance}}' }], w: 8 },
        { type: 'timeseries', title: 'Log buffer bytes', description: 'Bytes in each collector\'s durable log buffer.', unit: 'bytes', queries: [{ expr: `sum by (instance) (${M.logsBufferBytes.name}{${RE_MATCH}})`, legend: '{{instance}}' }], w: 8 },
        { type: 'timeseries', title: 'Retries by reason', description: 'Documents (or whole bulk requests) retried per second, by reason.', unit: 'cps', queries: [{ expr: `sum by (reason) (rate(${M.logsRetries.name}{${RE_MATCH}}[$__rate_interval]))`, legend: '{{reason}}' }], w: 8 },
      ],
    },
    {
      title: 'Fleet page (Faro)',
      panels: [
        { type: 'timeseries', title: 'Faro payloads by status', description: 'Faro payloads the collector answered, by HTTP status.', unit: 'reqps', queries: [{ expr: `sum by (code) (rate(${M.faroRequests.name}{${RE_MATCH}}[$__rate_interval]))`, legend: '{{code}}' }], w: 6 },
        { type: 'timeseries', title: 'Faro payloads refused by reason', description: 'Payloads the receiver refused (invalid, too large, origin, backpressure).', unit: 'reqps', queries: [{ expr: `sum by (reason) (rate(${M.faroDropped.name}{${RE_MATCH}}[$__rate_interval]))`, legend: '{{reason}}' }], w: 6 },
        { type: 'timeseries', title: 'Faro items by kind', description: 'Logs, exceptions, measurements and events per second, per app.', unit: 'cps', queries: [{ expr: `sum by (app, kind) (rate(${M.faroItems.name}{${RE_MATCH}}[$__rate_interval]))`, legend: '{{app}} {{kind}}' }], w: 6 },
        { type: 'table', title: 'Page exceptions', description: 'Exceptions the page reported over the time range, by app and type.', queries: [{ expr: `sum by (app, type) (increase(${M.faroExceptions.name}{${RE_MATCH}}[$__range]))` }], w: 6 },
        { type: 'timeseries', title: 'Page timings p75', description: '75th percentile of each measurement the page reports (web vitals, API calls), in its own unit (ms for timings).', queries: [{ expr: `histogram_quantile(0.75, sum by (le, type, name) (rate(${M.faroMeasurement.name}_bucket{${RE_MATCH}}[$__rate_interval])))`, legend: '{{type}} {{name}}' }], w: 6 },
      ],
    },
  ],
};
