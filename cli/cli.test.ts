import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { COMMANDS, main } from './main.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], stdin = ''): Promise<Run> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await main(argv, { stdin: Readable.from([stdin]), stdout: out, stderr: err });
  return { code, stdout, stderr };
}

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('fleetscope --help lists exactly the commands that exist', async () => {
  const r = await run(['--help']);
  assert.equal(r.code, 0);
  const escape = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name}\\s+${escape(c.summary)}$`, 'm'));
  assert.equal(r.stdout.match(/^ {2}\S/gm)?.length, COMMANDS.length);
});

test('every command answers --help with its usage and exit 0', async () => {
  for (const c of COMMANDS) {
    const r = await run([c.name, '--help']);
    assert.equal(r.code, 0, c.name);
    assert.match(r.stdout, new RegExp(`^Usage: fleetscope ${c.name}`), c.name);
  }
});

test('an unknown command is a usage error naming it', async () => {
  const r = await run(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
});

const EXPOSITION = `# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="GET",code="200"} 1027 1700000000000
http_requests_total{method="POST",code="500"} 3
go_goroutines 42
node_load1{instance="a"} 0.5
`;

test('relabel applies the rules and writes surviving series sorted, one per line', async () => {
  const rules = join(dir, 'rules.yml');
  await writeFile(rules, [
    '- source_labels: [__name__]',
    '  regex: go_.*',
    '  action: drop',
    '- source_labels: [method]',
    '  regex: (.*)',
    '  target_label: verb',
    '- regex: method',
    '  action: labeldrop',
  ].join('\n'));
  const r = await run(['relabel', '--rules', rules, '--stats'], EXPOSITION);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, [
    'http_requests_total{code="200",verb="GET"} 1027 1700000000000',
    'http_requests_total{code="500",verb="POST"} 3',
    'node_load1{instance="a"} 0.5',
    '',
  ].join('\n'));
  assert.match(r.stderr, /series in=4 kept=3 dropped=1 \(relabel_rule=1\)/);
});

test('relabel rejects invalid rules with the rule index and reason, exit 2', async () => {
  const rules = join(dir, 'bad.yml');
  await writeFile(rules, '- {source_labels: [a], action: keep}\n- {source_labels: [a]}\n');
  const r = await run(['relabel', '--rules', rules], EXPOSITION);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.yml: relabel rule 1: relabel configuration for replace action requires 'target_label' value/);
  assert.equal(r.stdout, '');
});

test('relabel rejects rules that are not a list, exit 2', async () => {
  const rules = join(dir, 'notalist.yml');
  await writeFile(rules, 'action: keep\n');
  const r = await run(['relabel', '--rules', rules], EXPOSITION);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /expected a list of relabel rules/);
});

test('relabel without --rules is a usage error', async () => {
  const r = await run(['relabel'], EXPOSITION);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--rules FILE\.yml is required/);
});

test('relabel names the line of malformed input, exit 1', async () => {
  const rules = join(dir, 'empty.yml');
  await writeFile(rules, '[]\n');
  const r = await run(['relabel', '--rules', rules], 'ok_metric 1\nbroken{a="b" 1\n');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /line 2/);
});

test('collector --check-config: valid exits 0, invalid exits 2 naming file, path and reason', async () => {
  const good = join(dir, 'collector.yml');
  await writeFile(good, 'sites: [{token: a-token-of-sixteen-chars, tenant: acme, site: ce-1}]\ntenants: {acme: {pipeline: {}}}\n');
  const ok = await run(['collector', '--check-config', good]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /valid \(1 sites, 1 tenants, 0 remote_write targets\)/);
  const bad = join(dir, 'bad-collector.yml');
  await writeFile(bad, 'sites: [{token: a-token-of-sixteen-chars, tenant: nope, site: ce-1}]\n');
  const no = await run(['collector', '--check-config', bad]);
  assert.equal(no.code, 2);
  assert.match(no.stderr, /bad-collector\.yml: sites\.0\.tenant: tenant "nope" is not defined under tenants/);
});

test('demo runs one site through the pipeline and pushes sites through a collector, delivering exactly what it kept', { timeout: 120_000 }, async () => {
  const r = await run(['demo', '--series', '3000', '--sites', '2']);
  assert.equal(r.code, 0, r.stderr);
  const kept = /^kept\s+([\d,]+) series/m.exec(r.stdout);
  assert.ok(kept, r.stdout);
  assert.match(r.stdout, /by not_in_allowlist\s+[\d,]+/);
  const pushed = /the collector kept ([\d,]+) of ([\d,]+) samples/.exec(r.stdout);
  assert.ok(pushed, r.stdout);
  const perSite = Number((kept[1] as string).replace(/,/g, ''));
  // Two sites, two scrapes each: with the same seed per site index, site 1 keeps what the single-site run kept.
  assert.ok(Number((pushed[1] as string).replace(/,/g, '')) >= 2 * perSite);
  assert.match(r.stdout, /the receiver decoded ([\d,]+) samples \(exactly what was kept\)/);
  assert.doesNotMatch(r.stdout, /WARNING/);
});
