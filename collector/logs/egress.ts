// Delivers the log buffer to Elasticsearch through @elastic/elasticsearch's
// bulk API, with the client's own retries off (maxRetries 0) so that retry
// is decided here, per item. A cycle reads buffered batches, cuts them into
// bulk requests bounded by documents and bytes, sends up to `concurrency` at
// once, and commits the buffer only when every document is stored or
// dead-lettered; a crash before the commit resends them, and deterministic
// ids make the resend overwrite (index) or answer 409 (create), never duplicate.
// Answers are filtered to what per-item handling reads (filter_path), which
// keeps a 5,000-item answer small.
import { Client, type estypes, errors as esErrors } from '@elastic/elasticsearch';
import { unzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import type { DurableQueue } from '../queue.js';
import { backoffMs } from '../retry.js';
import { classifyItem, classifyRequest } from './bulk-outcome.js';
import type { ElasticsearchConfig } from './config.js';
import { type DeadItem, DeadLetterFile } from './dead-letter.js';
import type { LogsMetrics } from './metrics.js';
import { type BufferedDoc, decodeBufferRecord } from './pipeline.js';

/** The client takes a Buffer body as is (transport: not serialized); its types only know arrays. */
type BulkOperations = estypes.BulkRequest['operations'];

interface BulkItem {
  readonly status?: number;
  readonly error?: { type?: unknown; reason?: unknown };
}

export class ElasticsearchEgress {
  private readonly client: Client;
  private readonly stopping = new AbortController();
  private running: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private readonly deadLetter: DeadLetterFile;
  private readonly headers: Record<string, string>;
  private lastWarn = 0;

  constructor(
    private readonly cfg: ElasticsearchConfig,
    private readonly buffer: DurableQueue,
    private readonly metrics: LogsMetrics,
    private readonly log: Logger,
  ) {
    this.client = new Client({
      nodes: cfg.nodes,
      maxRetries: 0,
      requestTimeout: cfg.timeout,
      ...(cfg.api_key !== undefined ? { auth: { apiKey: cfg.api_key } } : cfg.username !== undefined ? { auth: { username: cfg.username, password: cfg.password as string } } : {}),
    });
    // Elasticsearch 8 refuses `compatible-with=9`, which this client sends by default; 9 accepts 8.
    this.headers = {
      accept: `application/vnd.elasticsearch+json; compatible-with=${cfg.compatible_with}`,
      'content-type': `application/vnd.elasticsearch+x-ndjson; compatible-with=${cfg.compatible_with}`,
    };
    this.deadLetter = new DeadLetterFile(cfg.dead_letter_file);
  }

  start(): void {
    this.running ??= this.loop();
  }

  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wakeUp?.();
    await this.running;
    await this.client.close();
  }

  private async loop(): Promise<void> {
    const signal = this.stopping.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (!(await this.cycle())) return;
        failures = 0;
      } catch (err) {
        // A buffer read/commit or dead-letter write failed: nothing is lost (uncommitted data is read again).
        failures++;
        this.log.error({ err, failures }, 'elasticsearch egress: buffer or dead-letter error; retrying');
        await sleep(Math.min(30_000, 100 * 2 ** Math.min(failures, 8)), signal);
      }
    }
  }

  private async cycle(): Promise<boolean> {
    const signal = this.stopping.signal;
    this.metrics.bufferBytes.set(this.buffer.stats.bytes);
    this.metrics.bufferPending.set(this.buffer.stats.pending);
    this.metrics.bufferDropped.set(this.buffer.stats.droppedRecords);
    const { records, next } = await this.buffer.read(this.cfg.concurrency * 256, this.cfg.batch_max_bytes * this.cfg.concurrency);
    if (records.length === 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeUp = null;
      return !signal.aborted;
    }
    const batches: BufferedDoc[][] = [];
    let current: BufferedDoc[] = [];
    let bytes = 0;
    for (const rec of records) {
      for (const d of decodeBufferRecord(rec)) {
        const size = d.bytes.length;
        if (current.length > 0 && (current.length >= this.cfg.batch_max_docs || bytes + size > this.cfg.batch_max_bytes)) {
          batches.push(current);
          current = [];
          bytes = 0;
        }
        current.push(d);
        bytes += size;
      }
    }
    if (current.length > 0) batches.push(current);
    let at = 0;
    let stopped = false;
    const worker = async (): Promise<void> => {
      while (!stopped && at < batches.length) {
        const b = batches[at++] as BufferedDoc[];
        if (!(await this.deliver(b))) stopped = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.cfg.concurrency, batches.length) }, worker));
    if (stopped) return false; // stopping: nothing committed, all of it is sent again on the next start
    await this.buffer.commit(next);
    this.metrics.bufferBytes.set(this.buffer.stats.bytes);
    this.metrics.bufferPending.set(this.buffer.stats.pending);
    return true;
  }

  /** Sends until every document is stored or dead-lettered; false only when stopping. */
  private async deliver(docs: BufferedDoc[]): Promise<boolean> {
    const signal = this.stopping.signal;
    let pending = docs;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) return false;
      // The buffered bytes are the bulk body already: no parsing, no string building.
      const body = bulkBody(pending);
      let status: number | undefined;
      let items: { [op: string]: BulkItem }[] = [];
      let failedItems = false;
      let message = '';
      const end = this.metrics.bulkDuration.startTimer();
      try {
        // The answer raw (asStream): an all-stored answer is recognised without parsing thousands of items.
        const res = await this.client.bulk({ operations: body as unknown as BulkOperations, filter_path: 'errors,items.*.status,items.*.error' }, { headers: this.headers, signal, maxRetries: 0, requestTimeout: this.cfg.timeout, asStream: true, meta: true });
        status = res.statusCode ?? undefined;
        const raw = await readAnswer(res.body as unknown as AsyncIterable<Buffer>, res.headers?.['content-encoding']);
        if (status !== undefined && status >= 200 && status < 300) {
          if (allStored(raw, pending.length)) {
            this.metrics.indexed.inc(pending.length);
            return true;
          }
          const parsed = JSON.parse(raw.toString('utf8')) as { errors?: boolean; items?: { [op: string]: BulkItem }[] };
          items = parsed.items ?? [];
          failedItems = parsed.errors === true;
        } else {
          message = raw.toString('utf8', 0, Math.min(raw.length, 512));
        }
      } catch (err) {
        if (err instanceof esErrors.ResponseError) {
          status = err.meta.statusCode;
          message = JSON.stringify(err.meta.body).slice(0, 512);
        } else {
          status = undefined;
          message = (err as Error).message;
        }
      } finally {
        end();
      }
      if (signal.aborted) return false;
      const req = classifyRequest(status);
      let retry: BufferedDoc[] = [];
      let reason = '';
      if (req.kind === 'items') {
        if (!failedItems && items.length === pending.length) {
          this.metrics.indexed.inc(pending.length);
          return true;
        }
        const dead: DeadItem[] = [];
        let ok = 0;
        for (let i = 0; i < pending.length; i++) {
          const d = pending[i] as BufferedDoc;
          const item = items[i]?.[d.op];
          const out = classifyItem(d.op, item?.status, item?.error);
          if (out.kind === 'ok') ok++;
          else if (out.kind === 'retry') {
            retry.push(d);
            reason = out.reason;
          } else dead.push({ doc: d, status: item?.status, reason: out.reason, message: out.message });
        }
        this.metrics.indexed.inc(ok);
        if (dead.length > 0) {
          await this.deadLetter.write(dead);
          for (const x of dead) this.metrics.failed.inc({ reason: x.reason });
          this.warn({ dead: dead.length, reason: dead[0]?.reason, message: dead[0]?.message }, 'elasticsearch refused documents; written to the dead-letter file');
        }
      } else if (req.kind === 'split') {
        if (pending.length === 1) {
          await this.deadLetter.write([{ doc: pending[0] as BufferedDoc, status, reason: 'request_too_large', message }]);
          this.metrics.failed.inc({ reason: 'request_too_large' });
          return true;
        }
        const half = Math.ceil(pending.length / 2);
        return (await this.deliver(pending.slice(0, half))) && (await this.deliver(pending.slice(half)));
      } else if (req.kind === 'dead') {
        await this.deadLetter.write(pending.map((doc) => ({ doc, status, reason: req.reason, message })));
        this.metrics.failed.inc({ reason: req.reason }, pending.length);
        this.warn({ status, message }, 'elasticsearch refused a bulk request; its documents went to the dead-letter file');
        return true;
      } else {
        retry = pending;
        reason = req.reason;
        this.warn({ status, reason, attempt, message }, 'bulk request failed; retrying');
      }
      if (retry.length === 0) return true;
      this.metrics.retries.inc({ reason }, retry.length);
      pending = retry;
      await sleep(backoffMs(attempt, { minMs: this.cfg.min_backoff, maxMs: this.cfg.max_backoff }, Math.random()), signal);
    }
  }

  private warn(obj: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    if (now - this.lastWarn < 10_000) return;
    this.lastWarn = now;
    this.log.warn(obj, msg);
  }
}

