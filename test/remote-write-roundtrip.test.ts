// Remote-write 1.0 round trips against real Prometheus 2.42 (Debian package),
// both ways: what fleetscope encodes, Prometheus's receiver stores exactly;
// what Prometheus's own remote_write sends, fleetscope decodes exactly (and
// as the protobufjs reference does), matching what Prometheus itself stored.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import {
  REMOTE_WRITE_HEADERS,
  RemoteWriteBatch,
  RemoteWriteSnappyBatch,
  STALE_NAN,
  type Sample,
  type TimeSeries,
  WireError,
  assertValidForSend,
  decodeRemoteWriteBody,
  decodeWriteRequestReference,
  encodeLabels,
  encodeWriteRequest,
  snappyCompress,
  snappyUncompress,
} from '../wire/index.js';
import { promApiValue, startPrometheus } from './peers/prometheus.js';

interface MatrixResult {
  metric: Record<string, string>;
  values: [number, string][];
}

const flatten = (m: Record<string, string>): string[] => Object.keys(m).sort().flatMap((k) => [k, m[k] as string]);
test('what fleetscope encodes, Prometheus 2.42 stores exactly', { timeout: 90_000 }, async () => {
  const prom = await startPrometheus({
    config: 'global: {scrape_interval: 1h}\n',
    flags: ['--web.enable-remote-write-receiver', '--enable-feature=exemplar-storage'],
  });
  try {
    const now = Math.floor(Date.now() / 1000) * 1000;
    const series: { labels: string[]; samples: [number, number][] }[] = [
      { labels: ['__name__', 'rt_plain', 'site', 'ce-0001', 'tenant', 'acme'], samples: [[now - 60_000, 1], [now - 30_000, 2.5], [now - 1000, -3e-7]] },
      { labels: ['__name__', 'rt_unicode', 'msg', 'Grüße 日本語 😀', 'quote', 'a"b\\c\nd'], samples: [[now - 50_000, 1e300]] },
      { labels: ['__name__', 'rt_special', 'kind', 'inf'], samples: [[now - 40_000, Infinity], [now - 39_000, -Infinity], [now - 38_000, NaN]] },
      { labels: ['__name__', 'rt_big', 'long', 'x'.repeat(2000)], samples: [[now - 20_000, 123456789.123]] },
    ];
    const batch = new RemoteWriteBatch();
    for (const s of series) for (const [t, v] of s.samples) batch.add(encodeLabels(s.labels), v, t);
    // A series that goes stale: one sample, then the staleness marker.
    const staleLabels = encodeLabels(['__name__', 'rt_stale', 'site', 'ce-0002']);
    batch.add(staleLabels, 7, now - 10_000);
    batch.add(staleLabels, STALE_NAN, now - 5000);
    batch.addSeries({ labels: ['__name__', 'rt_exemplar'], samples: [{ value: 1, timestamp: now - 2000 }], exemplars: [{ labels: ['trace_id', 'abc123'], value: 0.25, timestamp: now - 2000 }] });
    const res = await fetch(`${prom.url}/api/v1/write`, { method: 'POST', headers: REMOTE_WRITE_HEADERS, body: batch.finishCompressed() });
    assert.ok(res.status >= 200 && res.status < 300, `Prometheus answered ${res.status}: ${await res.text()}`);

    const data = await prom.api<{ result: MatrixResult[] }>(`/api/v1/query?query=${encodeURIComponent('{__name__=~"rt_.+"}[5m]')}&time=${now / 1000}`);
    const got = new Map(data.result.map((r) => [JSON.stringify(flatten(r.metric)), r.values]));
    for (const s of series) {
      const values = got.get(JSON.stringify(s.labels));
      assert.ok(values, `Prometheus has no series ${JSON.stringify(s.labels).slice(0, 120)}`);
      assert.deepEqual(values, s.samples.map(([t, v]) => [t / 1000, promApiValue(v)]));
    }
    // The stale marker was stored as one: queries do not return it, and the series is stale afterwards.
    assert.deepEqual(got.get(JSON.stringify(['__name__', 'rt_stale', 'site', 'ce-0002'])), [[(now - 10_000) / 1000, '7']]);
    const instant = await prom.api<{ result: MatrixResult[] }>(`/api/v1/query?query=rt_stale&time=${(now - 4000) / 1000}`);
    assert.equal(instant.result.length, 0, 'rt_stale should be stale after its marker');
    const before = await prom.api<{ result: { value: [number, string] }[] }>(`/api/v1/query?query=rt_stale&time=${(now - 6000) / 1000}`);
    assert.equal(before.result[0]?.value[1], '7');
    // Exemplars travel too.
    const ex = await prom.api<{ exemplars: { labels: Record<string, string>; value: string; timestamp: number }[] }[]>(
      `/api/v1/query_exemplars?query=rt_exemplar&start=${(now - 60_000) / 1000}&end=${now / 1000}`,
    );
    assert.deepEqual(ex[0]?.exemplars, [{ labels: { trace_id: 'abc123' }, value: '0.25', timestamp: (now - 2000) / 1000 }]);
  } finally {
    await prom.stop();
  }
});

