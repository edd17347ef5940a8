// What to do with a remote-write response, as one pure function. Outcomes
// are data: {ok} | {retryable, afterMs} | {failed, reason}. The remote-write
// spec: 5xx and 429 are retried with backoff (honouring Retry-After); other
// 4xx are not, and the record is dropped and counted. (The same rules as the
// collector's sender; agent/ may not import collector/.)

export type SendOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'retryable'; readonly afterMs: number; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string };

export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
}

/** Exponential backoff with full jitter for the `attempt`-th retry (0-based); `random` in [0,1). */
export function backoffMs(attempt: number, b: Backoff, random: number): number {
  const cap = Math.min(b.maxMs, b.minMs * 2 ** Math.min(attempt, 30));
  return Math.max(b.minMs, Math.floor(cap * random));
}

/** Retry-After in seconds or as an HTTP date, in ms from nowMs; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/[A-Za-z]/.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Classifies one attempt; `status` undefined means no response (network error, timeout). */
export function classifySend(status: number | undefined, retryAfter: string | null | undefined, attempt: number, backoff: Backoff, random: number, nowMs: number): SendOutcome {
  if (status !== undefined && status >= 200 && status < 300) return { kind: 'ok' };
  const wait = backoffMs(attempt, backoff, random);
  if (status === undefined) return { kind: 'retryable', afterMs: wait, reason: 'network' };
  if (status === 429 || status >= 500) {
    const asked = parseRetryAfter(retryAfter, nowMs);
    const afterMs = asked === undefined ? wait : Math.min(Math.max(asked, backoff.minMs), backoff.maxMs * 10);
    return { kind: 'retryable', afterMs, reason: status === 429 ? 'rate_limited' : `http_${status}` };
  }
  // 401/403: the identity is not (or no longer) accepted; dropping would lose
  // data for what is usually a registration race or a rotated key, so keep it.
  if (status === 401 || status === 403) return { kind: 'retryable', afterMs: Math.max(wait, backoff.maxMs), reason: `http_${status}` };
  return { kind: 'failed', reason: `http_${status}` };
}
