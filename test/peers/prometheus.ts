// Starts a real Prometheus 2.42 (Debian package) for an integration test and
// stops it afterwards. The test command installs the package
// (scripts/install-peers.sh); a missing binary is a failure, never a skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrometheusPeer {
  readonly url: string;
  readonly dir: string;
  /** GET an HTTP API path (e.g. `/api/v1/query?query=up`) and return the parsed `data` field. */
  api<T = unknown>(path: string): Promise<T>;
  stop(): Promise<void>;
  /** Stops the process only, keeping its data and port (an outage). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data after kill(). */
  restart(): Promise<void>;
  /** Everything Prometheus printed, for failure messages. */
  output(): string;
}

export interface PrometheusOptions {
  /** prometheus.yml contents; `{{PORT}}` is replaced by Prometheus's own port. */
  config: string;
  /** Extra command-line flags, e.g. `--web.enable-remote-write-receiver`. */
  flags?: readonly string[];
}

/**
 * How Prometheus's HTTP API writes a sample value (web/api/v1 marshalFloat):
 * Go's 'e' format below 1e-6 and from 1e21, 'f' otherwise, shortest digits.
 * Those are JavaScript's own thresholds; Go pads the exponent to two digits.
 */
export function promApiValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v).replace(/e([+-])(\d)$/, 'e$10$2');
}

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

export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusPeer> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-prom-'));
  const port = await freePort();
  const configPath = join(dir, 'prometheus.yml');
  await writeFile(configPath, opts.config.replaceAll('{{PORT}}', String(port)));
  const args = [
    `--config.file=${configPath}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
    ...(opts.flags ?? []),
  ];
  const url = `http://127.0.0.1:${port}`;
  let out = '';
  let child: ChildProcess | null = null;

  const launch = async (): Promise<void> => {
    const proc = spawn('prometheus', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', (err) => reject(new Error(`cannot start prometheus (run "npm run peers" to install the Debian package): ${err.message}`, { cause: err })));
      proc.once('exit', (code) => reject(new Error(`prometheus exited with ${code} before it was ready:\n${out}`)));
    });
    failed.catch(() => undefined);
    const deadline = Date.now() + 30_000;
    const ready = (async () => {
      for (;;) {
        try {
          if ((await fetch(`${url}/-/ready`)).ok) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`prometheus not ready after 30 s:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await Promise.race([ready, failed]);
  };

  const kill = async (): Promise<void> => {
    const proc = child as ChildProcess | null;
    child = null;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    }
  };

  await launch();
  return {
    url,
    dir,
    output: () => out,
    async api<T>(path: string): Promise<T> {
      const res = await fetch(`${url}${path}`);
      const body = (await res.json()) as { status: string; data: T; error?: string };
      if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? res.status}`);
      return body.data;
    },
    kill,
    restart: launch,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
