import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uncompress as snappyjsUncompress } from 'snappyjs';
import { WireError } from './errors.js';
import { RemoteWriteBatch, RemoteWriteReader, STALE_NAN, encodeLabels, type MetricMetadata, type Sample, type TimeSeries } from './remote-write.js';
import { decodeWriteRequestReference } from './remote-write-reference.js';
import { RemoteWriteSnappyBatch, SeriesFields, internLabelField } from './remote-write-snappy.js';
import { snappyUncompress } from './snappy.js';
import { seeded } from './test-random.js';

// Seeded: every run sees the same inputs.
const rand = seeded(99);
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)] as T;

const VALUES = [0, -0, 1, -1.5, 1e300, 5e-324, NaN, Infinity, -Infinity, STALE_NAN, 0.1, 123456789.123];
const TIMESTAMPS = [0, 1, 1_700_000_000_000, -1, -1_700_000_000_000, 2 ** 35, 2 ** 53 - 1, -(2 ** 53) + 1, 127, 128, 16_383, 16_384];
const NAMES = ['__name__', 'container', 'id', 'instance', 'job', 'namespace', 'pod', 'uid', 'le', 'x'];
const VALUE_PARTS = ['kube-system', 'coredns-5d78c9869d-', '10.0.', ':9100', '/kubepods/burstable/pod', 'Grüße 日本語', '😀', '', 'a"b\\c\nd', 'abcde', '0', '1'];

/** A value that often shares a prefix or suffix with others of its label, sometimes long. */
function randomValue(): string {
  let v = '';
  for (let k = 1 + rand(3); k > 0; k--) v += pick(VALUE_PARTS);
  if (rand(8) === 0) v += String(rand(1000));
  if (rand(60) === 0) v += 'v'.repeat(200 + rand(400));
  return v;
}

function randomLabels(): string[] {
  const names = new Set<string>(['__name__']);
  for (let l = rand(8); l > 0; l--) names.add(pick(NAMES));
  return [...names].sort().flatMap((n) => [n, n === '__name__' ? `metric_${rand(20)}` : randomValue()]);
}

type Call =
  | { kind: 'add'; labels: string[]; value: number; timestamp: number }
  | { kind: 'samples'; labels: string[]; samples: Sample[] }
  | { kind: 'series'; ts: TimeSeries }
  | { kind: 'metadata'; m: MetricMetadata };

function randomCalls(): Call[] {
  const pool = Array.from({ length: 1 + rand(40) }, randomLabels);
  const calls: Call[] = [];
  for (let i = rand(200); i >= 0; i--) {
    const r = rand(20);
    const labels = pick(pool);
    if (r < 14) calls.push({ kind: 'add', labels, value: pick(VALUES), timestamp: pick(TIMESTAMPS) });
    else if (r < 18) {
      let t = Math.min(pick(TIMESTAMPS), 2 ** 53 - 5000);
      const samples: Sample[] = [];
      for (let k = rand(4); k > 0; k--) samples.push({ value: pick(VALUES), timestamp: (t += rand(1000)) });
      calls.push({ kind: 'samples', labels, samples });
    } else if (r < 19) {
      calls.push({ kind: 'series', ts: { labels, samples: [{ value: 1, timestamp: 5 }], exemplars: [{ labels: ['trace_id', randomValue()], value: 0.5, timestamp: 7 }] } });
    } else calls.push({ kind: 'metadata', m: { type: 'gauge', metricFamilyName: 'm', help: randomValue(), unit: '' } });
  }
  return calls;
}

/** Runs the calls on both builders; label bytes are cached per label set, as a caller would. */
function build(calls: readonly Call[], snappy: RemoteWriteSnappyBatch, plain: RemoteWriteBatch, cache: Map<string, Uint8Array>): void {
  const bytes = (labels: string[]): Uint8Array => {
    const key = JSON.stringify(labels);
    let b = cache.get(key);
    if (b === undefined) cache.set(key, (b = encodeLabels(labels)));
    return b;
  };
  for (const c of calls) {
    if (c.kind === 'add') {
      snappy.add(bytes(c.labels), c.value, c.timestamp);
      plain.add(bytes(c.labels), c.value, c.timestamp);
    } else if (c.kind === 'samples') {
      snappy.addSamples(bytes(c.labels), c.samples);
      plain.addSamples(bytes(c.labels), c.samples);
    } else if (c.kind === 'series') {
      snappy.addSeries(c.ts);
      plain.addSeries(c.ts);
    } else {
      snappy.addMetadata(c.m);
      plain.addMetadata(c.m);
    }
  }
}

