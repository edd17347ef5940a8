import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeQueuedWrite, encodeQueuedWrite } from './record.js';

test('queued writes decode to what was encoded, with and without each optional part', () => {
  const body = Buffer.from([0x0a, 0x03, 0x01, 0x02, 0x03]);
  for (const w of [
    { tenant: 'acme', samples: 7, body, shardKey: 'ce-1', snappy: true, queuedAt: 1_800_000_000_123.5 },
    { tenant: 'acme', samples: 7, body, shardKey: 'ce-1', snappy: false, queuedAt: 0 },
    { tenant: 't', samples: 0, body: Buffer.alloc(0), shardKey: 't', snappy: true, queuedAt: 0 },
    { tenant: 'x'.repeat(128), samples: 2 ** 32 - 1, body, shardKey: 'é-site', snappy: false, queuedAt: 1 },
  ]) {
    const got = decodeQueuedWrite(encodeQueuedWrite(w));
    assert.deepEqual({ ...got, body: [...got.body] }, { ...w, body: [...w.body] });
  }
});

test('records queued by earlier versions still decode: without shard key, and with it but no other flag', () => {
  const body = Buffer.from([9, 9, 9]);
  // [u32 samples][u16 tenant length][tenant][body]
  const oldest = Buffer.concat([Buffer.from([5, 0, 0, 0, 4, 0]), Buffer.from('acme'), body]);
  assert.deepEqual(decodeQueuedWrite(oldest), { samples: 5, tenant: 'acme', shardKey: 'acme', body, snappy: false, queuedAt: 0 });
  // [u32 samples][u16 tenant length | 0x8000][tenant][u16 shard length][shard][body]
  const older = Buffer.concat([Buffer.from([5, 0, 0, 0, 4, 0x80]), Buffer.from('acme'), Buffer.from([4, 0]), Buffer.from('ce-9'), body]);
  assert.deepEqual(decodeQueuedWrite(older), { samples: 5, tenant: 'acme', shardKey: 'ce-9', body, snappy: false, queuedAt: 0 });
});
