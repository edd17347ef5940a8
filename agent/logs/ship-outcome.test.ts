import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyShipAnswer } from './ship-outcome.js';

test('what the shipper does with each answer', () => {
  const line3 = JSON.stringify({ code: 'FS_COLLECTOR_LOGS_JSON_LINES_SYNTAX', message: 'line 3: not a JSON object' });
  const cases: [number | undefined, string, unknown][] = [
    [200, '{"accepted":2,"dropped":0}', { kind: 'ok' }],
    [204, '', { kind: 'ok' }],
    [413, '{}', { kind: 'split', reason: 'too_large' }],
    [400, line3, { kind: 'reject', reason: 'rejected', line: 3 }],
    [400, 'Bad Request', { kind: 'reject', reason: 'rejected', line: undefined }],
    [422, '{"message":"no line"}', { kind: 'reject', reason: 'rejected', line: undefined }],
    [401, '{}', { kind: 'retry', reason: 'http_401' }],
    [403, '{}', { kind: 'retry', reason: 'http_403' }],
    [429, '{}', { kind: 'retry', reason: 'rate_limited' }],
    [503, '{}', { kind: 'retry', reason: 'http_503' }],
    [404, '{}', { kind: 'retry', reason: 'http_404' }],
    [undefined, '', { kind: 'retry', reason: 'network' }],
  ];
  for (const [status, body, want] of cases) assert.deepEqual(classifyShipAnswer(status, body), want, `${status} ${body}`);
});
