// Every metric name a dashboard queries, in one place, with the part of
// fleetscope (or the peer) that produces it. The collector's names are the
// ones in collector/metrics.ts; the logs, alerting, control and agent names
// are the ones in collector/logs/metrics.ts, alerting/metrics.ts,
// control/metrics.ts and agent/metrics.ts. Those no test produces yet are
// listed as pending in PENDING.md.

/** Who writes a metric: which part's /metrics, or which source of stored series. */
export type Producer =
  | 'collector' // collector/metrics.ts, scraped from the collector's /metrics
  | 'collector_faro' // collector/faro/, the Faro receiver's metrics
  | 'collector_logs' // the collector's log pipeline (built in parallel)
  | 'alerting' // the alerting engine (built in parallel)
  | 'control' // the control plane (built in parallel)
  | 'agent' // the site agent, pushed through the collector like any site series
  | 'site' // series a site's own exporters produce, stored through the collector
  | 'prometheus'; // series the Prometheus/Cortex ruler itself writes (ALERTS)

export interface MetricName {
  readonly name: string;
  readonly producer: Producer;
  readonly type: 'counter' | 'gauge' | 'histogram' | 'series';
}

const m = (name: string, producer: Producer, type: MetricName['type']): MetricName => ({ name, producer, type });

export const METRICS = {
  // collector (collector/metrics.ts)
  samplesReceived: m('fleetscope_collector_samples_received_total', 'collector', 'counter'),
  samplesDropped: m('fleetscope_collector_samples_dropped_total', 'collector', 'counter'),
  requests: m('fleetscope_collector_requests_total', 'collector', 'counter'),
  activeSeries: m('fleetscope_collector_active_series', 'collector', 'gauge'),
  samplesSent: m('fleetscope_collector_samples_sent_total', 'collector', 'counter'),
  samplesFailed: m('fleetscope_collector_samples_failed_total', 'collector', 'counter'),
  sendRetries: m('fleetscope_collector_send_retries_total', 'collector', 'counter'),
  sendDuration: m('fleetscope_collector_send_duration_seconds', 'collector', 'histogram'),
  queueBytes: m('fleetscope_collector_queue_bytes', 'collector', 'gauge'),
  queuePending: m('fleetscope_collector_queue_pending_records', 'collector', 'gauge'),
  queueDropped: m('fleetscope_collector_queue_dropped_records', 'collector', 'gauge'),
  sendShards: m('fleetscope_collector_send_shards', 'collector', 'gauge'),
  lastReloadOk: m('fleetscope_collector_config_last_reload_successful', 'collector', 'gauge'),
  residentMemory: m('fleetscope_collector_process_resident_memory_bytes', 'collector', 'gauge'),
  cpuSeconds: m('fleetscope_collector_process_cpu_seconds_total', 'collector', 'counter'),
  eventLoopLag: m('fleetscope_collector_nodejs_eventloop_lag_p99_seconds', 'collector', 'gauge'),

  // collector/faro/ (the fleet page's Faro payloads)
  faroRequests: m('fleetscope_collector_faro_requests_total', 'collector_faro', 'counter'),
  faroItems: m('fleetscope_collector_faro_items_total', 'collector_faro', 'counter'),
  faroExceptions: m('fleetscope_collector_faro_exceptions_total', 'collector_faro', 'counter'),
  faroDropped: m('fleetscope_collector_faro_payloads_dropped_total', 'collector_faro', 'counter'),
  faroMeasurement: m('fleetscope_collector_faro_measurement_value', 'collector_faro', 'histogram'),

  // the collector's log path (collector/logs/metrics.ts)
  logsReceived: m('fleetscope_collector_logs_received_total', 'collector_logs', 'counter'),
  logsDropped: m('fleetscope_collector_logs_dropped_total', 'collector_logs', 'counter'),
  logsIndexed: m('fleetscope_collector_logs_indexed_total', 'collector_logs', 'counter'),
  logsBulkDuration: m('fleetscope_collector_logs_bulk_duration_seconds', 'collector_logs', 'histogram'),
  logsBufferBytes: m('fleetscope_collector_logs_buffer_bytes', 'collector_logs', 'gauge'),
  logsRetries: m('fleetscope_collector_logs_retries_total', 'collector_logs', 'counter'),

  // the alerting engine (alerting/metrics.ts)
  alertsFiring: m('fleetscope_alerting_alerts_firing', 'alerting', 'gauge'),
  ruleMatches: m('fleetscope_alerting_matches_total', 'alerting', 'counter'),
  alertsSent: m('fleetscope_alerting_alertmanager_sends_total', 'alerting', 'counter'),
  alertingPending: m('fleetscope_alerting_pending_records', 'alerting', 'gauge'),

  // the control plane (control/metrics.ts)
  controlSites: m('fleetscope_control_sites', 'control', 'gauge'),
  controlSiteLastSeen: m('fleetscope_control_site_last_seen_timestamp_seconds', 'control', 'gauge'),
  controlSiteInfo: m('fleetscope_control_site_info', 'control', 'gauge'),
  rolloutSites: m('fleetscope_control_rollout_sites', 'control', 'gauge'),
  registrationsPending: m('fleetscope_control_registrations_pending', 'control', 'gauge'),

  // the site agent (agent/metrics.ts), shipped by its self_metrics scrape with the site's series (tenant/re/site)
  agentUpgradeState: m('fleetscope_agent_upgrade_state', 'agent', 'gauge'),
  agentUpgrades: m('fleetscope_agent_upgrades_total', 'agent', 'counter'),

  // the site's own exporters (the simulator produces the same families)
  nodeLoad1: m('node_load1', 'site', 'series'),
  nodeMemAvailable: m('node_memory_MemAvailable_bytes', 'site', 'series'),
  podRestarts: m('kube_pod_container_status_restarts_total', 'site', 'series'),
  apiserverDuration: m('apiserver_request_duration_seconds', 'site', 'histogram'),

  // written by the Prometheus/Cortex ruler for every alerting rule
  alerts: m('ALERTS', 'prometheus', 'series'),
} as const satisfies Record<string, MetricName>;

const byName = new Map<string, MetricName>(Object.values(METRICS).map((v) => [v.name, v]));
const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;

/** The declared metric a stored series name belongs to (`x_bucket` → histogram `x`). */
export function declaredMetric(seriesName: string): MetricName | undefined {
  const direct = byName.get(seriesName);
  if (direct) return direct;
  const base = byName.get(seriesName.replace(HISTOGRAM_SUFFIX, ''));
  return base?.type === 'histogram' ? base : undefined;
}
