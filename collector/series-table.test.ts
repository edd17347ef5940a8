import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random } from '../bench/index.js';
import { RemoteWriteBatch, RemoteWriteReader, SeriesFields, encodeLabels } from '../wire/index.js';
import { FORWARD, KEPT, SiteSeries, hashHigh, hashLabels, reasonNumber, reasonOf } from './series-table.js';

// Seeded: every run sees the same inputs.
const random = new Random(7);
const rand = (n: number): number => random.int(n);

function hashOf(bytes: Uint8Array): [number, number] {
  const h1 = hashLabels(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.length);
  return [h1, hashHigh()];
}

test('label sets that differ in one byte, anywhere, hash apart in both lanes; the hash reads only its span', () => {
  const base = encodeLabels(['__name__', 'container_cpu_usage_seconds_total', 'namespace', 'kube-system', 'pod', 'coredns-5d78c9869d-abcde']);
  const [a1, a2] = hashOf(base);
  // Every length through the sixteen-byte steps, the four-byte words and the last bytes.
  for (let n = 1; n <= base.length; n++) {
    const [p1, p2] = hashOf(base.subarray(0, n));
    for (let i = 0; i < n; i++) {
      for (const delta of [1, 0x80]) {
        const other = Buffer.from(base.subarray(0, n));
        other[i] = ((other[i] as number) ^ delta) & 0xff;
        const [b1, b2] = hashOf(other);
        assert.ok(p1 !== b1 && p2 !== b2, `length ${n}: byte ${i} ^ ${delta}`);
      }
    }
  }
  // The same bytes at another offset, inside other bytes, hash the same.
  const framed = Buffer.concat([Buffer.from([1, 2, 3]), base, Buffer.from([9])]);
  const h1 = hashLabels(framed, new DataView(framed.buffer, framed.byteOffset, framed.byteLength), 3, 3 + base.length);
  assert.deepEqual([h1, hashHigh()], [a1, a2]);
});

test('200,000 realistic label sets of one site: no two share a 64-bit hash', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200_000; i++) {
    const labels = encodeLabels(['__name__', `m_${i % 300}`, 'instance', `10.0.${(i >> 8) & 255}.${i & 255}:9100`, 'le', String(i % 14), 'pod', `p-${(i * 2654435761 >>> 0).toString(36)}`]);
    const [h1, h2] = hashOf(labels);
    const key = `${h1}:${h2}`;
    assert.ok(!seen.has(key), `collision at ${i}`);
    seen.add(key);
  }
});

/** A reader positioned at the only series of a request with these labels. */
function readerAt(labels: string[]): RemoteWriteReader {
  const b = new RemoteWriteBatch();
  b.add(encodeLabels(labels), 1, 1000);
  const r = new RemoteWriteReader(Buffer.from(b.finish()));
  assert.ok(r.next());
  return r;
}

test('the table agrees with a Map through adds, lookups, forgetting and take-backs (rehash and id compaction included)', () => {
  const site = new SiteSeries();
  const model = new Map<number, { key: string; flags: number; seen: number; entry: number }>();
  const keyOf = (h1: number, h2: number, len: number): string => `${h1}/${h2}/${len}`;
  const fields = new SeriesFields();
  let next = 0;
  for (let step = 0; step < 30_000; step++) {
    const r = rand(10);
    if (r < 6) {
      const n = next++;
      const labels = ['__name__', `m${n % 50}`, 'id', String(n)];
      const reader = readerAt(labels);
      const body = reader.buffer;
      const start = reader.labelsStart();
      const len = reader.labelsEnd() - start;
      const h1 = hashLabels(body, new DataView(body.buffer, body.byteOffset, body.byteLength), start, start + len);
      const h2 = hashHigh();
      assert.equal(site.find(h1, h2, len), -1);
      const kept = rand(3) > 0;
      const out = encodeLabels([...labels, 'site', 's']);
      const spans: number[] = [];
      for (let p = 0, k = 0; k < labels.length / 2 + 1; k++) {
        const end = p + 2 + (out[p + 1] as number);
        spans.push(p, end);
        p = end;
      }
      const flags = kept ? KEPT | FORWARD : reasonNumber('in_denylist') << 3;
      const e = site.add(h1, h2, len, flags, step, reader, kept ? { labels: out, fields: spans } : null, n, ~n);
      model.set(n, { key: keyOf(h1, h2, len), flags, seen: step, entry: e });
      if (kept) {
        // The recipe gives back the output bytes: input fields from the request, the rest from the constants.
        site.fieldsOf(e, reader, fields);
        const joined = Buffer.concat(Array.from({ length: fields.count }, (_, k) => {
          const src = fields.src[k] === 0 ? body : site.constants();
          const at = fields.at[k] as number;
          return Buffer.from(src.subarray(at, at + (fields.len[k] as number)));
        }));
        assert.ok(joined.equals(out));
        assert.ok(site.hasOutput(n, ~n));
      } else assert.equal(reasonOf(site.flags(e)), 'in_denylist');
    } else if (r < 8 && model.size > 0) {
      const cut = step - rand(3000);
      const gone = site.forget((_f, seen) => seen < cut);
      const want = [...model].filter(([, v]) => v.seen < cut);
      assert.equal(gone.length, want.length);
      for (const [n] of want) {
        model.delete(n);
        assert.ok(!site.hasOutput(n, ~n));
      }
    } else if (model.size > 0) {
      // Every remembered series is found by its hash, at its entry.
      for (const v of model.values()) {
        const [h1, h2, len] = v.key.split('/').map(Number) as [number, number, number];
        assert.equal(site.find(h1, h2, len), v.entry);
        assert.ok(site.is(v.entry, h1, h2, len));
        assert.equal(site.flags(v.entry), v.flags);
      }
    }
    assert.equal(site.size, model.size);
  }
  assert.ok(next > 10_000);
});

