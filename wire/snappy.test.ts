import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compress as snappyjsCompress, uncompress as snappyjsUncompress } from 'snappyjs';
import { WireError } from './errors.js';
import { snappyCompress, snappyDeclaredLength, snappyUncompress } from './snappy.js';

// mulberry32 with a fixed seed: every run sees the same inputs.
let state = 7;
const rand = (n: number): number => {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
};

/** Bytes with repeats at every distance, so that every element kind turns up. */
function randomBytes(len: number): Buffer {
  const b = Buffer.alloc(len);
  const alphabet = 1 + rand(255);
  for (let i = 0; i < len; i++) {
    const r = rand(8);
    b[i] = r < 3 && i > 0 ? (b[i - 1 - rand(Math.min(i, r === 0 ? 70_000 : 40))] as number) : rand(alphabet);
  }
  return b;
}

const isCode = (code: string) => (e: unknown): boolean => {
  assert.ok(e instanceof WireError, String(e));
  assert.equal(e.code, code, e.message);
  return true;
};

test('decompresses what snappyjs compresses, at every size', () => {
  for (const len of [0, 1, 2, 3, 4, 15, 16, 17, 60, 61, 255, 256, 257, 65_535, 65_536, 65_537, 200_000]) {
    const b = randomBytes(len);
    assert.deepEqual(snappyUncompress(snappyCompress(b)), b, `length ${len}`);
  }
  for (let i = 0; i < 300; i++) {
    const b = randomBytes(rand(5000));
    assert.deepEqual(snappyUncompress(snappyCompress(b)), b);
  }
});

// Hand-made blocks: [declared length varint, elements...] → output.
const lit = (s: string): number[] => [(s.length - 1) << 2, ...Buffer.from(s)];
const good: [string, number[], string][] = [
  ['empty', [0x00], ''],
  ['one literal', [3, ...lit('abc')], 'abc'],
  ['literal, 1-byte length', [61, 60 << 2, 60, ...Buffer.from('x'.repeat(61))], 'x'.repeat(61)],
  ['literal, 2-byte length', [0x80, 0x02, 61 << 2, 0xff, 0x00, ...Buffer.from('y'.repeat(256))], 'y'.repeat(256)],
  ['literal, 3-byte length', [4, 62 << 2, 3, 0, 0, ...Buffer.from('abcd')], 'abcd'],
  ['literal, 4-byte length', [4, 63 << 2, 3, 0, 0, 0, ...Buffer.from('abcd')], 'abcd'],
  ['copy, 1-byte offset', [8, ...lit('abcd'), 0x01, 4], 'abcdabcd'],
  ['copy, 1-byte offset, 11 bytes', [15, ...lit('abcd'), 0x01 | (7 << 2), 4], 'abcdabcdabcdabc'],
  ['copy, 2-byte offset', [8, ...lit('abcd'), 0x02 | (3 << 2), 4, 0], 'abcdabcd'],
  ['copy, 4-byte offset', [8, ...lit('abcd'), 0x03 | (3 << 2), 4, 0, 0, 0], 'abcdabcd'],
  ['overlapping copy (a run)', [10, ...lit('ab'), 0x02 | (7 << 2), 2, 0], 'ababababab'],
  ['copy of one byte back, 64 long', [65, ...lit('z'), 0x02 | (63 << 2), 1, 0], 'z'.repeat(65)],
];

for (const [name, block, want] of good) {
  test(`decodes: ${name}`, () => {
    assert.equal(snappyUncompress(Buffer.from(block)).toString('latin1'), want);
    assert.equal(Buffer.from(snappyjsUncompress(Buffer.from(block))).toString('latin1'), want, 'snappyjs agrees');
  });
}

