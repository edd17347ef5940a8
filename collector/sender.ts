// Delivers one remote-write target's durable queue, in order: read a batch
// of records, send each tenant's part as one request (X-Scope-OrgID = the
// tenant), and commit only when every part was delivered or refused for good.
// A retryable failure blocks the queue (keeping each series in order) and is
// retried with backoff; the queue keeps everything accepted meanwhile.
import type { Logger } from 'pino';
import { REMOTE_WRITE_HEADERS, snappyCompress, snappyDeclaredLength } from '../wire/index.js';
import type { RemoteWriteTarget } from './config.js';
import type { CollectorMetrics } from './metrics.js';
import type { DurableQueue } from './queue.js';
import { decodeQueuedWrite } from './record.js';
import { HttpPoster } from './http-post.js';
import { classifySend } from './retry.js';
import { fnv1a32 } from './shard.js';

export class RemoteWriteSender {
  private stopping = new AbortController();
  private running: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private lastFailureLog = 0;
  private suppressedFailures = 0;
  private shards: number;
  private readonly poster: HttpPoster;
  /** When the oldest record being delivered was queued (0: none, or not recorded). */
  private oldestQueuedAt = 0;
  /** When the batch now waiting for more data was first read (0: none). */
  private batchSince = 0;
  readonly remote: string;

  constructor(
    private readonly target: RemoteWriteTarget,
    private readonly queue: DurableQueue,
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger,
  ) {
    this.remote = new URL(target.url).host;
    this.poster = new HttpPoster(target.url, target.tls_config);
    this.shards = target.min_shards;
    metrics.shards.set({ remote: this.remote }, this.shards);
  }

  start(): void {
    this.running ??= this.loop().catch((err: unknown) => {
      if (!this.stopping.signal.aborted) this.log.error({ err, remote: this.remote }, 'remote-write sender stopped');
    });
  }

