import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireError, type WireErrorCode } from './errors.js';
import { STALE_NAN, decodeRemoteWriteBody, decodeWriteRequest, encodeLabels, encodeWriteRequest, type TimeSeries, type WriteRequest } from './remote-write.js';
import { RemoteWriteSnappyBatch } from './remote-write-snappy.js';
import { assertValidForSend } from './remote-write-validate.js';
import { snappyCompress } from './snappy.js';
import { seeded } from './test-random.js';

// Seeded: every run sees the same inputs.
const rand = seeded(2024);

const one = (labels: string[], samples = [{ value: 1, timestamp: 1 }]): WriteRequest => ({ timeseries: [{ labels, samples }] });

// Broken the same way on both sides: assertValidForSend refuses to send it,
// and decodeWriteRequest (validating) refuses to take it in.
const invalid: [string, WriteRequest, RegExp][] = [
  ['labels not sorted', one(['__name__', 'm', 'b', '1', 'a', '2']), /series 0: labels are not sorted by name \("b" before "a"\)/],
  ['duplicate label name', one(['__name__', 'm', 'a', '1', 'a', '2']), /series 0: duplicate label name "a"/],
  ['no __name__', one(['a', '1']), /series 0: no __name__ label/],
  ['empty __name__', one(['__name__', '', 'a', '1']), /series 0: label "__name__" has an empty value/],
  ['invalid metric name', one(['__name__', 'http.requests']), /series 0: invalid metric name "http.requests"/],
  ['metric name starting with a digit', one(['__name__', '1m']), /invalid metric name "1m"/],
  ['invalid label name', one(['__name__', 'm', 'a-b', '1']), /series 0: invalid label name "a-b"/],
  ['label name with a colon', one(['__name__', 'm', 'a:b', '1']), /invalid label name "a:b"/],
  ['empty label name', one(['', 'x', '__name__', 'm']), /series 0: invalid label name ""/],
  ['empty label value', one(['__name__', 'm', 'a', '']), /series 0: label "a" has an empty value/],
  ['samples out of order', one(['__name__', 'm'], [{ value: 1, timestamp: 2 }, { value: 1, timestamp: 1 }]), /series 0: samples are not in timestamp order/],
];

for (const [name, req, message] of invalid) {
  test(`send and receive refuse: ${name}`, () => {
    const check = (e: unknown): boolean => {
      assert.ok(e instanceof WireError, String(e));
      assert.equal(e.code, 'FS_WIRE_REMOTE_WRITE_INVALID');
      assert.equal(e.status, 400);
      assert.match(e.message, message);
      return true;
    };
    assert.throws(() => assertValidForSend(req), check);
    assert.throws(() => decodeWriteRequest(encodeWriteRequest(req)), check);
    // Without validation the labels are read as sent (the reader always checks sample order).
    if (!/timestamp order/.test(message.source)) {
      assert.deepEqual(decodeWriteRequest(encodeWriteRequest(req), {}, false).timeseries[0]?.labels, req.timeseries[0]?.labels);
    }
  });
}

const unsendable: [string, WriteRequest, WireErrorCode, RegExp][] = [
  ['fractional timestamp', one(['__name__', 'm'], [{ value: 1, timestamp: 1.5 }]), 'FS_WIRE_REMOTE_WRITE_INVALID', /series 0: a sample has timestamp 1.5/],
  ['NaN timestamp', one(['__name__', 'm'], [{ value: 1, timestamp: NaN }]), 'FS_WIRE_REMOTE_WRITE_INVALID', /timestamp NaN/],
  ['timestamp past 2^53', one(['__name__', 'm'], [{ value: 1, timestamp: 2 ** 60 }]), 'FS_WIRE_REMOTE_WRITE_INVALID', /not a whole number of milliseconds/],
  ['lone surrogate in a value', one(['__name__', 'm', 'a', 'x\uD800y']), 'FS_WIRE_INVALID_UTF8', /series 0: the value of label "a" is not valid UTF-8/],
  ['odd number of label strings', one(['__name__', 'm', 'a']), 'FS_WIRE_REMOTE_WRITE_INVALID', /labels are not name\/value pairs/],
  [
    'lone surrogate in an exemplar',
    { timeseries: [{ labels: ['__name__', 'm'], samples: [], exemplars: [{ labels: ['trace_id', '\uDC00'], value: 1, timestamp: 1 }] }] },
    'FS_WIRE_INVALID_UTF8',
    /the value of exemplar label "trace_id"/,
  ],
  ['lone surrogate in help', { timeseries: [], metadata: [{ type: 'counter', metricFamilyName: 'm', help: '\uD83D', unit: '' }] }, 'FS_WIRE_INVALID_UTF8', /the help of m/],
];

for (const [name, req, code, message] of unsendable) {
  test(`send refuses: ${name}`, () => {
    assert.throws(() => assertValidForSend(req), (e: unknown) => e instanceof WireError && e.code === code && message.test(e.message));
  });
}

test('a valid request passes, unicode, special values and exemplars included', () => {
  assertValidForSend({
    timeseries: [
      {
        labels: ['__name__', 'http:requests_total', 'msg', 'Grüße 😀', 'path', '/a"b\\c'],
        samples: [{ value: NaN, timestamp: -5 }, { value: STALE_NAN, timestamp: -5 }, { value: -0, timestamp: 2 ** 53 - 1 }],
        exemplars: [{ labels: ['trace_id', 'abc'], value: Infinity, timestamp: 0 }],
      },
    ],
    metadata: [{ type: 'counter', metricFamilyName: 'http:requests', help: 'Requests ü.', unit: '' }],
  });
});

