// The Faro receiver's metrics. Label values that come from the payload
// (app name, exception type, measurement names) are bounded: past a limit of
// distinct values they become "other", so a page cannot blow up cardinality.
import { Counter, Histogram, type Registry } from 'prom-client';

export class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly limit: number) {}
  value(v: string | undefined): string {
    const s = v === undefined || v === '' ? 'unknown' : v.slice(0, 64);
    if (this.seen.has(s)) return s;
    if (this.seen.size >= this.limit) return 'other';
    this.seen.add(s);
    return s;
  }
}

export class FaroMetrics {
  readonly requests: Counter<'code'>;
  readonly items: Counter<'app' | 'kind'>;
  readonly exceptions: Counter<'app' | 'type'>;
  readonly measurement: Histogram<'app' | 'type' | 'name'>;
  readonly dropped: Counter<'reason'>;
  readonly app = new BoundedLabel(20);
  readonly exceptionType = new BoundedLabel(50);
  readonly measurementName = new BoundedLabel(100);

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({ name: 'fleetscope_collector_faro_requests_total', help: 'Faro payloads received, by HTTP status answered.', labelNames: ['code'], registers });
    this.items = new Counter({ name: 'fleetscope_collector_faro_items_total', help: 'Faro items accepted, by app and kind (log, exception, measurement, event, trace).', labelNames: ['app', 'kind'], registers });
    this.exceptions = new Counter({ name: 'fleetscope_collector_faro_exceptions_total', help: 'Exceptions pages reported, by app and exception type.', labelNames: ['app', 'type'], registers });
    this.measurement = new Histogram({
      name: 'fleetscope_collector_faro_measurement_value',
      help: 'Values of Faro measurements (web vitals and timings in ms; CLS unitless), by app, measurement type and value name.',
      labelNames: ['app', 'type', 'name'],
      buckets: [0.01, 0.1, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000],
      registers,
    });
    this.dropped = new Counter({ name: 'fleetscope_collector_faro_payloads_dropped_total', help: 'Faro payloads refused, by reason.', labelNames: ['reason'], registers });
  }
}
