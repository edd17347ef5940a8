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
  const sender = new RemoteWriteSender({ url, timeout: 5000, min_backoff: 10, max_backoff: 100, max_records_per_send: 10, max_samples_per_send: 100, batch_send_deadline: 0, min_shards: 1, max_shards: 4 }, queue, new CollectorMetrics(), pino({ level: 'silent' }));
  sender.start();
  const deadline = Date.now() + 20_000;
  while (committed === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await sender.stop();
  await new Promise((r) => server.close(r));
  assert.ok(reads >= 2, 'read again after the error');
  assert.equal(received, 1);
  assert.equal(committed, 1);
});

test('a backlog grows the send shards; each site stays on one shard, so every series arrives in order, once', { timeout: 60_000 }, async () => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { DurableQueue } = await import('./queue.js');
  const { RemoteWriteBatch, RemoteWriteReader, encodeLabels, snappyUncompress } = await import('../wire/index.js');
  const seen = new Map<string, number[]>();
  let inflight = 0;
  let maxInflight = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    inflight++;
    maxInflight = Math.max(maxInflight, inflight);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = new RemoteWriteReader(snappyUncompress(Buffer.concat(chunks)));
      while (r.next()) {
        const key = r.labels().join(',');
        const list = seen.get(key) ?? [];
        for (let i = 0; i < r.sampleCount(); i++) list.push(r.sampleTimestamp(i));
        seen.set(key, list);
      }
      setTimeout(() => {
        inflight--;
        res.writeHead(204).end();
      }, 30);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-shards-'));
  const queue = await DurableQueue.open({ dir, fsync: false });
  const SITES = 12;
  const ROUNDS = 30;
  for (let round = 0; round < ROUNDS; round++) {
    for (let s = 0; s < SITES; s++) {
      const b = new RemoteWriteBatch();
      b.add(encodeLabels(['__name__', 'm', 'site', `ce-${s}`]), round, 1000 + round);
      await queue.append(encodeQueuedWrite({ tenant: 't', samples: 1, body: Buffer.from(b.finish()), shardKey: `ce-${s}` }));
    }
  }
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  const sender = new RemoteWriteSender({ url, timeout: 5000, min_backoff: 10, max_backoff: 100, max_records_per_send: 16, max_samples_per_send: 4, batch_send_deadline: 0, min_shards: 1, max_shards: 4 }, queue, new CollectorMetrics(), pino({ level: 'silent' }));
  sender.start();
  const deadline = Date.now() + 30_000;
  while ([...seen.values()].reduce((n, l) => n + l.length, 0) < SITES * ROUNDS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const grown = maxInflight;
  for (const end = Date.now() + 10_000; sender.shardCount > 1 && Date.now() < end;) await new Promise((r) => setTimeout(r, 50));
  const shrunk = sender.shardCount;
  await sender.stop();
  await queue.close();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
  assert.ok(grown > 1, `requests ran concurrently (at most ${grown})`);
  assert.equal(seen.size, SITES);
  const want = Array.from({ length: ROUNDS }, (_, i) => 1000 + i);
  for (const [key, list] of seen) assert.deepEqual(list, want, `${key}: every sample once, in order`);
  assert.equal(shrunk, 1, 'back to one shard once the backlog is gone');
});

test('queued snappy blocks and uncompressed bodies go out joined in one snappy block that snappyjs and our decoder both read', { timeout: 30_000 }, async () => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { uncompress } = await import('snappyjs');
  const { DurableQueue } = await import('./queue.js');
  const { RemoteWriteBatch, RemoteWriteSnappyBatch, decodeWriteRequest, encodeLabels, snappyUncompress } = await import('../wire/index.js');
  const bodies: Buffer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-join-'));
  const queue = await DurableQueue.open({ dir, fsync: false });
  const expected: string[] = [];
  // Records that repeat each other's labels, so the snappy blocks are full of copies.
  for (let r = 0; r < 6; r++) {
    const snappy = r % 2 === 0;
    const b = snappy ? new RemoteWriteSnappyBatch() : new RemoteWriteBatch();
    for (let i = 0; i < 50; i++) {
      const labels = ['__name__', `m_${i % 7}`, 'instance', `10.0.0.${i}:9100`, 'job', 'node', 'site', `ce-${r}`];
      b.add(encodeLabels(labels), r * 100 + i, 1000 + r);
      expected.push(`${labels.join(',')}=${r * 100 + i}`);
    }
    await queue.append(encodeQueuedWrite({ tenant: 't', samples: 50, body: Buffer.from(b.finish()), shardKey: 'one-site', snappy }));
  }
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  const sender = new RemoteWriteSender({ url, timeout: 5000, min_backoff: 10, max_backoff: 100, max_records_per_send: 10, max_samples_per_send: 1000, batch_send_deadline: 0, min_shards: 1, max_shards: 1 }, queue, new CollectorMetrics(), pino({ level: 'silent' }));
  sender.start();
  for (const end = Date.now() + 20_000; bodies.length === 0 && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
  await sender.stop();
  await queue.close();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
  assert.equal(bodies.length, 1, 'all six records in one request');
  const body = bodies[0] as Buffer;
  const ours = snappyUncompress(body);
  const theirs = Buffer.from(uncompress(new Uint8Array(body)));
  assert.ok(ours.equals(theirs), 'snappyjs decodes the joined block to the same bytes');
  const got = decodeWriteRequest(ours).timeseries.map((ts) => `${ts.labels.join(',')}=${ts.samples[0]?.value}`);
  assert.deepEqual(got, expected);
});

test('a queued record flagged snappy that is not a snappy block is dropped and counted, and does not stop the queue', { timeout: 30_000 }, async () => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { DurableQueue } = await import('./queue.js');
  const { RemoteWriteSnappyBatch, decodeWriteRequest, encodeLabels, snappyUncompress } = await import('../wire/index.js');
  const bodies: Buffer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-corrupt-'));
  const queue = await DurableQueue.open({ dir, fsync: false });
  // A length header that never ends: ten bytes with the continuation bit.
  await queue.append(encodeQueuedWrite({ tenant: 't', samples: 3, body: Buffer.alloc(10, 0xff), shardKey: 's', snappy: true }));
  const b = new RemoteWriteSnappyBatch();
  b.add(encodeLabels(['__name__', 'after_the_bad_one']), 7, 1000);
  await queue.append(encodeQueuedWrite({ tenant: 't', samples: 1, body: Buffer.from(b.finish()), shardKey: 's', snappy: true }));
  const metrics = new CollectorMetrics();
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  const sender = new RemoteWriteSender({ url, timeout: 5000, min_backoff: 10, max_backoff: 100, max_records_per_send: 10, max_samples_per_send: 1000, batch_send_deadline: 0, min_shards: 1, max_shards: 1 }, queue, metrics, pino({ level: 'silent' }));
  sender.start();
  for (const end = Date.now() + 20_000; (bodies.length === 0 || queue.stats.pending > 0) && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
  await sender.stop();
  const pending = queue.stats.pending;
  await queue.close();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
  assert.equal(bodies.length, 1);
  assert.deepEqual(decodeWriteRequest(snappyUncompress(bodies[0] as Buffer)).timeseries.map((ts) => ts.labels[1]), ['after_the_bad_one']);
  assert.equal(pending, 0, 'committed past the bad record');
  assert.match(await metrics.registry.metrics(), /fleetscope_collector_samples_failed_total\{remote="[^"]+",reason="corrupt_record"\} 3/);
});