test('decompresses byte for byte to what RemoteWriteBatch builds from the same calls', () => {
  for (const diffNewValues of [true, false]) {
    const snappy = new RemoteWriteSnappyBatch({ initialBytes: 64, diffNewValues });
    const plain = new RemoteWriteBatch(64);
    const cache = new Map<string, Uint8Array>();
    for (let round = 0; round < 300; round++) {
      snappy.reset();
      plain.reset();
      build(randomCalls(), snappy, plain, cache);
      const want = Buffer.from(plain.finish());
      const block = snappy.finish();
      assert.equal(snappy.uncompressedLength, want.length);
      assert.equal(snappy.seriesCount, plain.seriesCount);
      assert.equal(snappy.sampleCount, plain.sampleCount);
      assert.deepEqual(snappyUncompress(block), want);
      assert.deepEqual(Buffer.from(snappyjsUncompress(Buffer.from(block))), want, 'snappyjs reads it too');
    }
  }
});

test('the reference decoder reads the block back to the input, stale marker bits included', () => {
  const labels = ['__name__', 'up', 'instance', '10.0.0.1:9100', 'job', 'node'];
  const b = new RemoteWriteSnappyBatch();
  const quieted = [1.5, STALE_NAN].map((v) => v)[1] as number; // through a double array: V8 may set the quiet bit
  b.add(encodeLabels(labels), quieted, 1_700_000_000_000);
  b.addSamples(encodeLabels(labels), [{ value: -0, timestamp: -5 }, { value: Infinity, timestamp: 2 ** 53 - 1 }]);
  const body = snappyUncompress(b.finish());
  const req = decodeWriteRequestReference(body);
  assert.deepEqual(req.timeseries.map((t) => t.labels), [labels, labels]);
  assert.deepEqual(req.timeseries[1]?.samples, [{ value: -0, timestamp: -5 }, { value: Infinity, timestamp: 2 ** 53 - 1 }]);
  // Series tag, its length (one byte here), the label bytes, then the sample's tag, length and the double's tag.
  const at = 2 + encodeLabels(labels).length + 3;
  assert.equal(body[at - 1], 0x09);
  assert.equal(body.readBigUInt64LE(at), 0x7ff0000000000002n);
});

test('copies reach back past 64 KiB (4-byte offsets) and literals run past 64 KiB', () => {
  const snappy = new RemoteWriteSnappyBatch({ initialBytes: 64 });
  const plain = new RemoteWriteBatch(64);
  const shared = encodeLabels(['__name__', 'm', 'job', 'x'.repeat(70_000)]);
  for (let i = 0; i < 3; i++) {
    const own = encodeLabels(['__name__', 'm', 'i', String(i), 'job', 'x'.repeat(70_000)]);
    for (const b of [snappy, plain]) {
      b.add(shared, i, i);
      b.add(own, i, i);
    }
  }
  const block = snappy.finish();
  assert.deepEqual(snappyUncompress(block), Buffer.from(plain.finish()));
  assert.ok(block.length < plain.byteLength / 2, `${block.length} bytes for ${plain.byteLength}`);
});

