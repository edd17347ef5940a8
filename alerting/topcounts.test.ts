// top_count_keys (elastalert.py send_alert/get_top_counts/get_hits_terms):
// which records are counted, how buckets are ordered and named, on the stream.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Engine, type EngineMatch } from './engine.js';
import { compileRule } from './rule.js';

const T0 = Date.parse('2024-03-01T00:00:00Z');
const MIN = 60_000;

/**
 * `stream`: one-minute runs, as the service runs a rule; `all`: one run over
 * everything, as `rules test` and elastalert-test-rule run it.
 */
function run(o: Record<string, unknown>, docs: Record<string, unknown>[], mode: 'stream' | 'all'): EngineMatch[] {
  const out: EngineMatch[] = [];
  const e = new Engine({ runEveryMs: MIN, allowedLatenessMs: 0, onMatch: (m) => out.push(m) });
  e.setRules([compileRule('t.yaml', { name: 'r', index: 'i', alert: 'debug', realert: { minutes: 0 }, ...o })]);
  const recs = docs.map((d) => ({ timestampMs: d.t as number, tenant: String(d.tenant ?? 't'), site: '', doc: { ...d, '@timestamp': new Date(d.t as number).toISOString() } }));
  if (mode === 'all') {
    e.offerAll(recs);
    e.runAll();
  } else {
    e.offer(recs);
    e.advance(T0 + 120 * MIN);
  }
  return out;
}

const at = (m: number, d: Record<string, unknown>) => ({ t: T0 + m * MIN, ...d });

interface Case {
  name: string;
  rule: Record<string, unknown>;
  docs: Record<string, unknown>[];
  /** The first match's top_events fields. */
  want: Record<string, Record<string, number>>;
  /** Which match to look at (default the first). */
  nth?: number;
  mode?: 'stream' | 'all';
}

const CASES: Case[] = [
  {
    name: 'raw_count_keys (default): the .keyword sub-field, named so; counts over (match − 10 min, match + 10 min]',
    rule: { type: 'any', top_count_keys: ['host'] },
    // The match at minute 20 counts minutes 10 (excluded: the range is gt) … 30 (included), not 31.
    docs: [at(9, { host: 'a' }), at(10, { host: 'a' }), at(11, { host: 'b' }), at(20, { host: 'b', mark: 1 }), at(30, { host: 'c' }), at(31, { host: 'c' })],
    nth: 3,
    mode: 'all',
    want: { 'top_events_host.keyword': { b: 2, c: 1 } },
  },
  {
    name: 'on the stream a match is counted when its run ends: later records are not in yet (as in ElastAlert run live)',
    rule: { type: 'any', top_count_keys: ['host'] },
    docs: [at(9, { host: 'a' }), at(10, { host: 'a' }), at(11, { host: 'b' }), at(20, { host: 'b', mark: 1 }), at(20.5, { host: 'c' }), at(21, { host: 'c' })],
    nth: 3,
    mode: 'stream',
    want: { 'top_events_host.keyword': { b: 2, c: 1 } },
  },
  {
    name: 'timeframe sets how far back; counts ordered by count, then value; top_count_number keeps the first',
    rule: { type: 'frequency', num_events: 3, timeframe: { minutes: 2 }, top_count_keys: ['user'], top_count_number: 2 },
    docs: [at(0, { user: 'z' }), at(5, { user: 'x' }), at(5.5, { user: 'y' }), at(6, { user: 'x' })],
    want: { 'top_events_user.keyword': { x: 2, y: 1 } },
  },
  {
    name: 'ties: Elasticsearch orders equal counts by value',
    rule: { type: 'any', top_count_keys: ['user'], top_count_number: 2 },
    docs: [at(0, { user: 'm' }), at(1, { user: 'c' }), at(2, { user: 'a' })],
    want: { 'top_events_user.keyword': { a: 1, c: 1 } },
  },
  {
    name: 'the match\'s query_key value restricts the records counted',
    rule: { type: 'any', query_key: 'site', top_count_keys: ['level'] },
    docs: [at(0, { site: 's1', level: 'error' }), at(1, { site: 's2', level: 'warn' }), at(2, { site: 's1', level: 'error' }), at(3, { site: 's1', level: 'info' })],
    want: { 'top_events_level.keyword': { error: 2, info: 1 } },
  },
  {
    name: 'numbers have no .keyword sub-field under dynamic mapping: nothing is counted there',
    rule: { type: 'any', top_count_keys: ['status'] },
    docs: [at(0, { status: 500 }), at(1, { status: 500 })],
    want: { 'top_events_status.keyword': {} },
  },
  {
    name: 'raw_count_keys: false counts the field as it is, numbers too; a key already .keyword keeps its name',
    rule: { type: 'any', raw_count_keys: false, top_count_keys: ['status', 'host.keyword'] },
    docs: [at(0, { status: 500, host: 'a' }), at(1, { status: 404, host: 'a' }), at(2, { status: 500, host: 'b b' })],
    want: { top_events_status: { 500: 2, 404: 1 }, 'top_events_host.keyword': { a: 2, 'b b': 1 } },
  },
  {
    name: 'an array counts each value once per record; nested fields by dotted path',
    rule: { type: 'any', raw_count_keys: false, top_count_keys: ['tags', 'k.pod'] },
    docs: [at(0, { tags: ['x', 'y', 'x'], k: { pod: 'p1' } }), at(1, { tags: ['x'], k: { pod: 'p1' } })],
    want: { top_events_tags: { x: 2, y: 1 }, 'top_events_k.pod': { p1: 2 } },
  },
  {
    name: 'only the records the rule\'s filter passes are counted',
    rule: { type: 'any', filter: [{ term: { 'level.keyword': 'error' } }], top_count_keys: ['host'] },
    docs: [at(0, { level: 'error', host: 'a' }), at(1, { level: 'info', host: 'a' }), at(2, { level: 'error', host: 'b' })],
    want: { 'top_events_host.keyword': { a: 1, b: 1 } },
  },
  {
    name: 'another tenant\'s records are not counted',
    rule: { type: 'any', top_count_keys: ['host'] },
    docs: [at(0, { host: 'a' }), at(1, { host: 'a', tenant: 'other' }), at(2, { host: 'a', tenant: 'other' })],
    want: { 'top_events_host.keyword': { a: 1 } },
  },
  {
    name: 'flatline looks back 2 × timeframe',
    rule: { type: 'flatline', threshold: 3, timeframe: { minutes: 5 }, top_count_keys: ['host'] },
    docs: [at(0, { host: 'a' }), at(1, { host: 'b' }), at(2, { host: 'a' })],
    // The first flatline alert is at minute 5 (one timeframe after the first record): (−5, 15] holds all three.
    mode: 'stream',
    want: { 'top_events_host.keyword': { a: 2, b: 1 } },
  },
];

