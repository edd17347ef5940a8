import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LabelsBuilder, getLabel } from './labels.js';

test('builder keeps names sorted through set and del', () => {
  const b = new LabelsBuilder().reset(['__name__', 'm', 'b', '2']);
  b.set('a', '1');
  b.set('c', '3');
  b.set('b', '20');
  b.del('__name__');
  assert.deepEqual(b.labels(), ['a', '1', 'b', '20', 'c', '3']);
  b.set('a', '');
  assert.deepEqual(b.labels(), ['b', '20', 'c', '3']);
});

test('builder reset drops empty values, sorts, and keeps the last duplicate', () => {
  const b = new LabelsBuilder().resetUnsorted(['z', '1', 'e', '', 'a', '2', 'z', '3']);
  assert.deepEqual(b.labels(), ['a', '2', 'z', '3']);
  assert.equal(b.get('e'), '');
});

test('getLabel returns empty for a missing label', () => {
  assert.equal(getLabel(['a', '1'], 'a'), '1');
  assert.equal(getLabel(['a', '1'], 'b'), '');
});

test('builder is copy-on-write: unchanged labels come back as the same array', () => {
  const input = ['__name__', 'm', 'a', '1'];
  const b = new LabelsBuilder().reset(input);
  b.set('a', '1');
  b.del('missing');
  assert.equal(b.labels(), input);
  b.set('a', '2');
  assert.notEqual(b.labels(), input);
  assert.deepEqual(input, ['__name__', 'm', 'a', '1']);
});
