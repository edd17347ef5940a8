// The collector's push path at regional scale, side by side with vmagent.
//
//   node dist/collector/push.bench.js [--sites 3000] [--series 2000] [--interval 15] [--rounds 4] [--warmup 2]
//     [--workers 0] [--sender agent|snappyjs] [--out FILE] [--only-collector | --against TREE] [--theirs-first] [--profile DIR] [--node-arg FLAG]... [--collector-stdout FILE]
//
// Simulated sites push remote-write (one snappy body of `series` series per
// site per interval, ~16 labels a series; both sides get the same bytes) to:
//   1. a fleetscope collector, as its own process (`fleetscope collector`,
//      durable queue with fsync, keep-everything pipeline), and
//   2. vmagent (`vmagent -remoteWrite.url=… -httpListenAddr=…`),
// each forwarding to a null remote-write sink in this process. Both run
// side by side: each gets its warm-up rounds, then the measured rounds
// alternate (ours, theirs, theirs, ours, ...), so that a slower or faster
// stretch of this shared machine falls on both alike; the report has the
// ratio of all rounds and of each pair. For each it
// records the CPU seconds the process used in its own rounds (utime + stime from
// /proc/<pid>/stat, every thread), its peak resident memory (VmHWM), the
// push latencies, and whether every round's pushes finished inside the
// interval ("kept up"). Results go to bench/results/collector-push.json (or --out FILE).
// The load generator shares the machine's cores with the process measured:
// its own CPU is reported too.
//
// --sender agent (the default): each body is what fleetscope's agent sends
// (RemoteWriteSnappyBatch: every sample in a literal), with new values and
// timestamps every round, as an agent's next scrape has.
// --sender snappyjs: bodies compressed by snappyjs, as another sender's
// compressor would (samples may sit in copies), built once: every round
// resends the same bytes (the collector still reads every series and
// sample; no path of it depends on bytes being the same as last time).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushSiteLabels } from '../bench/index.js';
import { REMOTE_WRITE_HEADERS, RemoteWriteBatch, RemoteWriteSnappyBatch, RemoteWriteTemplate, encodeLabels } from '../wire/index.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};
const SITES = arg('sites', 3000);
const SERIES = arg('series', 2000);
const INTERVAL_S = arg('interval', 15);
const ROUNDS = arg('rounds', 4);
const CONCURRENCY = arg('concurrency', 64);
const WORKERS = arg('workers', 0);
// Rounds before the measured ones, on both sides: in the first every series is new; in the
// second the collector makes each site's template (its series came in the same order again).
const WARMUP = arg('warmup', 2);
const SENDER = process.argv.includes('--sender') ? (process.argv[process.argv.indexOf('--sender') + 1] as string) : 'agent';
if (SENDER !== 'agent' && SENDER !== 'snappyjs') throw new Error(`--sender is agent or snappyjs, not ${SENDER}`);
const BIN = new URL('../../bin/fleetscope.js', import.meta.url).pathname;
const CLK_TCK = 100;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** What a site pushes: its series (bench/sim/push-site.ts), one sample each, snappy-compressed. */
interface SiteSender {
  /** The body of round `round`. */
  body(round: number): Buffer;
  readonly bytes: number;
}

function siteSender(site: number, ts0: number): SiteSender {
  const series = pushSiteLabels(site, SERIES);
  if (SENDER === 'snappyjs') {
    const b = new RemoteWriteBatch(SERIES * 700);
    for (let i = 0; i < SERIES; i++) b.add(encodeLabels(series[i] as string[]), i * 1.5, ts0);
    const body = b.finishCompressed();
    return { body: () => body, bytes: body.length };
  }
  // The agent's batch once; then, as its next scrapes, the same series with new values and a new timestamp.
  const b = new RemoteWriteSnappyBatch({ initialBytes: SERIES * 200 });
  for (let i = 0; i < SERIES; i++) b.add(encodeLabels(series[i] as string[]), i * 1.5, ts0);
  const template = RemoteWriteTemplate.of(b.finish(), b.sampleOffsets(), b.uniformTimestampLength);
  if (template === null) throw new Error('the agent batch made no template');
  const values = new Float64Array(SERIES);
  const times = new Float64Array(SERIES);
  return {
    body(round: number): Buffer {
      times.fill(ts0 + round * INTERVAL_S * 1000);
      for (let i = 0; i < SERIES; i++) values[i] = i * 1.5 + round;
      template.begin();
      for (let i = 0; i < SERIES; i++) if (!template.put(i, values, times, i)) throw new Error('timestamp out of the template');
      return template.finish();
    },
    bytes: template.byteSize,
  };
}

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const after = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(after[11]) + Number(after[12])) / CLK_TCK;
}

