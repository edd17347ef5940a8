// Alerts: what fires, for which rule and which site. Prometheus rules write
// ALERTS (the Cortex ruler does the same); the log-rule engine exposes its
// own firing gauge, with the same labels.
import { type DashboardSpec } from '../builder.js';
import { METRICS as M } from '../metric-names.js';
import { fleetVariables, RE_MATCH, SITE_MATCH } from '../variables.js';

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
        { type: 'timeseries', title: 'Log alerts firing', description: 'Alerts the log-rule engine has firing (rules of resolvable types), per engine.', queries: [{ expr: `sum by (instance) (${M.alertsFiring.name}{${RE_MATCH}})`, legend: '{{instance}}' }] },
        { type: 'timeseries', title: 'Log rule matches', description: 'Log records matching each rule per second.', unit: 'cps', queries: [{ expr: `sum by (rule) (rate(${M.ruleMatches.name}{${RE_MATCH}}[$__rate_interval]))`, legend: '{{rule}}' }] },
        { type: 'timeseries', title: 'Alertmanager deliveries by outcome', description: 'Alerts posted to each Alertmanager per second, by outcome (ok, retryable, failed).', unit: 'cps', queries: [{ expr: `sum by (alertmanager, outcome) (rate(${M.alertsSent.name}{${RE_MATCH}}[$__rate_interval]))`, legend: '{{alertmanager}} {{outcome}}' }] },
        { type: 'timeseries', title: 'Records waiting for their interval', description: 'Records the engine accepted that wait for their rule interval to close, per engine.', queries: [{ expr: `sum by (instance) (${M.alertingPending.name}{${RE_MATCH}})`, legend: '{{instance}}' }] },
      ],
    },
  ],
};
