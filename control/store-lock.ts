// One process per state directory. The lock is a kernel flock(2) on
// `<dir>/LOCK`, held by a small child process (util-linux `flock`, as node
// has no flock): the kernel drops it when that child exits, and the child
// exits when its stdin closes, which happens whenever this process ends,
// SIGKILL included. So a stale lock cannot outlive its holder, and a pid in
// the file is only what the error message names, never what is trusted.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ControlError } from './errors.js';

/** flock's exit code when the lock is held (`--conflict-exit-code`). */
const HELD = 75;

export interface DirLock {
  readonly file: string;
  /** False once the holder child has gone (killed from outside): writes must stop. */
  held(): boolean;
  release(): Promise<void>;
}

async function holderOf(file: string): Promise<string> {
  // The holder writes its pid right after taking the lock: a start at that instant may read nothing yet.
  for (let i = 0; i < 20; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    try {
      const h = JSON.parse(text) as { pid?: number; host?: string; since?: string };
      if (typeof h.pid === 'number') return `pid ${h.pid}${h.host ? ` on ${h.host}` : ''}${h.since ? ` since ${h.since}` : ''}`;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return 'a process that has not written its pid';
}

/** Takes the lock on `dir` (which must exist) or throws FS_CONTROL_STORE_LOCKED naming the holder. */
export async function lockDir(dir: string): Promise<DirLock> {
  const file = join(dir, 'LOCK');
  // `cat` holds the lock until its stdin (our pipe) closes: at close(), or when this process dies.
  const child = spawn('flock', ['--nonblock', '--conflict-exit-code', String(HELD), file, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let alive = true;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    alive = false;
    resolve(code);
  }));
  const outcome = await new Promise<'locked' | { code: number | null } | { error: Error }>((resolve) => {
    child.once('error', (error) => resolve({ error }));
    child.stdout.once('data', () => resolve('locked'));
    void exited.then((code) => resolve({ code }));
  });
  if (outcome !== 'locked') {
    if ('error' in outcome) throw new ControlError('FS_CONTROL_STORE', [`cannot lock ${dir}: flock (util-linux) could not be run: ${outcome.error.message}`], { cause: outcome.error });
    if (outcome.code === HELD) throw new ControlError('FS_CONTROL_STORE_LOCKED', [dir, await holderOf(file)]);
    throw new ControlError('FS_CONTROL_STORE', [`cannot lock ${dir}: flock exited with ${outcome.code}: ${stderr.trim()}`]);
  }
  await writeFile(file, `${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() })}\n`);
  // The lock must not keep this process alive by itself.
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
  return {
    file,
    held: () => alive,
    async release() {
      if (!alive) return;
      // Wait for the lock to be dropped, keeping the process alive until then.
      child.ref();
      for (const st of [child.stdout, child.stderr]) (st as unknown as { ref?: () => void }).ref?.();
      child.stdin.end();
      await exited;
    },
  };
}
