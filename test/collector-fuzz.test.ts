// A bounded fuzz of the collector's receiver: malformed protobuf, snappy
// bombs, hostile label sets and random bytes. The process must not crash,
// every bad request must get a 4xx, and good pushes must keep working.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Collector, validateCollectorConfig } from '../collector/index.js';
import { REMOTE_WRITE_HEADERS, encodeWriteRequest, snappyCompress, type TimeSeries } from '../wire/index.js';

const TOKEN = 'token-fuzz-site-ffffffffffffff';

test('fuzz: hostile pushes get a 4xx and the collector keeps serving', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-fuzz-'));
  // No remote_write target: this is about the receiver, not delivery.
  const loaded = validateCollectorConfig({
    queue: { dir: join(dir, 'queue') },
    limits: { max_body_bytes: 1024 * 1024, max_decompressed_bytes: 4 * 1024 * 1024, max_labels_per_series: 32, max_label_value_length: 1024 },
    sites: [{ token: TOKEN, tenant: 'acme', site: 'ce-fuzz' }],
    tenants: { acme: { pipeline: {} } },
  }, 'fuzz.yml');
  const collector = await Collector.start(loaded, { listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const good: TimeSeries = { labels: ['__name__', 'fuzz_ok', 'a', 'b'], samples: [{ value: 1, timestamp: Date.now() }] };
  const hostile = (): Uint8Array => {
    switch (rand(7)) {
      case 0: { // flipped bytes in a valid body
        const b = Buffer.from(snappyCompress(encodeWriteRequest({ timeseries: [good, good] })));
        for (let k = 1 + rand(4); k > 0; k--) b[rand(b.length)] = rand(256);
        return b;
      }
      case 1: // a snappy bomb: declares up to 4 GiB
        return Buffer.from([0x80 | rand(128), 0xff, 0xff, 0xff, 0x0f, 0x00, rand(256)]);
      case 2: // truncated protobuf
        return snappyCompress(encodeWriteRequest({ timeseries: [good] }).subarray(0, 5 + rand(5)));
      case 3: // hostile labels: too many, too long, invalid names, duplicates, unsorted
        return snappyCompress(encodeWriteRequest({ timeseries: [[
          { labels: ['__name__', 'm', ...Array.from({ length: 40 }, (_, i) => [`l${String(i).padStart(2, '0')}`, 'v']).flat()], samples: [] },
          { labels: ['__name__', 'm', 'a', 'x'.repeat(5000)], samples: [] },
          { labels: ['__name__', 'm', 'bad-name', 'v'], samples: [] },
          { labels: ['__name__', 'm', 'a', '1', 'a', '2'], samples: [] },
          { labels: ['a', '1', '__name__', 'm'], samples: [] },
          { labels: ['a', '1'], samples: [] },
        ][rand(6)] as TimeSeries] }));
      case 4: // random bytes
        return Buffer.from(Array.from({ length: 1 + rand(200) }, () => rand(256)));
      case 5: // invalid UTF-8 in a label value
        return snappyCompress(Buffer.from([0x0a, 0x12, 0x0a, 0x0c, 0x0a, 0x08, ...Buffer.from('__name__'), 0x12, 0x00, 0x0a, 0x04, 0x0a, 0x01, 0x61, 0x12, 0x01, 0xff].slice(0, 20)));
      default: // an oversized body
        return Buffer.alloc(1024 * 1024 + 1 + rand(1000));
    }
  };
  try {
    const statuses = new Map<number, number>();
    const deadline = Date.now() + 10_000;
    let sent = 0;
    while (Date.now() < deadline && sent < 3000) {
      const res = await fetch(`${collector.url}/api/v1/write`, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, Authorization: `Bearer ${TOKEN}` }, body: hostile() });
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      sent++;
    }
    const non4xx = [...statuses].filter(([s]) => s < 400 || s >= 500);
    // A mutated body can still be valid by chance (204); anything 5xx would be a server fault.
    assert.ok(non4xx.every(([s]) => s === 204), `unexpected statuses: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(400) ?? 0) > 100 && (statuses.get(413) ?? 0) > 50, JSON.stringify([...statuses]));
    const ok = await fetch(`${collector.url}/api/v1/write`, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, Authorization: `Bearer ${TOKEN}` }, body: snappyCompress(encodeWriteRequest({ timeseries: [good] })) });
    assert.equal(ok.status, 204, 'a good push still works after the storm');
    assert.equal((await fetch(`${collector.url}/-/healthy`)).status, 200);
  } finally {
    await collector.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
