// The alert body (the `description` annotation) as ElastAlert's
// Alerter.create_alert_body and BasicMatchString build it, with alert_text_type.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alertBody, matchBody } from './text.js';
import { compileRule } from './rule.js';

function rule(o: Record<string, unknown>) {
  return compileRule('t.yaml', { name: 'r', index: 'i', alert: 'debug', type: 'frequency', num_events: 2, timeframe: { minutes: 5 }, ...o });
}

const MATCH = { '@timestamp': '2024-03-01T00:10:00Z', host: 'web-1', 'top_events_level.keyword': { warn: 1, error: 3 } };
const SENTENCE = 'At least 2 events occurred between 2024-03-01 00:05 UTC and 2024-03-01 00:10 UTC';
const TOP = 'level.keyword:\nerror: 3\nwarn: 1';
const FIELDS = '@timestamp: 2024-03-01T00:10:00Z\nhost: web-1';

const CASES: { name: string; rule: Record<string, unknown>; want: string }[] = [
  { name: 'no alert_text: the rule name, the sentence, the fields', rule: {}, want: `r\n\n${SENTENCE}\n\n${FIELDS}` },
  { name: 'alert_text replaces the name; the rest follows', rule: { alert_text: 'on {0}', alert_text_args: ['host'] }, want: `on web-1\n\n${SENTENCE}\n\n${FIELDS}` },
  { name: 'top_count_keys: the counts by count, before the fields, top_events_ left out of them', rule: { top_count_keys: ['level'] }, want: `r\n\n${SENTENCE}\n\n${TOP}\n\n${FIELDS}` },
  { name: 'alert_text_type: alert_text_only', rule: { alert_text: 'on {0}', alert_text_args: ['host'], alert_text_type: 'alert_text_only', top_count_keys: ['level'] }, want: 'on web-1' },
  { name: 'alert_text_type: exclude_fields keeps the sentence and the counts', rule: { alert_text: 'hi', alert_text_type: 'exclude_fields', top_count_keys: ['level'] }, want: `hi\n\n${SENTENCE}\n\n${TOP}` },
  { name: 'alert_text_type: aggregation_summary_only without aggregation leaves the body empty, as in ElastAlert', rule: { alert_text: 'hi', alert_text_type: 'aggregation_summary_only' }, want: '' },
  { name: 'description stands in for a missing alert_text', rule: { description: 'Disk is filling' }, want: `Disk is filling\n\n${SENTENCE}\n\n${FIELDS}` },
];

for (const c of CASES) {
  test(`body: ${c.name}`, () => {
    assert.equal(alertBody(rule(c.rule), [{ doc: MATCH }], 0), c.want);
  });
}

test('no top_count_keys on the rule: top_events fields are shown by neither section', () => {
  assert.equal(matchBody(rule({ alert_text: 'x' }), MATCH), `x\n\n${SENTENCE}\n\n${FIELDS}`);
});

test('an empty count says so', () => {
  assert.match(matchBody(rule({ top_count_keys: ['level'] }), { ...MATCH, 'top_events_level.keyword': {} }), /level\.keyword:\nNo events found\.\n\n@timestamp/);
});

const AGG = { aggregation: { minutes: 5 }, summary_table_fields: ['host'], alert_text: 'on {0}', alert_text_args: ['host'], alert_text_type: 'alert_text_only' };
const M2 = [{ doc: { host: 'a' } }, { doc: { host: 'a' } }, { doc: { host: 'b' } }];

test('aggregated: the summary table, then each match separated by dashes', () => {
  assert.equal(alertBody(rule(AGG), M2, 0), '3 matches aggregated\nhost | count\na | 2\nb | 1\n\non a\n----------------------------------------\non a\n----------------------------------------\non b');
});

test('aggregated with aggregation_summary_only: the summary table alone', () => {
  assert.equal(alertBody(rule({ ...AGG, alert_text_type: 'aggregation_summary_only', summary_prefix: 'Hosts: ' }), M2, 0), 'Hosts: 3 matches aggregated\nhost | count\na | 2\nb | 1');
});

test('aggregated bodies are bounded: ten matches written out, the rest counted', () => {
  const many = Array.from({ length: 12 }, (_, i) => ({ doc: { host: `h${i}` } }));
  const body = alertBody(rule({ ...AGG, summary_table_fields: undefined }), many, 5);
  assert.equal(body.match(/\n-{40}\n/g)?.length, 10);
  assert.match(body, /on h9\n-+\n\(7 more matches\)$/);
});
