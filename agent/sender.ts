// Drains the buffer to the collector: one remote-write request per record,
// strictly oldest first, one in flight. Order matters because Prometheus and
// Cortex refuse a sample older than the newest they hold for its series
// (out of order): a fresh record sent ahead of the backlog would make the
// whole backlog undeliverable. So fresh data is never sent around the
// backlog; it is not starved either, because the backlog drains back to back
// (no pause between acknowledged requests), the buffer's bound drops the
// oldest, never the newest, and every fresh scrape is already durable in the
// buffer the moment it is taken. See README.md "Buffer policy".
import { REMOTE_WRITE_HEADERS } from '../wire/index.js';
import type { SegmentBuffer } from './buffer.js';
import { httpRequest } from './http.js';
import type { AgentMetrics } from './metrics.js';
import { type Backoff, classifySend } from './retry.js';
import { TlsClient } from './tls.js';

/** Where to send and with what identity; null while the agent has none yet. */
export type Destination = () => { readonly url: string; readonly token: string | undefined } | null;

export interface SenderOptions {
  readonly buffer: SegmentBuffer;
  readonly destination: Destination;
  readonly timeoutMs: number;
  readonly backoff: Backoff;
  readonly metrics: AgentMetrics;
  /** CA and client certificate for https:// destinations. */
  readonly tls?: TlsClient;
  /** Called with a reason when a send fails (rate-limit your logging). */
  readonly onError?: (reason: string, detail: string) => void;
}

export class Sender {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** Consecutive failed attempts on the current record. */
  private attempt = 0;

  constructor(private readonly opts: SenderOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Ends a backoff wait early (e.g. once registration completes). */
  poke(): void {
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        if (this.wake === done) this.wake = null;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    const { metrics } = this.opts;
    while (this.running) {
      try {
        await this.once();
      } catch (err) {
        // A buffer read error (a segment dropped by the bound mid-read, a disk fault): count, wait, go on.
        metrics.retries.inc({ reason: 'buffer_read' });
        this.opts.onError?.('buffer_read', (err as Error).message);
        await this.sleep(1000);
      }
    }
  }

  private async once(): Promise<void> {
    const { buffer, metrics } = this.opts;
    const rec = await buffer.peek();
    if (rec === null) {
      await buffer.waitForData(1000);
      return;
    }
    const dest = this.opts.destination();
    if (dest === null) {
      metrics.retries.inc({ reason: 'no_identity' });
      await this.sleep(1000);
      return;
    }
    let status: number | undefined;
    let retryAfter: string | null = null;
    let detail = '';
    let tlsFailed = false;
    try {
      const headers: Record<string, string> = { ...REMOTE_WRITE_HEADERS };
      if (dest.token !== undefined) headers.Authorization = `Bearer ${dest.token}`;
      const tls = this.opts.tls !== undefined && dest.url.startsWith('https:') ? { httpsAgent: this.opts.tls.agent() } : {};
      const res = await httpRequest(dest.url, { method: 'POST', headers, body: rec.payload, timeoutMs: this.opts.timeoutMs, maxBytes: 64 * 1024, ...tls });
      status = res.status;
      retryAfter = res.header('retry-after') ?? null;
      detail = status >= 300 ? res.text().slice(0, 512) : '';
    } catch (err) {
      tlsFailed = TlsClient.isTlsError(err);
      detail = tlsFailed && this.opts.tls !== undefined ? this.opts.tls.explain(err, dest.url) : (err as Error).message;
    }
    let outcome = classifySend(status, retryAfter, this.attempt, this.opts.backoff, Math.random(), Date.now());
    // A TLS failure is not a passing network fault: counted apart, retried at the longest backoff (the data stays buffered).
    if (tlsFailed && outcome.kind === 'retryable') outcome = { kind: 'retryable', reason: 'tls', afterMs: Math.max(outcome.afterMs, this.opts.backoff.maxMs) };
    if (outcome.kind === 'ok') {
      this.attempt = 0;
      await buffer.commit();
      metrics.recordsSent.inc();
      metrics.bytesSent.inc(rec.payload.length);
      metrics.lastSend.set(Date.now() / 1000);
    } else if (outcome.kind === 'failed') {
      this.attempt = 0;
      await buffer.commit();
      metrics.recordsFailed.inc({ reason: outcome.reason });
      this.opts.onError?.(outcome.reason, detail);
    } else {
      this.attempt++;
      metrics.retries.inc({ reason: outcome.reason });
      this.opts.onError?.(outcome.reason, detail);
      await this.sleep(outcome.afterMs);
    }
  }
}
