// What to do with a remote-write response, as one pure function. Outcomes
// are data, not exceptions: {ok} | {retryable, afterMs} | {failed, reason}
// (OpenTelemetry JS export-response.ts; Prometheus's RecoverableError).
// The remote-write spec: 5xx and 429 are retried with backoff, honouring
// Retry-After; other 4xx are not: the data is dropped and counted.

export type SendOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'retryable'; readonly afterMs: number; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string };

export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { minMs: 30, maxMs: 5000 };

/** Exponential backoff with full jitter, for the `attempt`-th retry (0-based). `random` in [0,1). */
export function backoffMs(attempt: number, b: Backoff, random: number): number {
  const cap = Math.min(b.maxMs, b.minMs * 2 ** Math.min(attempt, 30));
  return Math.max(b.minMs, Math.floor(cap * random));
}

/** Retry-After as seconds or an HTTP date, in ms from `nowMs`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP date (RFC 9110: "Sun, 06 Nov 1994 08:49:37 GMT") always has letters; "-1" is not one.
  if (!/[A-Za-z]/.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * Classifies one attempt. `status` is the HTTP status, or undefined when the
 * request failed before a response (network error, timeout).
 */
export function classifySend(
  status: number | undefined,
  retryAfter: string | null | undefined,
  attempt: number,
  backoff: Backoff,
  random: number,
  nowMs: number,
): SendOutcome {
  if (status !== undefined && status >= 200 && status < 300) return { kind: 'ok' };
  const wait = backoffMs(attempt, backoff, random);
  if (status === undefined) return { kind: 'retryable', afterMs: wait, reason: 'network' };
  if (status === 429 || status >= 500) {
    const asked = parseRetryAfter(retryAfter, nowMs);
    // The receiver's Retry-After wins, within reason: never longer than the backoff cap ×10.
    const afterMs = asked === undefined ? wait : Math.min(Math.max(asked, backoff.minMs), backoff.maxMs * 10);
    return { kind: 'retryable', afterMs, reason: status === 429 ? 'rate_limited' : `http_${status}` };
  }
  return { kind: 'failed', reason: `http_${status}` };
}