/**
 * The bulk body for `docs`: their bytes in order. Documents read back from
 * one buffer record lie next to each other in memory, so runs of them are
 * taken as one view, and a request that is one record's documents is sent
 * without a copy.
 */
export function bulkBody(docs: readonly BufferedDoc[]): Buffer {
  const spans: Buffer[] = [];
  let first = (docs[0] as BufferedDoc).bytes;
  let end = first.byteOffset + first.length;
  const close = (): void => {
    spans.push(end === first.byteOffset + first.length ? first : Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset));
  };
  for (let i = 1; i < docs.length; i++) {
    const b = (docs[i] as BufferedDoc).bytes;
    if (b.buffer === first.buffer && b.byteOffset === end) {
      end += b.length;
      continue;
    }
    close();
    first = b;
    end = b.byteOffset + b.length;
  }
  close();
  return spans.length === 1 ? (spans[0] as Buffer) : Buffer.concat(spans);
}

const ERRORS_FALSE = Buffer.from('"errors":false');
const STATUS = Buffer.from('"status":');

/**
 * Whether a bulk answer says every one of `docs` items was stored:
 * `"errors":false` before the items (Elasticsearch writes `took`, `errors`,
 * then `items`), and one status per document. Anything else is parsed.
 */
export function allStored(raw: Buffer, docs: number): boolean {
  const e = raw.indexOf(ERRORS_FALSE);
  if (e < 0 || e > 64) return false;
  let n = 0;
  for (let i = raw.indexOf(STATUS, e); i >= 0; i = raw.indexOf(STATUS, i + STATUS.length)) n++;
  return n === docs;
}

async function readAnswer(body: AsyncIterable<Buffer>, encoding: string | string[] | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    chunks.push(c);
    size += c.length;
    if (size > 256 * 1024 * 1024) throw new Error('a bulk answer over 256 MiB');
  }
  const raw = Buffer.concat(chunks, size);
  const enc = String(encoding ?? '').toLowerCase();
  if (enc.includes('gzip') || enc.includes('deflate')) return unzipSync(raw, { maxOutputLength: 256 * 1024 * 1024 });
  return raw;
}

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
