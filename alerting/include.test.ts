// `include`: Elasticsearch _source filtering as ElastAlert's get_hits asks for it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileInclude } from './include.js';
import { compileRule } from './rule.js';
import { prepareDoc } from './engine.js';

const DOC = {
  '@timestamp': '2024-03-01T00:00:00Z',
  host: 'web-1',
  hostname: 'web-1.example',
  level: 'error',
  http: { status: 500, method: 'GET', headers: { ua: 'curl' } },
  'kube.pod': 'api-1',
  tags: [{ name: 'a', v: 1 }, { name: 'b', v: 2 }, 'loose'],
};

const CASES: { patterns: string[]; want: Record<string, unknown> | 'same' }[] = [
  { patterns: ['*'], want: 'same' },
  { patterns: ['host'], want: { host: 'web-1' } },
  { patterns: ['host*'], want: { host: 'web-1', hostname: 'web-1.example' } },
  { patterns: ['http'], want: { http: DOC.http } },
  { patterns: ['http.status'], want: { http: { status: 500 } } },
  { patterns: ['http.*'], want: { http: DOC.http } },
  { patterns: ['http.headers.ua', 'level'], want: { level: 'error', http: { headers: { ua: 'curl' } } } },
  { patterns: ['*.ua'], want: { http: { headers: { ua: 'curl' } } } },
  { patterns: ['kube.pod'], want: { 'kube.pod': 'api-1' } },
  { patterns: ['tags.name'], want: { tags: [{ name: 'a' }, { name: 'b' }] } },
  { patterns: ['http.nothing'], want: {} },
  { patterns: ['nothing'], want: {} },
];

for (const c of CASES) {
  test(`include ${JSON.stringify(c.patterns)}`, () => {
    const f = compileInclude(c.patterns);
    if (c.want === 'same') {
      assert.equal(f, null, "'*' keeps the record as it is");
      return;
    }
    assert.notEqual(f, null);
    assert.deepEqual(f?.apply(DOC), c.want);
  });
}

function rule(o: Record<string, unknown>) {
  return compileRule('t.yaml', { name: 'r', index: 'i', alert: 'debug', type: 'any', ...o });
}

test("a rule's include gets query_key, compare_key, compound keys, top_count_keys, timestamp_field, re and site (loaders.py, plus the label schema's fields)", () => {
  const doc = { '@timestamp': 'T', a: 1, b: 2, c: 3, d: 4, e: 5, re: 'eu', site: 's1', x: 9, y: 10 };
  assert.deepEqual(prepareDoc(rule({ include: ['x'] }), doc), { '@timestamp': 'T', re: 'eu', site: 's1', x: 9 });
  assert.deepEqual(prepareDoc(rule({ include: ['x'], query_key: 'a', top_count_keys: ['b'] }), doc), { '@timestamp': 'T', a: 1, b: 2, re: 'eu', site: 's1', x: 9 });
  assert.deepEqual(prepareDoc(rule({ type: 'change', include: ['x'], query_key: ['a', 'b'], compare_key: ['c', 'd'], ignore_null: true }), doc), { '@timestamp': 'T', a: 1, b: 2, c: 3, d: 4, re: 'eu', site: 's1', x: 9, 'a,b': '1, 2' });
  assert.deepEqual(prepareDoc(rule({ include: ['x'], aggregation_key: ['y', 'e'], aggregation: { minutes: 1 } }), doc), { '@timestamp': 'T', e: 5, re: 'eu', site: 's1', x: 9, y: 10, 'y,e': '10, 5' });
  assert.deepEqual(prepareDoc(rule({ include: ['x'], timestamp_field: 'd' }), doc), { d: 4, re: 'eu', site: 's1', x: 9 });
  assert.equal(prepareDoc(rule({}), doc), doc, 'no include: the record as it is');
  assert.deepEqual(prepareDoc(rule({ include: ['*', 'x'] }), doc), doc);
});

test('the aggregation types see whole records (ElastAlert answers them from aggregations, not _source)', () => {
  const doc = { '@timestamp': 'T', cpu: 3, x: 1 };
  const r = rule({ type: 'metric_aggregation', include: ['x'], metric_agg_key: 'cpu', metric_agg_type: 'max', max_threshold: 1 });
  assert.deepEqual(prepareDoc(r, doc), doc);
});
