import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Encoder } from '@msgpack/msgpack';
import { FrameMalformed, FrameScanner, FrameTooLarge, arrayElements } from './msgpack-frame.js';

const enc = new Encoder();
const values: unknown[] = [
  null, true, 1, -1, 300, -40000, 2 ** 40, 1.5, 'a', 'x'.repeat(40), 'y'.repeat(300), 'z'.repeat(70000), new Uint8Array(10), new Uint8Array(300),
  [], {}, [1, [2, [3, {}]]], { a: [1, 2, { b: 'c' }], d: new Uint8Array(3) }, Array.from({ length: 20 }, (_, i) => i), Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
];

test('FrameScanner finds each value\'s end, fed whole or one byte at a time', () => {
  for (const v of values) {
    const b = enc.encode(['tag', v, { chunk: 'c' }]);
    const whole = new FrameScanner(1 << 20, 1 << 20);
    assert.equal(whole.scan(b, b.length), b.length, JSON.stringify(v)?.slice(0, 40));
    const stream = new FrameScanner(1 << 20, 1 << 20);
    for (let len = 0; len < b.length; len++) assert.equal(stream.scan(b, len), -1, `incomplete at ${len}`);
    assert.equal(stream.scan(b, b.length), b.length);
  }
});

test('FrameScanner stops at the first value of a stream of frames', () => {
  const a = enc.encode(['t', 1, {}]);
  const b = enc.encode(['u', [[1, {}]]]);
  const both = Buffer.concat([a, b]);
  const s = new FrameScanner(1 << 20, 1 << 20);
  assert.equal(s.scan(both, both.length), a.length);
  s.reset();
  assert.equal(s.scan(both.subarray(a.length), b.length), b.length);
});

test('FrameScanner limits and malformed bytes', () => {
  assert.throws(() => new FrameScanner(100, 1000).scan(Buffer.from([0x92, 0xc6, 0x7f, 0, 0, 0]), 6), FrameTooLarge);
  assert.throws(() => new FrameScanner(1000, 10).scan(enc.encode(Array.from({ length: 20 }, () => 1)), 21), FrameTooLarge);
  assert.throws(() => new FrameScanner(1000, 1000).scan(Buffer.from([0x92, 0xc1, 0x01]), 3), FrameMalformed);
  const deep = Buffer.alloc(100, 0x91);
  assert.throws(() => new FrameScanner(1000, 1000).scan(deep, 100), FrameMalformed);
  // Bytes arriving past the limit without a complete frame.
  const s = new FrameScanner(8, 1000);
  assert.throws(() => s.scan(Buffer.from([0xdc, 0x00, 0x09, 1, 2, 3, 4, 5, 6, 7]), 10), FrameTooLarge);
});

test('arrayElements gives element offsets', () => {
  const b = enc.encode(['tag', [1, 2], { a: 1 }]);
  const at = arrayElements(b);
  assert.equal(at.length, 4);
  assert.equal(at[3], b.length);
  assert.throws(() => arrayElements(enc.encode({ a: 1 })), FrameMalformed);
});
