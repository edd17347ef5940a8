import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goToLower, goToUpper } from './casefold.js';

// Expected values are Go's strings.ToLower / strings.ToUpper (simple case mapping).
const rows: [string, string, string][] = [
  ['ascii', 'MiXeD-Case_123', 'mixed-case_123'],
  ['german sharp s', 'straße', 'straße'],
  ['dotted capital I', 'İstanbul', 'istanbul'],
  ['final sigma has no context in Go', 'ΣΟΦΟΣ', 'σοφοσ'],
  ['titlecase digraph', 'ǅ', 'ǆ'],
  ['greek with ypogegrammeni', 'ᾈ', 'ᾀ'],
];

for (const [name, input, lower] of rows) {
  test(`goToLower: ${name}`, () => assert.equal(goToLower(input), lower));
}

const upper: [string, string, string][] = [
  ['ascii', 'get', 'GET'],
  ['sharp s stays', 'ß', 'ß'],
  ['ligature stays', 'ﬁ', 'ﬁ'],
  ['ŉ stays', 'ŉ', 'ŉ'],
  ['ᾳ maps to its titlecase', 'ᾳ', 'ᾼ'],
  ['ᾀ maps to ᾈ', 'ᾀ', 'ᾈ'],
  ['ǆ maps to Ǆ', 'ǆ', 'Ǆ'],
  ['astral', '𐐨', '𐐀'],
];

for (const [name, input, want] of upper) {
  test(`goToUpper: ${name}`, () => assert.equal(goToUpper(input), want));
}
