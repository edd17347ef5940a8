import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireError } from './errors.js';
import {
  RemoteWriteBatch,
  RemoteWriteReader,
  STALE_NAN,
  type TimeSeries,
  type WriteRequest,
  decodeRemoteWriteBody,
  decodeWriteRequest,
  encodeLabels,
  encodeWriteRequest,
  isStaleNaN,
} from './remote-write.js';
import { decodeWriteRequestReference, encodeWriteRequestReference } from './remote-write-reference.js';
import { snappyCompress, snappyUncompress } from './snappy.js';

let state = 42;
const rand = (n: number): number => {
  state = (state * 1103515245 + 12345) >>> 0;
  return state % n;
};

const VALUES = [0, -0, 1, -1.5, 1e300, 5e-324, NaN, Infinity, -Infinity, STALE_NAN, 0.1, 123456789.123];
const TIMESTAMPS = [0, 1, 1700000000000, -1, -1700000000000, 2 ** 40, 2 ** 53 - 1, -(2 ** 53) + 1, 127, 128, 16383, 16384];
const STRINGS = ['', 'a', 'GET', 'Grüße 日本語', '😀 emoji', 'x'.repeat(300), 'quote"back\\slash\nnl', '\u0000nul'];

function randomRequest(): WriteRequest {
  const timeseries: TimeSeries[] = [];
  for (let s = rand(20); s >= 0; s--) {
    const names = new Set<string>(['__name__']);
    for (let l = rand(16); l > 0; l--) names.add(`l${rand(40)}_${'abc'[rand(3)]}`);
    const labels = [...names].sort().flatMap((n) => [n, n === '__name__' ? `metric_${rand(100)}` : (STRINGS[rand(STRINGS.length)] as string)]);
    let ts = TIMESTAMPS[rand(TIMESTAMPS.length)] as number;
    const samples = [];
    for (let k = rand(4); k >= 0; k--) {
      samples.push({ value: VALUES[rand(VALUES.length)] as number, timestamp: ts });
      ts += rand(1000);
    }
    const exemplars = rand(3) === 0 ? [{ labels: ['trace_id', `t${rand(1000)}`], value: 0.5, timestamp: 1700000000000 }] : undefined;
    timeseries.push(exemplars ? { labels, samples, exemplars } : { labels, samples });
  }
  const metadata = rand(2) === 0 ? [{ type: 'counter' as const, metricFamilyName: 'm_total', help: 'Help ü.', unit: 'seconds' }] : [];
  return { timeseries, metadata };
}

/** Deep equality that compares NaNs by bit pattern class (stale or not). */
function assertSameRequest(got: WriteRequest, want: WriteRequest): void {
  const norm = (r: WriteRequest): unknown =>
    JSON.parse(JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? (isStaleNaN(v) ? 'STALE' : String(v)) : Object.is(v, -0) ? '-0' : v)));
  const w = { timeseries: want.timeseries, metadata: want.metadata ?? [] };
  assert.deepEqual(norm({ timeseries: got.timeseries, metadata: got.metadata ?? [] }), norm(w));
}

test('fast encoder output decodes with the protobufjs reference to exactly the input', () => {
  for (let i = 0; i < 300; i++) {
    const req = randomRequest();
    assertSameRequest(decodeWriteRequestReference(encodeWriteRequest(req)), req);
  }
});

test('fast decoder reads reference-encoded bodies exactly', () => {
  for (let i = 0; i < 300; i++) {
    const req = randomRequest();
    // Not validated: the random label values include '', which the spec forbids.
    assertSameRequest(decodeWriteRequest(encodeWriteRequestReference(req), {}, false), req);
  }
});

test('the batch path (cached label bytes) encodes what encodeWriteRequest does', () => {
  const labels = ['__name__', 'http_requests_total', 'code', '200', 'method', 'GET'];
  const cached = encodeLabels(labels);
  const batch = new RemoteWriteBatch(16);
  batch.add(cached, 1, 1000);
  batch.add(cached, STALE_NAN, 2000);
  batch.addSamples(cached, [{ value: 3, timestamp: 3000 }, { value: 4, timestamp: 4000 }]);
  assert.equal(batch.seriesCount, 3);
  assert.equal(batch.sampleCount, 4);
  const want: WriteRequest = {
    timeseries: [
      { labels, samples: [{ value: 1, timestamp: 1000 }] },
      { labels, samples: [{ value: STALE_NAN, timestamp: 2000 }] },
      { labels, samples: [{ value: 3, timestamp: 3000 }, { value: 4, timestamp: 4000 }] },
    ],
  };
  assert.deepEqual(Buffer.from(batch.finish()), encodeWriteRequest(want));
  assertSameRequest(decodeWriteRequestReference(batch.finish()), want);
  batch.reset();
  assert.equal(batch.byteLength, 0);
});

