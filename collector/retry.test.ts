import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_BACKOFF, backoffMs, classifySend, parseRetryAfter } from './retry.js';

const NOW = Date.parse('2026-11-22T10:00:00Z');

// [status, Retry-After, attempt, random] → outcome
const rows: [number | undefined, string | undefined, number, number, ReturnType<typeof classifySend>][] = [
  [200, undefined, 0, 0.5, { kind: 'ok' }],
  [204, undefined, 3, 0.5, { kind: 'ok' }],
  [undefined, undefined, 0, 0.5, { kind: 'retryable', afterMs: 30, reason: 'network' }],
  [undefined, undefined, 4, 0.5, { kind: 'retryable', afterMs: 240, reason: 'network' }],
  [500, undefined, 1, 0.5, { kind: 'retryable', afterMs: 30, reason: 'http_500' }],
  [503, undefined, 20, 0.99, { kind: 'retryable', afterMs: 4950, reason: 'http_503' }],
  [429, '2', 0, 0.5, { kind: 'retryable', afterMs: 2000, reason: 'rate_limited' }],
  [429, 'Sun, 22 Nov 2026 10:00:07 GMT', 0, 0.5, { kind: 'retryable', afterMs: 7000, reason: 'rate_limited' }],
  [503, '100000', 0, 0.5, { kind: 'retryable', afterMs: 50_000, reason: 'http_503' }],
  [503, 'soon', 2, 0.5, { kind: 'retryable', afterMs: 60, reason: 'http_503' }],
  [400, undefined, 0, 0.5, { kind: 'failed', reason: 'http_400' }],
  [404, '5', 0, 0.5, { kind: 'failed', reason: 'http_404' }],
  [413, undefined, 0, 0.5, { kind: 'failed', reason: 'http_413' }],
];

for (const [status, retryAfter, attempt, random, want] of rows) {
  test(`send outcome: status ${status} retry-after ${retryAfter} attempt ${attempt}`, () => {
    assert.deepEqual(classifySend(status, retryAfter, attempt, DEFAULT_BACKOFF, random, NOW), want);
  });
}

test('backoff grows exponentially to the cap, jittered, never below the minimum', () => {
  assert.equal(backoffMs(0, { minMs: 100, maxMs: 10_000 }, 0), 100);
  assert.equal(backoffMs(3, { minMs: 100, maxMs: 10_000 }, 0.999), 799);
  assert.equal(backoffMs(50, { minMs: 100, maxMs: 10_000 }, 0.999), 9990);
});

test('Retry-After: seconds, HTTP dates, garbage', () => {
  assert.equal(parseRetryAfter('3', NOW), 3000);
  assert.equal(parseRetryAfter('Sun, 22 Nov 2026 09:59:00 GMT', NOW), 0);
  assert.equal(parseRetryAfter('', NOW), undefined);
  assert.equal(parseRetryAfter('-1', NOW), undefined);
  assert.equal(parseRetryAfter(undefined, NOW), undefined);
});
