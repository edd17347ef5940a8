// The push route, POST /api/v1/write, served by Node's own HTTP server ahead
// of fastify (which keeps every other route). Here a push's headers are
// judged before its body is buffered: a sender without an identity, or one
// declaring a body over the limit, no longer makes the collector hold up to
// limits.max_body_bytes first. A body with a Content-Length is read straight
// into one buffer of its own, which the push worker takes without a copy.
// Cost: a bare Node server took 77-103 us of CPU per 258 KB push where
// fastify's cycle (routing, a child logger, the content-type parser's chunk
// list, reply hooks) took 270-530 us, with the server saturated; at the
// issue's load (400k samples/s) the collector's CPU moved by ~1%, within
// the bench's noise (collector/README, "Speed").
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CollectorError } from './errors.js';

export const PUSH_PATH = '/api/v1/write';

/** Whether fastify should not see this request: a POST to the push path (with or without a query). */
export function isPush(req: IncomingMessage): boolean {
  if (req.method !== 'POST') return false;
  const url = req.url ?? '';
  return url.length === PUSH_PATH.length ? url === PUSH_PATH : url.startsWith(PUSH_PATH) && url.charCodeAt(PUSH_PATH.length) === 0x3f /* ? */;
}

/** A refusal: the status and the message the sender gets as `{"error": …}`. */
export interface Refusal {
  readonly status: number;
  readonly error: string;
  /** Answer with Connection: close: the rest of the body is not worth reading. */
  readonly close?: boolean;
}

/**
 * The request's body, at most `limit` bytes; a refusal (413) past that,
 * declared or sent; null when the sender went away before the end (nothing
 * to answer). With a Content-Length the buffer is allocated once, unpooled,
 * and spans its ArrayBuffer (transferable to a worker); a chunked body is
 * gathered and copied once at the end.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | Refusal | null> {
  const declared = req.headers['content-length'];
  // Node's parser has already refused a Content-Length that is not a number (400).
  const length = declared === undefined ? -1 : Number(declared);
  if (length > limit) return Promise.resolve(tooLarge(length, limit));
  return new Promise((resolve) => {
    const whole = length >= 0 ? Buffer.allocUnsafeSlow(length) : null;
    const chunks: Buffer[] = [];
    let got = 0;
    let settled = false;
    const settle = (v: Buffer | Refusal | null): void => {
      if (settled) return;
      settled = true;
      req.removeListener('data', onData);
      resolve(v);
    };
    const onData = (chunk: Buffer): void => {
      if (got + chunk.length > (whole === null ? limit : whole.length)) {
        // Only a chunked body can get here (Node's parser stops a sized one at its length),
        // and it may not end: the connection closes after the answer.
        settle({ ...tooLarge(got + chunk.length, limit), close: true });
        return;
      }
      if (whole === null) chunks.push(chunk);
      else chunk.copy(whole, got);
      got += chunk.length;
    };
    req.on('data', onData);
    req.once('end', () => settle(whole ?? Buffer.concat(chunks, got)));
    req.once('error', () => settle(null));
    req.once('close', () => {
      if (!req.complete) settle(null);
    });
  });
}

function tooLarge(bytes: number, limit: number): Refusal {
  return { status: 413, error: new CollectorError('FS_COLLECTOR_BODY_TOO_LARGE', [bytes, limit]).message };
}

/**
 * Answers a push: 204 with no body, or the status with `{"error": …}`.
 * `close` (the collector is stopping) asks the sender to connect again,
 * to another replica. A refusal sent before the body was read keeps the
 * connection: Node reads the rest of the body and drops it, so the sender
 * sees the answer rather than a reset mid-upload.
 */
export function answer(res: ServerResponse, status: number, error?: string, close = false): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = close ? { connection: 'close' } : {};
  if (status === 204 || error === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const json = JSON.stringify({ error });
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) }).end(json);
}
