// The agent against real peers: a real prometheus-node-exporter scraped by
// the agent, remote-writing to a real Prometheus 2.42 receiver standing in
// for the collector. The receiver is stopped mid-run and started again:
// every sample scraped during the outage must arrive, in order, as read back
// through Prometheus's HTTP API.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentDaemon, type ScrapeResult, validateAgentConfig } from '../agent/index.js';
import { startNodeExporter, type NodeExporterPeer } from './peers/node-exporter.js';
import { startPrometheus, type PrometheusPeer } from './peers/prometheus.js';

let prom: PrometheusPeer;
let node: NodeExporterPeer;
let dir: string;

before(async () => {
  prom = await startPrometheus({ config: 'global: {scrape_interval: 1h}\n', flags: ['--web.enable-remote-write-receiver'] });
  node = await startNodeExporter(['--collector.disable-defaults', '--collector.cpu', '--collector.loadavg', '--collector.meminfo', '--collector.textfile']);
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-outage-'));
});

after(async () => {
  await prom?.stop();
  await node?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

type Matrix = { metric: Record<string, string>; values: [number, string][] }[];

test('every sample scraped while the receiver is down arrives, in order, once it is back', async () => {
  // A counter we control, so that values can be checked exactly: it counts scrapes of the textfile.
  await writeFile(join(node.textfileDir, 'edge.prom'), '# TYPE edge_marker gauge\nedge_marker{kind="fixed"} 42\n');
  const loaded = validateAgentConfig(
    {
      state_dir: join(dir, 'state'),
      listen: '127.0.0.1:0',
      external_labels: { re: 're-test' },
      scrape: { interval: '1s', timeout: '900ms' },
      targets: [{ job: 'node', url: node.url }],
      filter: { allow: { prefixes: ['node_cpu_seconds_total', 'node_load', 'node_memory_MemAvailable', 'edge_'] }, label_deny: ['kind'] },
      metric_relabel_configs: [{ source_labels: ['mode'], regex: 'steal|guest.*', action: 'drop' }],
      remote_write: { url: `${prom.url}/api/v1/write`, bearer_token: 'static-site-token', min_backoff: '50ms', max_backoff: '300ms' },
      buffer: { segment_bytes: 64 * 1024 },
    },
    'agent-outage.yml',
  );
  const scrapes: { atMs: number; result: ScrapeResult }[] = [];
  const agent = await AgentDaemon.start(loaded, { onScrape: (job, atMs, result) => job === 'node' && scrapes.push({ atMs, result }), log: () => undefined });
  try {
    await waitFor('three scrapes delivered', async () => scrapes.length >= 3 && agent.bufferStats.records === 0, 15_000);
    const beforeOutage = scrapes.length;
    await prom.kill();
    const outageStart = scrapes.length;
    await sleep(5000);
    const outageScrapes = scrapes.length - outageStart;
    assert.ok(outageScrapes >= 4, `scrapes during the outage: ${outageScrapes}`);
    assert.ok(agent.bufferStats.records >= outageScrapes, `buffered ${agent.bufferStats.records} records for ${outageScrapes} scrapes`);
    // The agent's own health shows the backlog.
    const health = await (await fetch(`${agent.url}/metrics`)).text();
    const age = Number(/^fleetscope_agent_buffer_oldest_age_seconds (\S+)$/m.exec(health)?.[1]);
    assert.ok(age >= 2, `buffer age during the outage: ${age}\n${health.slice(0, 2000)}`);
    await prom.restart();
    await waitFor('the backlog drained', () => agent.bufferStats.records === 0, 20_000);
    await sleep(1500);
    await waitFor('the backlog drained again', () => agent.bufferStats.records === 0, 5000);
    assert.ok(beforeOutage >= 3);
  } finally {
    await agent.stop();
  }
  const ok = scrapes.filter((s) => s.result.up);
  assert.equal(ok.length, scrapes.length, 'every scrape of the node exporter succeeded');
  const last = scrapes[scrapes.length - 1]!.atMs;
  const at = (last / 1000 + 1).toFixed(3);
  // `up` has exactly one sample per scrape, at the scrape's timestamp: all of them, in order.
  const up = await prom.api<{ result: Matrix }>(`/api/v1/query?query=${encodeURIComponent('up{job="node"}[2m]')}&time=${at}`);
  assert.equal(up.result.length, 1, JSON.stringify(up.result));
  const got = up.result[0]!.values.map(([t]) => Math.round(t * 1000));
  assert.deepEqual(got, scrapes.map((s) => s.atMs), 'up samples: one per scrape, none lost, in order');
  assert.deepEqual(up.result[0]!.metric, { __name__: 'up', instance: new URL(node.url).host, job: 'node', re: 're-test' });
  // The filter and relabel rules ran at the edge; the label denylist removed `kind`.
  const marker = await prom.api<{ result: Matrix }>(`/api/v1/query?query=${encodeURIComponent('edge_marker[2m]')}&time=${at}`);
  assert.equal(marker.result.length, 1);
  assert.equal(marker.result[0]!.metric.kind, undefined);
  assert.deepEqual(marker.result[0]!.values.map(([t, v]) => [Math.round(t * 1000), v]), scrapes.map((s) => [s.atMs, '42']));
  const names = await prom.api<string[]>('/api/v1/label/__name__/values');
  for (const n of names) assert.match(n, /^(node_cpu_seconds_total|node_load(1|5|15)|node_memory_MemAvailable_bytes|edge_marker|up|scrape_.*|fleetscope_agent_.*)$/, `unexpected metric ${n}`);
  const steal = await prom.api<{ result: Matrix }>(`/api/v1/query?query=${encodeURIComponent('node_cpu_seconds_total{mode=~"steal|guest.*"}')}&time=${at}`);
  assert.equal(steal.result.length, 0, 'metric_relabel_configs dropped steal/guest');
  // Each CPU counter has every scrape's sample, in order and never decreasing.
  const cpu = await prom.api<{ result: Matrix }>(`/api/v1/query?query=${encodeURIComponent('node_cpu_seconds_total{job="node"}[2m]')}&time=${at}`);
  assert.ok(cpu.result.length >= 2);
  for (const s of cpu.result) {
    assert.deepEqual(s.values.map(([t]) => Math.round(t * 1000)), scrapes.map((x) => x.atMs), JSON.stringify(s.metric));
    const vs = s.values.map(([, v]) => Number(v));
    for (let i = 1; i < vs.length; i++) assert.ok(vs[i]! >= vs[i - 1]!, `${JSON.stringify(s.metric)} decreased`);
  }
  // What the agent counted as kept per scrape is what Prometheus holds per timestamp.
  const post = await prom.api<{ result: Matrix }>(`/api/v1/query?query=${encodeURIComponent('scrape_samples_post_metric_relabeling{job="node"}[2m]')}&time=${at}`);
  assert.deepEqual(post.result[0]!.values.map(([, v]) => Number(v)), scrapes.map((s) => s.result.postRelabel));
  const count = await prom.api<{ result: { value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent('count({job="node",__name__!~"up|scrape_.*"})')}&time=${(scrapes[scrapes.length - 1]!.atMs / 1000).toFixed(3)}`);
  assert.equal(Number(count.result[0]!.value[1]), scrapes[scrapes.length - 1]!.result.postRelabel);
  // The agent's own metrics were shipped too.
  const self = await prom.api<{ result: Matrix }>(`/api/v1/query?query=${encodeURIComponent('fleetscope_agent_buffer_records[2m]')}&time=${at}`);
  assert.equal(self.result.length, 1);
  assert.ok(self.result[0]!.values.some(([, v]) => Number(v) > 0), 'the shipped health shows the backlog during the outage');
});
