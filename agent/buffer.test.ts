import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, truncate, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { SegmentBuffer } from './buffer.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-buffer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rec = (i: number, size = 100): Buffer => Buffer.alloc(size, i % 256);

async function drain(b: SegmentBuffer): Promise<{ first: number; ts: number; len: number }[]> {
  const out: { first: number; ts: number; len: number }[] = [];
  for (let r = await b.peek(); r !== null; r = await b.peek()) {
    out.push({ first: r.payload[0] as number, ts: r.timestampMs, len: r.payload.length });
    await b.commit();
  }
  return out;
}

test('records come back oldest first with their timestamps, once each', async () => {
  const b = await SegmentBuffer.open({ dir, segmentBytes: 1000 });
  await Promise.all([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((i) => b.append(rec(i), 1000 + i)));
  assert.equal(b.stats.records, 12);
  assert.equal(b.oldestTimestampMs, 1001);
  const got = await drain(b);
  assert.deepEqual(got.map((g) => g.first), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.deepEqual(got.map((g) => g.ts), [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012]);
  assert.equal(b.stats.records, 0);
  assert.equal(b.oldestTimestampMs, undefined);
  await b.close();
  // Acknowledged segments are gone but the one being written.
  assert.ok((await readdir(dir)).filter((f) => f.endsWith('.seg')).length <= 1);
});

test('what was not acknowledged survives a restart; what was is not sent again', async () => {
  let b = await SegmentBuffer.open({ dir, segmentBytes: 500 });
  for (let i = 1; i <= 10; i++) await b.append(rec(i), i);
  for (let i = 0; i < 4; i++) {
    await b.peek();
    await b.commit();
  }
  await b.close();
  b = await SegmentBuffer.open({ dir, segmentBytes: 500 });
  assert.equal(b.stats.records, 6);
  await b.append(rec(11), 11);
  assert.deepEqual((await drain(b)).map((g) => g.first), [5, 6, 7, 8, 9, 10, 11]);
  await b.close();
});

test('a torn tail is truncated at recovery and counted; intact records stay', async () => {
  let b = await SegmentBuffer.open({ dir });
  for (let i = 1; i <= 3; i++) await b.append(rec(i), i);
  await b.close();
  const seg = join(dir, (await readdir(dir)).find((f) => f.endsWith('.seg')) as string);
  const size = (await stat(seg)).size;
  await truncate(seg, size - 10);
  await appendFile(seg, Buffer.from([1, 2, 3]));
  b = await SegmentBuffer.open({ dir });
  assert.equal(b.stats.corruptRecords, 1);
  assert.deepEqual((await drain(b)).map((g) => g.first), [1, 2]);
  await b.close();
});

test('over max_bytes the oldest segments are dropped and counted, the newest kept', async () => {
  const b = await SegmentBuffer.open({ dir, segmentBytes: 600, maxBytes: 1500 });
  for (let i = 1; i <= 30; i++) await b.append(rec(i), i);
  assert.ok(b.stats.bytes <= 1500 + 600, `bytes ${b.stats.bytes}`);
  assert.ok(b.stats.droppedRecords > 0);
  assert.equal(b.stats.droppedRecords + b.stats.records, 30);
  assert.equal(b.stats.droppedBytes, b.stats.droppedRecords * 116);
  const got = await drain(b);
  assert.equal(got[got.length - 1]?.first, 30, 'the newest record is kept');
  assert.deepEqual(got.map((g) => g.first), Array.from({ length: got.length }, (_, k) => 31 - got.length + k), 'what is kept is contiguous');
  await b.close();
});

test('a record larger than a segment is refused with its code, and nothing else is affected', async () => {
  const b = await SegmentBuffer.open({ dir, segmentBytes: 200 });
  await assert.rejects(b.append(rec(1, 500), 1), { code: 'FS_AGENT_BUFFER_RECORD_TOO_LARGE' });
  await b.append(rec(2), 2);
  assert.deepEqual((await drain(b)).map((g) => g.first), [2]);
  await b.close();
  await assert.rejects(b.append(rec(3), 3), { code: 'FS_AGENT_BUFFER_CLOSED' });
});

test('waitForData wakes on an append', async () => {
  const b = await SegmentBuffer.open({ dir });
  const t0 = Date.now();
  const waiting = b.waitForData(10_000);
  setTimeout(() => void b.append(rec(1), 1), 20);
  await waiting;
  assert.ok(Date.now() - t0 < 5000);
  assert.equal((await b.peek())?.payload[0], 1);
  await b.close();
});

test('a record dropped by the bound while it is being sent: its acknowledgement skips nothing', async () => {
  const b = await SegmentBuffer.open({ dir, segmentBytes: 300, maxBytes: 600 });
  for (let i = 1; i <= 2; i++) await b.append(rec(i), i);
  const sending = await b.peek();
  assert.equal(sending?.payload[0], 1);
  // Meanwhile the buffer fills and the bound drops the oldest segment, record 1 with it.
  for (let i = 3; i <= 8; i++) await b.append(rec(i), i);
  assert.ok(b.stats.droppedRecords > 0);
  const left = b.stats.records;
  // The sender acknowledges record 1, which is gone: the oldest surviving one must stay.
  await b.commit();
  assert.equal(b.stats.records, left);
  assert.equal((await b.peek())?.payload[0], 8 - left + 1);
  await b.close();
});
