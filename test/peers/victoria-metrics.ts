// Starts a real VictoriaMetrics (Debian package victoria-metrics) single-node
// server for an integration test, and stops it afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './prometheus.js';

export interface VictoriaMetricsPeer {
  readonly url: string;
  /** Raw samples of the series matching `match` (/api/v1/export), after a flush. */
  exportSeries(match: string): Promise<{ metric: Record<string, string>; values: number[]; timestamps: number[] }[]>;
  stop(): Promise<void>;
}

export async function startVictoriaMetrics(): Promise<VictoriaMetricsPeer> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-vm-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let out = '';
  const child: ChildProcess = spawn('victoria-metrics', [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-storageDataPath=${join(dir, 'data')}`,
    '-retentionPeriod=100y',
    '-search.latencyOffset=0s',
    '-loggerLevel=ERROR',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start victoria-metrics (run "npm run peers" to install the Debian package): ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`victoria-metrics exited with ${code}:\n${out}`)));
  });
  failed.catch(() => undefined);
  const deadline = Date.now() + 30_000;
  const ready = (async () => {
    for (;;) {
      try {
        if ((await fetch(`${url}/health`)).ok) return;
      } catch {
        // starting
      }
      if (Date.now() > deadline) throw new Error(`victoria-metrics not ready after 30 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await Promise.race([ready, failed]);
  return {
    url,
    async exportSeries(match) {
      await fetch(`${url}/internal/force_flush`);
      const res = await fetch(`${url}/api/v1/export?match[]=${encodeURIComponent(match)}`);
      const text = await res.text();
      return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { metric: Record<string, string>; values: number[]; timestamps: number[] });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
