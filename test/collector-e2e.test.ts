// The regional metrics path end to end: sites push (a static token, a signed
// site token, and a site of another tenant that puts the first tenant's
// labels in its payload) and a site is scraped (its counter restarts half-way);
// one collector cuts them down (allowlist, denylist, label denylist), adds
// identity and external labels, pre-aggregates a counter across the pushed
// and the scraped site, and writes to a real Prometheus 2.42 and a real
// VictoriaMetrics at once. PromQL and VictoriaMetrics' export then read back
// exactly the expected series and values in each.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { Collector, validateCollectorConfig } from '../collector/index.js';
import { REMOTE_WRITE_HEADERS, RemoteWriteBatch, encodeLabels, generateTokenKeys, signToken, tokenPrivateKey } from '../wire/index.js';
import { startPrometheus, type PrometheusPeer } from './peers/prometheus.js';
import { startVictoriaMetrics, type VictoriaMetricsPeer } from './peers/victoria-metrics.js';

const STATIC = 'token-e2e-static-site-00000001';
const GLOBEX = 'token-e2e-globex-site-00000003';
const keys = generateTokenKeys();
const SIGNED = signToken(tokenPrivateKey(keys.privateKeyPem), { kind: 'site', tenant: 'acme', site: 'ce-2', iat: Math.floor(Date.now() / 1000) });

/** The scraped site's counter, scrape by scrape: it restarts after 30, then stays at 15. */
const SCRAPED = [10, 20, 30, 5, 15];
let scrapes = 0;

let prom: PrometheusPeer;
let vm: VictoriaMetricsPeer;
let exporter: Server;
let collector: Collector;
let dir = '';

