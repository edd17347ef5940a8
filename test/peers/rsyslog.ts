// Starts a real rsyslogd (Debian rsyslog + rsyslog-elasticsearch) as a
// non-daemon (`rsyslogd -n -f <conf> -i <pidfile>`) with a config that
// tails a file (imfile) and listens on TCP (imtcp), and sends everything to
// an Elasticsearch bulk endpoint with omelasticsearch. A missing binary or
// module is a test failure, never a skip.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './prometheus.js';

export interface RsyslogPeer {
  /** The file rsyslog tails: append lines to it. */
  readonly inputFile: string;
  /** The imtcp port (syslog over TCP, octet-counted or LF-framed). */
  readonly tcpPort: number;
  /** omelasticsearch's error file (failed bulk items), for failure messages. */
  readonly errorFile: string;
  output(): string;
  stop(): Promise<void>;
}

export interface RsyslogOptions {
  /** host:port of the Elasticsearch bulk endpoint. */
  readonly server: string;
  readonly username: string;
  readonly password: string;
  readonly searchIndex?: string;
}

export async function startRsyslog(opts: RsyslogOptions): Promise<RsyslogPeer> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-rsyslog-'));
  const inputFile = join(dir, 'app.log');
  const errorFile = join(dir, 'es-errors.json');
  const tcpPort = await freePort();
  await writeFile(inputFile, '');
  const [host, port] = [opts.server.slice(0, opts.server.lastIndexOf(':')), opts.server.slice(opts.server.lastIndexOf(':') + 1)];
  const conf = join(dir, 'rsyslog.conf');
  await writeFile(conf, `
global(workDirectory="${dir}")
module(load="imfile" mode="polling" PollingInterval="1")
module(load="imtcp")
module(load="omelasticsearch")
template(name="esdoc" type="list" option.jsonf="on") {
  property(outname="@timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="host" name="hostname" format="jsonf")
  property(outname="program" name="programname" format="jsonf")
  property(outname="message" name="msg" format="jsonf")
}
input(type="imfile" File="${inputFile}" Tag="app:" Severity="info" Facility="local0" ruleset="toes")
input(type="imtcp" port="${tcpPort}" address="127.0.0.1" ruleset="toes")
ruleset(name="toes") {
  action(type="omelasticsearch" server="${host}" serverport="${port}" usehttps="off"
         uid="${opts.username}" pwd="${opts.password}"
         template="esdoc" searchIndex="${opts.searchIndex ?? 'rsyslog'}" bulkmode="on" maxbytes="1m"
         errorfile="${errorFile}"
         queue.type="linkedlist" queue.size="100000" queue.dequeuebatchsize="200"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}
`);
  let out = '';
  const proc: ChildProcess = spawn('rsyslogd', ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    proc.once('error', (err) => reject(new Error(`cannot start rsyslogd (Debian packages rsyslog, rsyslog-elasticsearch): ${err.message}`)));
    proc.once('exit', (code) => reject(new Error(`rsyslogd exited with ${code}:\n${out}`)));
    // rsyslogd prints nothing when ready; its TCP input listening is the sign.
    const deadline = Date.now() + 15_000;
    const probe = async (): Promise<void> => {
      const { connect } = await import('node:net');
      for (;;) {
        const ok = await new Promise<boolean>((r) => {
          const s = connect(tcpPort, '127.0.0.1');
          s.once('connect', () => {
            s.destroy();
            r(true);
          });
          s.once('error', () => r(false));
        });
        if (ok) return resolve();
        if (Date.now() > deadline) return reject(new Error(`rsyslogd not listening after 15 s:\n${out}`));
        await new Promise((x) => setTimeout(x, 100));
      }
    };
    void probe();
  });
  proc.removeAllListeners('exit');
  return {
    inputFile,
    tcpPort,
    errorFile,
    output: () => out,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
