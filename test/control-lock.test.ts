// One control plane per state directory, with real processes: a second one
// pointed at the same directory refuses to start, naming the directory and
// the holder's pid; after the holder is killed with SIGKILL, its lock does not
// block a restart, and no lock holder process is left behind.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import yaml from 'js-yaml';
import { generateTokenKeys } from '../wire/index.js';
import { ControlError, FileStateStore } from '../control/index.js';
import { freePort } from './peers/prometheus.js';

const BIN = new URL('../../bin/fleetscope.js', import.meta.url).pathname;
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-control-lock-'));
  await writeFile(join(dir, 'token.key'), generateTokenKeys().privateKeyPem);
  await writeFile(join(dir, 'control.yml'), yaml.dump({ store: 'state', artifacts: { dir: 'artifacts' }, keys: { token_private_key: 'token.key' }, operators: [{ name: 'o', token: 'operator-token-0123456789', role: 'operator' }] }));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Processes whose command line names `needle` (the lock holders of a directory). */
async function processesNaming(needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const cmd = await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(needle)) out.push(Number(p));
  }
  return out;
}

async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `fleetscope control --config control.yml --listen 127.0.0.1:PORT`, resolved once it listens. */
async function serve(port: number): Promise<{ proc: ChildProcess; stderr: () => string; exited: Promise<number | null> }> {
  const proc = spawn(process.execPath, [BIN, 'control', '--config', 'control.yml', '--listen', `127.0.0.1:${port}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await Promise.race([until('the control plane to listen', () => err.includes('listening on'), 20_000), exited.then((c) => {
    throw new Error(`exited with ${c}: ${err}`);
  })]);
  return { proc, stderr: () => err, exited };
}

test('a second control plane on the same state directory refuses to start; a SIGKILLed one does not block a restart', { timeout: 60_000 }, async () => {
  const state = join(dir, 'state');
  const first = await serve(await freePort());
  const pid = first.proc.pid as number;
  // The same directory through the binary: refused, naming the directory and the holder.
  const second = spawnSync(process.execPath, [BIN, 'control', '--config', 'control.yml', '--listen', `127.0.0.1:${await freePort()}`], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
  assert.equal(second.status, 1, second.stderr);
  assert.match(second.stderr, /FS_CONTROL_STORE_LOCKED/);
  assert.ok(second.stderr.includes(state), `names the directory: ${second.stderr}`);
  assert.ok(second.stderr.includes(`pid ${pid}`), `names the holder's pid: ${second.stderr}`);
  // `control load --config` writes the store directly: refused as well.
  const load = spawnSync(process.execPath, [BIN, 'control', 'load', '--repo', join(dir, 'no-repo'), '--config', 'control.yml'], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
  assert.notEqual(load.status, 0);
  // And in this process.
  await assert.rejects(FileStateStore.open(state), (e: unknown) => e instanceof ControlError && e.code === 'FS_CONTROL_STORE_LOCKED' && e.message.includes(`pid ${pid}`));

  assert.equal((await processesNaming(join(state, 'LOCK'))).length, 1, 'one lock holder');
  first.proc.kill('SIGKILL');
  await first.exited;
  await until('the killed one\'s lock holder to go', async () => (await processesNaming(join(state, 'LOCK'))).length === 0);

  const third = await serve(await freePort());
  assert.match(third.stderr(), /listening on/);
  third.proc.kill('SIGTERM');
  assert.equal(await third.exited, 0);
  assert.deepEqual(await processesNaming(join(state, 'LOCK')), [], 'a clean stop releases the lock');
  // Released: it opens here now, with what the others wrote.
  const s = await FileStateStore.open(state);
  await s.close();
});

test('the store refuses writes once its lock holder is gone', async () => {
  const d = join(dir, 'lost');
  const s = await FileStateStore.open(d);
  try {
    await s.put('k', '1');
    const [holder] = await processesNaming(join(d, 'LOCK'));
    assert.ok(holder !== undefined);
    process.kill(holder, 'SIGKILL');
    await until('the store to notice', async () => {
      try {
        await s.put('k', '2');
        return false;
      } catch (err) {
        return err instanceof ControlError && err.code === 'FS_CONTROL_STORE' && /lock/.test(err.message);
      }
    });
  } finally {
    await s.close();
  }
});
