// Starts a real Alertmanager 0.25 (Debian package prometheus-alertmanager)
// for an integration test and stops it afterwards: its own free loopback
// port, a temporary data dir, clustering off, output kept for failure
// messages. A missing binary is a failure, never a skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './prometheus.js';

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
  status: { state: string; silencedBy: string[]; inhibitedBy: string[] };
}

export interface AlertmanagerGroup {
  labels: Record<string, string>;
  alerts: AlertmanagerAlert[];
}

export interface AlertmanagerPeer {
  readonly url: string;
  /** GET /api/v2/alerts (active, silenced and inhibited; resolved ones are not listed). */
  alerts(): Promise<AlertmanagerAlert[]>;
  /** GET /api/v2/alerts/groups. */
  groups(): Promise<AlertmanagerGroup[]>;
  /** What the webhook receiver got, if `webhookUrl` was given. */
  output(): string;
  stop(): Promise<void>;
}

export interface AlertmanagerOptions {
  /** A webhook receiver URL for the default route (optional). */
  readonly webhookUrl?: string;
  readonly groupBy?: readonly string[];
}

export async function startAlertmanager(opts: AlertmanagerOptions = {}): Promise<AlertmanagerPeer> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-am-'));
  const port = await freePort();
  const groupBy = JSON.stringify(opts.groupBy ?? ['alertname', 'tenant']);
  const receiver = opts.webhookUrl ? `  - name: hook\n    webhook_configs:\n    - url: ${opts.webhookUrl}\n      send_resolved: true\n` : '  - name: hook\n';
  await writeFile(
    join(dir, 'alertmanager.yml'),
    `route:\n  receiver: hook\n  group_by: ${groupBy}\n  group_wait: 100ms\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n${receiver}`,
  );
  const args = [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ];
  const url = `http://127.0.0.1:${port}`;
  let out = '';
  const proc: ChildProcess = spawn('prometheus-alertmanager', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const failed = new Promise<never>((_, reject) => {
    proc.once('error', (err) => reject(new Error(`cannot start prometheus-alertmanager (install the Debian package): ${err.message}`)));
    proc.once('exit', (code) => reject(new Error(`alertmanager exited with ${code} before it was ready:\n${out}`)));
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
      if (Date.now() > deadline) throw new Error(`alertmanager not ready after 30 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await Promise.race([ready, failed]);
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    if (!res.ok) throw new Error(`alertmanager ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  return {
    url,
    alerts: () => get<AlertmanagerAlert[]>('/api/v2/alerts'),
    groups: () => get<AlertmanagerGroup[]>('/api/v2/alerts/groups'),
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
