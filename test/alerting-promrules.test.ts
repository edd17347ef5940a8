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
  // Every alert carries the fleet's label schema: severity set, tenant/re/site by grouping or label.
  for (const f of files) {
    const doc = yaml.load(await readFile(join(RULES_DIR, f), 'utf8')) as { groups: { rules: { alert?: string; expr: string; labels?: Record<string, string> }[] }[] };
    for (const r of doc.groups.flatMap((g) => g.rules)) {
      if (r.alert === undefined) continue;
      assert.ok(r.labels?.severity, `${r.alert}: severity`);
      for (const l of ['tenant', 're', 'site']) assert.ok(r.labels?.[l] !== undefined || /\bsite:|by \([^)]*\b/.test(r.expr), `${r.alert}: ${l}`);
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
