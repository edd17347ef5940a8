// `fleetscope collector --alerting-config`: the collector and the alerting
// engine in one process, connected by the top README's contract §4. A site
// posts log lines to the collector's JSON-lines endpoint; the line the rule
// matches reaches a real Alertmanager 0.25 as an alert carrying the site's
// identity (never the payload's), and the one the tenant's filter drops does
// not. Also: the flag without a logs: section is a usage error.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { type AlertmanagerPeer, startAlertmanager } from './peers/alertmanager.js';
import { freePort } from './peers/prometheus.js';

const BIN = fileURLToPath(new URL('../../bin/fleetscope.js', import.meta.url));
const TOKEN = 'site-token-ce-0042-abcdef';

let dir: string;
let am: AlertmanagerPeer;
let proc: ChildProcess | undefined;
let output = '';

async function eventually<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; the process said:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-collector-alerting-'));
  am = await startAlertmanager({ groupBy: ['alertname', 'tenant', 'site'] });
});

after(async () => {
  proc?.kill('SIGKILL');
  await am?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('collector --alerting-config: a log line the rule matches reaches Alertmanager with the site identity', async () => {
  const port = await freePort();
  const alertingPort = await freePort();
  await mkdir(join(dir, 'rules'));
  await writeFile(join(dir, 'rules', 'panic.yaml'), 'name: kernel-panic\ntype: any\nindex: logs-*\nfilter:\n- term: {level: panic}\nalert: alertmanager\nalertmanager_labels: {severity: critical}\n');
  await writeFile(join(dir, 'alerting.yml'), [
    `listen: 127.0.0.1:${alertingPort}`,
    `rules_dir: ${join(dir, 'rules')}`,
    `alertmanagers: ["${am.url}"]`,
    `state_dir: ${join(dir, 'alerting-state')}`,
    'run_every: 500ms',
    'allowed_lateness: 200ms',
    'resend_interval: 1s',
    '',
  ].join('\n'));
  await writeFile(join(dir, 'collector.yml'), [
    `listen: 127.0.0.1:${port}`,
    'external_labels: {re: eu-west-1}',
    `queue: {dir: ${join(dir, 'queue')}}`,
    'sites:',
    `  - {token: ${TOKEN}, tenant: acme, site: ce-0042}`,
    'tenants:',
    '  acme: {}',
    'logs:',
    `  buffer: {dir: ${join(dir, 'logs-buffer')}}`,
    '  tenants:',
    '    acme: {drop: [{field: level, equals: debug}]}',
    '',
  ].join('\n'));

  // Without a logs: section the engine would never be fed: refused up front.
  await writeFile(join(dir, 'no-logs.yml'), `listen: 127.0.0.1:${port}\nqueue: {dir: ${join(dir, 'queue2')}}\n`);
  const refused = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [BIN, 'collector', '--config', join(dir, 'no-logs.yml'), '--alerting-config', join(dir, 'alerting.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('exit', (code) => resolve({ code, stderr }));
  });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--alerting-config needs a logs: section/);

  proc = spawn(process.execPath, [BIN, 'collector', '--config', join(dir, 'collector.yml'), '--alerting-config', join(dir, 'alerting.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await eventually('the collector to be ready', async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined));
  await eventually('the alerting engine to be ready', async () => ((await fetch(`http://127.0.0.1:${alertingPort}/-/ready`)).ok ? true : undefined));

  const now = new Date().toISOString();
  // A payload that claims another tenant and site: the identity comes from the token.
  const lines = [
    { '@timestamp': now, level: 'debug', message: 'dropped by the tenant filter', tenant: 'globex', site: 'elsewhere' },
    { '@timestamp': now, level: 'panic', message: 'kernel panic', tenant: 'globex', site: 'elsewhere' },
  ];
  const res = await fetch(`${url}/api/v1/logs`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson', Authorization: `Bearer ${TOKEN}` }, body: `${lines.map((l) => JSON.stringify(l)).join('\n')}\n` });
  assert.equal(res.status, 200, await res.text());

  const alerts = await eventually('the alert in Alertmanager', async () => {
    const a = await am.alerts();
    return a.length > 0 ? a : undefined;
  });
  assert.equal(alerts.length, 1, JSON.stringify(alerts));
  const labels = alerts[0]?.labels ?? {};
  assert.equal(labels.alertname, 'kernel-panic');
  assert.equal(labels.severity, 'critical');
  assert.equal(labels.tenant, 'acme');
  assert.equal(labels.site, 'ce-0042');
  assert.equal(labels.re, 'eu-west-1');

  proc.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => proc?.once('exit', resolve));
  assert.equal(code, 0, output);
  proc = undefined;
});
