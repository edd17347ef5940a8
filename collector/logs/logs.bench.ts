// Bench: forward in → bulk out, through a real collector process
// (`bin/fleetscope.js collector`, durable buffer with fsync on), to a
// counting Elasticsearch bulk responder in this process; 500-byte records
// in PackedForward frames over 4 connections. Reports events/s and MB/s
// per core of the collector's CPU (utime+stime from /proc), its peak RSS
// (VmHWM), and the agent's tail → ship rate (agent/logs shipper reading a
// file into the same collector). Writes bench/results/logs.json.
// Run: npx tsc -p tsconfig.json && node dist/collector/logs/logs.bench.js [seconds]
// (The import of agent/ is the bench's only: product code in collector/ never imports agent/.)
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { type AddressInfo, type Socket, connect, createServer as createNetServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMultiStream, encode } from '@msgpack/msgpack';
import yaml from 'js-yaml';
import { pino } from 'pino';
import { agentLogsConfigSchema, startLogShipper } from '../../agent/index.js';
import { logsConfigSchema } from './config.js';
import { ForwardDecoder } from './forward-decode.js';
import { LogBatch, LogPipeline } from './pipeline.js';

const SECONDS = Number(process.argv[2] ?? 10);
const RECORD_BYTES = 500;
const PER_FRAME = 2000;
const CONNECTIONS = 4;
const INFLIGHT = 4;
const KEY = 'bench-shared-key-1';
const TOKEN = 'bench-site-token-aaaaaaaaaaaa';
const BIN = new URL('../../../bin/fleetscope.js', import.meta.url).pathname;

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

