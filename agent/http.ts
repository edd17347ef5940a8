// The agent's one HTTP client, on node:http/https rather than the global
// fetch: fetch loads undici, ~12 MB of resident memory an edge agent does
// not need to spend (DESIGN: < 100 MB). Whole-request timeout, an abort
// signal, a response size limit, keep-alive, and an optional scratch buffer
// the response body is read into and reused (the scrape path).
import { Agent as HttpAgent, type IncomingHttpHeaders, request as httpRequestRaw } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequestRaw } from 'node:https';

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 8 });

export interface HttpOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
  readonly timeoutMs: number;
  /** Larger responses fail the request. */
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
  /** Read the body into this buffer (grown as needed) instead of a new one. */
  readonly scratch?: { buf: Buffer };
  /** For https: the agent carrying the CA and client certificate (tls.ts); the shared default otherwise. */
  readonly httpsAgent?: HttpsAgent;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body; with a scratch buffer, a view of it valid until the next request with that buffer. */
  readonly body: Buffer;
  header(name: string): string | undefined;
  text(): string;
}

export class HttpError extends Error {}

export function httpRequest(url: string, opts: HttpOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new HttpError(`invalid URL ${url}`));
      return;
    }
    const https = u.protocol === 'https:';
    if (!https && u.protocol !== 'http:') {
      reject(new HttpError(`unsupported protocol ${u.protocol}`));
      return;
    }
    if (opts.signal?.aborted) {
      reject(new HttpError('aborted'));
      return;
    }
    const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body;
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (body !== undefined) headers['Content-Length'] = String(body.length);
    const req = (https ? httpsRequestRaw : httpRequestRaw)(u, { method: opts.method ?? 'GET', headers, agent: https ? (opts.httpsAgent ?? httpsAgent) : httpAgent });
    let done = false;
    const finish = (err: Error | null, res?: HttpResponse): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err !== null) {
        req.destroy();
        reject(err);
      } else resolve(res as HttpResponse);
    };
    const timer = setTimeout(() => finish(new HttpError(`timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs);
    const onAbort = (): void => finish(new HttpError('aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => finish(err));
    req.on('response', (res) => {
      const len = Number(res.headers['content-length'] ?? NaN);
      if (len > opts.maxBytes) {
        finish(new HttpError(`response of ${len} bytes is over the limit of ${opts.maxBytes}`));
        return;
      }
      const scratch = opts.scratch;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size + c.length > opts.maxBytes) {
          finish(new HttpError(`response is over the limit of ${opts.maxBytes} bytes`));
          return;
        }
        if (scratch !== undefined) {
          if (size + c.length > scratch.buf.length) {
            const grown = Buffer.allocUnsafe(Math.max(scratch.buf.length * 2, size + c.length));
            scratch.buf.copy(grown, 0, 0, size);
            scratch.buf = grown;
          }
          c.copy(scratch.buf, size);
        } else chunks.push(c);
        size += c.length;
      });
      res.on('error', (err) => finish(err));
      res.on('end', () => {
        const buf = scratch !== undefined ? scratch.buf.subarray(0, size) : Buffer.concat(chunks, size);
        finish(null, {
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: buf,
          header(name) {
            const v = res.headers[name.toLowerCase()];
            return Array.isArray(v) ? v.join(', ') : v;
          },
          text: () => buf.toString('utf8'),
        });
      });
    });
    req.end(body);
  });
}
