// The collector's own metrics, on its /metrics (prom-client). Drops are
// counted by reason, per tenant and site: never silent.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class CollectorMetrics {
  readonly registry = new Registry();
  readonly samplesReceived = new Counter({ name: 'fleetscope_collector_samples_received_total', help: 'Samples received from sites.', labelNames: ['tenant', 'site'], registers: [this.registry] });
  readonly samplesDropped = new Counter({ name: 'fleetscope_collector_samples_dropped_total', help: 'Samples dropped, by reason.', labelNames: ['tenant', 'site', 'reason'], registers: [this.registry] });
  readonly requests = new Counter({ name: 'fleetscope_collector_requests_total', help: 'Remote-write requests received, by HTTP status answered.', labelNames: ['code'], registers: [this.registry] });
  readonly activeSeries = new Gauge({ name: 'fleetscope_collector_active_series', help: 'Series admitted and seen within the idle timeout, per site.', labelNames: ['tenant', 'site'], registers: [this.registry] });
  readonly samplesSent = new Counter({ name: 'fleetscope_collector_samples_sent_total', help: 'Samples delivered to a remote-write target.', labelNames: ['remote'], registers: [this.registry] });
  readonly samplesFailed = new Counter({ name: 'fleetscope_collector_samples_failed_total', help: 'Samples a remote-write target refused for good (not retried), by reason.', labelNames: ['remote', 'reason'], registers: [this.registry] });
  readonly retries = new Counter({ name: 'fleetscope_collector_send_retries_total', help: 'Send attempts retried, by reason.', labelNames: ['remote', 'reason'], registers: [this.registry] });
  readonly sendDuration = new Histogram({ name: 'fleetscope_collector_send_duration_seconds', help: 'Duration of remote-write sends.', labelNames: ['remote'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });
  readonly shards = new Gauge({ name: 'fleetscope_collector_send_shards', help: 'Concurrent send shards per remote-write target.', labelNames: ['remote'], registers: [this.registry] });
  readonly queueBytes = new Gauge({ name: 'fleetscope_collector_queue_bytes', help: 'Bytes in the durable queue.', labelNames: ['remote'], registers: [this.registry] });
  readonly queuePending = new Gauge({ name: 'fleetscope_collector_queue_pending_records', help: 'Records in the durable queue not yet delivered.', labelNames: ['remote'], registers: [this.registry] });
  readonly queueAge = new Gauge({ name: 'fleetscope_collector_queue_oldest_age_seconds', help: 'How long the oldest undelivered record has waited in the durable queue (0 when it is empty).', labelNames: ['remote'], registers: [this.registry] });
  readonly pushWorkers = new Gauge({ name: 'fleetscope_collector_push_workers', help: 'Push pipeline worker threads running (0: the pipeline runs on the main thread).', registers: [this.registry] });
  readonly pushBodiesReused = new Counter({ name: 'fleetscope_collector_push_bodies_reused_total', help: 'Pushes whose series came in the same order as the site\'s last push: written on from that body with the new samples put in (push_output_cache_bytes).', registers: [this.registry] });
  readonly pushRepeats = new Counter({ name: 'fleetscope_collector_push_repeats_total', help: 'Pushes recognised in their compressed bytes as the site\'s last push with other samples (same length; the same bytes but the samples\', by a 64-bit digest): neither decompressed nor read series by series.', registers: [this.registry] });
  readonly pushWorkerRestarts = new Counter({ name: 'fleetscope_collector_push_worker_restarts_total', help: 'Push worker threads that exited and were started again.', registers: [this.registry] });
  readonly queueDropped = new Gauge({ name: 'fleetscope_collector_queue_dropped_records', help: 'Records dropped because the queue was full, since start.', labelNames: ['remote'], registers: [this.registry] });
  readonly scrapes = new Counter({ name: 'fleetscope_collector_scrapes_total', help: 'Scrapes, by job and result (ok, failed).', labelNames: ['job', 'result'], registers: [this.registry] });
  readonly scrapeTargets = new Gauge({ name: 'fleetscope_collector_scrape_targets', help: 'Targets being scraped, per job.', labelNames: ['job'], registers: [this.registry] });
  readonly scrapeSdErrors = new Counter({ name: 'fleetscope_collector_scrape_sd_errors_total', help: 'Targets files rejected, or target groups in them left out, per job.', labelNames: ['job'], registers: [this.registry] });
  readonly samplesAggregated = new Counter({ name: 'fleetscope_collector_samples_aggregated_total', help: 'Samples taken by pre-aggregation rules (not forwarded as they are unless a rule keeps its input).', labelNames: ['tenant', 'site'], registers: [this.registry] });
  readonly aggregateOutputs = new Counter({ name: 'fleetscope_collector_aggregation_output_samples_total', help: 'Aggregated samples written to the remote-write queues.', labelNames: ['tenant'], registers: [this.registry] });
  readonly aggregateDropped = new Counter({ name: 'fleetscope_collector_aggregation_dropped_samples_total', help: 'Samples pre-aggregation did not count, by reason (too_late, too_early, duplicate).', labelNames: ['tenant', 'reason'], registers: [this.registry] });
  readonly aggregateSources = new Gauge({ name: 'fleetscope_collector_aggregation_source_series', help: 'Source series whose state pre-aggregation keeps.', registers: [this.registry] });

  readonly reloads = new Counter({ name: 'fleetscope_collector_config_reloads_total', help: 'Config reloads, by result.', labelNames: ['result'], registers: [this.registry] });
  readonly lastReloadSuccessful = new Gauge({ name: 'fleetscope_collector_config_last_reload_successful', help: '1 if the last config reload succeeded (or none was tried), else 0.', registers: [this.registry] });

  constructor() {
    this.lastReloadSuccessful.set(1);
    collectDefaultMetrics({ register: this.registry, prefix: 'fleetscope_collector_' });
  }
}