/** CPU seconds (user and system) of a process's main thread (its tid is its pid) and of its other threads together. */
function cpuByThread(pid: number): Map<string, { user: number; system: number }> {
  const out = new Map<string, { user: number; system: number }>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const after = f.slice(f.lastIndexOf(')') + 2).split(' ');
      const name = tid === String(pid) ? 'main' : 'other_threads';
      const t = out.get(name) ?? { user: 0, system: 0 };
      t.user += Number(after[11]) / CLK_TCK;
      t.system += Number(after[12]) / CLK_TCK;
      out.set(name, t);
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** What each group of threads used between two cpuByThread() readings, in CPU seconds (threads that ended in between are not counted). */
function threadDelta(before: Map<string, { user: number; system: number }>, after: Map<string, { user: number; system: number }>): Record<string, { user: number; system: number }> {
  const out: Record<string, { user: number; system: number }> = {};
  for (const [name, a] of after) {
    const b = before.get(name) ?? { user: 0, system: 0 };
    out[name] = { user: Number((a.user - b.user).toFixed(2)), system: Number((a.system - b.system).toFixed(2)) };
  }
  return out;
}

function peakRssBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function waitReady(url: string, proc: ChildProcess, out: () => string): Promise<void> {
  for (const deadline = Date.now() + 30_000; ;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // starting
    }
    if (proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode}:\n${out()}`);
    if (Date.now() > deadline) throw new Error(`not ready in 30 s:\n${out()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface RoundResult {
  readonly seconds: number;
  readonly ok: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const token = (i: number): string => `bench-site-token-${String(i).padStart(8, '0')}`;

/** Pushes every site's body once, CONCURRENCY at a time, spread over the interval; `auth` adds each site's token. */
async function round(url: string, senders: readonly SiteSender[], roundNo: number, agent: Agent, auth: boolean): Promise<RoundResult> {
  const start = performance.now();
  const lat: number[] = [];
  let next = 0;
  let failed = 0;
  const spacing = (INTERVAL_S * 1000 * 0.9) / senders.length;
  const one = (body: Buffer, site: number): Promise<number> => new Promise((resolve) => {
    const t = performance.now();
    const headers: Record<string, string> = { ...REMOTE_WRITE_HEADERS, 'Content-Length': String(body.length) };
    if (auth) headers.Authorization = `Bearer ${token(site)}`;
    const req = request(url, { method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => {
        lat.push(performance.now() - t);
        resolve(res.statusCode ?? 0);
      });
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (;;) {
      const i = next++;
      if (i >= senders.length) return;
      // Sites push on their own schedule: spread the round over the interval rather than all at once.
      const due = start + i * spacing;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const status = await one((senders[i] as SiteSender).body(roundNo), i);
      if (status !== 204 && status !== 200) failed++;
    }
  }));
  lat.sort((a, b) => a - b);
  return { seconds: (performance.now() - start) / 1000, ok: senders.length - failed, failed, p50Ms: lat[Math.floor(lat.length / 2)] ?? 0, p99Ms: lat[Math.floor(lat.length * 0.99)] ?? 0 };
}

/** One side of the comparison: a process being pushed to, and what its measured rounds cost. */
interface Side {
  readonly name: string;
  readonly url: string;
  readonly proc: ChildProcess;
  readonly auth: boolean;
  readonly agent: Agent;
  readonly warm: RoundResult[];
  readonly rounds: RoundResult[];
  /** CPU seconds of each measured round, from its first push to the next round of either side. */
  readonly roundCpu: number[];
  readonly threads: Record<string, { user: number; system: number }>;
  /** CPU seconds it used while the other side's rounds were measured: its own work spilling over, and idling. */
  idleCpu: number;
  wall: number;
  selfCpu: number;
}

function side(name: string, url: string, proc: ChildProcess, auth: boolean): Side {
  return { name, url, proc, auth, agent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY }), warm: [], rounds: [], roundCpu: [], threads: {}, idleCpu: 0, wall: 0, selfCpu: 0 };
}

/** Rounds pushed and then the rest of the interval waited, so that sites push every INTERVAL_S. */
async function paced(s: Side, senders: readonly SiteSender[], roundNo: number): Promise<RoundResult> {
  const started = performance.now();
  const r = await round(s.url, senders, roundNo, s.agent, s.auth);
  const rest = INTERVAL_S * 1000 - (performance.now() - started);
  if (rest > 0) await new Promise((res) => setTimeout(res, rest));
  return r;
}

async function warmUp(s: Side, senders: readonly SiteSender[]): Promise<void> {
  for (let r = 0; r < WARMUP; r++) s.warm.push(await paced(s, senders, r));
}

/**
 * Measured round `r` of a side: what its process used from the round's first push to the end
 * of its interval; what the other sides used meanwhile is their idle CPU.
 */
async function measuredRound(s: Side, others: readonly Side[], senders: readonly SiteSender[], r: number): Promise<void> {
  const pid = s.proc.pid as number;
  const idle0 = others.map((o) => cpuSeconds(o.proc.pid as number));
  const cpu0 = cpuSeconds(pid);
  const threads0 = cpuByThread(pid);
  const self0 = process.cpuUsage();
  const wall0 = performance.now();
  s.rounds.push(await paced(s, senders, WARMUP + r));
  s.wall += (performance.now() - wall0) / 1000;
  s.roundCpu.push(cpuSeconds(pid) - cpu0);
  others.forEach((o, i) => (o.idleCpu += cpuSeconds(o.proc.pid as number) - (idle0[i] as number)));
  const self = process.cpuUsage(self0);
  s.selfCpu += (self.user + self.system) / 1e6;
  for (const [k, v] of Object.entries(threadDelta(threads0, cpuByThread(pid)))) {
    const t = (s.threads[k] ??= { user: 0, system: 0 });
    t.user = Number((t.user + v.user).toFixed(2));
    t.system = Number((t.system + v.system).toFixed(2));
  }
}

async function resultOf(s: Side): Promise<Record<string, unknown>> {
  // The collector's own count of how its pushes went (what templates and repeats took).
  const counted: Record<string, number> = {};
  if (s.name.startsWith('fleetscope')) {
    const text = await (await fetch(new URL('/metrics', s.url))).text();
    for (const m of text.matchAll(/^(fleetscope_collector_push_(?:bodies_reused|repeats)_total) (\S+)$/gm)) counted[m[1] as string] = Number(m[2]);
  }
  s.agent.destroy();
  const { rounds, warm } = s;
  const samples = rounds.reduce((n, r) => n + r.ok, 0) * SERIES;
  const cpu = s.roundCpu.reduce((a, b) => a + b, 0);
  // Rounds that overran the interval stretch the wall time: the accepted rate is over what it really took.
  const result = {
    name: s.name,
    samples_accepted: samples,
    failed_pushes: rounds.reduce((n, r) => n + r.failed, 0),
    offered_samples_per_s: (SITES * SERIES) / INTERVAL_S,
    accepted_samples_per_s: samples / s.wall,
    wall_seconds: s.wall,
    cpu_seconds: cpu,
    cpu_ns_per_sample: (cpu * 1e9) / Math.max(samples, 1),
    round_cpu_ns_per_sample: rounds.map((r, i) => Math.round(((s.roundCpu[i] as number) * 1e9) / Math.max(r.ok * SERIES, 1))),
    cores_used: cpu / s.wall,
    // Not in cpu_seconds: what it used during the other side's rounds (work of its own rounds that ran late, and idling).
    idle_cpu_seconds: Number(s.idleCpu.toFixed(2)),
    cpu_ns_per_sample_with_idle: ((cpu + s.idleCpu) * 1e9) / Math.max(samples, 1),
    // Where it went: the main thread, and the others (workers, libuv's pool, V8's helpers; Go's threads), user and system.
    cpu_seconds_by_thread: s.threads,
    peak_rss_bytes: peakRssBytes(s.proc.pid as number),
    kept_up: rounds.every((r) => r.seconds <= INTERVAL_S && r.failed === 0),
    round_seconds: rounds.map((r) => Number(r.seconds.toFixed(2))),
    push_latency_p50_ms: Math.max(...rounds.map((r) => r.p50Ms)),
    push_latency_p99_ms: Math.max(...rounds.map((r) => r.p99Ms)),
    warmup_round_seconds: warm.map((r) => Number(r.seconds.toFixed(2))),
    ...(Object.keys(counted).length > 0 ? { collector_counts_since_start: counted } : {}),
    load_generator_cpu_seconds: s.selfCpu,
  };
  console.log(JSON.stringify(result));
  return result;
}

const median = (xs: readonly number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 === 1 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
};

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-push-bench-'));
  let sunk = 0;
  const sink = createServer((req, res) => {
    req.on('data', (c: Buffer) => (sunk += c.length));
    req.on('end', () => res.writeHead(204).end());
  });
  sink.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/api/v1/write`;
  const t0 = performance.now();
  const ts = Date.now();
  const senders = Array.from({ length: SITES }, (_, i) => siteSender(i, ts));
  console.log(`built ${SITES} ${SENDER} bodies of ${SERIES} series (${(senders.reduce((n, b) => n + b.bytes, 0) / 1e6).toFixed(0)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const results: Record<string, unknown>[] = [];
  const procs: ChildProcess[] = [];
  try {
    // 1. fleetscope collector: every site with its own token.
    // --profile DIR: a V8 CPU profile of the collector, to see where its time goes.
    const pi = process.argv.indexOf('--profile');
    const prof = pi < 0 ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.argv[pi + 1]}`];
    // --node-arg FLAG (repeatable): V8/Node flags for the collector, e.g. --trace-gc (with --collector-stdout FILE).
    const nodeArgs = process.argv.flatMap((a, i) => (a === '--node-arg' ? [process.argv[i + 1] as string] : []));
    const si = process.argv.indexOf('--collector-stdout');
    const stdout = si < 0 ? 'ignore' : openSync(process.argv[si + 1] as string, 'w');
    const startCollector = async (name: string, bin: string, sub: string, flags: string[]): Promise<Side> => {
      const port = await freePort();
      const config = join(dir, `${sub}.yml`);
      await writeFile(config, [
        `queue: {dir: ${JSON.stringify(join(dir, sub))}, max_bytes: 8589934592}`,
        `sites: [${Array.from({ length: SITES }, (_, i) => `{token: ${token(i)}, tenant: bench, site: ce-${i}}`).join(', ')}]`,
        `tenants: {bench: {pipeline: {series_limit_per_site: ${SERIES + 1}}}}`,
        `remote_write: [{url: "${sinkUrl}", max_shards: 8, max_records_per_send: 32}]`,
        `push_workers: ${WORKERS}`,
      ].join('\n'));
      let out = '';
      const proc = spawn(process.execPath, [...flags, bin, 'collector', '--config', config, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', sub === 'queue' ? stdout : 'ignore', 'pipe'] });
      proc.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
      procs.push(proc);
      await waitReady(`http://127.0.0.1:${port}/-/ready`, proc, () => out);
      return side(name, `http://127.0.0.1:${port}/api/v1/write`, proc, true);
    };
    const startVmagent = async (): Promise<Side> => {
      const vport = await freePort();
      let vout = '';
      const vmagent = spawn('vmagent', [`-remoteWrite.url=${sinkUrl}`, `-httpListenAddr=127.0.0.1:${vport}`, `-remoteWrite.tmpDataPath=${join(dir, 'vmagent')}`, '-loggerLevel=ERROR'], { stdio: ['ignore', 'ignore', 'pipe'] });
      vmagent.stderr?.on('data', (d: Buffer) => (vout = (vout + d.toString()).slice(-4000)));
      procs.push(vmagent);
      await waitReady(`http://127.0.0.1:${vport}/health`, vmagent, () => vout);
      return side('vmagent', `http://127.0.0.1:${vport}/api/v1/write`, vmagent, false);
    };
    // 2. vmagent, on the same bodies, running alongside: the measured rounds alternate between the two.
    // --against TREE: another fleetscope checkout (built) in vmagent's place, e.g. the commit before a change.
    const ai = process.argv.indexOf('--against');
    const theirs = process.argv.includes('--only-collector')
      ? null
      : ai >= 0
        ? () => startCollector(`fleetscope collector at ${process.argv[ai + 1] as string}`, join(process.argv[ai + 1] as string, 'bin', 'fleetscope.js'), 'against', [])
        : startVmagent;
    // --theirs-first: the other side's process is started (and warmed up) first. On this
    // machine the process started first costs ~10% more than an identical one started after it
    // (collector/README, "Speed"): runs with both orders cancel that.
    const theirsFirst = theirs !== null && process.argv.includes('--theirs-first');
    const other = theirsFirst ? await theirs() : null;
    const ours = await startCollector('fleetscope collector', BIN, 'queue', [...prof, ...nodeArgs]);
    const sides = theirs === null ? [ours] : [ours, other ?? (await theirs())];
    const started = theirsFirst ? [...sides].reverse() : sides;
    for (const s of started) await warmUp(s, senders);
    // Interleaved, each side first in turn: the machine's drift (other tenants of the host) falls on both alike.
    for (let r = 0; r < ROUNDS; r++) for (const s of r % 2 === 0 ? started : [...started].reverse()) await measuredRound(s, started.filter((o) => o !== s), senders, r);
    for (const s of sides) results.push(await resultOf(s));
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
    if (sides.length === 1) return;
  } finally {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await new Promise<void>((r) => sink.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  }
  const [ours, theirs] = results as [Record<string, number>, Record<string, number>];
  const perRound = (ours.round_cpu_ns_per_sample as unknown as number[]).map((n, i) => n / ((theirs.round_cpu_ns_per_sample as unknown as number[])[i] as number));
  const report = {
    date: new Date().toISOString(),
    command: `node dist/collector/push.bench.js --sites ${SITES} --series ${SERIES} --interval ${INTERVAL_S} --rounds ${ROUNDS} --warmup ${WARMUP} --workers ${WORKERS} --sender ${SENDER}`,
    machine: `${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? '?'} × ${readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? '?'}, Node ${process.version}`,
    workload: { sites: SITES, series_per_site: SERIES, sender: SENDER, interval_s: INTERVAL_S, rounds: ROUNDS, warmup_rounds: WARMUP, concurrency: CONCURRENCY, push_workers: WORKERS },
    results,
    // Ours over theirs: vmagent's, or with --against the other tree's collector's.
    compared_with: theirs.name,
    started_first: process.argv.includes('--theirs-first') ? theirs.name : ours.name,
    cpu_per_sample_ratio: (ours.cpu_ns_per_sample as number) / (theirs.cpu_ns_per_sample as number),
    // Round r of one side against round r of the other (run one after the other): how steady the ratio is.
    round_ratios: perRound.map((x) => Number(x.toFixed(3))),
    round_ratio_median: Number(median(perRound).toFixed(3)),
    // The same with each side's idle CPU counted as its own: an upper bound for either.
    cpu_per_sample_ratio_with_idle: (ours.cpu_ns_per_sample_with_idle as number) / (theirs.cpu_ns_per_sample_with_idle as number),
    bytes_sunk: sunk,
  };
  mkdirSync(new URL('../../bench/results/', import.meta.url), { recursive: true });
  // --out FILE: where the report goes (default bench/results/collector-push.json).
  const oi = process.argv.indexOf('--out');
  const out = oi < 0 ? new URL('../../bench/results/collector-push.json', import.meta.url) : (process.argv[oi + 1] as string);
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify({ ratio: report.cpu_per_sample_ratio, round_ratios: report.round_ratios, round_ratio_median: report.round_ratio_median, ratio_with_idle: report.cpu_per_sample_ratio_with_idle }));
}

await main();
