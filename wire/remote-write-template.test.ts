import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compress as snappyjsCompress, uncompress as snappyjsUncompress } from 'snappyjs';
import { RemoteWriteBatch, STALE_NAN, encodeLabels } from './remote-write.js';
import { RemoteWriteSnappyBatch } from './remote-write-snappy.js';
import { RemoteWriteRepeat, RemoteWriteTemplate, snappyCompressKeeping } from './remote-write-template.js';
import { seeded } from './test-random.js';

const rand = seeded(7);
const VALUES = [0, -0, 1, -1.5, 1e300, 5e-324, NaN, Infinity, -Infinity, STALE_NAN, 0.1, 123456789.123];

/** Series of a site: shared names and values, some unique values, some long ones. */
function siteSeries(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const labels = ['__name__', `m_${i % 7}`, 'instance', `10.0.0.${i % 5}:9100`, 'pod', `pod-${i.toString(36)}-${(i * 2654435761 >>> 0).toString(16)}`];
    if (i % 11 === 0) labels.push('x', 'v'.repeat(300 + i));
    out.push(encodeLabels(labels));
  }
  return out;
}

/** A batch of `series`, series i carrying samples (values[i][j], times[i][j]). */
function build(series: Uint8Array[], values: number[][], times: number[][]): RemoteWriteSnappyBatch {
  const b = new RemoteWriteSnappyBatch();
  series.forEach((labels, i) => {
    const v = values[i] as number[];
    const t = times[i] as number[];
    if (v.length === 1) b.add(labels, v[0] as number, t[0] as number);
    else b.addSamples(labels, v.map((value, j) => ({ value, timestamp: t[j] as number })));
  });
  return b;
}

function put(template: RemoteWriteTemplate, values: number[][], times: number[][]): boolean {
  template.begin();
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const v = Float64Array.from(values[i] as number[]);
    const t = Float64Array.from(times[i] as number[]);
    for (let j = 0; j < v.length; j++) if (!template.put(k++, v, t, j)) return false;
  }
  return true;
}

/**
 * A site of 300 series, every 13th with three samples; samples(base) draws values (any, stale
 * markers too) and timestamps from base on (some not on the interval), and batch is the first.
 */
function siteRounds(): { series: Uint8Array[]; counts: number[]; samples: (base: number) => { values: number[][]; times: number[][] }; batch: RemoteWriteSnappyBatch } {
  const series = siteSeries(300);
  const counts = series.map((_, i) => (i % 13 === 0 ? 3 : 1));
  const samples = (base: number): { values: number[][]; times: number[][] } => ({
    values: counts.map((c) => Array.from({ length: c }, () => VALUES[rand(VALUES.length)] as number)),
    times: counts.map((c) => Array.from({ length: c }, (_, j) => base + j * 15_000 + (rand(4) === 0 ? rand(1000) : 0))),
  });
  const first = samples(1_700_000_000_000);
  return { series, counts, samples, batch: build(series, first.values, first.times) };
}

test('a template with new samples put in is byte for byte the block the batch builds for them', () => {
  const { series, counts, samples, batch } = siteRounds();
  const template = RemoteWriteTemplate.of(batch.finish(), batch.sampleOffsets(), batch.uniformTimestampLength);
  assert.ok(template !== null);
  assert.equal(template.sampleCount, counts.reduce((a, b) => a + b, 0));
  const held = template.byteSize;
  for (let round = 1; round <= 20; round++) {
    const next = samples(1_700_000_000_000 + round * 15_000);
    assert.ok(put(template, next.values, next.times), `round ${round}`);
    const got: Buffer = template.finish();
    const want = build(series, next.values, next.times).finish();
    assert.deepEqual(got, Buffer.from(want), `round ${round}`);
    // The block given away is not held: a site's template lives as long as the site.
    assert.equal(template.byteSize, held, `round ${round}`);
    // Any decoder reads it: snappyjs, and the body is what RemoteWriteBatch encodes.
    const plain = new RemoteWriteBatch();
    series.forEach((labels, i) => plain.addSamples(labels, (next.values[i] as number[]).map((value, j) => ({ value, timestamp: (next.times[i] as number[])[j] as number }))));
    assert.ok(Buffer.from(snappyjsUncompress(got)).equals(Buffer.from(plain.finish())), `round ${round}: snappyjs reads it`);
  }
});