before(async () => {
  [prom, vm] = await Promise.all([startPrometheus({ config: 'global: {scrape_interval: 1h}\n', flags: ['--web.enable-remote-write-receiver'] }), startVictoriaMetrics()]);
  exporter = createServer((_req, res) => {
    const v = SCRAPED[Math.min(scrapes++, SCRAPED.length - 1)];
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(`# TYPE http_requests_total counter\nhttp_requests_total{code="200",uid="x1"} ${v}\ngo_goroutines 7\nnode_load1 0.5\n`);
  });
  await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', r));
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-e2e-'));
  collector = await Collector.start(validateCollectorConfig({
    external_labels: { re: 'eu-west-1' },
    queue: { dir: join(dir, 'q') },
    site_token_public_keys: [keys.publicKeyPem],
    sites: [{ token: STATIC, tenant: 'acme', site: 'ce-1' }, { token: GLOBEX, tenant: 'globex', site: 'ce-3' }],
    tenants: {
      acme: {
        pipeline: {
          filter: { allow: { prefixes: ['node_', 'http_'] }, deny: { names: ['node_scrape_collector_success'] }, label_deny: ['uid'] },
          aggregate: [{ match: 'http_requests_total', interval: '2s', max_delay: '1s', by: ['code'], outputs: ['total'], keep_input: true }],
        },
      },
      globex: {},
    },
    scrape_configs: [{ job_name: 'ce', tenant: 'acme', scrape_interval: '1s', scrape_timeout: '1s', static_configs: [{ targets: [`127.0.0.1:${(exporter.address() as AddressInfo).port}`], site: 'ce-4' }] }],
    remote_write: [
      { url: `${prom.url}/api/v1/write`, batch_send_deadline: '100ms', min_backoff: '20ms', max_backoff: '200ms' },
      { url: `${vm.url}/api/v1/write`, batch_send_deadline: '100ms', min_backoff: '20ms', max_backoff: '200ms' },
    ],
  }, 'e2e.yml'), { listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
});

after(async () => {
  await collector?.stop();
  await Promise.all([prom?.stop(), vm?.stop()]);
  await new Promise<void>((r) => exporter?.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

async function push(token: string, series: [Record<string, string>, number][], ts: number): Promise<void> {
  const b = new RemoteWriteBatch();
  for (const [l, v] of series) b.add(encodeLabels(Object.entries(l).sort(([a], [c]) => (a < c ? -1 : 1)).flat()), v, ts);
  const res = await fetch(`${collector.url}/api/v1/write`, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS, Authorization: `Bearer ${token}` }, body: b.finishCompressed() });
  assert.equal(res.status, 204, await res.text());
}

type Vector = { metric: Record<string, string>; value: [number, string] }[];
const query = async (q: string): Promise<Vector> => (await prom.api<{ result: Vector }>(`/api/v1/query?query=${encodeURIComponent(q)}`)).result;
const show = (v: Vector): string[] => v.map(({ metric, value }) => `${JSON.stringify(Object.entries(metric).sort())} ${value[1]}`).sort();

test('pushed and scraped sites, cut down, isolated by tenant, aggregated through a counter reset, in Prometheus and VictoriaMetrics', { timeout: 60_000 }, async () => {
  for (const [k, v] of [[0, 100], [1, 130], [2, 160]] as const) {
    const ts = Date.now();
    await push(STATIC, [[{ __name__: 'http_requests_total', code: '200', pod: 'a' }, v], [{ __name__: 'node_load1', uid: 'u-1' }, 1.5 + k], [{ __name__: 'go_gc_duration_seconds' }, 1], [{ __name__: 'node_scrape_collector_success' }, 1]], ts);
    await push(SIGNED, [[{ __name__: 'node_load1' }, 2.5 + k]], ts);
    // globex's site claims to be acme's ce-1: identity wins.
    await push(GLOBEX, [[{ __name__: 'spoof_total', tenant: 'acme', site: 'ce-1', re: 'elsewhere' }, 7 + k]], ts);
    await new Promise((r) => setTimeout(r, 500));
  }
  // 35 from the scraped counter (10→20→30, restart at 5, →15) and 60 from the pushed one.
  const total = 'http_requests_total:2s_by_code_total';
  for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 500))) {
    const t = await query(total);
    if (scrapes > SCRAPED.length + 2 && t[0]?.value[1] === '95') break;
    if (Date.now() > deadline) throw new Error(`the aggregate never reached 95: ${JSON.stringify(t)}, ${scrapes} scrapes`);
  }
  await new Promise((r) => setTimeout(r, 2500));
  assert.deepEqual(show(await query(total)), [`${JSON.stringify([['__name__', total], ['code', '200'], ['re', 'eu-west-1'], ['tenant', 'acme']])} 95`], 'and it stays there');

  assert.deepEqual(show(await query('{tenant="acme",__name__!~"up|scrape_.*|.*:.*"}')), [
    `${JSON.stringify([['__name__', 'http_requests_total'], ['code', '200'], ['instance', `127.0.0.1:${(exporter.address() as AddressInfo).port}`], ['job', 'ce'], ['re', 'eu-west-1'], ['site', 'ce-4'], ['tenant', 'acme']])} 15`,
    `${JSON.stringify([['__name__', 'http_requests_total'], ['code', '200'], ['pod', 'a'], ['re', 'eu-west-1'], ['site', 'ce-1'], ['tenant', 'acme']])} 160`,
    `${JSON.stringify([['__name__', 'node_load1'], ['instance', `127.0.0.1:${(exporter.address() as AddressInfo).port}`], ['job', 'ce'], ['re', 'eu-west-1'], ['site', 'ce-4'], ['tenant', 'acme']])} 0.5`,
    `${JSON.stringify([['__name__', 'node_load1'], ['re', 'eu-west-1'], ['site', 'ce-1'], ['tenant', 'acme']])} 3.5`,
    `${JSON.stringify([['__name__', 'node_load1'], ['re', 'eu-west-1'], ['site', 'ce-2'], ['tenant', 'acme']])} 4.5`,
  ], 'the allowlist, the denylist and the label denylist applied; identity from the static and the signed token');
  assert.deepEqual(show(await query('{tenant="globex"}')), [`${JSON.stringify([['__name__', 'spoof_total'], ['re', 'eu-west-1'], ['site', 'ce-3'], ['tenant', 'globex']])} 9`]);
  assert.equal((await query('spoof_total{tenant="acme"}')).length, 0, 'a site cannot write into another tenant');
  assert.equal((await query('up{site="ce-4"}'))[0]?.value[1], '1');

  // VictoriaMetrics holds the same series.
  const vmSeries = (await vm.exportSeries('{__name__=~".+",__name__!~"up|scrape_.*"}')).map((s) => JSON.stringify(Object.entries(s.metric).sort())).sort();
  const promSeries = (await query('{__name__=~".+",__name__!~"up|scrape_.*"}')).map((s) => JSON.stringify(Object.entries(s.metric).sort())).sort();
  assert.deepEqual(vmSeries, promSeries);
  const vmTotal = (await vm.exportSeries(total))[0];
  assert.equal(vmTotal?.values.at(-1), 95);
  for (let k = 1; k < (vmTotal?.values.length ?? 0); k++) assert.ok((vmTotal?.values[k] as number) >= (vmTotal?.values[k - 1] as number), 'never backwards');
});
