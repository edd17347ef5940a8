// Upgrades: rollout progress by version and state, sites by version, and
// what the agents report applying.
import { type DashboardSpec } from '../builder.js';
import { METRICS as M } from '../metric-names.js';
import { fleetVariables, SITE_MATCH } from '../variables.js';

export const upgrades: DashboardSpec = {
  uid: 'fleetscope-upgrades',
  title: 'fleetscope / Upgrades',
  description: 'Rollout progress by version and state, sites per version, upgrade failures and rollbacks, pending registrations.',
  tags: ['upgrades'],
  variables: fleetVariables,
  rows: [
    {
      title: 'Rollouts',
      panels: [
        { type: 'bargauge', title: 'Rollout progress by version and state', description: 'Sites of each rollout in each state (pending, downloading, applying, healthy, failed, rolled-back, offline).', queries: [{ expr: `sum by (version, state) (${M.rolloutSites.name})`, legend: '{{version}} {{state}}' }], w: 12, h: 10 },
        { type: 'timeseries', title: 'Sites healthy on each rolled-out version', description: 'Progress of each rollout over time.', queries: [{ expr: `sum by (version) (${M.rolloutSites.name}{state="healthy"})`, legend: '{{version}}' }], w: 12, h: 10 },
        { type: 'stat', title: 'Sites failed or rolled back', description: 'Sites whose upgrade in a rollout failed or was rolled back.', queries: [{ expr: `sum(${M.rolloutSites.name}{state=~"failed|rolled-back"})` }], thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }] },
        { type: 'stat', title: 'Registrations pending approval', description: 'Sites that registered and wait for an operator.', queries: [{ expr: `sum(${M.registrationsPending.name})` }] },
      ],
    },
    {
      title: 'Versions',
      panels: [
        { type: 'timeseries', title: 'Sites by version (control plane)', description: 'Sites on each version, as the control plane records them.', stacked: true, queries: [{ expr: `count by (version) (${M.controlSiteInfo.name}{${SITE_MATCH}})`, legend: '{{version}}' }] },
        { type: 'timeseries', title: 'Sites by version (agents)', description: 'Sites whose agent last reported each version healthy, from the agents\' own series.', stacked: true, queries: [{ expr: `count by (version) (${M.agentUpgradeState.name}{${SITE_MATCH}, state="healthy"} == 1)`, legend: '{{version}}' }] },
        { type: 'timeseries', title: 'Upgrades by result', description: 'Upgrades applied by agents, by result.', queries: [{ expr: `sum by (result) (increase(${M.agentUpgrades.name}{${SITE_MATCH}}[$__rate_interval]))`, legend: '{{result}}' }], w: 24 },
      ],
    },
  ],
};
