import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CollectorError } from './errors.js';
import { DurableQueue } from './queue.js';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fleetscope-queue-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
const fresh = (): string => join(root, `q${n++}`);
const rec = (i: number): Buffer => Buffer.from(`record-${i}-${'x'.repeat(i % 50)}`);

async function drain(q: DurableQueue): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const { records, next } = await q.read(100);
    if (records.length === 0) return out;
    out.push(...records.map((r) => r.toString()));
    await q.commit(next);
  }
}

test('records come out in order, and a commit survives a restart', async () => {
  const dir = fresh();
  let q = await DurableQueue.open({ dir, segmentBytes: 4096 });
  await Promise.all(Array.from({ length: 500 }, (_, i) => q.append(rec(i))));
  assert.equal(q.stats.pending, 500);
  const first = await q.read(200);
  assert.deepEqual(first.records.map(String), Array.from({ length: 200 }, (_, i) => rec(i).toString()));
  await q.commit(first.next);
  assert.equal(q.stats.pending, 300);
  // Read but not committed: delivered again after a restart.
  await q.read(50);
  await q.close();
  q = await DurableQueue.open({ dir, segmentBytes: 4096 });
  assert.equal(q.stats.pending, 300);
  assert.deepEqual(await drain(q), Array.from({ length: 300 }, (_, i) => rec(200 + i).toString()));
  assert.equal(q.stats.pending, 0);
  // Delivered segments are gone from disk.
  assert.ok((await readdir(dir)).filter((f) => f.endsWith('.seg')).length <= 1);
  await q.close();
});

test('a torn tail is cut at the last whole record', async () => {
  const dir = fresh();
  let q = await DurableQueue.open({ dir });
  for (let i = 0; i < 10; i++) await q.append(rec(i));
  await q.close();
  const seg = join(dir, (await readdir(dir)).find((f) => f.endsWith('.seg')) as string);
  const { size } = await stat(seg);
  await truncate(seg, size - 3); // the last record lost its end mid-write
  q = await DurableQueue.open({ dir });
  assert.equal(q.stats.corruptRecords, 1);
  assert.deepEqual(await drain(q), Array.from({ length: 9 }, (_, i) => rec(i).toString()));
  await q.append(rec(99));
  assert.deepEqual(await drain(q), [rec(99).toString()]);
  await q.close();
});

test('a corrupt record is detected by its checksum', async () => {
  const dir = fresh();
  let q = await DurableQueue.open({ dir });
  for (let i = 0; i < 5; i++) await q.append(rec(i));
  await q.close();
  const seg = join(dir, (await readdir(dir)).find((f) => f.endsWith('.seg')) as string);
  const { readFile } = await import('node:fs/promises');
  const data = await readFile(seg);
  data[data.length - 2] = (data[data.length - 2] as number) ^ 0xff;
  await writeFile(seg, data);
  q = await DurableQueue.open({ dir });
  assert.equal(q.stats.corruptRecords, 1);
  assert.equal((await drain(q)).length, 4);
  await q.close();
});

test('when full, the oldest segments are dropped and counted', async () => {
  const dir = fresh();
  const q = await DurableQueue.open({ dir, segmentBytes: 1024, maxBytes: 4096 });
  for (let i = 0; i < 400; i++) await q.append(Buffer.alloc(40, i % 256));
  assert.ok(q.stats.bytes <= 4096 + 1024, `bytes ${q.stats.bytes}`);
  assert.ok(q.stats.droppedRecords > 0);
  const left = (await drain(q)).length;
  assert.equal(left + q.stats.droppedRecords, 400);
  await q.close();
});

test('bad use gets typed errors', async () => {
  const q = await DurableQueue.open({ dir: fresh(), segmentBytes: 64 });
  await assert.rejects(q.append(Buffer.alloc(100)), (e: unknown) => e instanceof CollectorError && e.code === 'FS_COLLECTOR_QUEUE_RECORD_TOO_LARGE');
  await q.close();
  await assert.rejects(q.append(Buffer.alloc(1)), (e: unknown) => e instanceof CollectorError && e.code === 'FS_COLLECTOR_QUEUE_CLOSED');
});

test('SIGKILL while appending loses no acknowledged record', { timeout: 60_000 }, async () => {
  const dir = fresh();
  const child = join(root, 'writer.mjs');
  await writeFile(child, `
    import { DurableQueue } from ${JSON.stringify(new URL('./queue.js', import.meta.url).href)};
    const q = await DurableQueue.open({ dir: ${JSON.stringify(dir)}, segmentBytes: 64 * 1024 });
    let i = 0;
    const writer = async () => {
      for (;;) {
        const n = i++;
        await q.append(Buffer.from('record-' + n));
        process.stdout.write('ack ' + n + '\\n');
      }
    };
    for (let k = 0; k < 8; k++) void writer();
  `);
  const proc = spawn(process.execPath, [child], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked = new Set<number>();
  let buf = '';
  await new Promise<void>((resolve) => {
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) acked.add(Number(l.slice(4)));
      if (acked.size >= 3000 && proc.exitCode === null && !proc.killed) proc.kill('SIGKILL');
    });
    proc.on('exit', () => resolve());
  });
  assert.ok(acked.size >= 3000, `only ${acked.size} acks before the kill`);
  const q = await DurableQueue.open({ dir, segmentBytes: 64 * 1024 });
  const got = (await drain(q)).map((r) => Number(r.slice(7)));
  await q.close();
  // Appends are durable in call order: what survived is 0..k without gaps, and covers every ack.
  got.forEach((v, i) => assert.equal(v, i, `record ${i} is ${v}`));
  const maxAcked = Math.max(...acked);
  assert.ok(got.length > maxAcked, `acked up to ${maxAcked} but only ${got.length} records survived`);
});