test('the stale marker keeps its exact bits, even after a quieting operation', () => {
  const quieted = [STALE_NAN][0] as number;
  const arr = [1.5, 2.5];
  arr.push(quieted); // a packed double array sets the quiet bit in V8
  assert.ok(isStaleNaN(arr[2] as number));
  assert.ok(!isStaleNaN(NaN));
  assert.ok(!isStaleNaN(1));
  const body = encodeWriteRequest({ timeseries: [{ labels: ['__name__', 'm'], samples: [{ value: arr[2] as number, timestamp: 1 }] }] });
  const at = body.indexOf(0x09) + 1; // the double's tag inside the sample
  assert.equal(body.readBigUInt64LE(at), 0x7ff0000000000002n);
});

test('snappy round trip agrees with snappyjs and checks the declared length first', () => {
  const body = encodeWriteRequest(randomRequest());
  assert.deepEqual(snappyUncompress(snappyCompress(body)), body);
  const bomb = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]); // declares 4 GiB
  assert.throws(() => snappyUncompress(bomb, 1024), (e: unknown) => e instanceof WireError && e.code === 'FS_WIRE_SNAPPY_TOO_LARGE' && e.status === 413);
  assert.throws(() => snappyUncompress(Buffer.from([0x10, 0xff, 0xff])), (e: unknown) => e instanceof WireError && e.code === 'FS_WIRE_SNAPPY_CORRUPT');
  assert.throws(() => snappyUncompress(Buffer.alloc(0)), (e: unknown) => e instanceof WireError && e.code === 'FS_WIRE_SNAPPY_CORRUPT');
});

const bad: [string, () => unknown, string, RegExp][] = [
  ['truncated protobuf', () => decodeWriteRequest(encodeWriteRequest({ timeseries: [{ labels: ['__name__', 'm'], samples: [{ value: 1, timestamp: 1 }] }] }).subarray(0, 10)), 'FS_WIRE_PROTOBUF', /runs past the end/],
  ['bad varint', () => decodeWriteRequest(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), 'FS_WIRE_PROTOBUF', /varint longer than 10 bytes/],
  ['group wire type', () => decodeWriteRequest(Buffer.from([0x0b])), 'FS_WIRE_PROTOBUF', /field 1 has wire type 3/],
  ['field 0', () => decodeWriteRequest(Buffer.from([0x02, 0x00])), 'FS_WIRE_PROTOBUF', /field number 0/],
  ['invalid UTF-8', () => decodeWriteRequest(Buffer.from([0x0a, 0x08, 0x0a, 0x06, 0x0a, 0x01, 0x61, 0x12, 0x01, 0xff])), 'FS_WIRE_INVALID_UTF8', /the value of label "a" is not valid UTF-8/],
  ['unsorted labels', () => decodeWriteRequest(encodeWriteRequest({ timeseries: [{ labels: ['__name__', 'm', 'b', '1', 'a', '2'], samples: [] }] })), 'FS_WIRE_REMOTE_WRITE_INVALID', /series 0: labels are not sorted by name \("b" before "a"\)/],
  ['duplicate labels', () => decodeWriteRequest(encodeWriteRequest({ timeseries: [{ labels: ['__name__', 'm', 'a', '1', 'a', '2'], samples: [] }] })), 'FS_WIRE_REMOTE_WRITE_INVALID', /duplicate label name "a"/],
  ['no __name__', () => decodeWriteRequest(encodeWriteRequest({ timeseries: [{ labels: ['a', '1'], samples: [] }] })), 'FS_WIRE_REMOTE_WRITE_INVALID', /no __name__ label/],
  ['invalid label name', () => decodeWriteRequest(encodeWriteRequest({ timeseries: [{ labels: ['__name__', 'm', 'a-b', '1'], samples: [] }] })), 'FS_WIRE_REMOTE_WRITE_INVALID', /invalid label name "a-b"/],
  ['samples out of order', () => decodeWriteRequest(encodeWriteRequest({ timeseries: [{ labels: ['__name__', 'm'], samples: [{ value: 1, timestamp: 2 }, { value: 1, timestamp: 1 }] }] })), 'FS_WIRE_REMOTE_WRITE_INVALID', /timestamp order/],
  ['too many series', () => decodeWriteRequest(encodeWriteRequest({ timeseries: [1, 2, 3].map(() => ({ labels: ['__name__', 'm'], samples: [] })) }), { maxSeries: 2 }), 'FS_WIRE_REMOTE_WRITE_LIMIT', /more than 2 series/],
  ['too many labels', () => decodeWriteRequest(encodeWriteRequest({ timeseries: [{ labels: ['__name__', 'm', 'a', '1', 'b', '2'], samples: [] }] }), { maxLabelsPerSeries: 2 }), 'FS_WIRE_REMOTE_WRITE_LIMIT', /more than 2 labels/],
  ['label value too long', () => decodeWriteRequest(encodeWriteRequest({ timeseries: [{ labels: ['__name__', 'm', 'a', 'xxxx'], samples: [] }] }), { maxLabelValueLength: 3 }), 'FS_WIRE_REMOTE_WRITE_LIMIT', /value of label "a" has 4 characters/],
  ['oversized body', () => decodeRemoteWriteBody(Buffer.alloc(100), { maxBodyBytes: 10 }), 'FS_WIRE_BODY_TOO_LARGE', /body of 100 bytes is over the limit of 10 bytes/],
];