const FIXTURE = [
  '# HELP fixture_requests_total Requests.',
  '# TYPE fixture_requests_total counter',
  'fixture_requests_total{method="GET",path="/api/v1/query"} 1027',
  'fixture_requests_total{method="POST",path="/ü/日本"} 3',
  'fixture_temperature_celsius{sensor="a\\"b\\\\c"} -12.5',
  'fixture_huge 1.048576e+06',
  '',
].join('\n');

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('what Prometheus 2.42 remote-writes, fleetscope decodes exactly', { timeout: 90_000 }, async () => {
  const received = new Map<string, Map<number, number>>();
  const headers: Record<string, string | string[] | undefined>[] = [];
  let requests = 0;
  let metadataSeen = false;
  const receiver = createServer((req, res) => {
    void (async () => {
      try {
        const body = await readBody(req);
        headers.push({ enc: req.headers['content-encoding'], type: req.headers['content-type'], version: req.headers['x-prometheus-remote-write-version'] });
        const ours = decodeRemoteWriteBody(body);
        const reference = decodeWriteRequestReference(snappyUncompress(body));
        assert.deepEqual(JSON.stringify(ours.timeseries, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)),
          JSON.stringify(reference.timeseries, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
        // Prometheus sends metadata too (metadata_config below): the same both ways.
        assert.deepEqual(ours.metadata, reference.metadata);
        if ((ours.metadata?.length ?? 0) > 0) metadataSeen = true;
        for (const ts of ours.timeseries as TimeSeries[]) {
          const key = JSON.stringify(ts.labels);
          const samples = received.get(key) ?? new Map<number, number>();
          for (const s of ts.samples) samples.set(s.timestamp, s.value);
          received.set(key, samples);
        }
        requests++;
        res.writeHead(204).end();
      } catch (err) {
        res.writeHead(400).end(String(err));
        headers.push({ error: String(err) });
      }
    })();
  });
  const target = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(FIXTURE));
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const recvPort = (receiver.address() as AddressInfo).port;
  const targetPort = (target.address() as AddressInfo).port;
  const prom = await startPrometheus({
    config: [
      'global: {scrape_interval: 1s, scrape_timeout: 1s}',
      'scrape_configs:',
      `  - job_name: fixture`,
      `    static_configs: [{targets: ['127.0.0.1:${targetPort}']}]`,
      'remote_write:',
      `  - url: http://127.0.0.1:${recvPort}/receive`,
      '    queue_config: {batch_send_deadline: 1s, max_samples_per_send: 50}',
      '    metadata_config: {send: true, send_interval: 1s}',
      '',
    ].join('\n'),
  });
  try {
    const key = (labels: Record<string, string>): string => JSON.stringify(flatten(labels));
    const fixtureKeys = [
      key({ __name__: 'fixture_requests_total', instance: `127.0.0.1:${targetPort}`, job: 'fixture', method: 'GET', path: '/api/v1/query' }),
      key({ __name__: 'fixture_requests_total', instance: `127.0.0.1:${targetPort}`, job: 'fixture', method: 'POST', path: '/ü/日本' }),
      key({ __name__: 'fixture_temperature_celsius', instance: `127.0.0.1:${targetPort}`, job: 'fixture', sensor: 'a"b\\c' }),
      key({ __name__: 'fixture_huge', instance: `127.0.0.1:${targetPort}`, job: 'fixture' }),
    ];
    const deadline = Date.now() + 60_000;
    while (!fixtureKeys.every((k) => (received.get(k)?.size ?? 0) >= 3)) {
      if (Date.now() > deadline) throw new Error(`remote write did not deliver 3 scrapes in 60 s; got ${[...received.keys()].join(', ')}\n${prom.output()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.deepEqual(headers.filter((h) => 'error' in h), [], 'every request decoded');
    for (const h of headers) assert.deepEqual(h, { enc: 'snappy', type: 'application/x-protobuf', version: '0.1.0' });

    // Every series Prometheus sent matches what Prometheus stored, up to the newest sample sent for it.
    const end = Math.max(...[...received.values()].flatMap((m) => [...m.keys()])) / 1000;
    const stored = await prom.api<{ result: MatrixResult[] }>(`/api/v1/query?query=${encodeURIComponent('{job="fixture"}[10m]')}&time=${end}`);
    let compared = 0;
    for (const r of stored.result) {
      const k = key(r.metric);
      const sent = received.get(k);
      assert.ok(sent, `Prometheus stored ${k} but never sent it`);
      const newest = Math.max(...sent.keys());
      const want = r.values.filter(([t]) => t * 1000 <= newest).map(([t, v]) => [t * 1000, v]);
      const got = [...sent].sort((a, b) => a[0] - b[0]).map(([t, v]) => [t, promApiValue(v)]);
      assert.deepEqual(got, want, k);
      compared += want.length;
    }
    assert.ok(compared >= 12, `compared only ${compared} samples`);
    assert.equal(received.get(fixtureKeys[3] as string)?.values().next().value, 1048576);
    assert.ok(requests > 0);
    // Metadata goes out every send_interval (1 s): give it until then.
    for (const until = Date.now() + 10_000; !metadataSeen && Date.now() < until; ) await new Promise((r) => setTimeout(r, 250));
    assert.ok(metadataSeen, 'Prometheus sent metadata, and both decoders read it alike');
  } finally {
    await prom.stop();
    await new Promise((r) => receiver.close(r));
    await new Promise((r) => target.close(r));
  }
});

/** A ~15-label edge series, sorted, as flat labels. */
function edgeSeries(i: number, blob: string): string[] {
  const app = `app-${i % 4}`;
  const labels: Record<string, string> = {
    __name__: `rt2_${['cpu_seconds_total', 'memory_working_set_bytes', 'requests_total'][i % 3] as string}`,
    app_kubernetes_io_version: 'v3.4.9',
    cluster: 'ce-0001',
    container: app,
    endpoint: 'http-metrics',
    image: `registry.example.com/edge/${app}:v1.0.${i % 3}`,
    instance: `10.0.${i % 8}.${i}:9100`,
    job: app,
    namespace: i % 2 ? 'kube-system' : 'default',
    node: `ce-0001-node-${i % 3}`,
    pod: `${app}-5d78c9869d-${(i * 7919).toString(36).padStart(5, 'x')}`,
    service: `${app}-svc`,
    uid: `6c43069c-43a8-c3b7-${String(i).padStart(12, '0')}`,
    zone: 'ce-0001-zone-a',
  };
  // A long value on a few series far apart: their copies reach back past 64 KiB (4-byte offsets).
  if (i % 40 === 0) labels.blob = blob;
  return flatten(labels);
}

test('what the label-aware snappy batch builds, Prometheus 2.42 stores exactly', { timeout: 90_000 }, async () => {
  const prom = await startPrometheus({ config: 'global: {scrape_interval: 1h}\n', flags: ['--web.enable-remote-write-receiver'] });
  try {
    const now = Math.floor(Date.now() / 1000) * 1000;
    const values = [0, 1, -3e-7, 1e300, 123456789.125, Infinity, -Infinity, NaN, 42];
    const times = [now - 30_000, now - 20_000, now - 10_000];
    const blob = 'b'.repeat(30_000);
    const series = Array.from({ length: 120 }, (_, i) => ({
      labels: edgeSeries(i, blob),
      samples: times.map((t, k): Sample => ({ value: values[(i + k) % values.length] as number, timestamp: t })),
    }));
    assertValidForSend({ timeseries: series });
    const cached = series.map((s) => encodeLabels(s.labels));
    const batch = new RemoteWriteSnappyBatch();
    const plain = new RemoteWriteBatch();
    // Half the series one sample per TimeSeries (a scrape at a time), half with their samples grouped.
    for (const t of times) {
      series.forEach((s, i) => {
        if (i % 2 === 0) return;
        const sample = s.samples.find((x) => x.timestamp === t) as Sample;
        batch.add(cached[i] as Uint8Array, sample.value, t);
        plain.add(cached[i] as Uint8Array, sample.value, t);
      });
    }
    series.forEach((s, i) => {
      if (i % 2 === 1) return;
      batch.addSamples(cached[i] as Uint8Array, s.samples);
      plain.addSamples(cached[i] as Uint8Array, s.samples);
    });
    // A series that goes stale: a sample, then the marker.
    const stale = encodeLabels(['__name__', 'rt2_stale', 'site', 'ce-0002']);
    batch.add(stale, 7, now - 10_000);
    batch.add(stale, STALE_NAN, now - 5000);
    plain.add(stale, 7, now - 10_000);
    plain.add(stale, STALE_NAN, now - 5000);
    const body = batch.finish();
    assert.deepEqual(snappyUncompress(body), Buffer.from(plain.finish()), 'the block decompresses to the plain encoding');
    assert.ok(body.length < 0.3 * batch.uncompressedLength, `${body.length} bytes for ${batch.uncompressedLength}`);

    const res = await fetch(`${prom.url}/api/v1/write`, { method: 'POST', headers: REMOTE_WRITE_HEADERS, body });
    assert.ok(res.status >= 200 && res.status < 300, `Prometheus answered ${res.status}: ${await res.text()}`);
    const data = await prom.api<{ result: MatrixResult[] }>(`/api/v1/query?query=${encodeURIComponent('{__name__=~"rt2_.+"}[5m]')}&time=${now / 1000}`);
    const got = new Map(data.result.map((r) => [JSON.stringify(flatten(r.metric)), r.values]));
    assert.equal(got.size, series.length + 1);
    for (const s of series) {
      assert.deepEqual(got.get(JSON.stringify(s.labels)), s.samples.map((x) => [x.timestamp / 1000, promApiValue(x.value)]), s.labels.join(' ').slice(0, 200));
    }
    assert.deepEqual(got.get(JSON.stringify(['__name__', 'rt2_stale', 'site', 'ce-0002'])), [[(now - 10_000) / 1000, '7']]);
    const after = await prom.api<{ result: unknown[] }>(`/api/v1/query?query=rt2_stale&time=${(now - 4000) / 1000}`);
    assert.equal(after.result.length, 0, 'rt2_stale is stale after its marker');
  } finally {
    await prom.stop();
  }
});

test('what the spec forbids: fleetscope answers 400 or 413; what Prometheus 2.42 answers', { timeout: 60_000 }, async () => {
  const prom = await startPrometheus({ config: 'global: {scrape_interval: 1h}\n', flags: ['--web.enable-remote-write-receiver'] });
  try {
    const now = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const body = (labels: string[], samples: Sample[] = [{ value: 1, timestamp: now }]): Buffer => encodeWriteRequest({ timeseries: [{ labels, samples }] });
    const withByte = (b: Buffer, marker: string, byte: number): Buffer => {
      const out = Buffer.from(b);
      out[out.indexOf(marker) + 1] = byte;
      return out;
    };
    const valid = body(['__name__', 'rt3_truncated']);
    const snappy = (b: Buffer): { raw: Buffer } => ({ raw: b });
    // [case, protobuf body (snappy-compressed here) or { raw } sent as is, our code (null: accepted), Prometheus's status]
    const cases: [string, Buffer | { raw: Buffer }, string | null, number][] = [
      // Both refuse.
      ['truncated protobuf', valid.subarray(0, valid.length - 3), 'FS_WIRE_PROTOBUF', 400],
      ['a known field with the wrong wire type', Buffer.from([0x0a, 0x02, 0x08, 0x01]), 'FS_WIRE_PROTOBUF', 400],
      ['a group (wire type 3)', Buffer.from([0x0b, 0x0c]), 'FS_WIRE_PROTOBUF', 400],
      ['field number 0', Buffer.from([0x02, 0x00]), 'FS_WIRE_PROTOBUF', 400],
      ['an 11-byte varint', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 'FS_WIRE_PROTOBUF', 400],
      ['snappy with a negative literal length (snappyjs loops forever)', snappy(Buffer.from([0x10, 0xfc, 0xfa, 0xff, 0xff, 0xff])), 'FS_WIRE_SNAPPY_CORRUPT', 400],
      ['snappy ending before its declared length', snappy(Buffer.from([0x10, 0x04, 0x61, 0x62])), 'FS_WIRE_SNAPPY_CORRUPT', 400],
      ['snappy declaring 4 GiB', snappy(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00])), 'FS_WIRE_SNAPPY_TOO_LARGE', 400],
      ['protobuf sent without snappy', snappy(valid), 'FS_WIRE_SNAPPY_CORRUPT', 400],
      ['an empty body', snappy(Buffer.alloc(0)), 'FS_WIRE_SNAPPY_CORRUPT', 400],
      // Both take in.
      ['unknown and reserved fields', Buffer.concat([Buffer.from([0x10, 0x01, 0x48, 0x01]), body(['__name__', 'rt3_unknown_fields'])]), null, 204],
      // The spec forbids these and says a receiver MUST answer 400; Prometheus 2.42 stores them.
      ['labels not sorted', body(['__name__', 'rt3_unsorted', 'b', '1', 'a', '2']), 'FS_WIRE_REMOTE_WRITE_INVALID', 204],
      ['no __name__', body(['rt3_no_name', '1']), 'FS_WIRE_REMOTE_WRITE_INVALID', 204],
      ['an invalid label name', body(['__name__', 'rt3_bad_label', 'a-b', '1']), 'FS_WIRE_REMOTE_WRITE_INVALID', 204],
      ['an invalid metric name', body(['__name__', 'rt3.bad.name']), 'FS_WIRE_REMOTE_WRITE_INVALID', 204],
      ['an empty label value', body(['__name__', 'rt3_empty_value', 'a', '']), 'FS_WIRE_REMOTE_WRITE_INVALID', 204],
      ['invalid UTF-8 in a label value', withByte(body(['__name__', 'rt3_utf8', 'a', 'xXy']), 'xXy', 0xff), 'FS_WIRE_INVALID_UTF8', 204],
      // (Prometheus keeps the first sample and drops the older one without a word.)
      ['samples out of timestamp order', body(['__name__', 'rt3_order'], [{ value: 1, timestamp: now + 2000 }, { value: 2, timestamp: now + 1000 }]), 'FS_WIRE_REMOTE_WRITE_INVALID', 204],
      // And this one gets a 500, which senders retry: the spec wants a 4xx.
      ['duplicate label names', body(['__name__', 'rt3_duplicate', 'a', '1', 'a', '2']), 'FS_WIRE_REMOTE_WRITE_INVALID', 500],
    ];
    const seen: string[] = [];
    for (const [name, input, ours, theirs] of cases) {
      const compressed = 'raw' in input ? input.raw : snappyCompress(input);
      if (ours === null) decodeRemoteWriteBody(compressed);
      else {
        assert.throws(() => decodeRemoteWriteBody(compressed), (e: unknown) => {
          assert.ok(e instanceof WireError, `${name}: ${String(e)}`);
          assert.equal(e.code, ours, `${name}: ${e.message}`);
          assert.equal(e.status, ours === 'FS_WIRE_SNAPPY_TOO_LARGE' ? 413 : 400);
          return true;
        });
      }
      const res = await fetch(`${prom.url}/api/v1/write`, { method: 'POST', headers: REMOTE_WRITE_HEADERS, body: compressed });
      seen.push(`${name}: ${res.status} ${(await res.text()).trim()}`);
      assert.equal(res.status, theirs, `${name}: Prometheus answered ${res.status}`);
    }
    // What Prometheus stored of what the spec forbids: the unsorted labels sorted, the out-of-order sample dropped.
    const stored = await prom.api<{ result: MatrixResult[] }>(`/api/v1/query?query=${encodeURIComponent('{__name__=~"rt3_(unsorted|order)"}[5m]')}&time=${(now + 60_000) / 1000}`);
    assert.deepEqual(
      stored.result.map((r) => [flatten(r.metric), r.values]).sort(),
      [
        [['__name__', 'rt3_order'], [[(now + 2000) / 1000, '1']]],
        [['__name__', 'rt3_unsorted', 'a', '2', 'b', '1'], [[now / 1000, '1']]],
      ],
      seen.join('\n'),
    );
  } finally {
    await prom.stop();
  }
});
