// The control plane's own metrics on /metrics (prom-client), prefix fleetscope_control_.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ControlPlane } from './control.js';

export class ControlMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'fleetscope_control_requests_total', help: 'API requests answered, by route and HTTP status.', labelNames: ['route', 'code'], registers: [this.registry] });
  readonly polls = new Counter({ name: 'fleetscope_control_desired_polls_total', help: 'Desired-version polls, by result (changed, not_modified, none).', labelNames: ['result'], registers: [this.registry] });
  readonly reports = new Counter({ name: 'fleetscope_control_status_reports_total', help: 'Status reports received, by reported state.', labelNames: ['state'], registers: [this.registry] });
  readonly authFailures = new Counter({ name: 'fleetscope_control_auth_failures_total', help: 'Requests refused for authentication or authorisation, by reason.', labelNames: ['reason'], registers: [this.registry] });
  readonly eventStreams = new Gauge({ name: 'fleetscope_control_event_streams', help: 'Open server-sent-event streams.', registers: [this.registry] });
  readonly longPolls = new Gauge({ name: 'fleetscope_control_long_polls', help: 'Desired-version long-polls (?wait=) waiting for a change.', registers: [this.registry] });

  constructor(cp: ControlPlane) {
    collectDefaultMetrics({ register: this.registry, prefix: 'fleetscope_control_' });
    new Gauge({
      name: 'fleetscope_control_sites',
      help: 'Sites by state.',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const s = cp.fleetStatus();
        for (const [state, n] of Object.entries(s.by_state)) this.set({ state }, n);
      },
    });
    // Per site (for the dashboards; one series a site): its recorded version and state, and when it last reported.
    new Gauge({
      name: 'fleetscope_control_site_info',
      help: '1 per site: its tenant, re, the version it last reported healthy (none) and its state.',
      labelNames: ['tenant', 're', 'site', 'version', 'state'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of cp.listSites()) this.set({ tenant: s.tenant, re: s.re, site: s.site, version: s.version ?? 'none', state: s.state }, 1);
      },
    });
    new Gauge({
      name: 'fleetscope_control_site_last_seen_timestamp_seconds',
      help: 'When the site last reported its status (sites that never reported are left out).',
      labelNames: ['tenant', 're', 'site'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of cp.listSites()) if (s.last_seen !== null) this.set({ tenant: s.tenant, re: s.re, site: s.site }, Date.parse(s.last_seen) / 1000);
      },
    });
    new Gauge({
      name: 'fleetscope_control_rollout_sites',
      help: 'Sites of each rollout (running or finished), by their state in it.',
      labelNames: ['rollout', 'version', 'state'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const r of cp.listRollouts()) for (const [state, n] of Object.entries(r.counts)) this.set({ rollout: r.id, version: r.version, state }, n);
      },
    });
    new Gauge({
      name: 'fleetscope_control_registrations_pending',
      help: 'Registrations waiting for an operator.',
      registers: [this.registry],
      collect() {
        this.set(cp.listRegistrations('pending').length);
      },
    });
  }
}
