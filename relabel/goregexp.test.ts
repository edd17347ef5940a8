import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileGoRegexp, quoteMeta } from './goregexp.js';
import { RelabelError } from './errors.js';

// [RE2 pattern, input, whole-string match?]
const matches: [string, string, boolean][] = [
  ['(.*)', 'anything', true],
  ['(.*)', 'a\nb', false],
  ['.*', '', true],
  ['.+', '', false],
  ['(?s).*', 'a\nb', true],
  ['.', '\r', true],
  ['.', '\u2028', true],
  ['foo', 'foo', true],
  ['foo', 'foobar', false],
  ['foo|bar', 'bar', true],
  ['foo.*', 'foobar', true],
  ['foo.*', 'foo\nbar', false],
  ['(?i)abc', 'ABC', true],
  ['\\s', '\u00a0', false],
  ['\\s', '\t', true],
  ['\\S', '\u00a0', true],
  ['[\\S]', '\u00a0', true],
  ['[\\S]', ' ', false],
  ['[[:alpha:]]+', 'abcXYZ', true],
  ['[[:digit:]]', 'a', false],
  ['\\pL+', 'Grüße', true],
  ['\\p{Greek}+', 'αβγ', true],
  ['\\PL', 'a', false],
  ['a{,3}', 'a{,3}', true],
  ['a{2}', 'aa', true],
  ['\\Q.*\\E', '.*', true],
  ['\\Q.*\\E', 'ab', false],
  ['\\x41\\x{42}', 'AB', true],
  ['\\101', 'A', true],
  ['\\_\\-\\@', '_-@', true],
  ['[]a]+', ']a]', true],
  ['[^]a]', 'b', true],
  ['\\Aab\\z', 'ab', true],
  ['(?m)a$\\n^b', 'a\nb', true],
  ['x}', 'x}', true],
  ['a]', 'a]', true],
  ['\\p{Any}', '\n', true],
];

for (const [pattern, input, want] of matches) {
  test(`regexp ${JSON.stringify(pattern)} on ${JSON.stringify(input)} → ${want}`, () => {
    const re = compileGoRegexp(pattern);
    assert.equal(re.matches(input), want);
    // The fast path and the regexp must agree.
    assert.equal(re.re.test(input), want);
  });
}

const rejected: [string, string][] = [
  ['(', 'missing closing )'],
  [')', 'unexpected )'],
  ['a(?=b)', 'invalid or unsupported Perl syntax'],
  ['a(?<!b)', 'invalid or unsupported Perl syntax'],
  ['(a)\\1', 'invalid escape sequence'],
  ['\\k', 'invalid escape sequence'],
  ['a{1001}', 'invalid repeat count'],
  ['a{3,2}', 'invalid repeat count'],
  ['[z-a]', 'invalid character class range'],
  ['\\', 'trailing backslash'],
  ['(?P<a-b>x)', 'invalid named capture'],
  ['[a', 'missing closing ]'],
];

for (const [pattern, reason] of rejected) {
  test(`regexp ${JSON.stringify(pattern)} is rejected: ${reason}`, () => {
    assert.throws(() => compileGoRegexp(pattern), (err: unknown) => err instanceof RelabelError && err.code === 'FS_RELABEL_INVALID_REGEX' && err.message.includes(reason));
  });
}

test('partial case-insensitivity is refused by name, not mistranslated', () => {
  assert.throws(() => compileGoRegexp('a(?i)b'), (err: unknown) => err instanceof RelabelError && err.code === 'FS_RELABEL_UNSUPPORTED_REGEX');
  assert.throws(() => compileGoRegexp('(?U)a*'), (err: unknown) => err instanceof RelabelError && err.code === 'FS_RELABEL_UNSUPPORTED_REGEX');
});

test('named groups are numbered with the others', () => {
  const re = compileGoRegexp('(a)(?P<x>b)(?<y>c)');
  assert.deepEqual(re.groupNames, [undefined, undefined, 'x', 'y']);
  assert.deepEqual([...(re.exec('abc') ?? [])], ['abc', 'a', 'b', 'c']);
});

test('quoteMeta escapes every metacharacter', () => {
  const s = 'a.b*c+d?e(f)g[h]i{j}k|l^m$n\\o';
  assert.ok(compileGoRegexp(quoteMeta(s)).matches(s));
  assert.ok(!compileGoRegexp(quoteMeta('a.b')).matches('axb'));
});