test('label bytes that are not Label fields, or use long varints, are still written exactly', () => {
  const snappy = new RemoteWriteSnappyBatch();
  const plain = new RemoteWriteBatch();
  const canonical = encodeLabels(['__name__', 'abc', 'pod', 'p-1']);
  // The same labels with every length as a two-byte varint (legal protobuf, not what encoders write).
  const padded = Buffer.from([
    0x0a, 0x91, 0x00, 0x0a, 0x88, 0x00, ...Buffer.from('__name__'), 0x12, 0x83, 0x00, ...Buffer.from('abc'),
    0x0a, 0x8c, 0x00, 0x0a, 0x83, 0x00, ...Buffer.from('pod'), 0x12, 0x83, 0x00, ...Buffer.from('p-2'),
  ]);
  const garbage = Buffer.from([0x0a, 0x7f, 0x01, 0x02]);
  for (const labels of [canonical, padded, canonical, garbage, padded, garbage]) {
    snappy.add(labels, 1, 2);
    plain.add(labels, 1, 2);
  }
  assert.deepEqual(snappyUncompress(snappy.finish()), Buffer.from(plain.finish()));
});

test('diffing new values against the last of their name makes the block smaller', () => {
  const sizes = [true, false].map((diffNewValues) => {
    const b = new RemoteWriteSnappyBatch({ diffNewValues });
    for (let i = 0; i < 500; i++) {
      const pod = `coredns-5d78c9869d-${(i * 7919).toString(36).padStart(5, 'a')}`;
      b.add(encodeLabels(['__name__', 'kube_pod_info', 'namespace', 'kube-system', 'pod', pod]), 1, 1_700_000_000_000);
    }
    return b.finish().length;
  });
  assert.ok((sizes[0] as number) < (sizes[1] as number) * 0.8, `with diff ${sizes[0]}, without ${sizes[1]}`);
});

test('forwards a reader\'s samples like RemoteWriteBatch.addFromReader', () => {
  const source = new RemoteWriteBatch();
  const labels = encodeLabels(['__name__', 'm', 'a', 'b']);
  source.addSamples(labels, [{ value: STALE_NAN, timestamp: -3 }, { value: 2, timestamp: 1 }]);
  source.add(labels, 4, 5);
  const snappy = new RemoteWriteSnappyBatch();
  const plain = new RemoteWriteBatch();
  const out = encodeLabels(['__name__', 'm', 'a', 'b', 'site', 'ce-1']);
  const reader = new RemoteWriteReader(source.finish());
  while (reader.next()) {
    snappy.addFromReader(out, reader);
    plain.addFromReader(out, reader);
  }
  assert.deepEqual(snappyUncompress(snappy.finish()), Buffer.from(plain.finish()));
});

test('a timestamp that is not whole milliseconds is refused before anything is written', () => {
  const b = new RemoteWriteSnappyBatch();
  const labels = encodeLabels(['__name__', 'm']);
  b.add(labels, 1, 1000);
  for (const t of [1.5, NaN, Infinity, 2 ** 53]) {
    assert.throws(() => b.add(labels, 1, t), (e: unknown) => e instanceof WireError && e.code === 'FS_WIRE_REMOTE_WRITE_INVALID' && /not a whole number/.test(e.message));
    assert.throws(() => b.addSamples(labels, [{ value: 1, timestamp: 2000 }, { value: 1, timestamp: t }]), WireError);
  }
  const plain = new RemoteWriteBatch();
  plain.add(labels, 1, 1000);
  assert.deepEqual(snappyUncompress(b.finish()), Buffer.from(plain.finish()));
  assert.equal(b.seriesCount, 1);
});

test('two label names whose name parts hash alike are not diffed against each other', () => {
  // The batch keys "the last new value of this name" by an FNV-1a hash of the
  // name part (Label.name field and the value's tag); find two names that collide.
  const hash = (name: string): number => {
    let h = 0x811c9dc5;
    for (const b of [0x0a, name.length, ...Buffer.from(name), 0x12]) h = Math.imul(h ^ b, 16777619);
    return h >>> 1;
  };
  const seen = new Map<number, string>();
  let pair: [string, string] | undefined;
  for (let i = 0; pair === undefined && i < 500_000; i++) {
    const name = `n${i}`;
    const other = seen.get(hash(name));
    if (other !== undefined) pair = [other, name];
    seen.set(hash(name), name);
  }
  assert.ok(pair, 'no collision found');
  const [a, b] = pair;
  const snappy = new RemoteWriteSnappyBatch();
  const plain = new RemoteWriteBatch();
  for (const [name, value] of [[a, 'value-one'], [b, 'value-two'], [a, 'value-three'], [b, 'value-one']] as const) {
    const labels = encodeLabels(['__name__', 'm', name, value]);
    snappy.add(labels, 1, 2);
    plain.add(labels, 1, 2);
  }
  assert.deepEqual(snappyUncompress(snappy.finish()), Buffer.from(plain.finish()));
});