/** Counting bulk responder: per-item `201`s, as Elasticsearch answers. */
async function startCounter(): Promise<{ url: string; docs: () => number; bytes: () => number; stop: () => Promise<void> }> {
  let docs = 0;
  let bytes = 0;
  const item = '{"index":{"status":201}}';
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let lines = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) lines++;
    });
    req.on('end', () => {
      res.setHeader('X-Elastic-Product', 'Elasticsearch');
      res.setHeader('Content-Type', 'application/json');
      if (req.method === 'GET') return res.end('{"version":{"number":"8.11.0"}}');
      const n = lines >> 1;
      docs += n;
      res.end(`{"took":1,"errors":false,"items":[${new Array(n).fill(item).join(',')}]}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, docs: () => docs, bytes: () => bytes, stop: () => new Promise((r) => server.close(() => r())) };
}

function procStats(pid: number): { cpuS: number; hwmMb: number } {
  // utime and stime are fields 14 and 15 of /proc/pid/stat, in clock ticks (100/s on Linux).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(f[11]) + Number(f[12])) / 100;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
  return { cpuS, hwmMb: hwm ? Number(hwm[1]) / 1024 : 0 };
}

/** One PackedForward frame of PER_FRAME 500-byte records; `seqAt` are the offsets of each record's 12-digit sequence. */
function buildFrame(): { frame: Buffer; chunkAt: number; seqAt: number[] } {
  const parts: Buffer[] = [];
  const filler = 'x'.repeat(RECORD_BYTES - 120);
  const probe = encode({ message: `GET /api/v1/items?seq=000000000000 HTTP/1.1 200 ${filler}`, level: 'info', service: 'shop', pod: 'shop-5d8f7c9b4-abcde' });
  const recLen = probe.length + 10 + 1;
  for (let i = 0; i < PER_FRAME; i++) {
    const t = Buffer.from([0x92, 0xd7, 0x00, 0x69, 0x2d, 0x4b, 0x00, 0, 0, 0, 0]);
    t.writeUInt32BE(i, 7);
    parts.push(t, Buffer.from(probe));
  }
  const entries = Buffer.concat(parts);
  const seqOffset = Buffer.from(probe).indexOf('000000000000');
  const seqAt: number[] = [];
  const chunk = 'A'.repeat(22) + '==';
  const head = Buffer.concat([Buffer.from([0x93, 0xa5]), Buffer.from('bench'), Buffer.from([0xc6, 0, 0, 0, 0])]);
  head.writeUInt32BE(entries.length, head.length - 4);
  const opts = Buffer.from(encode({ chunk, size: PER_FRAME }));
  const frame = Buffer.concat([head, entries, opts]);
  for (let i = 0; i < PER_FRAME; i++) seqAt.push(head.length + i * recLen + 11 + seqOffset);
  return { frame, chunkAt: frame.length - opts.length + opts.indexOf(Buffer.from(chunk)), seqAt };
}

async function forwardConnection(port: number, stopAt: number, onAck: () => void): Promise<void> {
  const s: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  const inbox: unknown[] = [];
  const waker: { wake: (() => void) | null } = { wake: null };
  void (async () => {
    try {
      for await (const m of decodeMultiStream(s)) {
        inbox.push(m);
        waker.wake?.();
      }
    } catch {
      // closed
    }
    waker.wake?.();
  })();
  const next = async (): Promise<unknown> => {
    while (inbox.length === 0) await new Promise<void>((r) => (waker.wake = r));
    return inbox.shift();
  };
  const helo = (await next()) as [string, { nonce: Uint8Array; auth: Uint8Array }];
  const salt = randomBytes(16);
  const sha = (...p: (string | Uint8Array)[]): string => p.reduce((h, x) => h.update(x), createHash('sha512')).digest('hex');
  s.write(encode(['PING', 'bench', salt, sha(salt, 'bench', helo[1].nonce, KEY), TOKEN, sha(helo[1].auth, TOKEN, TOKEN)]));
  await next();
  const { frame, chunkAt, seqAt } = buildFrame();
  let seq = 0;
  let inflight = 0;
  const send = (): void => {
    const f = Buffer.from(frame);
    f.write(randomBytes(16).toString('base64'), chunkAt, 'latin1');
    for (const at of seqAt) f.write(String(seq++).padStart(12, '0'), at, 'latin1');
    s.write(f);
    inflight++;
  };
  while (inflight < INFLIGHT) send();
  while (inflight > 0) {
    await next();
    inflight--;
    onAck();
    if (Date.now() < stopAt) send();
  }
  s.destroy();
}

/** The ingest path alone, in this process: frame decode → pipeline → bulk lines (no I/O). */
function ingestOnly(seconds: number): { events_per_s_per_core: number; mb_per_s_per_core: number } {
  const decoder = new ForwardDecoder({ maxEntries: 100_000, maxDecompressedBytes: 64 * 1024 ** 2, maxFrameBytes: 16 * 1024 ** 2 });
  const pipeline = new LogPipeline(logsConfigSchema.parse({ elasticsearch: { nodes: ['http://es:9200'] } }), 'bench');
  const { frame } = buildFrame();
  const start = process.cpuUsage();
  const until = Date.now() + seconds * 1000;
  let events = 0;
  let bytes = 0;
  while (Date.now() < until) {
    const batch = new LogBatch({ tenant: 'bench', site: 'ce-bench' }, false, frame.length * 2);
    // As the forward server runs it: the chunk keys the ids, entries take the fast lane.
    decoder.frame(frame, (t, record, tag) => {
      record.tag = tag;
      pipeline.add(batch, record, t.ms, t.iso, undefined);
    }, (chunk) => pipeline.keyBatch(batch, { kind: 'request', key: chunk ?? '' }), (tag) => pipeline.entryWriter(batch, tag));
    bytes += batch.encode().length;
    events += batch.docs;
  }
  const cpu = process.cpuUsage(start);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  void bytes;
  return { events_per_s_per_core: events / cpuS, mb_per_s_per_core: (events * RECORD_BYTES) / 1e6 / cpuS };
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0] as number;
  const ingest = ingestOnly(Math.min(5, SECONDS));
  console.log('ingest path alone (decode → pipeline → bulk lines), in process:', ingest);
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-logs-bench-'));
  const es = await startCounter();
  const httpPort = await freePort();
  const fwdPort = await freePort();
  const config = join(dir, 'collector.yml');
  await writeFile(config, yaml.dump({
    listen: `127.0.0.1:${httpPort}`,
    queue: { dir: join(dir, 'queue') },
    external_labels: { re: 'bench' },
    sites: [{ token: TOKEN, tenant: 'bench', site: 'ce-bench' }],
    tenants: { bench: { pipeline: {} } },
    logs: {
      buffer: { dir: join(dir, 'buffer'), max_bytes: 4 * 1024 ** 3 },
      forward: { listen: `127.0.0.1:${fwdPort}`, shared_keys: [{ key: KEY }] },
      elasticsearch: { nodes: [es.url], concurrency: 2, batch_max_docs: 5000, batch_max_bytes: 8 * 1024 ** 2, dead_letter_file: join(dir, 'dead.ndjson') },
    },
  }));
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
  const proc: ChildProcess = spawn(process.execPath, [...prof, BIN, 'collector', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${httpPort}/-/ready`)).ok) break;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = proc.pid as number;
  const cpu0 = procStats(pid).cpuS;
  const t0 = Date.now();
  let acked = 0;
  const stopAt = t0 + SECONDS * 1000;
  let peak = 0;
  const rssSamples: number[] = [];
  const sampler = setInterval(() => {
    peak = Math.max(peak, procStats(pid).hwmMb);
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) rssSamples.push(Math.round(Number(m[1]) / 1024));
  }, 1000);
  await Promise.all(Array.from({ length: CONNECTIONS }, () => forwardConnection(fwdPort, stopAt, () => (acked += PER_FRAME))));
  while (es.docs() < acked) await new Promise((r) => setTimeout(r, 50));
  const elapsed = (Date.now() - t0) / 1000;
  const cpu = procStats(pid).cpuS - cpu0;
  const bytesIn = acked * RECORD_BYTES;
  const collectorResult = {
    events: acked,
    seconds: elapsed,
    collector_cpu_seconds: cpu,
    events_per_s: acked / elapsed,
    events_per_s_per_core: acked / cpu,
    mb_per_s_per_core: bytesIn / 1e6 / cpu,
    peak_rss_mb: Math.max(peak, procStats(pid).hwmMb),
    bulk_bytes_out: es.bytes(),
    rss_mb_each_second: rssSamples,
  };
  clearInterval(sampler);
  console.log('collector forward → bulk:', collectorResult);

  // Agent: tail a file of 500-byte lines and ship it to the same collector.
  const logDir = join(dir, 'agent-logs');
  await mkdir(logDir);
  const LINES = 200_000;
  const line = `${'y'.repeat(RECORD_BYTES - 1)}\n`;
  await writeFile(join(logDir, 'app.log'), line.repeat(LINES));
  const shipper = await startLogShipper(agentLogsConfigSchema.parse({
    inputs: [{ paths: [join(logDir, '*.log')] }],
    positions_file: join(dir, 'agent-positions.json'),
    spool: { dir: join(dir, 'agent-spool'), max_bytes: 2 * 1024 ** 3 },
    output: { forward: { host: '127.0.0.1', port: fwdPort, shared_key: KEY, token: TOKEN } },
    poll_interval: '50ms',
  }), { logger: pino({ level: 'silent' }) });
  const a0 = Date.now();
  while (shipper.stats.recordsSent < LINES) await new Promise((r) => setTimeout(r, 20));
  const agentSeconds = (Date.now() - a0) / 1000;
  await shipper.stop();
  const agent = { lines: LINES, seconds: agentSeconds, mb_per_s: (LINES * RECORD_BYTES) / 1e6 / agentSeconds, lines_per_s: LINES / agentSeconds };
  console.log('agent tail → ship:', agent);
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  await es.stop();
  await rm(dir, { recursive: true, force: true });
  const out = new URL('../../../bench/results/logs.json', import.meta.url).pathname;
  await mkdir(join(out, '..'), { recursive: true });
  await writeFile(out, `${JSON.stringify({
    measured_at: new Date().toISOString(),
    machine: 'shared 2-core machine (other engineers\' tests running): numbers are a floor',
    load_average_1m: { before: Number(loadBefore.toFixed(2)), after: Number((loadavg()[0] as number).toFixed(2)) },
    record_bytes: RECORD_BYTES,
    fleetscope: { events_per_s_per_core: Math.round(collectorResult.events_per_s_per_core), mb_per_s_per_core: Number(collectorResult.mb_per_s_per_core.toFixed(1)), peak_rss_mb: Math.round(collectorResult.peak_rss_mb), rss_mb_each_second: rssSamples, events_per_s: Math.round(collectorResult.events_per_s), collector_cpu_seconds: cpu, seconds: elapsed },
    ingest_only: { events_per_s_per_core: Math.round(ingest.events_per_s_per_core), mb_per_s_per_core: Number(ingest.mb_per_s_per_core.toFixed(1)) },
    agent: { mb_per_s: Number(agent.mb_per_s.toFixed(1)), lines_per_s: Math.round(agent.lines_per_s) },
    target_mb_per_s_per_core: 50,
  }, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

await main();
