import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DropReason, Relabeler } from './relabel.js';
import { RelabelError } from './errors.js';
import { sortLabels } from './labels.js';
import type { RelabelConfigInput } from './config.js';

const IN = ['__name__', 'http_requests_total', 'code', '200', 'method', 'GET', 'path', '/api/v1/query'];

/** IN plus extra labels, in sorted order. */
const plus = (...extra: string[]): string[] => sortLabels([...IN, ...extra]);

interface Row {
  name: string;
  rules: RelabelConfigInput[];
  input?: string[];
  want: string[] | null;
}

const rows: Row[] = [
  { name: 'replace copies', rules: [{ source_labels: ['method'], target_label: 'm' }], want: plus('m', 'GET') },
  { name: 'replace joins with ;', rules: [{ source_labels: ['method', 'code'], target_label: 'a' }], want: ['__name__', 'http_requests_total', 'a', 'GET;200', 'code', '200', 'method', 'GET', 'path', '/api/v1/query'] },
  { name: 'replace no match leaves labels', rules: [{ source_labels: ['method'], regex: 'POST', target_label: 'm', replacement: 'x' }], want: IN },
  { name: 'replace anchored', rules: [{ source_labels: ['method'], regex: 'GE', target_label: 'm', replacement: 'x' }], want: IN },
  { name: 'replace $1x is empty and deletes', rules: [{ source_labels: ['method'], regex: '(G)ET', target_label: 'method', replacement: '$1x' }], want: ['__name__', 'http_requests_total', 'code', '200', 'path', '/api/v1/query'] },
  { name: 'replace ${1}x', rules: [{ source_labels: ['method'], regex: '(G)ET', target_label: 'method', replacement: '${1}x' }], want: ['__name__', 'http_requests_total', 'code', '200', 'method', 'Gx', 'path', '/api/v1/query'] },
  { name: 'replace invalid target no-op', rules: [{ source_labels: ['path'], target_label: '$1' }], want: IN },
  { name: 'replace missing source with default regex deletes target', rules: [{ source_labels: ['nope'], target_label: 'code' }], want: ['__name__', 'http_requests_total', 'method', 'GET', 'path', '/api/v1/query'] },
  { name: 'keep drops', rules: [{ source_labels: ['method'], regex: 'POST', action: 'keep' }], want: null },
  { name: 'drop keeps', rules: [{ source_labels: ['method'], regex: 'POST', action: 'drop' }], want: IN },
  { name: 'keepequal', rules: [{ source_labels: ['code'], target_label: 'method', action: 'keepequal' }], want: null },
  { name: 'dropequal', rules: [{ source_labels: ['code'], target_label: 'method', action: 'dropequal' }], want: IN },
  { name: 'labeldrop', rules: [{ regex: 'code|path', action: 'labeldrop' }], want: ['__name__', 'http_requests_total', 'method', 'GET'] },
  { name: 'labelkeep', rules: [{ regex: '__name__|code', action: 'labelkeep' }], want: ['__name__', 'http_requests_total', 'code', '200'] },
  { name: 'labelmap', rules: [{ regex: '(code|method)', replacement: 'http_$1', action: 'labelmap' }], want: plus('http_code', '200', 'http_method', 'GET') },
  { name: 'lowercase', rules: [{ source_labels: ['method'], target_label: 'method', action: 'lowercase' }], want: ['__name__', 'http_requests_total', 'code', '200', 'method', 'get', 'path', '/api/v1/query'] },
  { name: 'uppercase Go simple mapping keeps ß', rules: [{ source_labels: ['v'], target_label: 'v', action: 'uppercase' }], input: ['__name__', 'm', 'v', 'straße'], want: ['__name__', 'm', 'v', 'STRAßE'] },
  { name: 'hashmod', rules: [{ source_labels: ['method'], modulus: 1, target_label: 's', action: 'hashmod' }], want: plus('s', '0') },
  { name: 'empty __name__ drops', rules: [{ regex: '__name__', action: 'labeldrop' }], want: null },
  { name: 'empty-valued input label is absent', rules: [{ source_labels: ['e'], regex: '', action: 'keep' }], input: ['__name__', 'm', 'e', ''], want: ['__name__', 'm'] },
];

for (const row of rows) {
  test(`relabel: ${row.name}`, () => {
    const r = Relabeler.compile(row.rules);
    assert.deepEqual(r.process(row.input ?? IN), row.want);
  });
}

test('drop reasons are data: a rule drop and a lost name are told apart', () => {
  const keep = Relabeler.compile([{ source_labels: ['method'], regex: 'POST', action: 'keep' }]);
  assert.equal(keep.process(IN), null);
  assert.equal(keep.dropReason, DropReason.rule);
  const nameless = Relabeler.compile([{ regex: '__name__', action: 'labeldrop' }]);
  assert.equal(nameless.process(IN), null);
  assert.equal(nameless.dropReason, DropReason.emptyName);
});

test('the input array is never modified', () => {
  const input = [...IN];
  Relabeler.compile([{ regex: 'code', action: 'labeldrop' }, { target_label: 'x', replacement: 'y' }]).process(input);
  assert.deepEqual(input, IN);
});

const invalid: [string, RelabelConfigInput[], RegExp][] = [
  ['replace without target', [{ source_labels: ['a'] }], /rule 0: relabel configuration for replace action requires 'target_label' value/],
  ['hashmod without modulus', [{ action: 'keep' }, { action: 'hashmod', target_label: 's' }], /rule 1: relabel configuration for hashmod requires non-zero modulus/],
  ['labelmap bad replacement', [{ action: 'labelmap', replacement: 'a-b' }], /rule 0: "a-b" is invalid 'replacement' for labelmap action/],
  ['unknown action', [{ action: 'explode' }], /rule 0: unknown relabel action "explode"/],
  ['bad regex', [{ action: 'keep', regex: '(' }], /rule 0: invalid regex "\(": missing closing \)/],
  ['lookahead', [{ action: 'keep', regex: 'a(?=b)' }], /rule 0: invalid regex .*invalid or unsupported Perl syntax/],
  ['unknown field', [{ action: 'keep', bogus: 1 } as RelabelConfigInput], /rule 0: field bogus not found/],
  ['labeldrop with source', [{ action: 'labeldrop', regex: 'a', source_labels: ['b'] }], /labeldrop action requires only 'regex', and no other fields/],
  ['keepequal with regex', [{ action: 'keepequal', regex: 'a', source_labels: ['b'], target_label: 'c' }], /keepequal action requires only 'source_labels' and `target_label`/],
  ['bad source label', [{ action: 'keep', source_labels: ['a-b'] }], /"a-b" is not a valid label name/],
];

for (const [name, rules, want] of invalid) {
  test(`invalid rules: ${name}`, () => {
    assert.throws(() => Relabeler.compile(rules), (err: unknown) => {
      assert.ok(err instanceof RelabelError);
      assert.equal(err.code, 'FS_RELABEL_INVALID_CONFIG');
      assert.match(err.message, want);
      return true;
    });
  });
}