test('a timestamp of another length, or not a whole number, does not fit', () => {
  const series = siteSeries(20);
  const ones = series.map(() => [1]);
  const batch = build(series, ones, series.map(() => [1_700_000_000_000]));
  const template = RemoteWriteTemplate.of(batch.finish(), batch.sampleOffsets(), batch.uniformTimestampLength);
  assert.ok(template !== null);
  assert.equal(template.timestampLength, 6);
  assert.equal(put(template, ones, series.map((_, i) => [i === 7 ? 5 : 1_700_000_015_000])), false, 'a one-byte varint');
  assert.equal(put(template, ones, series.map((_, i) => [i === 19 ? -1 : 1_700_000_015_000])), false, 'a negative one is ten bytes');
  assert.equal(put(template, ones, series.map((_, i) => [i === 3 ? 1_700_000_015_000.5 : 1_700_000_015_000])), false, 'not whole');
  // And the template still works after a miss.
  assert.ok(put(template, ones, series.map(() => [1_700_000_030_000])));
  assert.deepEqual(template.finish(), Buffer.from(build(series, ones, series.map(() => [1_700_000_030_000])).finish()));
});

test('only blocks whose samples all lie in literals make a template', () => {
  const series = siteSeries(50);
  const ones = series.map(() => [42]);
  const same = series.map(() => [1_700_000_000_000]);
  const batch = build(series, ones, same);
  const offsets = batch.sampleOffsets().slice();
  const block = Buffer.from(batch.finish());
  // snappyjs finds the repeated samples and copies them: no template.
  assert.equal(RemoteWriteTemplate.of(Buffer.from(snappyjsCompress(snappyjsUncompress(block))), offsets, 6), null);
  assert.equal(RemoteWriteTemplate.of(block.subarray(0, block.length - 9), offsets, 6), null, 'a truncated block');
  assert.equal(RemoteWriteTemplate.of(block, offsets.map((o) => o + 1), 6), null, 'offsets that are not samples');
  assert.equal(RemoteWriteTemplate.of(block, offsets, 0), null);
  assert.ok(RemoteWriteTemplate.of(block, offsets, 6) !== null);
  // A batch with a series written as a literal cannot say where its samples are.
  const mixed = build(series, ones, same);
  mixed.addSeries({ labels: ['__name__', 'x'], samples: [{ value: 1, timestamp: 1 }], exemplars: [] });
  assert.equal(mixed.uniformTimestampLength, -1);
});

test('a block compressed around its samples decodes to the same body, is smaller, and no sample is ever the source or target of a copy', () => {
  const series = siteSeries(400);
  const counts = series.map((_, i) => (i % 17 === 0 ? 2 : 1));
  // Every sample the same at first: a compressor free to copy them would.
  const same = { values: counts.map((c) => Array<number>(c).fill(7)), times: counts.map((c) => Array.from({ length: c }, (_, j) => 1_700_000_000_000 + j)) };
  const batch = build(series, same.values, same.times);
  const block = Buffer.from(batch.finish());
  const offsets = batch.sampleOffsets().slice();
  const tsLength = batch.uniformTimestampLength;
  const raw = Buffer.from(snappyjsUncompress(block));
  const compactBlock = snappyCompressKeeping(raw, offsets, offsets.map((o) => o + 12 + tsLength));
  assert.ok(Buffer.from(snappyjsUncompress(compactBlock)).equals(raw), 'snappyjs reads it to the same body');
  const loose = RemoteWriteTemplate.of(block, offsets, tsLength);
  const compact = RemoteWriteTemplate.of(compactBlock, offsets, tsLength);
  assert.ok(loose !== null && compact !== null);
  assert.ok(compact.byteSize < loose.byteSize * 0.9, `${compact.byteSize} bytes against ${loose.byteSize}`);
  for (let round = 1; round <= 10; round++) {
    const next = {
      values: counts.map((c) => Array.from({ length: c }, () => VALUES[rand(VALUES.length)] as number)),
      times: counts.map((c) => Array.from({ length: c }, (_, j) => 1_700_000_000_000 + round * 15_000 + j)),
    };
    assert.ok(put(compact, next.values, next.times));
    const plain = new RemoteWriteBatch();
    series.forEach((labels, i) => plain.addSamples(labels, (next.values[i] as number[]).map((value, j) => ({ value, timestamp: (next.times[i] as number[])[j] as number }))));
    assert.ok(Buffer.from(snappyjsUncompress(compact.finish())).equals(Buffer.from(plain.finish())), `round ${round}`);
  }
});