// Wire types: Prometheus's decoder (gogo) answers 400 "proto: wrong wireType"
// for a known field with the wrong one, and so do we; unknown fields are skipped.
const series = (inner: number[]): Buffer => Buffer.from([0x0a, inner.length, ...inner]);
const name = [0x0a, 0x0d, 0x0a, 0x08, ...Buffer.from('__name__'), 0x12, 0x01, 0x6d]; // Label {__name__="m"}
const wire: [string, Buffer, RegExp][] = [
  ['TimeSeries.labels as a varint', series([0x08, 0x01]), /field 1 has wire type 0/],
  ['TimeSeries.samples as fixed64', series([...name, 0x11, 0, 0, 0, 0, 0, 0, 0, 0]), /field 2 has wire type 1/],
  ['Label.name as a varint', series([0x0a, 0x02, 0x08, 0x01]), /field 1 has wire type 0/],
  ['Sample.value as a varint', series([...name, 0x12, 0x02, 0x08, 0x01]), /field 1 has wire type 0/],
  ['Sample.timestamp as fixed64', series([...name, 0x12, 0x09, 0x11, 0, 0, 0, 0, 0, 0, 0, 0]), /field 2 has wire type 1/],
  ['MetricMetadata.type as bytes', Buffer.from([0x1a, 0x02, 0x0a, 0x00]), /field 1 has wire type 2/],
  ['field 0 inside a Label', series([0x0a, 0x02, 0x02, 0x00]), /field number 0/],
  ['wire type 7', series([0x0f]), /field 1 has wire type 7/],
];

for (const [what, body, message] of wire) {
  test(`wrong wire type: ${what}`, () => {
    assert.throws(() => decodeWriteRequest(body), (e: unknown) => e instanceof WireError && e.code === 'FS_WIRE_PROTOBUF' && e.status === 400 && message.test(e.message));
  });
}

test('unknown fields are skipped at every level, as protobuf requires', () => {
  const body = Buffer.concat([
    Buffer.from([0x10, 0x01]), // WriteRequest field 2: reserved (Cortex's source)
    Buffer.from([0x0a, name.length + 4, ...name, 0x48, 0x01, 0x25, 0x00]), // TimeSeries with fields 9 (varint) and 4 (histograms, here a stub)
    Buffer.from([0x3a, 0x01, 0x00]), // WriteRequest field 7
  ]);
  // 0x25 0x00 is field 4 as a fixed32 missing bytes: it must fail, not be misread.
  assert.throws(() => decodeWriteRequest(body), (e: unknown) => e instanceof WireError && e.code === 'FS_WIRE_PROTOBUF');
  const ok = Buffer.concat([Buffer.from([0x10, 0x01]), Buffer.from([0x0a, name.length + 4, ...name, 0x48, 0x01, 0x22, 0x00]), Buffer.from([0x3a, 0x01, 0x00])]);
  assert.deepEqual(decodeWriteRequest(ok).timeseries, [{ labels: ['__name__', 'm'], samples: [] }]);
});

test('fuzz: 20,000 mutated compressed bodies decode or fail with a typed error', { timeout: 120_000 }, () => {
  const labelSets = Array.from({ length: 50 }, (_, i) => encodeLabels(['__name__', `m_${i % 7}`, 'instance', `10.0.${i}.1:9100`, 'job', i % 2 ? 'node' : 'kubelet', 'pod', `p-${i}`]));
  const batch = new RemoteWriteSnappyBatch();
  const codes = new Map<string, number>();
  let decoded = 0;
  for (let i = 0; i < 20_000; i++) {
    let body: Buffer;
    if (rand(2) === 0) {
      batch.reset();
      for (let k = rand(30); k >= 0; k--) batch.add(labelSets[rand(labelSets.length)] as Uint8Array, rand(100) - 50, 1_700_000_000_000 + k);
      body = Buffer.from(batch.finish());
    } else {
      const ts: TimeSeries[] = [{ labels: ['__name__', 'm', 'a', `v${rand(100)}`], samples: [{ value: rand(10), timestamp: rand(1000) }] }];
      body = snappyCompress(encodeWriteRequest({ timeseries: ts, metadata: [{ type: 'gauge', metricFamilyName: 'm', help: 'h', unit: '' }] }));
    }
    for (let m = 1 + rand(4); m > 0; m--) body[rand(body.length)] = rand(256);
    if (rand(8) === 0) body = body.subarray(0, rand(body.length));
    try {
      decodeRemoteWriteBody(body, { maxDecompressedBytes: 1 << 20 });
      decoded++;
    } catch (err) {
      if (!(err instanceof WireError)) throw new Error(`untyped error on body ${body.toString('hex')}: ${String(err)}`);
      codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
    }
  }
  // Every layer was reached: snappy, protobuf, UTF-8 and the spec's rules.
  for (const code of ['FS_WIRE_SNAPPY_CORRUPT', 'FS_WIRE_PROTOBUF', 'FS_WIRE_REMOTE_WRITE_INVALID'] as const) {
    assert.ok((codes.get(code) ?? 0) > 100, `${code}: ${codes.get(code) ?? 0} (${JSON.stringify([...codes])}, ${decoded} decoded)`);
  }
  assert.ok(decoded > 100, `${decoded} decoded`);
});
