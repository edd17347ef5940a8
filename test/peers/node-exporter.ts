// Starts a real prometheus-node-exporter (Debian package) on a free loopback
// port for an integration test, with a textfile collector directory the
// test can write into. A missing binary is a failure, never a skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './prometheus.js';

export interface NodeExporterPeer {
  /** The metrics URL, http://127.0.0.1:PORT/metrics. */
  readonly url: string;
  /** The textfile collector's directory: *.prom files here are exposed. */
  readonly textfileDir: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startNodeExporter(flags: readonly string[] = []): Promise<NodeExporterPeer> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-nodeexp-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/metrics`;
  let out = '';
  const proc: ChildProcess = spawn('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${port}`, `--collector.textfile.directory=${dir}`, '--log.level=warn', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const failed = new Promise<never>((_, reject) => {
    proc.once('error', (err) => reject(new Error(`cannot start prometheus-node-exporter (run "npm run peers" to install the Debian package): ${err.message}`, { cause: err })));
    proc.once('exit', (code) => reject(new Error(`prometheus-node-exporter exited with ${code} before it was ready:\n${out}`)));
  });
  failed.catch(() => undefined);
  const ready = (async () => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const res = await fetch(url);
        await res.text();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`prometheus-node-exporter not ready after 20 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await Promise.race([ready, failed]);
  return {
    url,
    textfileDir: dir,
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