test('compressing around nothing is snappy: any bytes decode back, about as small as snappyjs makes them', () => {
  const none = new Int32Array(0);
  const inputs: Uint8Array[] = [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(100_000).fill(9)];
  for (let k = 0; k < 40; k++) {
    // Random bytes, and runs of a few repeated words: copies near and far, overlapping ones.
    const n = rand(20_000);
    const bytes = new Uint8Array(n);
    const words = Array.from({ length: 1 + rand(8) }, () => Array.from({ length: 1 + rand(12) }, () => rand(256)));
    for (let i = 0; i < n;) {
      if (rand(3) === 0) bytes[i++] = rand(256);
      else for (const b of words[rand(words.length)] as number[]) if (i < n) bytes[i++] = b;
    }
    inputs.push(bytes);
  }
  for (const input of inputs) {
    const block = snappyCompressKeeping(input, none, none);
    assert.ok(Buffer.from(snappyjsUncompress(block)).equals(Buffer.from(input)), `${input.length} bytes`);
    assert.ok(block.length <= snappyjsCompress(input).length * 1.1 + 16, `${block.length} against snappyjs ${snappyjsCompress(input).length}`);
  }
});

/** A repeat of a batch's block, or a failure. */
function repeatOf(block: Uint8Array, offsets: Int32Array, tsLength: number): RemoteWriteRepeat {
  const r = RemoteWriteRepeat.of(block, offsets, tsLength, { bytes: new Uint8Array(0) });
  assert.ok(r !== null, 'a repeat of the batch block');
  return r;
}

test('a repeat knows the batch\'s block again with any new samples, and a template takes them from where it says', () => {
  const { series, counts, samples, batch } = siteRounds();
  const block = Buffer.from(batch.finish());
  const offsets = batch.sampleOffsets().slice();
  const repeat = repeatOf(block, offsets, batch.uniformTimestampLength);
  const template = RemoteWriteTemplate.of(block, offsets, batch.uniformTimestampLength);
  assert.ok(template !== null);
  assert.equal(repeat.sampleCount, template.sampleCount);
  const seriesCounts = Uint16Array.from(counts);
  const scratch = { bytes: new Uint8Array(0) };
  for (let round = 1; round <= 20; round++) {
    const next = samples(1_700_000_000_000 + round * 15_000);
    const sent = Buffer.from(build(series, next.values, next.times).finish());
    assert.ok(repeat.matches(sent, seriesCounts, scratch), `round ${round}`);
    template.begin();
    for (let k = 0; k < repeat.sampleCount; k++) template.putRaw(k, sent, repeat.at[k] as number);
    // The samples taken from where the repeat found them are the request's: the same bytes, stale markers and all.
    assert.ok(Buffer.from(snappyjsUncompress(template.finish())).equals(Buffer.from(snappyjsUncompress(sent))), `round ${round}`);
  }
  // The first block itself, too; not one of another length.
  assert.ok(repeat.matches(block, seriesCounts, scratch));
  assert.equal(repeat.matches(block.subarray(0, block.length - 1), seriesCounts, scratch), false);
  assert.equal(repeat.matches(Buffer.concat([block, Buffer.from([0])]), seriesCounts, scratch), false);
});

