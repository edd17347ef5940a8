// Where every input hands its records: counts them, makes the batch durable
// in the buffer (the caller acknowledges only after commit() resolves), then
// offers the records to onLogRecords listeners (the top README's contract §4).
import type { Logger } from 'pino';
import type { DurableQueue } from '../queue.js';
import { LogsError } from './errors.js';
import type { LogsMetrics } from './metrics.js';
import { LogBatch, type LogIdentity, type LogPipeline, type LogRecordOut } from './pipeline.js';

const EMPTY = Buffer.alloc(0);

export type LogRecordsListener = (batch: readonly LogRecordOut[]) => void;

/** Bodies kept for reuse (frames come one after another, each needing about the same), and their bytes at most. */
const POOL_BODIES = 16;
const POOL_MAX_BYTES = 64 * 1024 * 1024;

export class LogIngest {
  private readonly listeners = new Set<LogRecordsListener>();
  /**
   * Batch bodies to reuse. A body is free again as soon as the buffer's
   * append() has been called with it: DurableQueue copies the record into
   * its own write buffer before append() returns (queue-copy.test.ts keeps
   * that true), so a body never outlives its batch's commit.
   */
  private readonly free: Buffer[] = [];
  private freeBytes = 0;

  constructor(
    readonly pipeline: LogPipeline,
    private readonly buffer: DurableQueue | null,
    private readonly metrics: LogsMetrics,
    private readonly log: Logger,
    private readonly wake: () => void,
  ) {}

  begin(identity: LogIdentity, sizeHint?: number): LogBatch {
    const body = this.free.pop();
    if (body !== undefined) this.freeBytes -= body.length;
    return new LogBatch(identity, this.listeners.size > 0, sizeHint, body);
  }

  /** Resolves once the batch is durable; throws FS_COLLECTOR_LOGS_BUFFER_UNAVAILABLE otherwise (nothing acknowledged). */
  async commit(batch: LogBatch, input: string): Promise<void> {
    const { tenant, site } = batch.identity;
    if (batch.received > 0) this.metrics.received.inc({ tenant, site, input }, batch.received);
    for (const [reason, n] of batch.dropped) this.metrics.dropped.inc({ tenant, site, reason }, n);
    if (batch.docs > 0 && this.buffer) {
      try {
        const durable = this.buffer.append(batch.encode());
        this.recycle(batch);
        await durable;
      } catch (err) {
        throw new LogsError('FS_COLLECTOR_LOGS_BUFFER_UNAVAILABLE', [(err as Error).message], { cause: err });
      }
      this.wake();
    }
    if (batch.out && batch.out.length > 0) {
      for (const l of this.listeners) {
        try {
          l(batch.out);
        } catch (err) {
          this.log.error({ err }, 'a log records listener threw; the records stay stored');
        }
      }
    }
  }

  private recycle(batch: LogBatch): void {
    const body = batch.body;
    batch.body = EMPTY;
    batch.length = 0;
    if (this.free.length < POOL_BODIES && this.freeBytes + body.length <= POOL_MAX_BYTES) {
      this.free.push(body);
      this.freeBytes += body.length;
    }
  }

  onLogRecords(listener: LogRecordsListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
