import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { compress as snappyjsCompress, uncompress as snappyjsUncompress } from 'snappyjs';
import { WireError } from './errors.js';
import { RemoteWriteBatch, encodeLabels } from './remote-write.js';
import { RemoteWriteSnappyBatch } from './remote-write-snappy.js';
import { type SnappyScratch, snappyCompress, snappyDeclaredLength, snappyUncompress } from './snappy.js';
import { seeded } from './test-random.js';

// Seeded: every run sees the same inputs.
const rand = seeded(7);

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

// ---------------------------------------------------------------------------
// snappyjs's uncompress is the oracle: on every valid block, ours gives the
// same bytes. The decoder moves short elements 8 bytes at a time and lets a
// word run past an element's end where there is room, so these cover every
// element kind, lengths around the word size, overlapping copies at every
// small offset, elements close to the end of both buffers, and scratch
// buffers that hold stale bytes or are exactly the declared size.

/** Varint of a block's declared length. */
function header(len: number): number[] {
  const out: number[] = [];
  while (len >= 0x80) {
    out.push((len & 0x7f) | 0x80);
    len = Math.floor(len / 128);
  }
  out.push(len);
  return out;
}

/** A literal element, in the shortest form or a longer one (`extra` length bytes, 0..4). */
function literal(bytes: number[], extra: number): number[] {
  const len = bytes.length - 1;
  if (extra === 0 && len < 60) return [len << 2, ...bytes];
  const n = Math.max(extra, len < 256 ? 1 : len < 65_536 ? 2 : len < 16_777_216 ? 3 : 4);
  const lenBytes: number[] = [];
  for (let i = 0, v = len; i < n; i++, v = Math.floor(v / 256)) lenBytes.push(v & 0xff);
  return [(59 + n) << 2, ...lenBytes, ...bytes];
}

/** A copy element of `len` (1..64) bytes from `offset` back, as copy-1, copy-2 or copy-4 (`kind`). */
function copy(kind: 1 | 2 | 4, len: number, offset: number): number[] {
  if (kind === 1) return [1 | ((len - 4) << 2) | ((offset >> 8) << 5), offset & 0xff];
  if (kind === 2) return [2 | ((len - 1) << 2), offset & 0xff, offset >> 8];
  return [3 | ((len - 1) << 2), offset & 0xff, (offset >> 8) & 0xff, (offset >> 16) & 0xff, offset >>> 24];
}

/** A valid block of random elements, every kind and length, with many overlapping copies. */
function randomBlock(targetLen: number): Buffer {
  const elements: number[] = [];
  let op = 0;
  while (op < targetLen) {
    const r = rand(10);
    if (op === 0 || r < 3) {
      const len = 1 + (rand(8) === 0 ? rand(300) : rand(70));
      const bytes = Array.from({ length: len }, () => rand(256));
      elements.push(...literal(bytes, rand(5) === 0 ? rand(5) : 0));
      op += len;
      continue;
    }
    // Small offsets (overlapping copies) often, far ones sometimes.
    const offset = 1 + (r < 6 ? rand(Math.min(op, 20)) : rand(op));
    let kind: 1 | 2 | 4 = rand(5) === 0 ? 4 : 2;
    let len = 1 + rand(64);
    if (kind === 2 && offset > 65_535) kind = 4;
    if (rand(3) === 0 && offset < 2048) {
      kind = 1;
      len = 4 + rand(8);
    }
    elements.push(...copy(kind, len, offset));
    op += len;
  }
  return Buffer.from([...header(op), ...elements]);
}

/**
 * Checks ours against snappyjs (or `want`, where snappyjs refuses a valid
 * block: see the literal test), without a scratch, with a tight one and with
 * a roomy one full of stale bytes.
 */
function agreesWithSnappyjs(block: Uint8Array, what: string, want: Buffer = Buffer.from(snappyjsUncompress(block))): void {
  assert.ok(snappyUncompress(block).equals(want), `${what}: no scratch`);
  const declared = snappyDeclaredLength(block);
  const tight: SnappyScratch = { bytes: new Uint8Array(declared) };
  assert.ok(snappyUncompress(block, undefined, tight).equals(want), `${what}: scratch of exactly the declared length`);
  const roomy: SnappyScratch = { bytes: new Uint8Array(declared + 1 + rand(64)).fill(0xa5) };
  assert.ok(snappyUncompress(block, undefined, roomy).equals(want), `${what}: scratch with stale bytes`);
}

