// The log path's metrics, registered on the collector's own registry (so
// they are on its /metrics). Drops and failures are counted by reason.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class LogsMetrics {
  readonly received: Counter<'tenant' | 'site' | 'input'>;
  readonly dropped: Counter<'tenant' | 'site' | 'reason'>;
  readonly requests: Counter<'input' | 'code'>;
  readonly forwardConnections: Gauge;
  readonly forwardErrors: Counter<'reason'>;
  readonly indexed: Counter;
  readonly failed: Counter<'reason'>;
  readonly retries: Counter<'reason'>;
  readonly bulkDuration: Histogram;
  readonly bufferBytes: Gauge;
  readonly bufferPending: Gauge;
  readonly bufferDropped: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.received = new Counter({ name: 'fleetscope_collector_logs_received_total', help: 'Log records received, by input (forward, bulk, jsonlines).', labelNames: ['tenant', 'site', 'input'], registers });
    this.dropped = new Counter({ name: 'fleetscope_collector_logs_dropped_total', help: 'Log records dropped before buffering, by reason.', labelNames: ['tenant', 'site', 'reason'], registers });
    this.requests = new Counter({ name: 'fleetscope_collector_logs_requests_total', help: 'Log requests (HTTP requests, forward frames), by input and outcome code.', labelNames: ['input', 'code'], registers });
    this.forwardConnections = new Gauge({ name: 'fleetscope_collector_logs_forward_connections', help: 'Open forward connections.', registers });
    this.forwardErrors = new Counter({ name: 'fleetscope_collector_logs_forward_errors_total', help: 'Forward connections closed on an error, by reason.', labelNames: ['reason'], registers });
    this.indexed = new Counter({ name: 'fleetscope_collector_logs_indexed_total', help: 'Documents Elasticsearch accepted.', registers });
    this.failed = new Counter({ name: 'fleetscope_collector_logs_failed_total', help: 'Documents refused for good and written to the dead-letter file, by reason (the error type).', labelNames: ['reason'], registers });
    this.retries = new Counter({ name: 'fleetscope_collector_logs_retries_total', help: 'Documents (or whole bulk requests) retried, by reason.', labelNames: ['reason'], registers });
    this.bulkDuration = new Histogram({ name: 'fleetscope_collector_logs_bulk_duration_seconds', help: 'Duration of bulk requests to Elasticsearch.', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
    this.bufferBytes = new Gauge({ name: 'fleetscope_collector_logs_buffer_bytes', help: 'Bytes in the durable log buffer.', registers });
    this.bufferPending = new Gauge({ name: 'fleetscope_collector_logs_buffer_pending_batches', help: 'Buffered batches (one per accepted request) not yet delivered.', registers });
    this.bufferDropped = new Gauge({ name: 'fleetscope_collector_logs_buffer_dropped_batches', help: 'Buffered batches dropped because the buffer was full, since start.', registers });
  }
}
