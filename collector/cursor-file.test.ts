import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CURSOR_FILE, CursorFile, decodeCursorSlot } from './cursor-file.js';
import { DurableQueue } from './queue.js';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fleetscope-cursor-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});
let n = 0;
const fresh = async (): Promise<string> => {
  const d = join(root, `c${n++}`);
  await mkdir(d);
  return d;
};

test('the last position written is read back, from either slot', async () => {
  const dir = await fresh();
  let c = await CursorFile.open(dir, true);
  assert.equal(c.position, null, 'a new queue has no cursor');
  for (let i = 1; i <= 5; i++) await c.write({ segment: i, offset: i * 100, index: i * 3 });
  await c.close();
  c = await CursorFile.open(dir, true);
  assert.deepEqual(c.position, { segment: 5, offset: 500, index: 15 });
  await c.write({ segment: 6, offset: 0, index: 0 });
  await c.close();
  c = await CursorFile.open(dir, true);
  assert.deepEqual(c.position, { segment: 6, offset: 0, index: 0 }, 'the other slot, one generation on');
  await c.close();
});

test('writes issued together land in order', async () => {
  const dir = await fresh();
  const c = await CursorFile.open(dir, true);
  await Promise.all(Array.from({ length: 50 }, (_, i) => c.write({ segment: 1, offset: i, index: i })));
  await c.close();
  const again = await CursorFile.open(dir, true);
  assert.deepEqual(again.position, { segment: 1, offset: 49, index: 49 });
  await again.close();
});

test('a torn or corrupt slot gives the previous position, never a later one or garbage', async () => {
  const dir = await fresh();
  const c = await CursorFile.open(dir, true);
  await c.write({ segment: 3, offset: 10, index: 1 }); // generation 1, slot 1
  await c.write({ segment: 3, offset: 20, index: 2 }); // generation 2, slot 0
  await c.close();
  const file = join(dir, CURSOR_FILE);
  const good = await readFile(file);
  // Every byte of the newest slot changed in turn: the older slot wins each time.
  for (let i = 0; i < 40; i++) {
    const bad = Buffer.from(good);
    bad[i] = (bad[i] as number) ^ 0x40;
    await writeFile(file, bad);
    const r = await CursorFile.open(dir, true);
    assert.deepEqual(r.position, { segment: 3, offset: 10, index: 1 }, `byte ${i} changed`);
    await r.close();
  }
  // A write torn short (the file ends inside the newest slot) reads the same way.
  await writeFile(file, Buffer.concat([good.subarray(0, 20), Buffer.alloc(44), good.subarray(64)]));
  const t = await CursorFile.open(dir, true);
  assert.deepEqual(t.position, { segment: 3, offset: 10, index: 1 });
  await t.close();
  assert.equal(decodeCursorSlot(Buffer.alloc(40)), undefined, 'zeros are not a cursor');
});

test('a queue written before cursor.bin opens at its JSON cursor, then moves to cursor.bin', async () => {
  const dir = await fresh();
  let q = await DurableQueue.open({ dir, segmentBytes: 4096 });
  for (let i = 0; i < 20; i++) await q.append(Buffer.from(`r${i}`));
  const { next } = await q.read(5);
  await q.close();
  await rm(join(dir, CURSOR_FILE));
  await writeFile(join(dir, 'cursor'), JSON.stringify(next));
  q = await DurableQueue.open({ dir, segmentBytes: 4096 });
  const rest = await q.read(100);
  assert.deepEqual(rest.records.map(String), Array.from({ length: 15 }, (_, i) => `r${i + 5}`), 'the old cursor is honoured');
  await q.commit(rest.next);
  await q.close();
  await writeFile(join(dir, 'cursor'), JSON.stringify({ segment: 0, offset: 0, index: 0 }));
  q = await DurableQueue.open({ dir, segmentBytes: 4096 });
  assert.equal((await q.read(100)).records.length, 0, 'once cursor.bin has a position, the old file is not read');
  await q.close();
});
