// Starts a real etcd (Debian etcd-server, 3.4) for an integration test on free
// loopback ports with its data in a temporary directory, and stops it after.
// A missing binary is a failure, never a skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './prometheus.js';

export interface EtcdPeer {
  /** `etcd://127.0.0.1:PORT`, what `--store` takes. */
  readonly url: string;
  readonly clientUrl: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startEtcd(): Promise<EtcdPeer> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-etcd-'));
  const port = await freePort();
  const peerPort = await freePort();
  const clientUrl = `http://127.0.0.1:${port}`;
  let out = '';
  const proc: ChildProcess = spawn('etcd', [
    '--name', 'test',
    '--data-dir', join(dir, 'data'),
    '--listen-client-urls', clientUrl,
    '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-cluster', `test=http://127.0.0.1:${peerPort}`,
    '--log-level', 'warn',
    '--logger', 'zap',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const failed = new Promise<never>((_, reject) => {
    proc.once('error', (err) => reject(new Error(`cannot start etcd (Debian package etcd-server): ${err.message}`, { cause: err })));
    proc.once('exit', (code) => reject(new Error(`etcd exited with ${code} before it was ready:\n${out}`)));
  });
  failed.catch(() => undefined);
  const deadline = Date.now() + 30_000;
  const ready = (async () => {
    for (;;) {
      try {
        const res = await fetch(`${clientUrl}/health`);
        if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`etcd not ready after 30 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await Promise.race([ready, failed]);
  return {
    url: `etcd://127.0.0.1:${port}`,
    clientUrl,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await gone;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
