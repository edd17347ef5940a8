// Contender processes: started for real, measured from /proc (CPU as
// utime+stime of the process and every descendant, peak RSS as VmHWM), and
// stopped. Their output is kept (the last 64 KiB) for failure messages.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64
const PAGE_KB = 4;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

interface ProcStat {
  readonly ppid: number;
  /** utime + stime, seconds. */
  readonly cpu: number;
  readonly rssBytes: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: [0] state, [1] ppid, … [11] utime, [12] stime, [21] rss (pages).
    return { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK, rssBytes: Number(f[21]) * PAGE_KB * 1024 };
  } catch {
    return null;
  }
}

/** The pid and all its descendants, now. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const st = readStat(pid);
    if (!st) continue;
    const list = children.get(st.ppid);
    if (list) list.push(pid);
    else children.set(st.ppid, [pid]);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    out.push(p);
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  return out;
}

/** CPU seconds (user + system) used so far by a process and its descendants. */
export function cpuSeconds(root: number): number {
  let sum = 0;
  for (const pid of processTree(root)) sum += readStat(pid)?.cpu ?? 0;
  return sum;
}

/** Peak resident memory (VmHWM) of a process and its descendants, summed, in bytes. */
export function peakRssBytes(root: number): number {
  let sum = 0;
  for (const pid of processTree(root)) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
      if (m) sum += Number(m[1]) * 1024;
    } catch {
      // gone
    }
  }
  return sum;
}

export function rssBytes(root: number): number {
  let sum = 0;
  for (const pid of processTree(root)) sum += readStat(pid)?.rssBytes ?? 0;
  return sum;
}

export class Proc {
  private out = '';
  readonly child: ChildProcess;
  private exited: Promise<number | null>;

  constructor(readonly command: string, readonly args: readonly string[], cwd?: string) {
    this.child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(cwd !== undefined ? { cwd } : {}) });
    const keep = (d: Buffer): void => {
      this.out += d.toString();
      if (this.out.length > 65_536) this.out = this.out.slice(-65_536);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.once('error', (err) => {
        this.out += `\ncannot start ${command}: ${err.message}`;
        resolve(null);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  output(): string {
    return this.out;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined;
  }

  /** Waits until `url` answers 2xx; throws with the process's output if it exits or times out. */
  async ready(url: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.command} exited before it was ready:\n${this.out.slice(-4000)}`);
      try {
        const res = await fetch(url);
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${this.command} not ready at ${url} after ${timeoutMs} ms:\n${this.out.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Runs a command to completion: exit code and output. */
export async function runCommand(command: string, args: readonly string[]): Promise<{ code: number | null; output: string }> {
  const p = new Proc(command, args);
  const code = await new Promise<number | null>((resolve) => {
    // 'close', not 'exit': the output streams are read to their end.
    p.child.once('close', (c) => resolve(c));
    p.child.once('error', () => resolve(null));
  });
  return { code, output: p.output() };
}
