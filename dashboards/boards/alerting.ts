// Alerts: what fires, for which rule and which site. Prometheus rules write
// ALERTS (the Cortex ruler does the same); the log-rule engine exposes its
// own firing gauge, with the same labels.
import { type DashboardSpec } from '../builder.js';
import { METRICS as M } from '../metric-names.js';
import { fleetVariables, SITE_MATCH } from '../variables.js';

const FIRING = `${M.alerts.name}{alertstate="firing", ${SITE_MATCH}}`;

export const alerting: DashboardSpec = {
  uid: 'fleetscope-alerting',
  title: 'fleetscope / Alerting',
  description: 'Firing alerts by rule and site, from Prometheus rules (ALERTS) and the log-rule engine.',
  tags: ['alerting'],
  variables: fleetVariables,
  rows: [
    {
      title: 'Metric rules',
      panels: [
        { type: 'stat', title: 'Alerts firing', description: 'Alerts from metric rules firing now.', queries: [{ expr: `count(${FIRING})` }], thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }] },
        { type: 'stat', title: 'Sites with firing alerts', description: 'Distinct sites with at least one firing alert.', queries: [{ expr: `count(count by (tenant, site) (${FIRING}))` }], thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'orange' }] },
        { type: 'table', title: 'Firing alerts by rule and site', description: 'Every firing alert with its routing labels.', queries: [{ expr: `max by (alertname, severity, tenant, re, site) (${FIRING})` }], w: 12 },
        { type: 'timeseries', title: 'Firing alerts by rule', description: 'How many alerts each rule has firing over time.', queries: [{ expr: `count by (alertname) (${FIRING})`, legend: '{{alertname}}' }] },
        { type: 'bargauge', title: 'Sites with the most firing alerts', description: 'The ten sites with the most firing alerts.', queries: [{ expr: `topk(10, count by (tenant, site) (${FIRING}))`, legend: '{{tenant}}/{{site}}' }] },
      ],
    },
    {
      title: 'Log rules',
      panels: [
        { type: 'timeseries', title: 'Log alerts firing by rule', description: 'Alerts the log-rule engine has firing, by rule and severity.', queries: [{ expr: `sum by (alertname, severity) (${M.alertsFiring.name}{${SITE_MATCH}})`, legend: '{{alertname}} {{severity}}' }] },
        { type: 'timeseries', title: 'Log rule matches', description: 'Log records matching each rule per second.', unit: 'cps', queries: [{ expr: `sum by (rule) (rate(${M.ruleMatches.name}{tenant=~"$tenant"}[$__rate_interval]))`, legend: '{{rule}}' }] },
        { type: 'timeseries', title: 'Alertmanager deliveries by result', description: 'Alert posts to Alertmanager per second, by result.', unit: 'reqps', queries: [{ expr: `sum by (result) (rate(${M.alertsSent.name}[$__rate_interval]))`, legend: '{{result}}' }] },
        { type: 'timeseries', title: 'Rule evaluation p99', description: '99th percentile duration of one rule evaluation.', unit: 's', queries: [{ expr: `histogram_quantile(0.99, sum by (le) (rate(${M.ruleEvalDuration.name}_bucket[$__rate_interval])))`, legend: 'p99' }] },
      ],
    },
  ],
};
