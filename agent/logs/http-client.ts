// Ships a batch as JSON lines to the collector's POST /api/v1/logs with the
// site token; 200 is the acknowledgement (the collector answers only once
// the batch is durable). Over the agent's node:http(s) client (no undici),
// with a CA and a client certificate for https:// (../tls.ts).
import { Decoder, ExtensionCodec } from '@msgpack/msgpack';
import { httpRequest } from '../http.js';
import { TlsClient } from '../tls.js';
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

  private readonly tls: TlsClient;

  constructor(private readonly cfg: HttpOutput) {
    this.tls = new TlsClient('logs.output.http', { ca_file: cfg.ca_file, cert_file: cfg.cert_file, key_file: cfg.key_file }, undefined);
  }

  async send(tag: string, _count: number, entries: Buffer): Promise<void> {
    let body = '';
    for (const e of this.decoder.decodeMulti(entries)) {
      const [t, rec] = e as [{ sec: number; nsec: number }, Record<string, unknown>];
      const iso = `${new Date(t.sec * 1000).toISOString().slice(0, 19)}.${String(t.nsec).padStart(9, '0')}Z`;
      body += `${JSON.stringify({ '@timestamp': iso, tag, ...rec })}\n`;
    }
    const url = this.cfg.url;
    let res;
    try {
      const agent = url.startsWith('https:') ? { httpsAgent: this.tls.agent() } : {};
      res = await httpRequest(url, { method: 'POST', headers: { Authorization: `Bearer ${this.cfg.token}`, 'Content-Type': 'application/x-ndjson' }, body, timeoutMs: this.cfg.timeout, maxBytes: 64 * 1024, ...agent });
    } catch (err) {
      if (TlsClient.isTlsError(err)) throw new Error(this.tls.explain(err, url), { cause: err });
      throw err;
    }
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.text().slice(0, 300)}`);
  }

  close(): void {}
}