for (const [name, run, code, message] of bad) {
  test(`bad input: ${name}`, () => {
    assert.throws(run, (e: unknown) => {
      assert.ok(e instanceof WireError, String(e));
      assert.equal(e.code, code);
      assert.match(e.message, message);
      return true;
    });
  });
}

test('fuzz: mutated bodies decode or fail with a typed error', () => {
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < 20_000; i++) {
    const body = Buffer.from(encodeWriteRequest(randomRequest()));
    for (let m = 1 + rand(3); m > 0; m--) body[rand(body.length)] = rand(256);
    const compressed = rand(2) === 0;
    try {
      if (compressed) decodeRemoteWriteBody(snappyCompress(body));
      else decodeWriteRequest(body);
      decoded++;
    } catch (err) {
      if (!(err instanceof WireError)) throw new Error(`untyped error ${String(err)}`);
      rejected++;
    }
  }
  assert.ok(decoded > 500 && rejected > 500, `decoded ${decoded}, rejected ${rejected}`);
});

test('the reader keys each series by its label bytes: equal exactly when the label sets are', () => {
  const a = ['__name__', 'm', 'site', 'ce-1'];
  const b = ['__name__', 'm', 'site', 'ce-2'];
  const batch = new RemoteWriteBatch();
  batch.add(encodeLabels(a), 1, 1000);
  batch.add(encodeLabels(b), 2, 1000);
  batch.addSamples(encodeLabels(a), [{ value: 3, timestamp: 2000 }, { value: STALE_NAN, timestamp: 3000 }]);
  const r = new RemoteWriteReader(batch.finish());
  const keys: string[] = [];
  const seen: unknown[] = [];
  while (r.next()) {
    keys.push(r.labelsKey());
    seen.push({ labels: r.labels(), n: r.sampleCount(), last: r.sampleTimestamp(r.sampleCount() - 1) });
  }
  assert.equal(keys.length, 3);
  assert.equal(keys[0], keys[2]);
  assert.notEqual(keys[0], keys[1]);
  assert.deepEqual(seen, [{ labels: a, n: 1, last: 1000 }, { labels: b, n: 1, last: 1000 }, { labels: a, n: 2, last: 3000 }]);
});

test('the reader and decodeWriteRequest agree with the reference on random requests', () => {
  for (let i = 0; i < 100; i++) {
    const req = randomRequest();
    const body = encodeWriteRequestReference(req);
    const r = new RemoteWriteReader(body);
    const series: TimeSeries[] = [];
    while (r.next()) {
      const ex = r.exemplars();
      series.push(ex.length > 0 ? { labels: r.labels(false), samples: r.samples(), exemplars: ex } : { labels: r.labels(false), samples: r.samples() });
    }
    assertSameRequest({ timeseries: series, metadata: r.metadata }, req);
  }
});
