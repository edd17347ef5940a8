// The generated configs are accepted by the real binaries (promtool 2.42,
// vmagent 1.79 -dryRun), and the counting sink counts what a push carries.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import yaml from 'js-yaml';
import { Sink } from '../sink/sink.js';
import { PushTemplate } from '../sim/push-template.js';
import { SiteTemplate, siteName } from '../sim/template.js';
import { REMOTE_WRITE_HEADERS } from '../../wire/index.js';
import { type ContenderInput, type LaunchPlan, fleetscopePlan, prometheusAgentPlan, vmagentPlan, vmagentStreamAggregation } from './configs.js';
import { Expectation, checkDelivery } from './expected.js';
import { runCommand } from './proc.js';
import { SCENARIOS, type ScenarioName } from './scenario.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-bench-cfg-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function materialise(plan: LaunchPlan): Promise<void> {
  for (const [path, text] of Object.entries(plan.files)) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  }
}

function input(name: ScenarioName): ContenderInput {
  return { scenario: SCENARIOS[name], sites: 3, seriesPerSite: 1000, intervalMs: 15_000, simUrl: 'http://127.0.0.1:9900', sinkUrl: 'http://127.0.0.1:9901/api/v1/write', dir: join(dir, name), port: 9902, root: process.cwd() };
}

for (const name of ['pass-through', 'realistic-re', 'push', 'churn'] as const) {
  test(`promtool check config --agent accepts the Prometheus agent config for ${name}`, async () => {
    const plan = prometheusAgentPlan(input(name));
    await materialise(plan);
    const c = plan.check as { command: string; args: readonly string[] };
    const r = await runCommand(c.command, c.args);
    assert.equal(r.code, 0, r.output);
    if (name === 'realistic-re') {
      const doc = yaml.load(await readFile(join(dir, name, 'prometheus.yml'), 'utf8')) as { scrape_configs: { metric_relabel_configs: { action: string }[]; static_configs: unknown[] }[] };
      assert.deepEqual(doc.scrape_configs[0]?.metric_relabel_configs.map((r) => r.action), ['keep', 'labeldrop']);
      assert.equal(doc.scrape_configs[0]?.static_configs.length, 3);
    }
  });
}

for (const name of ['pass-through', 'realistic-re', 'churn'] as const) {
  test(`vmagent -dryRun accepts the vmagent scrape config for ${name}`, async () => {
    const plan = vmagentPlan(input(name), { streamAggregation: false });
    await materialise(plan);
    const c = plan.check as { command: string; args: readonly string[] };
    const r = await runCommand(c.command, c.args);
    assert.equal(r.code, 0, r.output);
  });
}

test('vmagent -dryRun refuses a broken scrape config (the check can fail)', async () => {
  const file = join(dir, 'broken.yml');
  await writeFile(file, 'scrape_configs:\n  - job_name: x\n    metric_relabel_configs: [{action: keep, regex: "("}]\n');
  const r = await runCommand('vmagent', ['-dryRun', `-promscrape.config=${file}`, '-loggerLevel=ERROR']);
  assert.notEqual(r.code, 0);
});

test('the vmagent stream aggregation for the realistic scenario is valid YAML naming the histogram', () => {
  const doc = yaml.load(vmagentStreamAggregation(SCENARIOS['realistic-re'].aggregation ?? [], 15_000)) as { match: string; without: string[]; outputs: string[] }[];
  assert.equal(doc.length, 1);
  assert.match(doc[0]?.match ?? '', /apiserver_request_duration_seconds_\(bucket\|sum\|count\)/);
  assert.deepEqual(doc[0]?.outputs, ['total']);
});

test('fleetscope collector --check-config accepts the generated push config', async () => {
  const plan = fleetscopePlan(input('push'));
  await materialise(plan);
  const c = plan.check as { command: string; args: readonly string[] };
  const r = await runCommand(c.command, c.args);
  assert.equal(r.code, 0, r.output);
});

test('the sink counts a pushed request per site and timestamp, and the delivery check finds what is missing', async () => {
  const t = new SiteTemplate({ series: 3000, histogramShare: 0.35, seed: 1 });
  const p = new PushTemplate(t, 1000);
  const sink = new Sink();
  const { url, control } = await sink.listen('127.0.0.1', 0, 0);
  try {
    const ts = Date.now();
    const body = p.render(Buffer.alloc(p.maxRequestBytes), 0, 1, ts, () => 2);
    const res = await fetch(url, { method: 'POST', headers: REMOTE_WRITE_HEADERS, body });
    assert.equal(res.status, 204);
    const stats = await (await fetch(`${control}/stats`)).json() as { samples: number; bytes: number; groups: Record<string, [number, number][]> };
    assert.equal(stats.samples, 1000);
    assert.equal(stats.bytes, body.length);
    assert.deepEqual(stats.groups[siteName(1)], [[ts, 1000]]);
    const exp = new Expectation(t, SCENARIOS.push);
    const ok = checkDelivery(exp.bySiteAndTime([{ site: 1, ts, first: 0, count: 1000 }]), stats.groups);
    assert.deepEqual(ok, { expected: 1000, delivered: 1000, missing: 0, extra: 0 });
    const short = checkDelivery(exp.bySiteAndTime([{ site: 1, ts, first: 0, count: 1000 }, { site: 1, ts: ts + 1, first: 1000, count: 1000 }]), stats.groups);
    assert.equal(short.missing, 1000);
    const bad = await fetch(url, { method: 'POST', headers: REMOTE_WRITE_HEADERS, body: Buffer.from('not snappy') });
    assert.equal(bad.status, 400);
  } finally {
    await sink.close();
  }
});

test('the realistic scenario keeps a few thousand of ~50,000 series per site (before pre-aggregation)', () => {
  const t = new SiteTemplate({ series: 50_000, histogramShare: 0.35, seed: 1 });
  const kept = new Expectation(t, SCENARIOS['realistic-re']).seriesPerSite;
  assert.ok(kept > 2000 && kept < 4000, String(kept));
});