const bad: [string, number[], string, RegExp][] = [
  ['no header', [], 'FS_WIRE_SNAPPY_CORRUPT', /length header is truncated/],
  ['header runs on', [0x80, 0x80], 'FS_WIRE_SNAPPY_CORRUPT', /length header is truncated/],
  ['header longer than 5 bytes', [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 'FS_WIRE_SNAPPY_CORRUPT', /longer than 5 bytes/],
  ['header over 32 bits', [0xff, 0xff, 0xff, 0xff, 0x7f], 'FS_WIRE_SNAPPY_CORRUPT', /over 32 bits/],
  ['declares 4 GiB (a bomb)', [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00], 'FS_WIRE_SNAPPY_TOO_LARGE', /declares 4294967295 bytes uncompressed, over the limit of 33554432/],
  // snappyjs loops forever on this one: the 4-byte literal length is negative as an int32.
  ['literal length negative as int32', [0x10, 0xfc, 0xfa, 0xff, 0xff, 0xff], 'FS_WIRE_SNAPPY_CORRUPT', /literal runs past the end of the input/],
  ['literal length bytes missing', [0x10, 61 << 2, 0x01], 'FS_WIRE_SNAPPY_CORRUPT', /literal length runs past the end/],
  ['literal past the input', [0x10, 3 << 2, 0x61], 'FS_WIRE_SNAPPY_CORRUPT', /literal runs past the end of the input/],
  ['literal past the declared length', [0x01, ...lit('ab')], 'FS_WIRE_SNAPPY_CORRUPT', /literal runs past the declared length/],
  // snappyjs pads these with zeros instead of failing.
  ['ends before the declared length', [0x10, ...lit('ab')], 'FS_WIRE_SNAPPY_CORRUPT', /decodes to 2 bytes, its header declares 16/],
  ['copy past the declared length', [0x02, ...lit('a'), 0x01 | (6 << 2), 0x01], 'FS_WIRE_SNAPPY_CORRUPT', /copy runs past the declared length/],
  ['copy before the start', [0x08, ...lit('ab'), 0x01, 0x03], 'FS_WIRE_SNAPPY_CORRUPT', /copy reaches back before the start/],
  ['copy at offset 0', [0x08, ...lit('ab'), 0x01, 0x00], 'FS_WIRE_SNAPPY_CORRUPT', /copy reaches back before the start/],
  ['copy-1 offset byte missing', [0x08, ...lit('ab'), 0x01], 'FS_WIRE_SNAPPY_CORRUPT', /copy runs past the end/],
  ['copy-2 offset bytes missing', [0x08, ...lit('ab'), 0x02, 0x01], 'FS_WIRE_SNAPPY_CORRUPT', /copy runs past the end/],
  ['copy-4 offset bytes missing', [0x08, ...lit('ab'), 0x03, 0x01, 0x00, 0x00], 'FS_WIRE_SNAPPY_CORRUPT', /copy runs past the end/],
];

for (const [name, block, code, message] of bad) {
  test(`bad snappy: ${name}`, () => {
    assert.throws(() => snappyUncompress(Buffer.from(block)), (e: unknown) => isCode(code)(e) && message.test((e as Error).message));
  });
}

test('the declared length is checked against the limit before anything is allocated', () => {
  assert.equal(snappyDeclaredLength(Buffer.from([0x80, 0x80, 0x02])), 32_768);
  // 1 MiB declared, 1 KiB allowed: refused from the header alone (the body is absent).
  assert.throws(() => snappyUncompress(Buffer.from([0x80, 0x80, 0x40]), 1024), isCode('FS_WIRE_SNAPPY_TOO_LARGE'));
  const e = new WireError('FS_WIRE_SNAPPY_TOO_LARGE', [1, 2]);
  assert.equal(e.status, 413);
});

test('fuzz: 20,000 mutated blocks decode to their declared length or fail with a typed error', () => {
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < 20_000; i++) {
    const block = Buffer.from(snappyjsCompress(randomBytes(1 + rand(600))));
    for (let m = 1 + rand(3); m > 0; m--) block[rand(block.length)] = rand(256);
    if (rand(10) === 0) block.writeUInt8(0xfc, rand(block.length)); // long literals, the snappyjs hang
    try {
      const out = snappyUncompress(rand(4) === 0 ? block.subarray(0, rand(block.length)) : block, 1 << 20);
      assert.equal(out.length, snappyDeclaredLength(block));
      decoded++;
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      rejected++;
    }
  }
  assert.ok(decoded > 1000 && rejected > 1000, `decoded ${decoded}, rejected ${rejected}`);
});

test('a scratch buffer is reused while large enough, grown (never past the limit) when not, and the output is the same', () => {
  const small = snappyCompress(Buffer.from('a'.repeat(100)));
  const big = snappyCompress(Buffer.from('b'.repeat(5000)));
  const scratch = { bytes: new Uint8Array(1000) };
  const first = scratch.bytes;
  assert.equal(snappyUncompress(small, 10_000, scratch).toString(), 'a'.repeat(100));
  assert.equal(scratch.bytes, first, 'large enough: the same buffer');
  assert.equal(snappyUncompress(big, 10_000, scratch).toString(), 'b'.repeat(5000));
  assert.ok(scratch.bytes.length >= 5000 && scratch.bytes.length <= 10_000, `grown to ${scratch.bytes.length}`);
  assert.throws(() => snappyUncompress(big, 4000, { bytes: new Uint8Array(10) }), /FS_WIRE_SNAPPY_TOO_LARGE|declares/);
});
