// The push pipeline on worker threads (push-worker.ts), for when one core is
// not enough: each site always goes to the same worker (a hash of tenant and
// site), which keeps that site's series cache, so a site's requests are
// still processed in the order they arrive. A worker that dies fails its
// requests in flight with 503 (the sites retry: nothing was acknowledged)
// and is started again, its caches rebuilt as series come in.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { ownedBytes } from './owned-bytes.js';
import type { CollectorMetrics } from './metrics.js';
import type { Identity, PushResult } from './pipeline.js';
import { fnv1a32 } from './shard.js';

export type WorkerRequest =
  | { readonly kind: 'config'; readonly doc: unknown; readonly file: string }
  | { readonly kind: 'push'; readonly seq: number; readonly tenant: string; readonly site: string; readonly group?: string | undefined; readonly body: Uint8Array }
  | { readonly kind: 'sweep'; readonly now: number };

/** A PushResult as it crosses from a worker: the dropped counts as entries. */
export interface WorkerResult {
  readonly body: Uint8Array;
  readonly snappy: boolean;
  readonly samplesIn: number;
  readonly samplesOut: number;
  readonly dropped: [string, number][];
  readonly newSeries: number;
  readonly reused: boolean;
  readonly repeat: boolean;
  readonly aggregate?: { readonly pipelineKey: string; readonly body: Uint8Array; readonly samples: number };
}

type WorkerMessage =
  | { readonly kind: 'result'; readonly seq: number; readonly result: WorkerResult }
  | { readonly kind: 'failed'; readonly seq: number; readonly status: number; readonly message: string }
  | { readonly kind: 'active'; readonly series: [string, number][] }
  | { readonly kind: 'log'; readonly message: string };

/** What a push became: the pipeline's result, or the status and message to answer with. */
export type WorkerOutcome = { readonly ok: true; readonly result: PushResult } | { readonly ok: false; readonly status: number; readonly message: string };

interface Pending {
  readonly resolve: (o: WorkerOutcome) => void;
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

class PushWorker {
  private worker!: Worker;
  private readonly pending = new Map<number, Pending>();
  private stopping = false;
  /** Active series per site key, as the worker last reported. */
  active: [string, number][] = [];

  constructor(
    private readonly index: number,
    private source: { doc: unknown; file: string },
    private readonly log: Logger,
    private readonly metrics: CollectorMetrics,
    private readonly maxHeapMb: number | undefined,
  ) {
    this.spawn();
    metrics.pushWorkers.inc();
  }

  private spawn(): void {
    const w = new Worker(new URL('./push-worker.js', import.meta.url), this.maxHeapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb } });
    this.worker = w;
    w.on('message', (m: WorkerMessage) => {
      if (m.kind === 'active') {
        this.active = m.series;
        return;
      }
      if (m.kind === 'log') {
        this.log.error({ worker: this.index }, m.message);
        return;
      }
      const p = this.pending.get(m.seq);
      if (p === undefined) return;
      this.pending.delete(m.seq);
      if (m.kind === 'failed') p.resolve({ ok: false, status: m.status, message: m.message });
      else {
        const r = m.result;
        p.resolve({
          ok: true,
          result: {
            body: asBuffer(r.body),
            snappy: r.snappy,
            samplesIn: r.samplesIn,
            samplesOut: r.samplesOut,
            dropped: new Map(r.dropped),
            newSeries: r.newSeries,
            reused: r.reused,
            repeat: r.repeat,
            ...(r.aggregate ? { aggregate: { pipelineKey: r.aggregate.pipelineKey, body: asBuffer(r.aggregate.body), samples: r.aggregate.samples } } : {}),
          },
        });
      }
    });
    w.on('error', (err) => this.log.error({ err, worker: this.index }, 'push worker failed'));
    w.on('exit', (code) => {
      for (const p of this.pending.values()) p.resolve({ ok: false, status: 503, message: `push worker ${this.index} exited (${code}); retry` });
      this.pending.clear();
      if (this.stopping) {
        this.metrics.pushWorkers.dec();
        return;
      }
      this.log.error({ worker: this.index, code }, 'push worker exited; starting it again');
      this.metrics.pushWorkerRestarts.inc();
      this.spawn();
    });
    this.configure(this.source);
  }

  configure(source: { doc: unknown; file: string }): void {
    this.source = source;
    this.worker.postMessage({ kind: 'config', doc: source.doc, file: source.file } satisfies WorkerRequest);
  }

  push(seq: number, id: Identity, body: Uint8Array): Promise<WorkerOutcome> {
    return new Promise((resolve) => {
      this.pending.set(seq, { resolve });
      // Transferred, not cloned: the body is the worker's alone (process()).
      this.worker.postMessage({ kind: 'push', seq, tenant: id.tenant, site: id.site, group: id.group, body } satisfies WorkerRequest, [body.buffer as ArrayBuffer]);
    });
  }

  sweep(now: number): void {
    this.worker.postMessage({ kind: 'sweep', now } satisfies WorkerRequest);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.worker.terminate();
  }
}

export class PushWorkers {
  private readonly workers: PushWorker[];
  private seq = 0;

  constructor(count: number, source: { doc: unknown; file: string }, log: Logger, metrics: CollectorMetrics, maxHeapMb?: number) {
    this.workers = Array.from({ length: count }, (_, i) => new PushWorker(i, source, log, metrics, maxHeapMb));
  }

  /**
   * Runs a push (its snappy body as received) on the site's worker. The
   * body goes to the worker transferred when it has its ArrayBuffer to
   * itself (fastify copies every body of 4 KB or more into one of its own),
   * and is then detached here: the caller must be done with it. Otherwise
   * the worker gets a copy.
   */
  process(id: Identity, body: Buffer): Promise<WorkerOutcome> {
    return (this.workers[workerOf(id, this.workers.length)] as PushWorker).push(++this.seq, id, ownedBytes(body));
  }

  /** New rules: every worker validates them again and starts with empty caches, as the main thread does. */
  reload(source: { doc: unknown; file: string }): void {
    for (const w of this.workers) w.configure(source);
  }

  sweep(now: number): void {
    for (const w of this.workers) w.sweep(now);
  }

  /** Active series per site ("tenant/site"), as the workers last reported them. */
  activeSeries(): Map<string, number> {
    const out = new Map<string, number>();
    for (const w of this.workers) for (const [k, n] of w.active) out.set(k, (out.get(k) ?? 0) + n);
    return out;
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}

/** FNV-1a of tenant and site, modulo the worker count. */
function workerOf(id: Identity, n: number): number {
  return n === 1 ? 0 : fnv1a32(`${id.tenant}\u0000${id.site}`) % n;
}
