// What to do with one bulk item's answer, as one pure function (see the
// bulk API: https://www.elastic.co/guide/en/elasticsearch/reference/8.11/docs-bulk.html#bulk-api-response-body).
//  - 2xx: stored.
//  - 409 on `create`: the document with this id already exists, i.e. an
//    earlier send of ours (after a crash or a lost answer) got through.
//    Deterministic ids make that the same document: stored.
//  - 429 and 5xx: retried with backoff (the node was busy or failed).
//  - any other 4xx (mapping conflicts, bad documents): refused for good; the
//    record goes to the dead-letter file with the reason.

export type ItemOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'retry'; readonly reason: string }
  | { readonly kind: 'dead'; readonly reason: string; readonly message: string };

export function classifyItem(op: 'index' | 'create', status: number | undefined, error: { type?: unknown; reason?: unknown } | undefined): ItemOutcome {
  if (status === undefined) return { kind: 'retry', reason: 'missing_item' };
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 409 && op === 'create') return { kind: 'ok' };
  if (status === 429) return { kind: 'retry', reason: 'rate_limited' };
  if (status >= 500) return { kind: 'retry', reason: `http_${status}` };
  const type = typeof error?.type === 'string' ? error.type : `http_${status}`;
  return { kind: 'dead', reason: type, message: typeof error?.reason === 'string' ? error.reason : '' };
}

export type RequestOutcome =
  | { readonly kind: 'items' }
  | { readonly kind: 'retry'; readonly reason: string }
  | { readonly kind: 'split' }
  | { readonly kind: 'dead'; readonly reason: string };

/** A whole bulk request's answer: `status` undefined when no response came (network, timeout). */
export function classifyRequest(status: number | undefined): RequestOutcome {
  if (status === undefined) return { kind: 'retry', reason: 'network' };
  if (status >= 200 && status < 300) return { kind: 'items' };
  if (status === 413) return { kind: 'split' };
  if (status === 429) return { kind: 'retry', reason: 'rate_limited' };
  // 401/403 are a credentials problem on our side, not the documents': keep them and retry.
  if (status >= 500 || status === 401 || status === 403 || status === 408) return { kind: 'retry', reason: `http_${status}` };
  return { kind: 'dead', reason: `http_${status}` };
}