test('records kept in memory read exactly as from disk: same records, same positions, across segments', async () => {
  const disk = await DurableQueue.open({ dir: fresh(), segmentBytes: 4096, memoryBytes: 0 });
  // A bound smaller than what is waiting: the oldest come from disk, the newest from memory.
  const mixed = await DurableQueue.open({ dir: fresh(), segmentBytes: 4096, memoryBytes: 3000 });
  const all = await DurableQueue.open({ dir: fresh(), segmentBytes: 4096 });
  let appended = 0;
  const add = async (count: number): Promise<void> => {
    for (let k = 0; k < count; k++, appended++) await Promise.all([disk.append(rec(appended)), mixed.append(rec(appended)), all.append(rec(appended))]);
  };
  await add(300);
  let delivered = 0;
  for (let round = 0; delivered < 600; round++) {
    const [a, b, c] = await Promise.all([disk.read(37), mixed.read(37), all.read(37)]);
    assert.deepEqual(b.records.map(String), a.records.map(String), `round ${round}`);
    assert.deepEqual(c.records.map(String), a.records.map(String), `round ${round}`);
    assert.deepEqual(b.next, a.next, `round ${round}`);
    assert.deepEqual(c.next, a.next, `round ${round}`);
    assert.deepEqual(a.records.map(String), Array.from({ length: a.records.length }, (_, i) => rec(delivered + i).toString()));
    delivered += a.records.length;
    await Promise.all([disk.commit(a.next), mixed.commit(b.next), all.commit(c.next)]);
    if (round === 3) await add(300); // more arrives while the consumer works
  }
  assert.equal(all.stats.pending, 0);
  // Read again after a restart: from disk, the same records as memory gave before it.
  await add(10);
  const before = await all.read(100);
  await all.close();
  const reopened = await DurableQueue.open({ dir: (all as unknown as { dir: string }).dir, segmentBytes: 4096 });
  const after = await reopened.read(100);
  assert.deepEqual(after.records.map(String), before.records.map(String));
  assert.deepEqual(after.next, before.next);
  await Promise.all([disk.close(), mixed.close(), reopened.close()]);
});

test('the in-memory tail holds no more than its bound: records it lets go of are not kept referenced', async () => {
  const q = await DurableQueue.open({ dir: fresh(), segmentBytes: 1 << 20, memoryBytes: 10_000 });
  // 300 records of 1,000 bytes, none committed: only the newest ~10 may stay in memory.
  for (let i = 0; i < 300; i++) await q.append(Buffer.alloc(1000, i % 256));
  const held = (q as unknown as { memory: (unknown | undefined)[] }).memory.filter((r) => r !== undefined).length;
  assert.ok(held <= 10, `${held} records still referenced for a 10,000-byte bound`);
  // And everything is still there, from disk.
  let n = 0;
  for (;;) {
    const { records, next } = await q.read(64);
    if (records.length === 0) break;
    n += records.length;
    await q.commit(next);
  }
  assert.equal(n, 300);
  assert.equal((q as unknown as { memory: (unknown | undefined)[] }).memory.filter((r) => r !== undefined).length, 0, 'nothing held once committed');
  await q.close();
});

test('with fsync, the segment and the cursor are open O_DSYNC: an append and a commit are on disk when they resolve', { skip: process.platform !== 'linux' && 'reads /proc/self/fdinfo' }, async () => {
  const { readdir: rd, readFile: rf, readlink } = await import('node:fs/promises');
  const { constants } = await import('node:fs');
  const flagsOf = async (dir: string): Promise<Map<string, number>> => {
    const out = new Map<string, number>();
    for (const fd of await rd('/proc/self/fd')) {
      const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
      if (!target.startsWith(dir)) continue;
      const m = /^flags:\s+([0-7]+)$/m.exec(await rf(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => ''));
      if (m) out.set(target.slice(dir.length + 1), parseInt(m[1] as string, 8));
    }
    return out;
  };
  for (const fsync of [true, false]) {
    const dir = fresh();
    const q = await DurableQueue.open({ dir, fsync });
    await q.append(rec(1));
    const { next } = await q.read(10);
    await q.commit(next);
    const flags = await flagsOf(dir);
    const seg = [...flags.keys()].find((k) => k.endsWith('.seg'));
    assert.ok(seg !== undefined && flags.has('cursor.bin'), `both files open: ${[...flags.keys()].join(', ')}`);
    for (const [file, f] of flags) assert.equal((f & constants.O_DSYNC) !== 0, fsync, `${file} with fsync ${fsync}`);
    await q.close();
  }
});
