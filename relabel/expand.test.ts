import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTemplate } from './expand.js';

// Groups: 0 = "GET;200", 1 = "GET", 2 = "200", named group 2 is "code".
const names = [undefined, undefined, 'code'];
const groups = ['GET;200', 'GET', '200'];

const rows: [string, string][] = [
  ['$1', 'GET'],
  ['${1}', 'GET'],
  ['$1x', ''],
  ['${1}x', 'GETx'],
  ['$1_x', ''],
  ['$1-x', 'GET-x'],
  ['$code', '200'],
  ['${code}', '200'],
  ['$codes', ''],
  ['$$1', '$1'],
  ['$', '$'],
  ['a$', 'a$'],
  ['${1', '${1'],
  ['$-', '$-'],
  ['$01', ''],
  ['$0', 'GET;200'],
  ['$9', ''],
  ['$1$2', 'GET200'],
  ['x${2}y$1z', 'x200y'],
  ['x${2}y${1}z', 'x200yGETz'],
  ['$日本', ''],
  ['plain', 'plain'],
];

for (const [template, want] of rows) {
  test(`expand ${JSON.stringify(template)} → ${JSON.stringify(want)}`, () => {
    assert.equal(compileTemplate(template, names).expand(groups), want);
  });
}

test('a template without references is literal', () => {
  const t = compileTemplate('a$$b', names);
  assert.equal(t.literal, true);
  assert.equal(t.text, 'a$b');
  assert.equal(compileTemplate('$1', names).literal, false);
});

test('a name shared by several groups expands to the first that matched', () => {
  const t = compileTemplate('<$n>', [undefined, 'n', 'n']);
  assert.equal(t.expand(['b', undefined, 'b']), '<b>');
  assert.equal(t.expand(['a', 'a', undefined]), '<a>');
});
