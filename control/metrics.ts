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