test('past the field table bound it starts over and stays exact: more distinct fields than it holds', () => {
  const plain = new RemoteWriteBatch(1 << 20);
  const snappy = new RemoteWriteSnappyBatch({ initialBytes: 1 << 20 });
  // 150k series with two fields each that no other series has: 300k new fields, over the 2^18 the table holds,
  // mixed with fields every series shares (copies across the start-over must still point at the right bytes).
  const labelBytes: Buffer[] = [];
  for (let i = 0; i < 150_000; i++) labelBytes.push(encodeLabels(['__name__', 'm', 'id', `series-${i}`, 'job', 'j', 'uid', `u-${i * 7}`]));
  for (let start = 0; start < labelBytes.length; start += 10_000) {
    plain.reset();
    snappy.reset();
    for (let i = start; i < start + 10_000; i++) {
      plain.add(labelBytes[i] as Buffer, i, 1000);
      snappy.add(labelBytes[i] as Buffer, i, 1000);
    }
    assert.ok(snappyUncompress(snappy.finish()).equals(plain.finish()), `batch from series ${start}`);
  }
  // Series tagged before the start-over, written again after it.
  plain.reset();
  snappy.reset();
  for (const i of [0, 149_999, 1, 149_998, 0]) {
    plain.add(labelBytes[i] as Buffer, i, 2000);
    snappy.add(labelBytes[i] as Buffer, i, 2000);
  }
  assert.ok(snappyUncompress(snappy.finish()).equals(plain.finish()));
});

test('fields from two sources, given by id, decompress to the series joined (copies and diffs across sources included)', () => {
  for (const diffNewValues of [true, false]) {
    const snappy = new RemoteWriteSnappyBatch({ initialBytes: 64, diffNewValues });
    const plain = new RemoteWriteBatch(64);
    for (let round = 0; round < 100; round++) {
      snappy.reset();
      plain.reset();
      // A request of series (source 0) and a table of constant fields (source 1), each at an offset in a larger buffer.
      const series = Array.from({ length: 1 + rand(60) }, randomLabels);
      const source = new RemoteWriteBatch();
      for (const labels of series) source.add(encodeLabels(labels), rand(100), 1_700_000_000_000 + rand(1000));
      const request = Buffer.concat([Buffer.alloc(1 + rand(7)), source.finish()]).subarray(0);
      const body = request.subarray(request.length - source.byteLength);
      const constants = [encodeLabels(['site', `ce-${rand(3)}`]), encodeLabels(['tenant', 'acme']), encodeLabels(['zz', randomValue()])];
      const constBytes = Buffer.concat([Buffer.alloc(3), ...constants]).subarray(3);
      const reader = new RemoteWriteReader(body);
      snappy.setSource(0, body);
      snappy.setSource(1, constBytes);
      const fields = new SeriesFields();
      while (reader.next()) {
        fields.clear();
        const out: Buffer[] = [];
        for (let i = 0; i < reader.labelCount(); i++) {
          const s = reader.labelFieldStart(i);
          const e = reader.labelFieldEnd(i);
          fields.push(internLabelField(body, s, e), 0, s, e - s);
          out.push(body.subarray(s, e));
        }
        let at = 0;
        for (const c of constants.slice(0, rand(4))) {
          fields.push(internLabelField(c, 0, c.length), 1, at, c.length);
          out.push(Buffer.from(c));
          at += c.length;
        }
        snappy.addFields(fields, reader);
        plain.addFromReader(Buffer.concat(out), reader);
      }
      const want = Buffer.from(plain.finish());
      const block = snappy.finish();
      assert.equal(snappy.seriesCount, series.length);
      assert.deepEqual(snappyUncompress(block), want);
      assert.deepEqual(Buffer.from(snappyjsUncompress(Buffer.from(block))), want, 'snappyjs reads it too');
    }
  }
});
