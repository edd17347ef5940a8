// One site, drilled down: what it sends and what is kept, its agent and
// version, and its own health from the series it stores.
import { type DashboardSpec } from '../builder.js';
import { METRICS as M } from '../metric-names.js';
import { siteVariables, SITE_MATCH } from '../variables.js';

export const siteDrillDown: DashboardSpec = {
  uid: 'fleetscope-site',
  title: 'fleetscope / Site',
  description: 'One site: ingest and drops, agent version and upgrades, node and cluster health from its stored series.',
  tags: ['site'],
  variables: siteVariables,
  rows: [
    {
      title: 'Ingest',
      panels: [
        { type: 'stat', title: 'Active series', description: 'Series of this site active in the collector.', queries: [{ expr: `sum(${M.activeSeries.name}{${SITE_MATCH}})` }] },
        { type: 'stat', title: 'Samples received', description: 'Samples per second the site pushes.', unit: 'cps', queries: [{ expr: `sum(rate(${M.samplesReceived.name}{${SITE_MATCH}}[$__rate_interval]))` }] },
        { type: 'stat', title: 'Stored series', description: 'Series of this site in storage now (the collector\'s own metrics left out).', queries: [{ expr: `count({${SITE_MATCH}, __name__!~"fleetscope_collector_.*"})` }] },
        { type: 'stat', title: 'Share dropped', description: 'Share of received samples the pipeline dropped.', unit: 'percentunit', queries: [{ expr: `sum(rate(${M.samplesDropped.name}{${SITE_MATCH}}[$__rate_interval])) / sum(rate(${M.samplesReceived.name}{${SITE_MATCH}}[$__rate_interval]))` }] },
        { type: 'timeseries', title: 'Samples received and kept', description: 'Received, and received minus dropped.', unit: 'cps', queries: [
          { expr: `sum(rate(${M.samplesReceived.name}{${SITE_MATCH}}[$__rate_interval]))`, legend: 'received' },
          { expr: `sum(rate(${M.samplesReceived.name}{${SITE_MATCH}}[$__rate_interval])) - sum(rate(${M.samplesDropped.name}{${SITE_MATCH}}[$__rate_interval]))`, legend: 'kept' },
        ] },
        { type: 'timeseries', title: 'Drops by reason', description: 'Samples dropped per second, by reason.', unit: 'cps', stacked: true, queries: [{ expr: `sum by (reason) (rate(${M.samplesDropped.name}{${SITE_MATCH}}[$__rate_interval]))`, legend: '{{reason}}' }] },
      ],
    },
    {
      title: 'Agent and version',
      panels: [
        { type: 'table', title: 'Agent upgrade step', description: 'The last upgrade step the site\'s agent reported: version and state.', queries: [{ expr: `max by (site, version, state) (${M.agentUpgradeState.name}{${SITE_MATCH}}) == 1` }] },
        { type: 'stat', title: 'Last seen by the control plane', description: 'Seconds since the site\'s last status report.', unit: 's', queries: [{ expr: `time() - max(${M.controlSiteLastSeen.name}{${SITE_MATCH}})` }], thresholds: [{ value: null, color: 'green' }, { value: 900, color: 'red' }] },
        { type: 'timeseries', title: 'Upgrades by result', description: 'Upgrades the agent applied, by result (healthy, failed, rolled-back).', queries: [{ expr: `sum by (result) (increase(${M.agentUpgrades.name}{${SITE_MATCH}}[$__rate_interval]))`, legend: '{{result}}' }], w: 6 },
      ],
    },
    {
      title: 'Site health (its own series)',
      panels: [
        { type: 'timeseries', title: 'Node load (1 min)', description: 'node_load1 per node.', queries: [{ expr: `max by (node) (${M.nodeLoad1.name}{${SITE_MATCH}})`, legend: '{{node}}' }] },
        { type: 'timeseries', title: 'Memory available', description: 'MemAvailable per node.', unit: 'bytes', queries: [{ expr: `sum by (node) (${M.nodeMemAvailable.name}{${SITE_MATCH}})`, legend: '{{node}}' }] },
        { type: 'timeseries', title: 'Container restarts', description: 'Container restarts per namespace.', queries: [{ expr: `sum by (namespace) (increase(${M.podRestarts.name}{${SITE_MATCH}}[$__rate_interval]))`, legend: '{{namespace}}' }] },
        { type: 'timeseries', title: 'API server latency p99', description: 'The site\'s Kubernetes API server, 99th percentile request duration.', unit: 's', queries: [{ expr: `histogram_quantile(0.99, sum by (le) (rate(${M.apiserverDuration.name}_bucket{${SITE_MATCH}}[$__rate_interval])))`, legend: 'p99' }] },
      ],
    },
  ],
};