  /** Tells the sender there is new data, so it need not wait for its poll. */
  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wakeUp?.();
    await this.running;
    this.poster.close();
  }

  private async loop(): Promise<void> {
    const signal = this.stopping.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (!(await this.cycle())) return;
        failures = 0;
      } catch (err) {
        // The queue's disk failed a read or a commit: nothing was lost (uncommitted data is
        // read again), so wait and try again rather than stop delivering for good.
        failures++;
        this.log.error({ err, remote: this.remote, failures }, 'remote-write sender: queue error; retrying');
        await sleep(Math.min(30_000, 100 * 2 ** Math.min(failures, 8)), signal);
      }
    }
  }

  /** One read-send-commit cycle; false when stopping. */
  private async cycle(): Promise<boolean> {
    const signal = this.stopping.signal;
    const t = this.target;
    this.metrics.queueBytes.set({ remote: this.remote }, this.queue.stats.bytes);
    this.metrics.queuePending.set({ remote: this.remote }, this.queue.stats.pending);
    this.metrics.queueDropped.set({ remote: this.remote }, this.queue.stats.droppedRecords);
    const { records, next } = await this.queue.read(t.max_records_per_send);
    this.oldestQueuedAt = records.length === 0 ? 0 : decodeQueuedWrite(records[0] as Buffer).queuedAt;
    this.reportAge();
    if (records.length === 0) {
      this.batchSince = 0;
      this.resize(false, 0);
      await this.waitForData(1000);
      return !signal.aborted;
    }
    const groups = new Map<string, SendGroup[]>();
    let total = 0;
    const shards = this.shards;
    for (const rec of records) {
      const w = decodeQueuedWrite(rec);
      total += w.samples;
      const part = toPart(w.body, w.snappy);
      if (part === null) {
        // Not a snappy block after all (it never is when our pipeline wrote it): sending it would
        // only get the whole request refused, and retrying it would stop the queue for good.
        this.metrics.samplesFailed.inc({ remote: this.remote, reason: 'corrupt_record' }, w.samples);
        this.log.error({ remote: this.remote, tenant: w.tenant, samples: w.samples }, 'queued record is not a valid snappy block; dropped');
        continue;
      }
      // One site's records always go to the same shard: its series stay in order.
      const shard = shards === 1 ? 0 : shardOf(w.shardKey, shards);
      const key = `${shard}\u0000${w.tenant}`;
      let list = groups.get(key);
      if (list === undefined) {
        list = [];
        groups.set(key, list);
      }
      let g = list[list.length - 1];
      if (g === undefined || (g.samples > 0 && g.samples + w.samples > t.max_samples_per_send)) {
        g = { tenant: w.tenant, shard, parts: [], rawBytes: 0, samples: 0 };
        list.push(g);
      }
      g.parts.push(part.elements);
      g.rawBytes += part.rawBytes;
      g.samples += w.samples;
    }
    // A small batch waits for more, up to the deadline: fewer, fuller requests.
    const now = Date.now();
    if (this.batchSince === 0) this.batchSince = now;
    if (records.length < t.max_records_per_send && total < t.max_samples_per_send && now - this.batchSince < t.batch_send_deadline) {
      await this.waitForData(t.batch_send_deadline - (now - this.batchSince));
      return !signal.aborted;
    }
    this.batchSince = 0;
    const perShard: SendGroup[][] = Array.from({ length: shards }, () => []);
    for (const list of groups.values()) for (const g of list) (perShard[g.shard] as typeof perShard[number]).push(g);
    // A backlog: more was waiting than this read took (by count or by its byte limit).
    const backlog = this.queue.stats.pending > records.length;
    const started = Date.now();
    const results = await Promise.all(perShard.map(async (list) => {
      for (const g of list) if (!(await this.deliver(g.tenant, snappyBlock(g), g.samples))) return false;
      return true;
    }));
    if (results.includes(false)) return false; // stopping: nothing committed
    await this.queue.commit(next);
    this.resize(backlog, Date.now() - started);
    return true;
  }

  /**
   * More shards while the queue has a backlog (more waiting than one read takes), fewer once it
   * is gone, between min_shards and max_shards.
   */
  private resize(backlog: boolean, _sendMs: number): void {
    const t = this.target;
    const before = this.shards;
    if (backlog) this.shards = Math.min(t.max_shards, this.shards * 2);
    else if (this.shards > t.min_shards) this.shards--;
    if (this.shards !== before) this.log.debug({ remote: this.remote, shards: this.shards }, 'remote-write shards resized');
    this.metrics.shards.set({ remote: this.remote }, this.shards);
  }

  /** The queue's age as the oldest record being delivered tells it; kept current while a send is retried. */
  private reportAge(): void {
    const at = this.oldestQueuedAt;
    this.metrics.queueAge.set({ remote: this.remote }, at > 0 ? Math.max(0, (Date.now() - at) / 1000) : 0);
  }

  /** Current number of concurrent send shards. */
  get shardCount(): number {
    return this.shards;
  }

  private async waitForData(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wakeUp = null;
  }

  /** Sends a snappy-compressed WriteRequest (in pieces) until delivered or refused for good; false only when stopping. */
  private async deliver(tenant: string, compressed: readonly Buffer[], samples: number): Promise<boolean> {
    const signal = this.stopping.signal;
    const headers: Record<string, string> = { ...REMOTE_WRITE_HEADERS, 'X-Scope-OrgID': tenant };
    if (this.target.basic_auth) headers.Authorization = `Basic ${Buffer.from(`${this.target.basic_auth.username}:${this.target.basic_auth.password}`).toString('base64')}`;
    if (this.target.bearer_token) headers.Authorization = `Bearer ${this.target.bearer_token}`;
    const backoff = { minMs: this.target.min_backoff, maxMs: this.target.max_backoff };
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) return false;
      let status: number | undefined;
      let retryAfter: string | null = null;
      let message = '';
      const end = this.metrics.sendDuration.startTimer({ remote: this.remote });
      try {
        const res = await this.poster.post(headers, compressed, AbortSignal.any([signal, AbortSignal.timeout(this.target.timeout)]));
        status = res.status;
        retryAfter = res.retryAfter;
        message = res.text;
      } catch (err) {
        message = (err as Error).message;
      } finally {
        end();
      }
      const outcome = classifySend(status, retryAfter, attempt, backoff, Math.random(), Date.now());
      if (outcome.kind === 'ok') {
        this.metrics.samplesSent.inc({ remote: this.remote }, samples);
        return true;
      }
      if (outcome.kind === 'failed') {
        // Not retryable (a 4xx): the data is dropped, counted, and the receiver's reason logged, rate-limited.
        this.metrics.samplesFailed.inc({ remote: this.remote, reason: outcome.reason }, samples);
        const now = Date.now();
        if (now - this.lastFailureLog > 10_000) {
          this.log.warn({ remote: this.remote, tenant, reason: outcome.reason, message, suppressed: this.suppressedFailures }, 'remote-write target refused samples; dropped');
          this.lastFailureLog = now;
          this.suppressedFailures = 0;
        } else this.suppressedFailures++;
        return true;
      }
      this.metrics.retries.inc({ remote: this.remote, reason: outcome.reason });
      this.reportAge();
      if (attempt === 0 || attempt % 20 === 0) this.log.warn({ remote: this.remote, tenant, reason: outcome.reason, attempt, message }, 'remote-write send failed; retrying');
      await sleep(outcome.afterMs, signal);
    }
  }
}

/** One request's worth of one tenant's records, for one shard: the elements of snappy blocks. */
interface SendGroup {
  readonly tenant: string;
  readonly shard: number;
  readonly parts: Buffer[];
  rawBytes: number;
  samples: number;
}

/**
 * A queued body as a piece of a request: a snappy block's elements as they
 * are (their copies reach back only into what they wrote themselves, so they
 * stay right after any other block's elements), an uncompressed body once
 * compressed. Null when a body flagged snappy has no valid length header.
 */
function toPart(body: Buffer, snappy: boolean): { elements: Buffer; rawBytes: number } | null {
  const block = snappy ? body : snappyCompress(body);
  let rawBytes: number;
  try {
    rawBytes = snappyDeclaredLength(block);
  } catch {
    return null;
  }
  let header = 1;
  while ((block[header - 1] as number) >= 0x80) header++;
  return { elements: block.subarray(header), rawBytes };
}

/**
 * The group's parts as one snappy block: the total length, then every
 * part's elements, as pieces written one after another (a joined copy of a
 * few MB per send was the sender's largest allocation).
 */
function snappyBlock(g: SendGroup): Buffer[] {
  const header = Buffer.allocUnsafe(5);
  let v = g.rawBytes;
  let n = 0;
  while (v >= 0x80) {
    header[n++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  header[n++] = v;
  return [header.subarray(0, n), ...g.parts];
}

/** FNV-1a of the shard key, modulo the shard count. */
function shardOf(key: string, shards: number): number {
  return fnv1a32(key) % shards;
}

/** Waits `ms`, or less if `signal` aborts; leaves no listener behind either way. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
