// The fleet's Prometheus rules (alerting/prometheus-rules/) pass
// `promtool check rules` and their unit tests (`promtool test rules`,
// Prometheus 2.42), and the unit tests do catch a changed threshold.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import yaml from 'js-yaml';

const RULES_DIR = fileURLToPath(new URL('../../alerting/prometheus-rules/', import.meta.url));

function promtool(args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('promtool', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.once('error', (err) => reject(new Error(`cannot run promtool (Debian package prometheus): ${err.message}`)));
    p.once('exit', (code) => resolve({ code, out }));
  });
}

test('fleet rules pass promtool check rules and promtool test rules', async () => {
  const files = (await readdir(RULES_DIR)).filter((f) => f.endsWith('.yml'));
  assert.ok(files.length > 0);
  const check = await promtool(['check', 'rules', ...files], RULES_DIR);
  assert.equal(check.code, 0, check.out);
  const tests = (await readdir(join(RULES_DIR, 'tests'))).filter((f) => f.endsWith('.yml'));
  const run = await promtool(['test', 'rules', ...tests], join(RULES_DIR, 'tests'));
  assert.equal(run.code, 0, run.out);
  // Every alert is unit-tested firing, with the fleet's label schema: severity, tenant, re, site.
  const tested = new Map<string, Record<string, string>[]>();
  for (const t of tests) {
    const doc = yaml.load(await readFile(join(RULES_DIR, 'tests', t), 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts: { exp_labels: Record<string, string> }[] }[] }[] };
    for (const a of doc.tests.flatMap((x) => x.alert_rule_test ?? [])) tested.set(a.alertname, [...(tested.get(a.alertname) ?? []), ...a.exp_alerts.map((e) => e.exp_labels)]);
  }
  for (const f of files) {
    const doc = yaml.load(await readFile(join(RULES_DIR, f), 'utf8')) as { groups: { rules: { alert?: string }[] }[] };
    for (const r of doc.groups.flatMap((g) => g.rules)) {
      if (r.alert === undefined) continue;
      const firing = tested.get(r.alert) ?? [];
      assert.ok(firing.length > 0, `${r.alert} has no firing unit test`);
      for (const labels of firing) for (const l of ['severity', 'tenant', 're', 'site']) assert.ok(labels[l], `${r.alert}: ${l} in ${JSON.stringify(labels)}`);
    }
  }
});

test('the rule unit tests fail when a threshold changes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-promrules-'));
  try {
    await cp(RULES_DIR, dir, { recursive: true });
    const f = join(dir, 'fleet.rules.yml');
    await writeFile(f, (await readFile(f, 'utf8')).replace('drop_ratio:rate5m > 0.05', 'drop_ratio:rate5m > 0.5'));
    const run = await promtool(['test', 'rules', 'fleet.rules.test.yml'], join(dir, 'tests'));
    assert.notEqual(run.code, 0);
    assert.match(run.out, /FleetscopeSiteDropRateHigh/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
