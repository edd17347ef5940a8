// The git model read with real git: precedence of parameters, and the
// file/path/reason of each kind of invalid commit.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import yaml from 'js-yaml';
import { ControlError } from './errors.js';
import { commitModel, exampleModelFiles, exampleSites, initRepo } from './example-model.js';
import { readModel } from './loader.js';
import { mergeParams } from './model.js';
import { planSite, renderPlan } from './render.js';

const dir = mkdtempSync(join(tmpdir(), 'fleetscope-model-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
async function load(files: Record<string, string>) {
  const repo = join(dir, `r${n++}`);
  initRepo(repo);
  const commit = commitModel(repo, files, 'test');
  return { model: await readModel(repo, 'main', { cacheDir: join(dir, 'cache'), root: '' }), commit, repo };
}

test('mergeParams: later layers win, maps merge key by key, lists are replaced', () => {
  assert.deepEqual(mergeParams({ a: 1, m: { x: 1, y: 1 }, l: [1, 2] }, { m: { y: 2 }, l: [3] }, { a: 3 }), { a: 3, m: { x: 1, y: 2 }, l: [3] });
});

test('precedence: component < fleet < tenant < group < site', async () => {
  const files = { ...exampleModelFiles(), ...exampleSites('acme', 'stores', 2) };
  files['components/web/2.1.0/component.yml'] = 'apply_mode: optimistic\nparams: {port: 1, replicas: 1, log_level: c}\n';
  files['fleet.yml'] = 'params: {replicas: 10, log_level: fleet}\nchannels:\n  stable: {web: "2.1.0"}\n';
  files['sites/acme/stores.yml'] = 'sites:\n  - {name: ce-a, group: stores, params: {port: 9}}\n  - {name: ce-b, group: stores}\n';
  const { model } = await load(files);
  const port = (site: string) => {
    const text = renderPlan(planSite(model, { name: site, tenant: 'acme', group: 'stores', labels: {} }), model.release).text;
    const docs = yaml.loadAll(text) as { spec: { replicas?: number; ports?: { port: number }[]; template?: { spec: { containers: { args: string[] }[] } } } }[];
    return { replicas: docs[0]?.spec.replicas, port: docs[1]?.spec.ports?.[0]?.port, args: docs[0]?.spec.template?.spec.containers[0]?.args };
  };
  // fleet 10 replicas < group stores 2; component log_level < fleet < tenant warn; component port 1 < site 9.
  assert.deepEqual(port('ce-a'), { replicas: 2, port: 9, args: ['--log-level=warn', '--port=9'] });
  assert.deepEqual(port('ce-b'), { replicas: 2, port: 1, args: ['--log-level=warn', '--port=1'] });
});

test('an invalid commit names the file, the path and the reason', async () => {
  const good = (): Record<string, string> => ({ ...exampleModelFiles(), ...exampleSites('acme', 'stores', 2) });
  const cases: [string, (f: Record<string, string>) => void, RegExp][] = [
    ['no fleet.yml', (f) => delete f['fleet.yml'], /fleet\.yml: \(file\): the model needs a fleet\.yml/],
    ['not YAML', (f) => (f['tenants/acme.yml'] = 'channel: [stable\n'), /tenants\/acme\.yml: \(document\): not YAML/],
    ['unknown key', (f) => (f['groups/acme/stores.yml'] = 'params: {}\ncolour: red\n'), /groups\/acme\/stores\.yml: \(root\): .*colour/],
    ['bad name', (f) => (f['sites/acme/stores.yml'] = 'sites:\n  - {name: "no spaces", group: stores}\n'), /sites\/acme\/stores\.yml: sites\.0\.name: a name is/],
    ['duplicate site', (f) => (f['sites/acme/more.yml'] = 'sites:\n  - {name: acme-stores-00001, group: stores}\n'), /sites\/acme\/stores\.yml: sites\.1\.name: site acme-stores-00001 is already declared in sites\/acme\/more\.yml/],
    ['unknown group', (f) => (f['sites/acme/x.yml'] = 'sites:\n  - {name: ce-x, group: nowhere}\n'), /sites\/acme\/x\.yml: ce-x: group nowhere has no groups\/acme\/nowhere\.yml/],
    ['missing component version', (f) => (f['fleet.yml'] = 'params: {}\nchannels:\n  stable: {web: "9.9.9"}\n'), /fleet\.yml: channels\.stable\.web: component web version 9\.9\.9 has no components\/web\/9\.9\.9\/component\.yml/],
    ['component not in channel', (f) => (f['tenants/acme.yml'] = 'channel: stable\ncomponents: [web, dns]\n'), /tenants\/acme\.yml: channel: component dns is not in channel stable/],
    ['bad apply mode', (f) => (f['components/web/2.1.0/component.yml'] = 'apply_mode: yolo\n'), /components\/web\/2\.1\.0\/component\.yml: apply_mode: /],
    ['template syntax', (f) => (f['components/web/2.1.0/svc.yaml'] = 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: ${oops}\n'), /components\/web\/2\.1\.0\/svc\.yaml: document 1\.spec: "\$\{oops\}" is not a reference/],
  ];
  for (const [name, mutate, re] of cases) {
    const files = good();
    mutate(files);
    await assert.rejects(load(files), (e: unknown) => e instanceof ControlError && (e.code === 'FS_CONTROL_MODEL_INVALID' || e.code === 'FS_CONTROL_TEMPLATE') && re.test(e.message), name);
  }
});

test('a ref that is no commit is refused by git', async () => {
  const { repo } = await load(exampleModelFiles());
  await assert.rejects(readModel(repo, 'no-such-branch', { cacheDir: join(dir, 'cache'), root: '' }), (e: unknown) => e instanceof ControlError && e.code === 'FS_CONTROL_GIT');
  await assert.rejects(readModel(repo, '--upload-pack=evil', { cacheDir: join(dir, 'cache'), root: '' }), /not a valid ref/);
});

test('a URL is mirrored and fetched with git', async () => {
  const { repo, commit } = await load(exampleModelFiles());
  const { model } = { model: await readModel(`file://${repo}`, 'main', { cacheDir: join(dir, 'cache'), root: '' }) };
  assert.equal(model.commit, commit);
  const next = commitModel(repo, exampleModelFiles({ webVersion: '2.2.0' }), 'next');
  assert.equal((await readModel(`file://${repo}`, 'main', { cacheDir: join(dir, 'cache'), root: '' })).commit, next, 'fetched again');
});
