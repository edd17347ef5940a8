// The control plane polling its git repository (git.poll_interval): a merge
// becomes the current release without anyone calling load; a bad commit
// after it is refused and recorded while the good one stays current.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateTokenKeys } from '../wire/index.js';
import { ControlPlane, commitModel, exampleModelFiles, exampleSites, initRepo, parseControlConfig } from '../control/index.js';

test('git.poll_interval loads new commits by itself', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-control-poll-'));
  const repo = join(dir, 'model');
  initRepo(repo);
  const first = commitModel(repo, { ...exampleModelFiles(), ...exampleSites('acme', 'stores', 2) }, 'v1');
  await writeFile(join(dir, 'token.key'), generateTokenKeys().privateKeyPem);
  const config = parseControlConfig({ store: 'state', artifacts: { dir: 'artifacts' }, git: { repo: `file://${repo}`, ref: 'main', poll_interval: '200ms', cache_dir: 'git' }, keys: { token_private_key: 'token.key' }, operators: [{ name: 'o', token: 'operator-token-0123456789', role: 'operator' }] }, 'poll.yml', dir);
  const cp = await ControlPlane.open(config);
  cp.start();
  const current = (): { commit: string } | null => cp.state.value<{ commit: string }>('model/current');
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    const end = Date.now() + 20_000;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    await until('the first commit', () => current()?.commit === first);
    const second = commitModel(repo, { ...exampleModelFiles({ groupParams: { 'acme/stores': { replicas: 4 } } }), ...exampleSites('acme', 'stores', 2) }, 'v2');
    await until('the second commit', () => current()?.commit === second);
    const bad = { ...exampleModelFiles(), ...exampleSites('acme', 'stores', 2) };
    bad['fleet.yml'] = 'channels: {}\n';
    commitModel(repo, bad, 'bad');
    await until('the error recorded', () => /at least one channel/.test(JSON.stringify(cp.state.value('model/last_error'))));
    assert.equal(current()?.commit, second, 'the good commit stays current');
  } finally {
    await cp.close();
    await rm(dir, { recursive: true, force: true });
  }
});
