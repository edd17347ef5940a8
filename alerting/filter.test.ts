// Filters, table-driven, per Elasticsearch's documented query semantics for
// dynamically mapped fields (strings: analysed text + exact .keyword).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileFilter } from './filter.js';
import { parseLucene } from './lucene.js';
import { AlertingError } from './errors.js';

const DOC = {
  '@timestamp': '2024-03-01T10:00:00Z',
  level: 'ERROR',
  message: 'Connection refused by upstream web-01',
  host: { name: 'web-01', ip: '10.0.0.1' },
  status: 503,
  latency: 1.5,
  ok: false,
  tags: ['prod', 'eu-west'],
  'kubernetes.pod': 'api-7f9',
  user: null,
  empty: [],
  events: [{ code: 'E1' }, { code: 'E2' }],
};
const NOW = Date.parse('2024-03-01T10:05:00Z');

const QS: readonly [string, boolean][] = [
  ['level:error', true], // text field: analysed, lowercase tokens
  ['level:ERROR', true],
  ['level.keyword:ERROR', true],
  ['level.keyword:error', false], // keyword: exact
  ['message:refused', true],
  ['message:"connection refused"', true],
  ['message:"refused connection"', false],
  ['message:conn*', true],
  ['message:Conn*', true], // wildcard terms are normalised on text fields
  ['message.keyword:Conn*', true],
  ['message.keyword:conn*', false],
  ['message:re?used', true],
  ['message:/ref.*/', true],
  ['host.name:web-01', true],
  ['host.name:"web-01"', true],
  ['host.name.keyword:web-02', false],
  ['status:503', true],
  ['status:[500 TO 599]', true],
  ['status:{503 TO 600]', false],
  ['status:>=503', true],
  ['status:>503', false],
  ['status:<600', true],
  ['latency:[1 TO 2}', true],
  ['status:[* TO 500]', false],
  ['@timestamp:[2024-03-01 TO 2024-03-02]', true],
  ['@timestamp:[now-10m TO now]', true],
  ['@timestamp:[now-1m TO now]', false],
  ['ok:false', true],
  ['ok:true', false],
  ['tags:prod', true],
  ['tags:eu', true],
  ['tags.keyword:eu', false],
  ['events.code:E2', true],
  ['kubernetes.pod:api*', true],
  ['_exists_:host.name', true],
  ['_exists_:user', false], // null is not indexed
  ['_exists_:empty', false],
  ['_exists_:nope', false],
  ['NOT _exists_:nope', true],
  ['level:error AND status:503', true],
  ['level:error AND status:200', false],
  ['level:error && status:200', false],
  ['level:info OR status:503', true],
  ['level:info || status:200', false],
  ['NOT level:info', true],
  ['!level:error', false],
  ['-level:error', false],
  ['level:error -status:503', false],
  ['+level:error status:200', true], // a MUST makes the SHOULD optional
  ['level:(info OR error)', true],
  ['level:(info OR warn)', false],
  ['(level:info OR level:error) AND NOT host.name:db*', true],
  ['(level:info OR level:error) AND host.name:db*', false],
  ['level:error AND status:200 OR ok:false', false], // Lucene: a MUST, b MUST, c SHOULD
  ['status:200 OR level:error AND ok:true', false],
  ['refused', true], // default field: every field
  ['"by upstream"', true],
  ['nothing_like_this', false],
  ['503', true],
  ['*', true],
  ['message:*', true],
  ['user:*', false],
  ['host.ip:10.0.0.1', true],
  ['message:web\\-01', true],
];

test('query_string: Lucene syntax with Elasticsearch semantics', () => {
  for (const [q, want] of QS) {
    const f = compileFilter([{ query_string: { query: q } }]);
    assert.equal(f.match(DOC, NOW), want, `query_string ${JSON.stringify(q)}`);
  }
});

