// One HTTP(S) POST for the remote-write sender, over a keep-alive agent per
// target, so that a target's TLS settings (its CA, a client certificate for
// mTLS, the server name) apply: fetch() in Node 20 takes no TLS options.
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface TlsClientConfig {
  readonly ca_file?: string | undefined;
  readonly cert_file?: string | undefined;
  readonly key_file?: string | undefined;
  readonly server_name?: string | undefined;
  readonly insecure_skip_verify?: boolean | undefined;
}

export interface PostResponse {
  readonly status: number;
  readonly retryAfter: string | null;
  /** The first 512 bytes of the body, as text: for logs. */
  readonly text: string;
}

export class HttpPoster {
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly url: URL;

  constructor(url: string, tls: TlsClientConfig | undefined) {
    this.url = new URL(url);
    if (this.url.protocol === 'https:') {
      this.agent = new HttpsAgent({
        keepAlive: true,
        ...(tls?.ca_file ? { ca: readFileSync(tls.ca_file) } : {}),
        ...(tls?.cert_file ? { cert: readFileSync(tls.cert_file) } : {}),
        ...(tls?.key_file ? { key: readFileSync(tls.key_file) } : {}),
        ...(tls?.server_name ? { servername: tls.server_name } : {}),
        rejectUnauthorized: tls?.insecure_skip_verify !== true,
      });
    } else this.agent = new HttpAgent({ keepAlive: true });
  }

  /** POSTs `body`, or the concatenation of its parts written one after another (no joined copy is made). */
  post(headers: Record<string, string>, body: Buffer | readonly Buffer[], signal: AbortSignal): Promise<PostResponse> {
    const request = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const parts = Buffer.isBuffer(body) ? [body] : body;
    let length = 0;
    for (const p of parts) length += p.length;
    return new Promise((resolve, reject) => {
      const req = request(this.url, { method: 'POST', agent: this.agent, headers: { ...headers, 'Content-Length': String(length) }, signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < 512) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          const ra = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, retryAfter: typeof ra === 'string' ? ra : null, text: Buffer.concat(chunks).toString('utf8').slice(0, 512) });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      // Corked: the pieces go out together (one writev), not as a packet each.
      req.cork();
      for (let i = 0; i < parts.length - 1; i++) req.write(parts[i] as Buffer);
      req.end(parts[parts.length - 1]);
      req.uncork();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
