// Runs pre-aggregation durably. The push and scrape paths append what the
// rules take to a durable input queue (before a push is acknowledged); this
// loop reads that queue, feeds the engine, writes the windows that are due
// to the remote-write queues, checkpoints the engine's state to disk, and
// only then commits the input queue. After a crash the queue replays from
// its last commit into the last checkpoint; samples the checkpoint already
// holds are recognised by timestamp and not counted again (aggregate.ts).
//
// The engine's clock is when the collector received what it reads (carried
// in each record), or, once the queue is drained, the wall clock less a
// second for appends still on their way to disk.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { RemoteWriteReader, WireError } from '../wire/index.js';
import type { AggregateRule } from './aggregate-config.js';
import { type AggregateOutputBatch, AggregationEngine } from './aggregate.js';
import type { CompiledPipeline } from './config.js';
import type { IntakeOutcome } from './intake.js';
import type { CollectorMetrics } from './metrics.js';
import { DurableQueue, type QueuePosition } from './queue.js';
import { decodeAggregateInput, encodeAggregateInput } from './record.js';

export interface AggregatorOptions {
  readonly dir: string;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  /** How often state is checkpointed when no window was written (default 5 s). */
  readonly checkpointEveryMs?: number;
  readonly fsync?: boolean;
}

export type OutputSink = (tenant: string, shardKey: string, body: Buffer, samples: number) => Promise<IntakeOutcome>;

const SAFETY_MS = 1000;

export class Aggregator {
  private readonly engine = new AggregationEngine();
  private readPos: QueuePosition | undefined;
  private clock = -Infinity;
  private pending: AggregateOutputBatch[] = [];
  private lastCheckpoint = 0;
  private running: Promise<void> | null = null;
  private stopping = false;
  private wakeUp: (() => void) | null = null;

  private constructor(
    private readonly queue: DurableQueue,
    private readonly checkpointFile: string,
    private readonly opts: AggregatorOptions,
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger,
    private readonly sink: OutputSink,
  ) {}

  /** Opens the input queue and restores the last checkpoint for `pipelines`' rules. */
  static async open(opts: AggregatorOptions, pipelines: ReadonlyMap<string, CompiledPipeline>, metrics: CollectorMetrics, log: Logger, sink: OutputSink): Promise<Aggregator> {
    await mkdir(opts.dir, { recursive: true });
    const queue = await DurableQueue.open({ dir: join(opts.dir, 'input'), maxBytes: opts.maxBytes, segmentBytes: opts.segmentBytes, ...(opts.fsync === undefined ? {} : { fsync: opts.fsync }) });
    const a = new Aggregator(queue, join(opts.dir, 'checkpoint.json'), opts, metrics, log, sink);
    a.setRules(pipelines);
    let text: string | undefined;
    try {
      text = await readFile(a.checkpointFile, 'utf8');
    } catch {
      // No checkpoint yet: a first start.
    }
    if (text !== undefined) {
      try {
        a.engine.restore(JSON.parse(text));
      } catch (err) {
        // A checkpoint is written whole and renamed into place, so this is damage from outside; start afresh, loudly.
        log.error({ err: (err as Error).message, file: a.checkpointFile }, 'aggregation checkpoint unreadable; aggregation state starts afresh');
      }
    }
    return a;
  }

  setRules(pipelines: ReadonlyMap<string, CompiledPipeline>): void {
    const rules = new Map<string, readonly AggregateRule[]>();
    for (const [key, p] of pipelines) rules.set(key, p.aggregations);
    this.engine.setRules(rules);
  }

  /** Makes a pipeline's aggregation input durable; resolves once it is on disk. */
  append(pipelineKey: string, body: Buffer, receivedAt: number): Promise<void> {
    return this.queue.append(encodeAggregateInput({ pipelineKey, receivedAt, body })).then(() => this.wakeUp?.());
  }

  start(): void {
    this.running ??= this.loop().catch((err: unknown) => this.log.error({ err }, 'aggregator stopped'));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    await this.running;
    await this.queue.close();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        const busy = await this.cycle();
        failures = 0;
        if (!busy) await this.idle(1000);
      } catch (err) {
        failures++;
        this.log.error({ err, failures }, 'aggregator: error; retrying');
        await this.idle(Math.min(30_000, 100 * 2 ** Math.min(failures, 8)));
      }
    }
    // A last checkpoint, so that the next start has nothing to replay.
    await this.checkpoint().catch((err: unknown) => this.log.error({ err }, 'aggregator: final checkpoint failed'));
  }

  private idle(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = done;
    }).then(() => {
      this.wakeUp = null;
    });
  }

  /** One read-ingest-flush-checkpoint step; true when it read something. */
  async cycle(): Promise<boolean> {
    const t0 = Date.now();
    const { records, next } = await this.queue.read(256, 16 * 1024 ** 2, this.readPos);
    for (const rec of records) {
      const input = decodeAggregateInput(rec);
      try {
        this.engine.ingest(input.pipelineKey, new RemoteWriteReader(input.body), input.receivedAt);
      } catch (err) {
        // The pipeline wrote this body itself; a bad one is a bug, never a reason to stop aggregating.
        if (!(err instanceof WireError)) throw err;
        this.log.error({ err: err.message }, 'aggregator: unreadable input record skipped');
      }
      if (input.receivedAt > this.clock) this.clock = input.receivedAt;
    }
    this.readPos = next;
    if (records.length === 0 && t0 - SAFETY_MS > this.clock) this.clock = t0 - SAFETY_MS;
    this.pending.push(...this.engine.flush(this.clock));
    this.countDrops();
    const wrote = this.pending.length > 0;
    while (this.pending.length > 0) {
      const b = this.pending[0] as AggregateOutputBatch;
      const r = await this.sink(b.tenant, b.shardKey, b.body, b.samples);
      if (!r.ok) throw r.error;
      this.metrics.aggregateOutputs.inc({ tenant: b.tenant }, b.samples);
      this.pending.shift();
    }
    if (wrote || (records.length > 0 && Date.now() - this.lastCheckpoint >= (this.opts.checkpointEveryMs ?? 5000))) await this.checkpoint();
    this.metrics.aggregateSources.set(this.engine.sourceCount());
    return records.length > 0;
  }

  private countDrops(): void {
    for (const [k, n] of this.engine.dropped) {
      const [tenant, reason] = k.split('\u0000') as [string, string];
      this.metrics.aggregateDropped.inc({ tenant, reason }, n);
    }
    this.engine.dropped.clear();
  }

  /** State to disk (whole file, fsync, rename), then the input read so far committed. */
  private async checkpoint(): Promise<void> {
    const pos = this.readPos;
    const tmp = `${this.checkpointFile}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(this.engine.toCheckpoint()));
      if (this.opts.fsync !== false) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.checkpointFile);
    if (pos !== undefined) await this.queue.commit(pos);
    this.lastCheckpoint = Date.now();
  }
}
