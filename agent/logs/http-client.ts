// Ships a batch as JSON lines to the collector's POST /api/v1/logs with the
// site token; 200 is the acknowledgement (the collector answers only once
// the batch is durable).
import { Decoder, ExtensionCodec } from '@msgpack/msgpack';
import type { HttpOutput } from './config.js';

const ext = new ExtensionCodec();
ext.register({
  type: 0,
  encode: () => null,
  decode: (d: Uint8Array) => {
    const dv = new DataView(d.buffer, d.byteOffset, 8);
    return { sec: dv.getUint32(0), nsec: dv.getUint32(4) };
  },
});

export class HttpLinesClient {
  private readonly decoder = new Decoder({ extensionCodec: ext });

  constructor(private readonly cfg: HttpOutput) {}

  async send(tag: string, _count: number, entries: Buffer, batchId: string): Promise<void> {
    let body = '';
    for (const e of this.decoder.decodeMulti(entries)) {
      const [t, rec] = e as [{ sec: number; nsec: number }, Record<string, unknown>];
      const iso = `${new Date(t.sec * 1000).toISOString().slice(0, 19)}.${String(t.nsec).padStart(9, '0')}Z`;
      body += `${JSON.stringify({ '@timestamp': iso, tag, ...rec })}\n`;
    }
    const res = await fetch(this.cfg.url, { method: 'POST', headers: { Authorization: `Bearer ${this.cfg.token}`, 'Content-Type': 'application/x-ndjson', 'X-Fleetscope-Batch-Id': batchId }, body, signal: AbortSignal.timeout(this.cfg.timeout) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
  }

  close(): void {}
}
