import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyItem, classifyRequest } from './bulk-outcome.js';

test('classifyItem: per-item bulk statuses', () => {
  const cases: [op: 'index' | 'create', status: number | undefined, type: string | undefined, want: string][] = [
    ['index', 201, undefined, 'ok'],
    ['index', 200, undefined, 'ok'],
    ['create', 409, 'version_conflict_engine_exception', 'ok'],
    ['index', 409, 'version_conflict_engine_exception', 'dead:version_conflict_engine_exception'],
    ['index', 429, 'es_rejected_execution_exception', 'retry:rate_limited'],
    ['index', 503, 'unavailable_shards_exception', 'retry:http_503'],
    ['index', 500, 'exception', 'retry:http_500'],
    ['index', 400, 'mapper_parsing_exception', 'dead:mapper_parsing_exception'],
    ['index', 400, 'document_parsing_exception', 'dead:document_parsing_exception'],
    ['create', 404, 'index_not_found_exception', 'dead:index_not_found_exception'],
    ['index', 400, undefined, 'dead:http_400'],
    ['index', undefined, undefined, 'retry:missing_item'],
  ];
  for (const [op, status, type, want] of cases) {
    const o = classifyItem(op, status, type === undefined ? undefined : { type, reason: 'r' });
    assert.equal(o.kind === 'ok' ? 'ok' : `${o.kind}:${o.reason}`, want, `${op} ${status} ${type}`);
  }
});

test('classifyRequest: whole-request statuses', () => {
  const cases: [number | undefined, string][] = [[200, 'items'], [undefined, 'retry'], [429, 'retry'], [502, 'retry'], [401, 'retry'], [413, 'split'], [400, 'dead'], [404, 'dead']];
  for (const [status, want] of cases) assert.equal(classifyRequest(status).kind, want, String(status));
});
