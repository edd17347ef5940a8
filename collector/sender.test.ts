import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { CollectorMetrics } from './metrics.js';
import type { DurableQueue } from './queue.js';
import { encodeQueuedWrite } from './record.js';
import { RemoteWriteSender } from './sender.js';

test('a queue error does not stop the sender: it waits and delivers', { timeout: 30_000 }, async () => {
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const rec = encodeQueuedWrite({ tenant: 't', samples: 1, body: Buffer.alloc(0) });
  let reads = 0;
  let committed = 0;
  // A stand-in for the durable queue whose disk fails the first read.
  const queue = {
    stats: { bytes: 0, pending: 0, droppedRecords: 0, droppedBytes: 0, corruptRecords: 0 },
    async read() {
      reads++;
      if (reads === 1) throw new Error('EIO: i/o error, read');
      return committed === 0 ? { records: [rec], next: { segment: 0, offset: 1, index: 1 } } : { records: [], next: { segment: 0, offset: 1, index: 1 } };
    },
    async commit() {
      committed++;
    },
  } as unknown as DurableQueue;
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  const sender = new RemoteWriteSender({ url, timeout: 5000, min_backoff: 10, max_backoff: 100, max_records_per_send: 10 }, queue, new CollectorMetrics(), pino({ level: 'silent' }));
  sender.start();
  const deadline = Date.now() + 20_000;
  while (committed === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await sender.stop();
  await new Promise((r) => server.close(r));
  assert.ok(reads >= 2, 'read again after the error');
  assert.equal(received, 1);
  assert.equal(committed, 1);
});
