import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownedBytes } from './owned-bytes.js';

test('bytes that have their ArrayBuffer to themselves go as they are; any other view is copied', () => {
  const whole = Buffer.allocUnsafeSlow(10_000).fill(7);
  assert.equal(ownedBytes(whole), whole);
  // What fastify hands a route: Buffer.concat of the chunks, its own buffer from 4 KB on.
  const concat = Buffer.concat([Buffer.alloc(3000, 1), Buffer.alloc(3000, 2)]);
  assert.equal(ownedBytes(concat), concat);
  const cases: [string, Uint8Array][] = [
    ['a small Buffer from the pool', Buffer.from('a small body')],
    ['a view into a larger buffer', whole.subarray(10, 500)],
    ['a view that ends early', whole.subarray(0, 9_999)],
    ['shared memory', new Uint8Array(new SharedArrayBuffer(64)).fill(3)],
  ];
  for (const [what, b] of cases) {
    const got = ownedBytes(b);
    assert.notEqual(got.buffer, b.buffer, what);
    assert.deepEqual(Buffer.from(got), Buffer.from(b), what);
    assert.equal(got.byteLength, got.buffer.byteLength, what);
  }
  // An empty one is copied too (empty buffers are shared): a fresh empty ArrayBuffer.
  const empty = Buffer.alloc(0);
  assert.notEqual(ownedBytes(empty), empty);
});