test('oracle: every copy length 1..64 at every offset 1..24, and a few far ones, match snappyjs', () => {
  const seed = Array.from({ length: 40 }, (_, i) => (i * 37 + 11) & 0xff);
  for (let offset = 1; offset <= 24; offset++) {
    for (let len = 1; len <= 64; len++) {
      for (const kind of [2, 4] as const) {
        // A copy, then a 1-byte literal, so that the copy is not the block's last element and its words have room.
        const block = Buffer.from([...header(40 + len + 1), ...literal(seed, 0), ...copy(kind, len, offset), 0, 0x77]);
        agreesWithSnappyjs(block, `copy-${kind} len ${len} offset ${offset}`);
        // The same copy as the last element, where words have no room.
        agreesWithSnappyjs(Buffer.from([...header(40 + len), ...literal(seed, 0), ...copy(kind, len, offset)]), `last copy-${kind} len ${len} offset ${offset}`);
      }
      if (len >= 4 && len <= 11) agreesWithSnappyjs(Buffer.from([...header(40 + len), ...literal(seed, 0), ...copy(1, len, offset)]), `copy-1 len ${len} offset ${offset}`);
    }
  }
  // 4-byte offsets reaching far back, as a Go encoder writes for blocks over 64 KiB.
  const big = Array.from({ length: 70_000 }, (_, i) => (i * 2654435761) >>> 24);
  for (const offset of [65_535, 65_536, 69_999, 70_000]) {
    agreesWithSnappyjs(Buffer.from([...header(70_000 + 64 + 3), ...literal(big, 0), ...copy(4, 64, offset), ...literal([1, 2, 3], 0)]), `copy-4 offset ${offset}`);
  }
});

test('oracle: literals of every length 1..300 and in every length form, at the start, middle and end, match snappyjs', () => {
  let refusedBySnappyjs = 0;
  for (let len = 1; len <= 300; len++) {
    const bytes = Array.from({ length: len }, (_, i) => (i * 131 + len) & 0xff);
    for (let extra = 0; extra <= 4; extra++) {
      if (extra === 0 && len > 60) continue;
      const lone = Buffer.from([...header(len), ...literal(bytes, extra)]);
      let want = Buffer.from(bytes);
      try {
        assert.deepEqual(Buffer.from(snappyjsUncompress(lone)), want, 'snappyjs agrees with the literal');
      } catch (err) {
        // snappyjs reads a 1..3-byte literal length as 4 bytes, so it refuses a
        // valid block that ends within those 4: then the literal itself is the oracle.
        if (!(err instanceof Error) || err.message !== 'Invalid Snappy bitstream' || extra === 0 || extra + len >= 4) throw err;
        refusedBySnappyjs++;
      }
      agreesWithSnappyjs(lone, `lone literal ${len}, ${extra} length bytes`, want);
      const between = Buffer.from([...header(len + 3 + 8), ...literal([9, 8, 7], 0), ...literal(bytes, extra), ...copy(2, 8, 3 + len)]);
      const expanded = [9, 8, 7, ...bytes];
      for (let k = 0; k < 8; k++) expanded.push(expanded[expanded.length - 3 - len] as number);
      want = Buffer.from(expanded);
      agreesWithSnappyjs(between, `literal ${len} between, ${extra} length bytes`);
      assert.deepEqual(snappyUncompress(between), want);
    }
  }
  assert.equal(refusedBySnappyjs, 3, 'snappyjs refuses exactly the blocks that end inside its 4-byte read');
  // Long literals: 64 KiB and more, in 2- and 3-byte length forms.
  for (const len of [65_535, 65_536, 65_537, 100_000]) {
    agreesWithSnappyjs(Buffer.from([...header(len + 1), ...literal(Array.from({ length: len }, (_, i) => i & 0xff), 0), ...literal([0], 0)]), `literal ${len}`);
  }
});

test('oracle: 3,000 random valid blocks of every element kind match snappyjs', () => {
  for (let i = 0; i < 3000; i++) agreesWithSnappyjs(randomBlock(1 + rand(i < 2900 ? 2000 : 80_000)), `random block ${i}`);
});

test('oracle: random bytes compressed by snappyjs match snappyjs', () => {
  for (let i = 0; i < 500; i++) agreesWithSnappyjs(snappyjsCompress(randomBytes(rand(i < 480 ? 4000 : 150_000))), `random bytes ${i}`);
});