test('a block that differs from the repeat\'s anywhere but in a sample\'s value or timestamp is not it', () => {
  const series = siteSeries(8);
  const ones = series.map(() => [1.25]);
  const batch = build(series, ones, series.map(() => [1_700_000_000_000]));
  const block = Buffer.from(batch.finish());
  const offsets = batch.sampleOffsets().slice();
  const repeat = repeatOf(block, offsets, 6);
  const counts = new Uint16Array(series.length).fill(1);
  const scratch = { bytes: new Uint8Array(0) };
  // The bytes of each sample's value, and of its timestamp varint (last one apart), in the block.
  const value = new Set<number>();
  const timestamp = new Set<number>();
  const lastOfTimestamp = new Set<number>();
  for (const at of repeat.at) {
    for (let j = 3; j < 11; j++) value.add(at + j);
    for (let j = 12; j < 17; j++) timestamp.add(at + j);
    lastOfTimestamp.add(at + 17);
  }
  let checked = 0;
  for (let p = 0; p < block.length; p++) {
    for (const bit of [0x01, 0x80]) {
      const changed = Buffer.from(block);
      changed[p] = (changed[p] as number) ^ bit;
      // A value may be any 8 bytes; a timestamp's bytes keep their continuation bits, and its last is not 0.
      const same = value.has(p) || ((timestamp.has(p) || lastOfTimestamp.has(p)) && bit === 0x01 && !(lastOfTimestamp.has(p) && changed[p] === 0));
      assert.equal(repeat.matches(changed, counts, scratch), same, `byte ${p} of ${block.length} ^ ${bit}`);
      checked++;
    }
  }
  assert.equal(checked, 2 * block.length);
});

test('timestamps that go back within a series are not the repeat (a reader refuses them)', () => {
  const series = siteSeries(5);
  const values = series.map(() => [1, 2]);
  const batch = build(series, values, series.map(() => [1_700_000_000_000, 1_700_000_000_001]));
  const repeat = repeatOf(batch.finish(), batch.sampleOffsets().slice(), 6);
  const counts = new Uint16Array(series.length).fill(2);
  const scratch = { bytes: new Uint8Array(0) };
  assert.ok(repeat.matches(build(series, values, series.map(() => [1_700_000_015_000, 1_700_000_015_000])).finish(), counts, scratch), 'equal timestamps are in order');
  assert.equal(repeat.matches(build(series, values, series.map((_, i) => (i === 3 ? [1_700_000_015_001, 1_700_000_015_000] : [1_700_000_015_000, 1_700_000_015_001]))).finish(), counts, scratch), false);
});

test('a block in which a sample sits in a copy, or a copy reads one, makes no repeat', () => {
  const series = siteSeries(50);
  const ones = series.map(() => [42]);
  const batch = build(series, ones, series.map(() => [1_700_000_000_000]));
  const offsets = batch.sampleOffsets().slice();
  const block = Buffer.from(batch.finish());
  const scratch = { bytes: new Uint8Array(0) };
  // snappyjs copies the repeated samples.
  assert.equal(RemoteWriteRepeat.of(Buffer.from(snappyjsCompress(snappyjsUncompress(block))), offsets, 6, scratch), null);
  assert.equal(RemoteWriteRepeat.of(block, offsets, 8, scratch), null, 'a timestamp of 8 bytes is not a batch\'s');
  assert.equal(RemoteWriteRepeat.of(block, offsets, 5, scratch), null, 'nor of another length than its samples have');
  // One series as a literal, then a copy of four of its bytes: from its start, or from its sample's value.
  const one = build(series.slice(1, 2), [[42]], [[1_700_000_000_000]]);
  const sample = one.sampleOffsets()[0] as number;
  const body = Buffer.from(snappyjsUncompress(one.finish()));
  assert.ok(body.length + 4 < 128 && body.length > 60, `a body of ${body.length} bytes`);
  const withCopy = (from: number): Buffer => {
    const offset = body.length - from;
    // The length; a literal with its length in one more byte; a copy of 4 bytes with an 11-bit offset.
    return Buffer.from([body.length + 4, 60 << 2, body.length - 1, ...body, ((offset >> 8) << 5) | 1, offset & 0xff]);
  };
  assert.deepEqual(Buffer.from(snappyjsUncompress(withCopy(0))), Buffer.concat([body, body.subarray(0, 4)]));
  assert.ok(RemoteWriteRepeat.of(withCopy(0), Int32Array.of(sample), 6, scratch) !== null, 'a copy of label bytes');
  assert.equal(RemoteWriteRepeat.of(withCopy(sample + 3), Int32Array.of(sample), 6, scratch), null, 'a copy of the value');
  assert.equal(RemoteWriteRepeat.of(withCopy(sample + 12), Int32Array.of(sample), 6, scratch), null, 'a copy of the timestamp');
  assert.ok(RemoteWriteRepeat.of(withCopy(sample - 4), Int32Array.of(sample), 6, scratch) !== null, 'a copy that ends at the sample\'s tag');
});
