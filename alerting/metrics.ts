// The alerting service's own metrics (prefix fleetscope_alerting_). Drops
// are counted by reason, never silent.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class AlertingMetrics {
  readonly registry = new Registry();
  readonly records = new Counter({ name: 'fleetscope_alerting_records_total', help: 'Log records received.', labelNames: ['source'], registers: [this.registry] });
  readonly recordsDropped = new Counter({ name: 'fleetscope_alerting_records_dropped_total', help: 'Records a rule could not take, by reason (late, no_timestamp, backlog).', labelNames: ['rule', 'reason'], registers: [this.registry] });
  readonly requestsRefused = new Counter({ name: 'fleetscope_alerting_requests_refused_total', help: 'POST /api/v1/records requests refused, by error code.', labelNames: ['code'], registers: [this.registry] });
  readonly matches = new Counter({ name: 'fleetscope_alerting_matches_total', help: 'Rule matches.', labelNames: ['rule'], registers: [this.registry] });
  readonly notifications = new Counter({ name: 'fleetscope_alerting_notifications_total', help: 'Alerts started (after realert and aggregation).', registers: [this.registry] });
  readonly silenced = new Counter({ name: 'fleetscope_alerting_matches_silenced_total', help: 'Matches silenced by realert.', registers: [this.registry] });
  readonly sends = new Counter({ name: 'fleetscope_alerting_alertmanager_sends_total', help: 'Alerts posted to an Alertmanager, by outcome (ok, retryable, failed).', labelNames: ['alertmanager', 'outcome'], registers: [this.registry] });
  readonly outboxDropped = new Counter({ name: 'fleetscope_alerting_outbox_dropped_total', help: 'Alerts dropped from the send queue, by reason (full, refused).', labelNames: ['alertmanager', 'reason'], registers: [this.registry] });
  readonly firing = new Gauge({ name: 'fleetscope_alerting_alerts_firing', help: 'Alerts currently firing (resolvable types).', registers: [this.registry] });
  readonly rulesLoaded = new Gauge({ name: 'fleetscope_alerting_rules_loaded', help: 'Rules loaded.', registers: [this.registry] });
  readonly pending = new Gauge({ name: 'fleetscope_alerting_pending_records', help: 'Records accepted and waiting for their interval to close.', registers: [this.registry] });
  readonly reloadOk = new Gauge({ name: 'fleetscope_alerting_rules_last_reload_successful', help: '1 if the last rules (re)load succeeded, else 0.', registers: [this.registry] });
  readonly walErrors = new Counter({ name: 'fleetscope_alerting_wal_errors_total', help: 'Record batches taken in process whose write-ahead log append failed.', registers: [this.registry] });
  readonly checkpoints = new Counter({ name: 'fleetscope_alerting_state_checkpoints_total', help: 'State checkpoints written, by result.', labelNames: ['result'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'fleetscope_alerting_' });
  }
}