for (const c of CASES) {
  test(`top_count_keys: ${c.name}`, () => {
    const ms = run(c.rule, c.docs, c.mode ?? 'all');
    const m = ms[c.nth ?? 0];
    assert.ok(m !== undefined, `match ${c.nth ?? 0} of ${ms.length}`);
    const got = Object.fromEntries(Object.entries(m.doc).filter(([k]) => k.startsWith('top_events_')));
    assert.deepEqual(got, c.want);
    // Order matters for top_count_number and the alert text: by count, then value.
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(Object.values(got[k] as object), Object.values(v));
  });
}

test('without top_count_keys a match gets no top_events fields', () => {
  const ms = run({ type: 'any' }, [at(0, { host: 'a' })], 'all');
  assert.deepEqual(Object.keys(ms[0]?.doc ?? {}).filter((k) => k.startsWith('top_events_')), []);
});

test('counts survive a checkpoint: a restored engine counts the records run before it', () => {
  const rule = compileRule('t.yaml', { name: 'r', index: 'i', alert: 'debug', realert: { minutes: 0 }, type: 'any', top_count_keys: ['host'] });
  const out: EngineMatch[] = [];
  const a = new Engine({ runEveryMs: MIN, allowedLatenessMs: 0, onMatch: () => undefined });
  a.setRules([rule]);
  const rec = (m: number, host: string) => ({ timestampMs: T0 + m * MIN, tenant: 't', site: '', doc: { '@timestamp': new Date(T0 + m * MIN).toISOString(), host } });
  a.offer([rec(0, 'a'), rec(1, 'a')]);
  a.advance(T0 + 2 * MIN);
  const b = new Engine({ runEveryMs: MIN, allowedLatenessMs: 0, onMatch: (m) => out.push(m) });
  b.setRules([rule]);
  b.restore(JSON.parse(JSON.stringify(a.snapshot())));
  b.offer([rec(3, 'b')]);
  b.advance(T0 + 10 * MIN);
  assert.deepEqual(out[0]?.doc['top_events_host.keyword'], { a: 2, b: 1 });
});