const DSL: readonly [unknown, boolean][] = [
  [{ term: { status: 503 } }, true],
  [{ term: { status: '503' } }, true],
  [{ term: { level: 'ERROR' } }, false], // term is not analysed; the text field holds "error"
  [{ term: { level: 'error' } }, true],
  [{ term: { 'level.keyword': 'ERROR' } }, true],
  [{ term: { 'host.name.keyword': { value: 'web-01' } } }, true],
  [{ term: { ok: false } }, true],
  [{ terms: { 'level.keyword': ['WARN', 'ERROR'] } }, true],
  [{ terms: { status: [200, 404] } }, false],
  [{ range: { status: { gte: 500, lt: 600 } } }, true],
  [{ range: { status: { gt: 503 } } }, false],
  [{ range: { '@timestamp': { gte: 'now-10m' } } }, true],
  [{ range: { '@timestamp': { lt: '2024-03-01T09:00:00Z' } } }, false],
  [{ wildcard: { 'host.name.keyword': 'web-*' } }, true],
  [{ wildcard: { 'host.name.keyword': { value: 'WEB-*', case_insensitive: true } } }, true],
  [{ wildcard: { 'host.name.keyword': 'WEB-*' } }, false],
  [{ prefix: { 'kubernetes.pod.keyword': 'api-' } }, true],
  [{ regexp: { 'level.keyword': 'ERR.*' } }, true],
  [{ exists: { field: 'tags' } }, true],
  [{ exists: { field: 'user' } }, false],
  [{ match: { message: 'refused nothing' } }, true],
  [{ match: { message: { query: 'refused nothing', operator: 'and' } } }, false],
  [{ match_phrase: { message: 'refused by' } }, true],
  [{ bool: { must: [{ term: { status: 503 } }], must_not: [{ term: { level: 'info' } }] } }, true],
  [{ bool: { should: [{ term: { status: 200 } }, { term: { status: 404 } }] } }, false],
  [{ bool: { should: [{ term: { status: 200 } }, { term: { status: 503 } }] } }, true],
  [{ bool: { must: { term: { status: 503 } }, should: [{ term: { status: 200 } }] } }, true],
  [{ bool: { should: [{ term: { status: 503 } }, { term: { ok: false } }, { term: { level: 'x' } }], minimum_should_match: 2 } }, true],
  [{ bool: { should: [{ term: { status: 503 } }, { term: { level: 'x' } }], minimum_should_match: '100%' } }, false],
  [{ bool: { filter: [{ term: { status: 503 } }], must_not: { exists: { field: 'user' } } } }, true],
  [{ query: { query_string: { query: 'level:error' } } }, true],
  [{ not: { term: { status: 503 } } }, false],
  [{ missing: { field: 'user' } }, true],
  [{ query_string: { query: 'error upstream', default_operator: 'AND' } }, true],
  [{ query_string: { query: 'error nothing', default_operator: 'AND' } }, false],
  [{ query_string: { query: 'refused', default_field: 'level' } }, false],
  [{ match_all: {} }, true],
];

test('query DSL: term, terms, range, wildcard, exists, bool and the pre-ES5 forms', () => {
  for (const [q, want] of DSL) {
    assert.equal(compileFilter([q]).match(DOC, NOW), want, JSON.stringify(q));
  }
  // A filter list must all match.
  assert.equal(compileFilter([{ term: { status: 503 } }, { term: { ok: true } }]).match(DOC, NOW), false);
  assert.equal(compileFilter([]).match(DOC, NOW), true);
});

test('bad queries are errors that say what is wrong, never a crash', () => {
  for (const q of ['level:', 'level:(error', '(', 'a AND', 'OR b', 'status:[1 TO', '"open', 'x:/[/']) {
    assert.throws(() => compileFilter([{ query_string: { query: q } }]), (e: unknown) => e instanceof AlertingError && /query|regular|range|term|AND|OR|\)|phrase|field/.test(e.message), q);
  }
  assert.throws(() => compileFilter([{ fuzzy: { a: 'b' } }]), /unsupported query type fuzzy/);
  assert.throws(() => compileFilter([{ term: { a: 1 }, range: { b: {} } }]), /exactly one key/);
  assert.throws(() => parseLucene('('.repeat(100) + 'a' + ')'.repeat(100)), /too deep/);
});

test('index hints are necessary conditions', () => {
  const f = compileFilter([{ query_string: { query: 'level:error AND host.name:web*' } }, { term: { 'site.keyword': 's1' } }]);
  assert.deepEqual(f.hints.map((h) => h.field).sort(), ['level', 'site']);
  const or = compileFilter([{ query_string: { query: 'level:error OR level:warn' } }]);
  assert.deepEqual(or.hints, [{ field: 'level', keys: ['v:error', 't:error', 'v:warn', 't:warn'] }]);
  assert.equal(compileFilter([{ query_string: { query: 'level:error OR status:5' } }]).hints.length, 0);
});
