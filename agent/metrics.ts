// The agent's own health (prom-client), on its /metrics and shipped with
// the scraped series as job "fleetscope-agent". Drops are counted by reason.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface BufferView {
  readonly stats: { readonly bytes: number; readonly records: number; readonly droppedRecords: number; readonly droppedBytes: number; readonly corruptRecords: number };
  readonly oldestTimestampMs: number | undefined;
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly scrapes = new Counter({ name: 'fleetscope_agent_scrapes_total', help: 'Scrapes, by job and result (ok, failed).', labelNames: ['job', 'result'], registers: [this.registry] });
  readonly samplesScraped = new Counter({ name: 'fleetscope_agent_samples_scraped_total', help: 'Samples written to the buffer from scrapes (staleness markers and report series included).', labelNames: ['job'], registers: [this.registry] });
  readonly seriesDropped = new Counter({ name: 'fleetscope_agent_series_dropped_total', help: 'Scraped series not shipped, by reason (not_in_allowlist, in_denylist, relabel_rule, relabel_empty_name, duplicate_series, sample_limit).', labelNames: ['job', 'reason'], registers: [this.registry] });
  readonly recordsSent = new Counter({ name: 'fleetscope_agent_records_sent_total', help: 'Buffered remote-write requests the collector acknowledged.', registers: [this.registry] });
  readonly bytesSent = new Counter({ name: 'fleetscope_agent_bytes_sent_total', help: 'Compressed remote-write bytes acknowledged.', registers: [this.registry] });
  readonly recordsFailed = new Counter({ name: 'fleetscope_agent_records_failed_total', help: 'Remote-write requests refused for good (4xx other than 401/403/429) and dropped, by reason.', labelNames: ['reason'], registers: [this.registry] });
  readonly retries = new Counter({ name: 'fleetscope_agent_send_retries_total', help: 'Remote-write attempts retried, by reason (network, http_5xx, rate_limited, http_401, no_identity).', labelNames: ['reason'], registers: [this.registry] });
  readonly lastSend = new Gauge({ name: 'fleetscope_agent_last_successful_send_timestamp_seconds', help: 'When the collector last acknowledged a request (0: never since start).', registers: [this.registry] });
  readonly bufferAppendErrors = new Counter({ name: 'fleetscope_agent_buffer_append_errors_total', help: 'Scrape results that could not be written to the buffer (disk errors, record too large).', registers: [this.registry] });
  readonly registered = new Gauge({ name: 'fleetscope_agent_registered', help: '1 once the agent has a site identity (registered, or static token), else 0.', registers: [this.registry] });
  readonly upgradeState = new Gauge({ name: 'fleetscope_agent_upgrade_state', help: '1 for the last upgrade step reported: version and state (downloading, pre-pulling, applying, healthy, failed, rolled-back).', labelNames: ['version', 'state'], registers: [this.registry] });
  readonly upgradeTransition = new Gauge({ name: 'fleetscope_agent_upgrade_last_transition_timestamp_seconds', help: 'When the last upgrade step was reached.', registers: [this.registry] });
  readonly upgradeAttempts = new Counter({ name: 'fleetscope_agent_upgrades_total', help: 'Upgrades finished, by result (healthy, failed, rolled-back).', labelNames: ['result'], registers: [this.registry] });

  readonly sdTargets = new Gauge({ name: 'fleetscope_agent_sd_targets', help: 'Targets discovered (Kubernetes service discovery) and scraped, by job.', labelNames: ['job'], registers: [this.registry] });
  readonly sdEvents = new Counter({ name: 'fleetscope_agent_sd_kubernetes_events_total', help: 'Kubernetes list/watch outcomes, by resource and event (list, relist_gone, list_error, watch_error, event_added, event_modified, event_deleted, event_bookmark).', labelNames: ['resource', 'event'], registers: [this.registry] });
  readonly sdInvalid = new Counter({ name: 'fleetscope_agent_sd_targets_invalid_total', help: 'Discovered targets refused after relabeling (bad address, scheme or interval), by job, per rebuild.', labelNames: ['job'], registers: [this.registry] });

  readonly rebootLockHeld = new Gauge({ name: 'fleetscope_agent_reboot_lock_held', help: '1 while this node holds the site reboot lock (a host-level upgrade step is running).', registers: [this.registry] });
  readonly rebootLockAcquisitions = new Counter({ name: 'fleetscope_agent_reboot_lock_acquisitions_total', help: 'Attempts to take the reboot lock, by result (acquired, timeout, error).', labelNames: ['result'], registers: [this.registry] });

  constructor(buffer: () => BufferView | undefined) {
    const reg = [this.registry];
    new Gauge({ name: 'fleetscope_agent_buffer_bytes', help: 'Bytes of the disk buffer.', registers: reg, collect() { this.set(buffer()?.stats.bytes ?? 0); } });
    new Gauge({ name: 'fleetscope_agent_buffer_records', help: 'Remote-write requests buffered and not yet acknowledged.', registers: reg, collect() { this.set(buffer()?.stats.records ?? 0); } });
    new Gauge({
      name: 'fleetscope_agent_buffer_oldest_age_seconds',
      help: 'Age of the oldest unacknowledged buffered record (0 when empty).',
      registers: reg,
      collect() {
        const t = buffer()?.oldestTimestampMs;
        this.set(t === undefined ? 0 : Math.max(0, (Date.now() - t) / 1000));
      },
    });
    new Gauge({ name: 'fleetscope_agent_buffer_dropped_records', help: 'Records dropped because the buffer was full, since start (oldest first).', registers: reg, collect() { this.set(buffer()?.stats.droppedRecords ?? 0); } });
    new Gauge({ name: 'fleetscope_agent_buffer_dropped_bytes', help: 'Bytes dropped because the buffer was full, since start.', registers: reg, collect() { this.set(buffer()?.stats.droppedBytes ?? 0); } });
    new Gauge({ name: 'fleetscope_agent_buffer_corrupt_records', help: 'Torn or corrupt records found (and truncated) at start.', registers: reg, collect() { this.set(buffer()?.stats.corruptRecords ?? 0); } });
    this.lastSend.set(0);
    this.rebootLockHeld.set(0);
    this.registered.set(0);
    // A coarse event-loop monitor: the default 10 ms resolution wakes the process 100 times a second.
    collectDefaultMetrics({ register: this.registry, prefix: 'fleetscope_agent_', eventLoopMonitoringPrecision: 500 });
  }

  /** Records an upgrade step: only the latest (version, state) pair is 1. */
  setUpgradeState(version: string, state: string, atMs: number): void {
    this.upgradeState.reset();
    this.upgradeState.set({ version, state }, 1);
    this.upgradeTransition.set(atMs / 1000);
  }
}
