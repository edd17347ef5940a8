// `fleetscope control` as CI and operators use it, through the real binary:
// keys, tokens, validating and loading a real git repository into the
// embedded store, rendering a site for review, fleet status; and the exit
// code and message of an invalid commit and an invalid config.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from './peers/prometheus.js';
import yaml from 'js-yaml';
import { tokenPublicKey, verifyToken } from '../wire/index.js';
import { commitModel, exampleModelFiles, exampleSites, initRepo, manifestChecksum } from '../control/index.js';

const BIN = new URL('../../bin/fleetscope.js', import.meta.url).pathname;
let dir = '';

function fleetscope(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'control', ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-control-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('keys, token, load, render, status through the binary', async () => {
  let r = fleetscope('keys', 'generate', '--dir', 'keys', '--tenant', 'acme');
  assert.equal(r.code, 0, r.stderr);
  assert.match(await readFile(join(dir, 'keys/ca/acme.crt.pem'), 'utf8'), /BEGIN CERTIFICATE/);
  r = fleetscope('keys', 'generate', '--dir', 'keys');
  assert.notEqual(r.code, 0, 'keys are never overwritten');

  r = fleetscope('token', 'create', '--tenant', 'acme', '--ttl', '24h', '--single-use', '--key', 'keys/token.key');
  assert.equal(r.code, 0, r.stderr);
  const check = verifyToken([tokenPublicKey(await readFile(join(dir, 'keys/token.pub'), 'utf8'))], r.stdout.trim(), 'registration');
  assert.ok(check.ok);
  assert.equal(check.ok && check.claims.tenant, 'acme');
  assert.equal(check.ok && check.claims.single_use, true);
  assert.ok(check.ok && (check.claims.exp as number) - check.claims.iat === 86_400);
  assert.equal(fleetscope('token', 'create', '--tenant', 'acme', '--ttl', 'soon', '--key', 'keys/token.key').code, 2);

  const repo = join(dir, 'model');
  initRepo(repo);
  commitModel(repo, { ...exampleModelFiles(), ...exampleSites('acme', 'stores', 3), ...exampleSites('acme', 'depots', 2) }, 'v1');
  r = fleetscope('load', '--repo', repo, '--ref', 'main');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /valid, release g[0-9a-f]{12}: 1 tenants, 2 groups, 5 declared sites/);

  await writeFile(join(dir, 'control.yml'), yaml.dump({
    store: 'state', artifacts: { dir: 'artifacts' }, git: { repo, ref: 'main' }, keys: { token_private_key: 'keys/token.key', ca_dir: 'keys/ca' },
    operators: [{ name: 'ci', token: 'ci-token-0123456789abcdef', role: 'operator' }],
  }));
  assert.equal(fleetscope('--check-config', 'control.yml').code, 0);
  r = fleetscope('load', '--config', 'control.yml');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual({ ...JSON.parse(r.stdout), commit: undefined, release: undefined }, { commit: undefined, release: undefined, sites: 5, rendered: 5, unchanged: 0, already_current: false });

  r = fleetscope('render', '--site', 'acme-stores-00001', '--repo', repo, '--ref', 'main');
  assert.equal(r.code, 0, r.stderr);
  const docs = yaml.loadAll(r.stdout) as { kind: string; metadata: { annotations: Record<string, string> } }[];
  assert.deepEqual(docs.map((d) => d.kind), ['Deployment', 'Service']);
  assert.equal(docs[0]?.metadata.annotations['fleetscope.io/checksum'], manifestChecksum(r.stdout));
  const stored = await readFile(join(dir, 'artifacts/acme/acme-stores-00001', docs[0]?.metadata.annotations['fleetscope.io/version'] as string, 'manifests.yaml'), 'utf8');
  assert.equal(stored, r.stdout, 'the review render is byte for byte what was stored');

  r = fleetscope('status', '--config', 'control.yml', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).model.sites, 5);

  // An invalid commit: exit 2 naming the file, the path and the reason; the store keeps the last good model.
  const bad = { ...exampleModelFiles(), ...exampleSites('acme', 'stores', 3) };
  bad['tenants/acme.yml'] = 'channel: stable\ncomponents: [web]\nparams: {log_level: warn}\nextra: 1\n';
  commitModel(repo, bad, 'bad');
  r = fleetscope('load', '--config', 'control.yml');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /FS_CONTROL_MODEL_INVALID: model at [0-9a-f]{12}: tenants\/acme\.yml: \(root\): .*extra/);
  r = fleetscope('status', '--config', 'control.yml', '--json');
  assert.equal(JSON.parse(r.stdout).model.sites, 5);

  // Serving: the API answers with the loaded model; SIGTERM stops it cleanly.
  const port = await freePort();
  const server = spawn(process.execPath, [BIN, 'control', '--config', 'control.yml', '--listen', `127.0.0.1:${port}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  server.stdout.on('data', (d: Buffer) => (out += d.toString()));
  server.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
  try {
    let status: { total: number; model: { sites: number } } | null = null;
    for (let i = 0; i < 200 && status === null; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/fleet/status`, { headers: { authorization: 'Bearer ci-token-0123456789abcdef' } });
        if (res.ok) status = (await res.json()) as typeof status;
      } catch {
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    assert.ok(status, `the server did not answer:\n${out}`);
    assert.equal(status.model.sites, 5);
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/fleet/status`)).status, 401);
  } finally {
    server.kill('SIGTERM');
  }
  assert.equal(await exited, 0, out);

  await writeFile(join(dir, 'bad.yml'), 'operators: [{name: x, token: short, role: operator}]\nkeys: {token_private_key: k}\n');
  r = fleetscope('--check-config', 'bad.yml');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.yml: operators\.0\.token: an operator token must be at least 16 characters/);
});