test('an entry taken back is gone, and its slot is used again', () => {
  const site = new SiteSeries();
  const reader = readerAt(['__name__', 'a']);
  const e = site.add(1, 2, 3, reasonNumber('x') << 3, 0, reader, null, 0, 0);
  assert.equal(site.find(1, 2, 3), e);
  site.remove(e);
  assert.equal(site.find(1, 2, 3), -1);
  assert.ok(!site.is(e, 1, 2, 3));
  assert.equal(site.size, 0);
  assert.equal(site.add(4, 5, 6, 0, 0, reader, null, 0, 0), e);
});

test('shapes and constants of forgotten series are let go: rule-made values per series do not grow the table forever', () => {
  const site = new SiteSeries();
  const fields = new SeriesFields();
  let peak = 0;
  for (let generation = 0; generation < 40; generation++) {
    for (let i = 0; i < 500; i++) {
      const n = generation * 500 + i;
      const labels = ['__name__', 'm', 'pod', `p-${n}`];
      const reader = readerAt(labels);
      const body = reader.buffer;
      const start = reader.labelsStart();
      const len = reader.labelsEnd() - start;
      const h1 = hashLabels(body, new DataView(body.buffer, body.byteOffset, body.byteLength), start, start + len);
      // The output carries a value no input field has (as a rule copying the pod's name would make).
      const out = encodeLabels([...labels, 'workload', `w-${n}`]);
      const spans: number[] = [];
      for (let p = 0; p < out.length;) {
        const end = p + 2 + (out[p + 1] as number);
        spans.push(p, end);
        p = end;
      }
      const e = site.add(h1, hashHigh(), len, KEPT | FORWARD, generation, reader, { labels: out, fields: spans }, n, n);
      site.fieldsOf(e, reader, fields);
      const joined = Buffer.concat(Array.from({ length: fields.count }, (_, k) => {
        const src = fields.src[k] === 0 ? body : site.constants();
        return Buffer.from(src.subarray(fields.at[k] as number, (fields.at[k] as number) + (fields.len[k] as number)));
      }));
      assert.ok(joined.equals(out), `series ${n}`);
    }
    // Each generation of pods goes idle once the next has come.
    site.forget((_f, seen) => seen < generation);
    peak = Math.max(peak, site.recipeBytes());
  }
  assert.equal(site.size, 500);
  // 20,000 series made a constant and a shape each; only the last 500 (and the one before) are live.
  assert.ok(peak < 400_000, `recipes peaked at ${peak} bytes`);
});

test('field ids let go (dropIds) are made again series by series, the same as before', () => {
  const site = new SiteSeries();
  const fields = new SeriesFields();
  const readers: RemoteWriteReader[] = [];
  const entries: number[] = [];
  const before: number[][] = [];
  for (let i = 0; i < 300; i++) {
    const labels = ['__name__', `m_${i % 7}`, 'pod', `p-${i}`];
    const reader = readerAt(labels);
    const body = reader.buffer;
    const start = reader.labelsStart();
    const len = reader.labelsEnd() - start;
    const h1 = hashLabels(body, new DataView(body.buffer, body.byteOffset, body.byteLength), start, start + len);
    const out = encodeLabels([...labels, 'site', 's']);
    const spans: number[] = [];
    for (let p = 0; p < out.length;) {
      const end = p + 2 + (out[p + 1] as number);
      spans.push(p, end);
      p = end;
    }
    const e = site.add(h1, hashHigh(), len, KEPT | FORWARD, 0, reader, { labels: out, fields: spans }, i, i);
    site.fieldsOf(e, reader, fields);
    readers.push(reader);
    entries.push(e);
    before.push(Array.from(fields.ids.subarray(0, fields.count)));
  }
  const full = site.byteSize();
  site.dropIds();
  assert.ok(site.byteSize() <= full - 300 * 3 * 4, `${site.byteSize()} bytes after, ${full} before`);
  entries.forEach((e, i) => {
    // Only the bytes asked for: no ids made.
    site.fieldsOf(e, readers[i] as RemoteWriteReader, fields, false);
    assert.ok(Array.from(fields.ids.subarray(0, fields.count)).every((id, k) => id === -1 || fields.src[k] === 1), `series ${i}`);
  });
  entries.forEach((e, i) => {
    site.fieldsOf(e, readers[i] as RemoteWriteReader, fields);
    assert.deepEqual(Array.from(fields.ids.subarray(0, fields.count)), before[i], `series ${i}`);
  });
});
