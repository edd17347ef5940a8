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
  STALE_NAN,
  type TimeSeries,
  decodeRemoteWriteBody,
  decodeWriteRequestReference,
  encodeLabels,
  snappyUncompress,
} from '../wire/index.js';
import { startPrometheus } from './peers/prometheus.js';

interface MatrixResult {
  metric: Record<string, string>;
  values: [number, string][];
}

const flatten = (m: Record<string, string>): string[] => Object.keys(m).sort().flatMap((k) => [k, m[k] as string]);
// How Prometheus's HTTP API writes a sample value (web/api/v1 marshalFloat):
// Go's 'e' format below 1e-6 and from 1e21, 'f' otherwise, shortest digits.
// Those are JavaScript's own thresholds; Go pads the exponent to two digits.
function promValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v).replace(/e([+-])(\d)$/, 'e$10$2');
}

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
      assert.deepEqual(values, s.samples.map(([t, v]) => [t / 1000, promValue(v)]));
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
  const receiver = createServer((req, res) => {
    void (async () => {
      try {
        const body = await readBody(req);
        headers.push({ enc: req.headers['content-encoding'], type: req.headers['content-type'], version: req.headers['x-prometheus-remote-write-version'] });
        const ours = decodeRemoteWriteBody(body);
        const reference = decodeWriteRequestReference(snappyUncompress(body));
        assert.deepEqual(JSON.stringify(ours.timeseries, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)),
          JSON.stringify(reference.timeseries, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
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
      const got = [...sent].sort((a, b) => a[0] - b[0]).map(([t, v]) => [t, promValue(v)]);
      assert.deepEqual(got, want, k);
      compared += want.length;
    }
    assert.ok(compared >= 12, `compared only ${compared} samples`);
    assert.equal(received.get(fixtureKeys[3] as string)?.values().next().value, 1048576);
    assert.ok(requests > 0);
  } finally {
    await prom.stop();
    await new Promise((r) => receiver.close(r));
    await new Promise((r) => target.close(r));
  }
});
