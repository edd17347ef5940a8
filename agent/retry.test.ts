import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, classifySend, parseRetryAfter } from './retry.js';

const B = { minMs: 100, maxMs: 5000 };

test('classifySend, by status', () => {
  const table: [number | undefined, string | null, string, string?][] = [
    [204, null, 'ok'],
    [200, null, 'ok'],
    [undefined, null, 'retryable', 'network'],
    [500, null, 'retryable', 'http_500'],
    [503, '2', 'retryable', 'http_503'],
    [429, null, 'retryable', 'rate_limited'],
    [401, null, 'retryable', 'http_401'],
    [403, null, 'retryable', 'http_403'],
    [400, null, 'failed', 'http_400'],
    [404, null, 'failed', 'http_404'],
    [413, null, 'failed', 'http_413'],
  ];
  for (const [status, ra, kind, reason] of table) {
    const o = classifySend(status, ra, 0, B, 0.5, 0);
    assert.equal(o.kind, kind, `${status}`);
    if (reason !== undefined) assert.equal((o as { reason: string }).reason, reason, `${status}`);
  }
  const ra = classifySend(503, '2', 0, B, 0.5, 0);
  assert.equal(ra.kind === 'retryable' && ra.afterMs, 2000, 'Retry-After wins');
  const capped = classifySend(503, '3600', 0, B, 0.5, 0);
  assert.equal(capped.kind === 'retryable' && capped.afterMs, 50_000, 'within 10x the backoff cap');
});

test('backoff grows, is capped, never under the minimum', () => {
  assert.equal(backoffMs(0, B, 0), 100);
  assert.equal(backoffMs(3, B, 0.999), 799);
  assert.equal(backoffMs(30, B, 0.999), 4995);
});

test('Retry-After as seconds or an HTTP date', () => {
  assert.equal(parseRetryAfter('5', 0), 5000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 0), 10_000);
  assert.equal(parseRetryAfter('-1', 0), undefined);
  assert.equal(parseRetryAfter(null, 0), undefined);
});
