// `fleetscope rules check|test` and the records endpoint's bad-input answers.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { AlertingService, parseAlertingConfig } from '../alerting/index.js';

const BIN = fileURLToPath(new URL('../../bin/fleetscope.js', import.meta.url));

/** Runs the real `fleetscope` binary. */
function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('error', reject);
    p.once('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

test('rules check lists every error with file, option and reason, exit 2', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-rules-cli-'));
  try {
    await writeFile(join(dir, 'ok.yaml'), 'name: ok\ntype: any\nindex: i\nalert: debug\nmystery: 1\n');
    await writeFile(join(dir, 'bad.yaml'), 'name: bad\ntype: frequency\nindex: i\nalert: debug\nnum_events: many\ntimeframe: {minutes: 1}\n');
    await writeFile(join(dir, 'worse.yml'), 'name: worse\ntype: spike\nindex: i\nalert: debug\nspike_type: up\ntimeframe: {hours: 1}\n');
    const r = await run(['rules', 'check', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.yaml: num_events: "many" is not of type 'integer'/);
    assert.match(r.stderr, /worse\.yml: spike_height: 'spike_height' is a required property/);
    assert.match(r.stdout, /ok\.yaml: mystery: warning: unknown option/);
    await rm(join(dir, 'bad.yaml'));
    await rm(join(dir, 'worse.yml'));
    const ok = await run(['rules', 'check', dir]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /1 rule\(s\) valid/);
    assert.equal((await run(['rules', 'lint', dir])).code, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('rules test prints one JSON line per match', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-rules-cli-'));
  try {
    await writeFile(join(dir, 'r.yaml'), 'name: freq\ntype: frequency\nindex: i\nalert: debug\nnum_events: 2\ntimeframe: {minutes: 1}\nquery_key: host\nfilter:\n- query_string: {query: "level:error"}\n');
    const docs = [
      { '@timestamp': '2024-01-01T00:00:00Z', host: 'a', level: 'error' },
      { '@timestamp': '2024-01-01T00:00:10Z', host: 'b', level: 'error' },
      { '@timestamp': '2024-01-01T00:00:20Z', host: 'a', level: 'info' },
      { '@timestamp': '2024-01-01T00:00:30Z', host: 'a', level: 'error' },
    ];
    await writeFile(join(dir, 'd.json'), JSON.stringify(docs));
    const r = await run(['rules', 'test', join(dir, 'r.yaml'), '--data', join(dir, 'd.json')]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 1);
    assert.deepEqual({ ...lines[0], match: undefined }, { rule: 'freq', key: 'a', timestamp: '2024-01-01T00:00:30Z', num_hits: 3, match: undefined });
    await writeFile(join(dir, 'd.json'), '{"not": "an array"}');
    assert.equal((await run(['rules', 'test', join(dir, 'r.yaml'), '--data', join(dir, 'd.json')])).code, 1);
    assert.equal((await run(['rules', 'test', join(dir, 'r.yaml')])).code, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('POST /api/v1/records refuses bad input with a code and reason, and limits size and count', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-records-'));
  await writeFile(join(dir, 'r.yaml'), 'name: any\ntype: any\nindex: i\nalert: debug\n');
  const s = await AlertingService.start(parseAlertingConfig(join(dir, 'a.yml'), { rules_dir: dir, limits: { max_body_bytes: 4096, max_records_per_request: 3 } }), { listen: '127.0.0.1:0', manualTicks: true });
  try {
    const post = async (body: string): Promise<{ status: number; body: { code?: string; message?: string; records?: number } }> => {
      const res = await fetch(`${s.url}/api/v1/records`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
      return { status: res.status, body: (await res.json()) as { code?: string; message?: string } };
    };
    const good = JSON.stringify({ '@timestamp': '2024-01-01T00:00:00Z', tenant: 't', site: 's' });
    assert.deepEqual((await post(`${good}\n${good}`)).body, { records: 2, taken: 2 });
    const cases: [string, number, RegExp][] = [
      ['{"tenant": "t"', 400, /line 1: not JSON/],
      [JSON.stringify({ '@timestamp': '2024-01-01T00:00:00Z', site: 's' }), 400, /record 0: tenant/],
      [JSON.stringify({ tenant: 't', site: 's' }), 400, /no timestampMs/],
      [[good, good, good, good].join('\n'), 400, /over the limit of 3/],
      ['[1]', 400, /record 0: not a JSON object/],
      [`${'x'.repeat(5000)}`, 413, /larger than 4096/],
    ];
    for (const [body, status, re] of cases) {
      const r = await post(body);
      assert.equal(r.status, status, body.slice(0, 40));
      assert.match(r.body.message ?? '', re);
      assert.match(r.body.code ?? '', /^FS_ALERTING_/);
    }
    const m = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(m, /fleetscope_alerting_requests_refused_total\{code="FS_ALERTING_BAD_RECORDS"\} 5/);
    assert.equal((await fetch(`${s.url}/api/v1/rules/any`)).status, 200);
    assert.equal((await fetch(`${s.url}/api/v1/rules/nope`)).status, 404);
  } finally {
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('alerting --check-config validates the config and its rules folder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-alerting-cli-'));
  try {
    // The config lives outside the rules folder: every YAML file in that folder is a rule, as in ElastAlert.
    await mkdir(join(dir, 'rules'));
    await writeFile(join(dir, 'rules', 'r.yaml'), 'name: any\ntype: any\nindex: i\nalert: debug\n');
    await writeFile(join(dir, 'alerting.yml'), 'rules_dir: rules\nalertmanagers: [http://127.0.0.1:9093]\n');
    const ok = await run(['alerting', '--check-config', join(dir, 'alerting.yml')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /valid \(1 rules, 1 alertmanagers\)/);
    await writeFile(join(dir, 'alerting.yml'), 'rules_dir: rules\nresend_interval: often\n');
    const bad = await run(['alerting', '--check-config', join(dir, 'alerting.yml')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /alerting\.yml: resend_interval: /);
    await writeFile(join(dir, 'alerting.yml'), 'rules_dir: rules\n');
    await writeFile(join(dir, 'rules', 'bad.yaml'), 'name: bad\ntype: nope\nindex: i\nalert: debug\n');
    const badRule = await run(['alerting', '--check-config', join(dir, 'alerting.yml')]);
    assert.equal(badRule.code, 2);
    assert.match(badRule.stderr, /bad\.yaml: type: /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
