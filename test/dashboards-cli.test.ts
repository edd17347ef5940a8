// `fleetscope dashboards build`, run as the real binary: writes the files,
// and refuses bad usage with exit 2.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const BIN = new URL('../../bin/fleetscope.js', import.meta.url).pathname;

function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], (error, out, err) => resolve({ code: error ? Number(error.code ?? 1) : 0, out, err }));
  });
}

test('dashboards build writes six dashboards and a provisioning file pointing where Grafana sees them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-dash-cli-'));
  try {
    const r = await run(['dashboards', 'build', '--out', join(dir, 'out'), '--provisioning-path', '/var/lib/grafana/dashboards/fleetscope', '--folder', 'Fleet']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim().split('\n').length, 7);
    assert.equal((await readdir(join(dir, 'out'))).filter((f) => f.endsWith('.json')).length, 6);
    const prov = await readFile(join(dir, 'out', 'fleetscope-dashboards.yaml'), 'utf8');
    assert.match(prov, /path: \/var\/lib\/grafana\/dashboards\/fleetscope/);
    assert.match(prov, /folder: Fleet/);
    const site = JSON.parse(await readFile(join(dir, 'out', 'fleetscope-site.json'), 'utf8')) as { schemaVersion: number; templating: { list: { name: string }[] } };
    assert.equal(site.schemaVersion, 39);
    assert.deepEqual(site.templating.list.map((v) => v.name), ['datasource', 'tenant', 're', 'site']);
    await writeFile(join(dir, 'file'), 'x');
    const cannot = await run(['dashboards', 'build', '--out', join(dir, 'file', 'sub')]);
    assert.equal(cannot.code, 1);
    assert.match(cannot.err, /cannot write/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('dashboards: usage errors exit 2 with the reason', async () => {
  for (const [args, reason] of [[['dashboards'], /a subcommand is required/], [['dashboards', 'render'], /unknown subcommand "render"/], [['dashboards', 'build'], /--out DIR is required/], [['dashboards', 'build', '--out', 'x', '--bogus'], /bogus/]] as const) {
    const r = await run([...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, reason);
  }
  const help = await run(['dashboards', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /--provisioning-path PATH/);
});
