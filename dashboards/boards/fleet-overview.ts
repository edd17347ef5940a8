// The fleet at a glance: how many sites are in which state, how much they
// send, who sends the most, and what is dropped and why.
import { type DashboardSpec } from '../builder.js';
import { METRICS as M } from '../metric-names.js';
import { fleetVariables, SITE_MATCH } from '../variables.js';

export const fleetOverview: DashboardSpec = {
  uid: 'fleetscope-fleet',
  title: 'fleetscope / Fleet overview',
  description: 'Sites by state, series and samples per site, top talkers, dropped samples by reason.',
  tags: ['fleet'],
  variables: fleetVariables,
  rows: [
    {
      title: 'Sites',
      panels: [
        { type: 'stat', title: 'Sites healthy', description: 'Sites of the region (every tenant) the control plane saw report healthy within three poll intervals.', queries: [{ expr: `sum(${M.controlSites.name}{re=~"$re", state="healthy"})` }], thresholds: [{ value: null, color: 'green' }] },
        { type: 'stat', title: 'Sites unhealthy', description: 'Sites of the region (every tenant) whose last report was failed or rolled-back.', queries: [{ expr: `sum(${M.controlSites.name}{re=~"$re", state="unhealthy"})` }], thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }] },
        { type: 'stat', title: 'Sites offline', description: 'Sites of the region (every tenant) not seen within three poll intervals (default 15 min).', queries: [{ expr: `sum(${M.controlSites.name}{re=~"$re", state="offline"})` }], thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'orange' }] },
        { type: 'stat', title: 'Sites pushing metrics', description: 'Sites with active series in a collector now (seen within the idle timeout).', queries: [{ expr: `count(sum by (tenant, site) (${M.activeSeries.name}{${SITE_MATCH}}) > 0)` }] },
        { type: 'timeseries', title: 'Sites by state', description: 'The control plane\'s count of sites in each state over time.', queries: [{ expr: `sum by (state) (${M.controlSites.name}{re=~"$re"})`, legend: '{{state}}' }], stacked: true, w: 24 },
      ],
    },
    {
      title: 'Series and samples',
      panels: [
        { type: 'timeseries', title: 'Active series per site', description: 'Series each site has in the collector (the per-site series limit applies to this).', queries: [{ expr: `sum by (tenant, site) (${M.activeSeries.name}{${SITE_MATCH}})`, legend: '{{tenant}}/{{site}}' }] },
        { type: 'timeseries', title: 'Samples received per site', description: 'Samples per second each site pushes to its collector, before the pipeline.', unit: 'cps', queries: [{ expr: `sum by (tenant, site) (rate(${M.samplesReceived.name}{${SITE_MATCH}}[$__rate_interval]))`, legend: '{{tenant}}/{{site}}' }] },
        { type: 'bargauge', title: 'Top talkers (samples/s)', description: 'The ten sites sending the most samples per second.', unit: 'cps', queries: [{ expr: `topk(10, sum by (tenant, site) (rate(${M.samplesReceived.name}{${SITE_MATCH}}[$__rate_interval])))`, legend: '{{tenant}}/{{site}}' }] },
        { type: 'bargauge', title: 'Top sites by active series', description: 'The ten sites with the most active series.', queries: [{ expr: `topk(10, sum by (tenant, site) (${M.activeSeries.name}{${SITE_MATCH}}))`, legend: '{{tenant}}/{{site}}' }] },
      ],
    },
    {
      title: 'Drops',
      panels: [
        { type: 'timeseries', title: 'Samples dropped by reason', description: 'Samples the pipeline dropped per second: allowlist, denylist, relabel rules, series limit.', unit: 'cps', stacked: true, queries: [{ expr: `sum by (reason) (rate(${M.samplesDropped.name}{${SITE_MATCH}}[$__rate_interval]))`, legend: '{{reason}}' }] },
        { type: 'table', title: 'Sites dropping the most', description: 'Samples dropped over the time range, by site and reason.', queries: [{ expr: `topk(20, sum by (tenant, site, reason) (increase(${M.samplesDropped.name}{${SITE_MATCH}}[$__range])))` }] },
      ],
    },
  ],
};
