// Ships a batch as JSON lines to the collector's POST /api/v1/logs with the
// site token; 200 is the acknowledgement (the collector answers only once
// the batch is durable). A batch the collector refuses (413, 400: see
// ship-outcome.ts) is split or has the refused record dropped, so one bad
// record never blocks the spool; every part carries its own
// X-Fleetscope-Batch-Id, derived from the batch's and the part's range, so
// a resend after a failure repeats the same parts under the same ids.
// Over the agent's node:http(s) client (no undici), with a CA and a client
// certificate for https:// (../tls.ts).
import { Decoder, ExtensionCodec } from '@msgpack/msgpack';
import { httpRequest } from '../http.js';
import { TlsClient } from '../tls.js';
import type { HttpOutput } from './config.js';
import { classifyShipAnswer } from './ship-outcome.js';

const ext = new ExtensionCodec();
ext.register({
  type: 0,
  encode: () => null,
  decode: (d: Uint8Array) => {
    const dv = new DataView(d.buffer, d.byteOffset, 8);
    return { sec: dv.getUint32(0), nsec: dv.getUint32(4) };
  },
});

/** Records dropped from a batch, by reason (a batch otherwise delivered). */
export type ShipDrops = Map<string, number>;

/** A retryable failure (network, 401/403, 429, 5xx): the whole batch is sent again later. */
export class ShipRetry extends Error {}

export class HttpLinesClient {
  private readonly decoder = new Decoder({ extensionCodec: ext });

  private readonly tls: TlsClient;

  constructor(private readonly cfg: HttpOutput) {
    this.tls = new TlsClient('logs.output.http', { ca_file: cfg.ca_file, cert_file: cfg.cert_file, key_file: cfg.key_file }, undefined);
  }

  async send(tag: string, _count: number, entries: Buffer, batchId: string): Promise<ShipDrops> {
    const lines: string[] = [];
    for (const e of this.decoder.decodeMulti(entries)) {
      const [t, rec] = e as [{ sec: number; nsec: number }, Record<string, unknown>];
      const iso = `${new Date(t.sec * 1000).toISOString().slice(0, 19)}.${String(t.nsec).padStart(9, '0')}Z`;
      lines.push(`${JSON.stringify({ '@timestamp': iso, tag, ...rec })}\n`);
    }
    const drops: ShipDrops = new Map();
    await this.sendRange(lines, 0, lines.length, batchId, drops);
    return drops;
  }

  /** Sends lines[lo, hi): the whole batch under its own id, a part under `<id>:<lo>-<hi>`. */
  private async sendRange(lines: string[], lo: number, hi: number, batchId: string, drops: ShipDrops): Promise<void> {
    if (lo >= hi) return;
    const whole = lo === 0 && hi === lines.length;
    let status: number | undefined;
    let text = '';
    const url = this.cfg.url;
    try {
      const agent = url.startsWith('https:') ? { httpsAgent: this.tls.agent() } : {};
      const res = await httpRequest(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.cfg.token}`, 'Content-Type': 'application/x-ndjson', 'X-Fleetscope-Batch-Id': whole ? batchId : `${batchId}:${lo}-${hi}` },
        body: lines.slice(lo, hi).join(''),
        timeoutMs: this.cfg.timeout,
        maxBytes: 64 * 1024,
        ...agent,
      });
      status = res.status;
      text = res.text();
    } catch (err) {
      // Not durable anywhere: kept in the spool and sent again, whatever went wrong on the way.
      if (TlsClient.isTlsError(err)) throw new ShipRetry(this.tls.explain(err, url), { cause: err });
      throw new ShipRetry(`no answer: ${(err as Error).message}`, { cause: err });
    }
    const out = classifyShipAnswer(status, text);
    if (out.kind === 'ok') return;
    if (out.kind === 'retry') throw new ShipRetry(`HTTP ${status} (${out.reason}): ${text.slice(0, 300)}`);
    const drop = (reason: string): void => {
      drops.set(reason, (drops.get(reason) ?? 0) + 1);
    };
    if (hi - lo === 1) {
      drop(out.reason);
      return;
    }
    if (out.kind === 'reject' && out.line !== undefined && out.line >= 1 && out.line <= hi - lo) {
      const bad = lo + out.line - 1;
      drop(out.reason);
      await this.sendRange(lines, lo, bad, batchId, drops);
      await this.sendRange(lines, bad + 1, hi, batchId, drops);
      return;
    }
    const mid = lo + Math.ceil((hi - lo) / 2);
    await this.sendRange(lines, lo, mid, batchId, drops);
    await this.sendRange(lines, mid, hi, batchId, drops);
  }

  close(): void {}
}
