// Where every ingest path hands over what survived the pipeline: counted per
// tenant and site (received, dropped by reason), then appended durably to the
// queue of every remote-write target that takes the site (shard.ts), and the
// senders woken. Pushes and scrapes both go through here.
import type { Logger } from 'pino';
import type { RemoteWriteTarget } from './config.js';
import type { CollectorMetrics } from './metrics.js';
import type { Identity, PushResult } from './pipeline.js';
import type { DurableQueue } from './queue.js';
import { encodeQueuedWrite } from './record.js';
import type { RemoteWriteSender } from './sender.js';
import { targetsForSite } from './shard.js';

export type IntakeOutcome = { readonly ok: true } | { readonly ok: false; readonly error: Error };

/** Where the series that pre-aggregation rules take go (the Aggregator): durably, before a push is acknowledged. */
export interface AggregateInput {
  append(pipelineKey: string, body: Buffer, receivedAt: number): Promise<void>;
}

export class Intake {
  /** Set once the aggregator is open. */
  aggregator: AggregateInput | null = null;

  constructor(
    private readonly targets: readonly RemoteWriteTarget[],
    private readonly queues: readonly DurableQueue[],
    private readonly senders: readonly RemoteWriteSender[],
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger,
  ) {}

  /** Counts a pipeline result and makes its samples durable; ok only once they are on disk for every target. */
  async accept(id: Identity, result: PushResult): Promise<IntakeOutcome> {
    const m = this.metrics;
    m.samplesReceived.inc({ tenant: id.tenant, site: id.site }, result.samplesIn);
    for (const [reason, n] of result.dropped) m.samplesDropped.inc({ tenant: id.tenant, site: id.site, reason }, n);
    const agg = result.aggregate;
    const aggregated = agg !== undefined && this.aggregator !== null ? this.aggregator.append(agg.pipelineKey, agg.body, Date.now()) : undefined;
    const forwarded = result.samplesOut === 0 ? ({ ok: true } as const) : this.enqueue(id.tenant, id.site, result.body, result.samplesOut, id.site, result.snappy === true);
    try {
      await aggregated;
    } catch (err) {
      this.log.error({ err }, 'aggregation queue append failed');
      await forwarded;
      return { ok: false, error: err as Error };
    }
    if (agg !== undefined) m.samplesAggregated.inc({ tenant: id.tenant, site: id.site }, agg.samples);
    return forwarded;
  }

  /** Appends one tenant's WriteRequest body (a snappy block when `snappy`) to the queue of every target that takes `shardKey` (a site). */
  async enqueue(tenant: string, shardKey: string, body: Buffer, samples: number, site = '', snappy = false): Promise<IntakeOutcome> {
    const targets = targetsForSite(shardKey, this.targets);
    if (targets.length === 0) {
      this.metrics.samplesDropped.inc({ tenant, site, reason: 'no_remote_write' }, samples);
      return { ok: true };
    }
    const rec = encodeQueuedWrite({ tenant, samples, body, shardKey, snappy, queuedAt: Date.now() });
    try {
      // A fresh record that nothing changes afterwards: the queues keep it without copying.
      await Promise.all(targets.map((i) => (this.queues[i] as DurableQueue).appendOwned(rec)));
    } catch (err) {
      this.log.error({ err }, 'queue append failed');
      return { ok: false, error: err as Error };
    }
    for (const s of this.senders) s.wake();
    return { ok: true };
  }
}