test('oracle: remote-write bodies, compressed by snappyjs and by the label-aware batch, match snappyjs', () => {
  const apps = ['coredns', 'kube-proxy', 'node-exporter', 'pos-api'];
  for (const series of [1, 7, 300, 2000]) {
    const plain = new RemoteWriteBatch();
    const labelAware = new RemoteWriteSnappyBatch();
    for (let i = 0; i < series; i++) {
      const app = apps[i % apps.length] as string;
      const labels = encodeLabels([
        '__name__', `${app.replace('-', '_')}_metric_${i % 40}_total`,
        'app', app,
        'instance', `10.0.${i % 7}.${i % 120}:9100`,
        'namespace', `ns-${i % 10}`,
        'pod', `${app}-${(i >> 4).toString(36)}-${(i % 97).toString(36)}`,
        'uid', `${i.toString(16).padStart(8, '0')}-4c1f-9a2e-${((i * 2654435761) >>> 0).toString(16).padStart(12, '0')}`,
      ]);
      plain.add(labels, i * 1.5, 1_700_000_000_000 + i);
      labelAware.add(labels, i % 3 === 0 ? NaN : i, 1_700_000_000_000);
    }
    agreesWithSnappyjs(plain.finishCompressed(), `${series} series, snappyjs`);
    agreesWithSnappyjs(labelAware.finish(), `${series} series, label-aware`);
  }
});

test('oracle: 8-byte words of every NaN class, -0 and denormals pass bit-exact, from the first call to optimized code', async () => {
  // Literals and copies move 8 bytes as one float64: a NaN that came out
  // quieted or canonicalized would change the bytes. Run enough times that
  // the decoder goes through V8's interpreter, baseline and optimizing tiers.
  const words = [0x7ff0000000000001n, 0x7ff4000000000000n, 0x7ff7ffffffffffffn, 0x7ff8000000000000n, 0x7ff0000000000002n, 0xfff0000000000001n, 0xfff8deadbeef0001n, 0xffffffffffffffffn, 0x8000000000000000n, 0x0000000000000001n, 0x000fffffffffffffn];
  const elements: number[] = [];
  let op = 0;
  // Literals of 4 words each, each after 0..7 filler bytes (every alignment in the buffers);
  // every word read of them is one of the words.
  const wordAt: number[] = [];
  for (let shift = 0; shift < 8; shift++) {
    if (shift > 0) {
      elements.push(...literal(Array.from({ length: shift }, (_, i) => i), 0));
      op += shift;
    }
    const lit = Buffer.alloc(8 * 4);
    for (let w = 0; w < 4; w++) {
      lit.writeBigUInt64LE(words[(shift + w) % words.length] as bigint, 8 * w);
      wordAt.push(op + 8 * w);
    }
    elements.push(...literal([...lit], 0));
    op += lit.length;
  }
  // Copies that start on a word, so that their first reads are the words too.
  for (let c = 0; c < 40; c++) {
    const from = wordAt[c % wordAt.length] as number;
    const len = 8 * (1 + (c % 8));
    elements.push(...copy(2, len, op - from));
    op += len;
  }
  elements.push(...literal([1, 2, 3, 4, 5, 6, 7, 8, 9], 0)); // room after the last copy, so that it moves words
  op += 9;
  const block = Buffer.from([...header(op), ...elements]);
  const want = Buffer.from(snappyjsUncompress(block));
  for (const w of words) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(w);
    assert.ok(want.includes(b), `the block holds ${w.toString(16)}`);
  }
  // In a fresh worker: in this process the decoder is optimized by now, and the lower tiers would go untested.
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.module).then(({ snappyUncompress }) => {
      const want = Buffer.from(workerData.want);
      const scratch = { bytes: new Uint8Array(want.length + 64) };
      for (let i = 0; i < 5000; i++) {
        const got = snappyUncompress(Buffer.from(workerData.block), undefined, scratch);
        if (!got.equals(want)) return parentPort.postMessage('call ' + i + ': ' + got.toString('hex') + ' != ' + want.toString('hex'));
      }
      parentPort.postMessage('same');
    }, (err) => parentPort.postMessage(String(err)));`;
  const result = await new Promise<unknown>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { module: new URL('./snappy.js', import.meta.url).href, block, want } });
    w.once('message', (m: unknown) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
  assert.equal(result, 'same');
  assert.ok(snappyUncompress(block).equals(want), 'and in this process, optimized');
});
