// The log path reuses a batch's body as soon as DurableQueue.append() has
// been called with it (collector/logs/ingest.ts). That is only safe while
// append() copies the record before it returns: this keeps it so.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DurableQueue } from '../queue.js';

test('DurableQueue.append copies the record before it returns', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-queue-copy-'));
  try {
    const q = await DurableQueue.open({ dir });
    const body = Buffer.from('the first record');
    const durable = q.append(body);
    body.fill(0x78); // reused for the next batch at once
    await durable;
    const { records } = await q.read(10);
    assert.equal(records[0]?.toString(), 'the first record');
    await q.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
