// What the shipper does with the collector's answer to one HTTP batch, as
// one pure function. The JSON-lines endpoint takes a body whole or not at
// all, and names the first line it refuses (collector/logs/http.ts), so:
//  - 2xx: taken.
//  - 413 (body, lines or a line over the collector's limits): split in
//    halves and send each; a single record still refused is dropped
//    (`too_large`).
//  - 400 and 422 (the collector refused a line): the line it names is
//    dropped (`rejected`) and the rest sent again; without a line number,
//    split until the refused record is alone.
//  - 401 and 403: retried with backoff, never dropped: the site's identity
//    may be renewed (a re-registration) while the batch waits.
//  - 408, 429, 5xx, any other answer, no answer: retried with backoff (404
//    and 405 included: a wrong URL is a configuration to fix, not data to drop).

export type ShipOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'split'; readonly reason: 'too_large' }
  | { readonly kind: 'reject'; readonly reason: 'rejected'; readonly line: number | undefined }
  | { readonly kind: 'retry'; readonly reason: string };

/** Drop reasons (metric label `reason`). */
export const SHIP_DROP_TOO_LARGE = 'too_large';
export const SHIP_DROP_REJECTED = 'rejected';

export function classifyShipAnswer(status: number | undefined, body: string): ShipOutcome {
  if (status === undefined) return { kind: 'retry', reason: 'network' };
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 413) return { kind: 'split', reason: SHIP_DROP_TOO_LARGE };
  if (status === 400 || status === 422) {
    let line: number | undefined;
    try {
      const m = /^line (\d+)\b/.exec(String((JSON.parse(body) as { message?: unknown }).message ?? ''));
      if (m) line = Number(m[1]);
    } catch {
      // not the collector's JSON: no line named
    }
    return { kind: 'reject', reason: SHIP_DROP_REJECTED, line };
  }
  if (status === 401 || status === 403) return { kind: 'retry', reason: `http_${status}` };
  return { kind: 'retry', reason: status === 429 ? 'rate_limited' : `http_${status}` };
}
