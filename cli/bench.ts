// `fleetscope bench`: the fleet simulator, the counting sink, and the
// side-by-side benchmark of fleetscope, vmagent and Prometheus agent.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CONTENDERS,
  type ContenderName,
  DEFAULT_FLEET,
  FleetSimulator,
  Progress,
  SCENARIO_NAMES,
  SCENARIOS,
  type ScenarioName,
  Sink,
  buildReport,
  cpuSeconds,
  markdownTable,
  peakRssBytes,
  runCommand,
  runScenario,
  svgChart,
} from '../bench/index.js';
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Io, parseOptions } from './command.js';

const help = `Usage: fleetscope bench simulate [options]
       fleetscope bench run --scenario NAME [--sites N] [--quick] [options]
       fleetscope bench sink --listen HOST:PORT --control HOST:PORT [--forward URL]

simulate: stands up N simulated edge sites (CEs), deterministic from a seed,
  each scraped at http://HOST:PORT/site/<n>/metrics (n from 0), or pushing
  remote-write to --push URL once per interval. Runs until SIGTERM/SIGINT,
  then prints the simulator's own CPU seconds and peak RSS.
  --listen HOST:PORT     (default 127.0.0.1:9900)
  --sites N              (default ${DEFAULT_FLEET.sites})
  --series N             series per site (default ${DEFAULT_FLEET.seriesPerSite})
  --extra-labels N       labels added to every series beyond the generator's ~16 (default 0)
  --histogram-share F    share of series in histograms and summaries, 0..1 (default ${DEFAULT_FLEET.histogramShare})
  --interval D           scrape/push interval, e.g. 15s (default 15s)
  --churn F              share of series replaced every interval (default 0)
  --offline F            share of sites offline in any interval (default 0)
  --counter-resets F     probability per site and interval of a counter reset (default 0)
  --seed N               (default ${DEFAULT_FLEET.seed})
  --series-per-request N series per remote-write request when pushing (default ${DEFAULT_FLEET.seriesPerRequest})
  --push-concurrency N   sites pushing at once; each site has one request in flight (default ${DEFAULT_FLEET.pushConcurrency})
  --push URL             push remote-write there instead of (as well as) being scraped;
                         site i sends Authorization: Bearer bench-site-token-<i, 6 digits>

run: one scenario (${SCENARIO_NAMES.join(', ')}) with every contender started
  as a real process (fleetscope collector, vmagent, Prometheus agent), runs
  alternating A B C A B C…; writes bench/results/<scenario>.json, .md, .svg.
  --scenario NAME        required
  --sites N              (default 10; --quick 2)
  --series N             series per site (default 50000; --quick 20000)
  --interval D           scrape interval (default 15s; --quick 5s)
  --measure N            measured intervals per run (default 4; --quick 2)
  --runs N               runs per contender (default 3)
  --contenders LIST      comma-separated, of ${CONTENDERS.join(', ')} (default all)
  --sink KIND            null (count only, default) or victoria-metrics (forward to a real one)
  --seed N               (default 1)
  --quick                small and short: finishes in under 3 minutes
  --out DIR              results directory (default bench/results)
  --fleetscope-root DIR  run the collector of another built checkout as the fleetscope
                         contender (e.g. a branch not merged yet; named in the report)

sink: the counting remote-write receiver the bench uses (a process of its own).
`;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function duration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(s);
  if (!m) throw new Error(`"${s}" is not a duration like 500ms, 15s or 1m`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'];
}

function num(name: string, v: string | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, got "${v}"`);
  return n;
}

function hostPort(s: string): { host: string; port: number } {
  const m = /^([^:]+):(\d+)$/.exec(s);
  if (!m) throw new Error(`"${s}" is not HOST:PORT`);
  return { host: m[1] as string, port: Number(m[2]) };
}

async function untilSignal(): Promise<void> {
  await new Promise<void>((resolveStop) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolveStop();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

async function simulate(args: readonly string[], io: Io): Promise<number> {
  const o = parseOptions('bench simulate', help, args, {
    listen: { type: 'string' }, sites: { type: 'string' }, series: { type: 'string' }, 'extra-labels': { type: 'string' },
    'histogram-share': { type: 'string' }, interval: { type: 'string' }, churn: { type: 'string' }, offline: { type: 'string' },
    'counter-resets': { type: 'string' }, seed: { type: 'string' }, push: { type: 'string' },
    'series-per-request': { type: 'string' }, 'push-concurrency': { type: 'string' },
  }, io);
  if (o === null) return EXIT_USAGE;
  let sim: FleetSimulator;
  let listen: { host: string; port: number };
  try {
    listen = hostPort(o.listen ?? '127.0.0.1:9900');
    sim = new FleetSimulator({
      ...DEFAULT_FLEET,
      sites: num('sites', o.sites, DEFAULT_FLEET.sites, 1, 100_000),
      seriesPerSite: num('series', o.series, DEFAULT_FLEET.seriesPerSite, 1, 2_000_000),
      extraLabels: num('extra-labels', o['extra-labels'], 0, 0, 100),
      histogramShare: num('histogram-share', o['histogram-share'], DEFAULT_FLEET.histogramShare, 0, 1),
      intervalMs: o.interval === undefined ? DEFAULT_FLEET.intervalMs : duration(o.interval),
      churn: num('churn', o.churn, 0, 0, 1),
      offlineShare: num('offline', o.offline, 0, 0, 1),
      counterResetShare: num('counter-resets', o['counter-resets'], 0, 0, 1),
      seed: num('seed', o.seed, DEFAULT_FLEET.seed, 0, 2 ** 32 - 1),
      seriesPerRequest: num('series-per-request', o['series-per-request'], DEFAULT_FLEET.seriesPerRequest, 1, 100_000),
      pushConcurrency: num('push-concurrency', o['push-concurrency'], DEFAULT_FLEET.pushConcurrency, 1, 1024),
    });
  } catch (err) {
    io.stderr.write(`fleetscope bench simulate: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  let url: string;
  try {
    url = await sim.listen(listen.host, listen.port);
  } catch (err) {
    io.stderr.write(`fleetscope bench simulate: cannot listen on ${listen.host}:${listen.port}: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
  if (o.push !== undefined) sim.setPushTarget(o.push);
  io.stdout.write(`simulating ${sim.options.sites} sites × ${sim.template.seriesCount} series (${sim.template.body.length} bytes per scrape) at ${url}/site/<n>/metrics\n`);
  await untilSignal();
  await sim.close();
  io.stdout.write(`simulator: ${cpuSeconds(process.pid).toFixed(1)} CPU seconds, peak RSS ${(peakRssBytes(process.pid) / 2 ** 20).toFixed(0)} MiB, ${JSON.stringify(sim.counts)}\n`);
  return EXIT_OK;
}

async function sink(args: readonly string[], io: Io): Promise<number> {
  const o = parseOptions('bench sink', help, args, { listen: { type: 'string' }, control: { type: 'string' }, forward: { type: 'string' } }, io);
  if (o === null) return EXIT_USAGE;
  let s: Sink;
  try {
    const data = hostPort(o.listen ?? '127.0.0.1:0');
    const control = hostPort(o.control ?? '127.0.0.1:0');
    s = new Sink(o.forward);
    const at = await s.listen(data.host, data.port, control.port);
    io.stdout.write(`sink: remote-write at ${at.url}, control at ${at.control}${o.forward !== undefined ? `, forwarding to ${o.forward}` : ''}\n`);
  } catch (err) {
    io.stderr.write(`fleetscope bench sink: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
  await untilSignal();
  await s.close();
  return EXIT_OK;
}

async function versions(): Promise<Record<string, string>> {
  const out: Record<string, string> = { node: process.version };
  const q = await runCommand('dpkg-query', ['-W', '-f=${Package} ${Version}\\n', 'victoria-metrics', 'prometheus']);
  for (const line of q.output.split('\n')) {
    const [pkg, v] = line.trim().split(' ');
    if (pkg && v) out[pkg === 'victoria-metrics' ? 'vmagent (victoria-metrics)' : 'prometheus'] = v;
  }
  return out;
}

async function run(args: readonly string[], io: Io): Promise<number> {
  const o = parseOptions('bench run', help, args, {
    scenario: { type: 'string' }, sites: { type: 'string' }, series: { type: 'string' }, interval: { type: 'string' }, measure: { type: 'string' },
    runs: { type: 'string' }, contenders: { type: 'string' }, sink: { type: 'string' }, seed: { type: 'string' }, quick: { type: 'boolean' }, out: { type: 'string' }, 'fleetscope-root': { type: 'string' },
  }, io);
  if (o === null) return EXIT_USAGE;
  const name = o.scenario as ScenarioName | undefined;
  if (name === undefined || !SCENARIO_NAMES.includes(name)) {
    io.stderr.write(`fleetscope bench run: --scenario must be one of ${SCENARIO_NAMES.join(', ')}\n\n${help}`);
    return EXIT_USAGE;
  }
  let contenders: ContenderName[];
  let opts;
  try {
    contenders = (o.contenders ?? CONTENDERS.join(',')).split(',').map((c) => c.trim()) as ContenderName[];
    for (const c of contenders) if (!CONTENDERS.includes(c)) throw new Error(`unknown contender "${c}" (${CONTENDERS.join(', ')})`);
    if (o.sink !== undefined && o.sink !== 'null' && o.sink !== 'victoria-metrics') throw new Error('--sink must be null or victoria-metrics');
    const quick = o.quick === true;
    const intervalMs = o.interval === undefined ? (quick ? 5000 : 15_000) : duration(o.interval);
    opts = {
      scenario: name,
      sites: num('sites', o.sites, quick ? 2 : 10, 1, 100_000),
      seriesPerSite: num('series', o.series, quick ? 20_000 : 50_000, 1, 2_000_000),
      intervalMs,
      warmupMs: intervalMs,
      measureIntervals: num('measure', o.measure, quick ? 2 : 4, 1, 1000),
      runs: num('runs', o.runs, 3, 1, 100),
      contenders,
      sink: (o.sink ?? 'null') as 'null' | 'victoria-metrics',
      seed: num('seed', o.seed, 1, 0, 2 ** 32 - 1),
      quick,
      root: ROOT,
      ...(o['fleetscope-root'] !== undefined ? { fleetscopeRoot: resolve(o['fleetscope-root']) } : {}),
      progress: new Progress(io.stderr as NodeJS.WritableStream & { isTTY?: boolean }),
    };
  } catch (err) {
    io.stderr.write(`fleetscope bench run: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  const started = Date.now();
  const loadBefore = loadavg()[0] ?? 0;
  const { scenario, outcomes, expectation, vmStreamAggr } = await runScenario(opts);
  const notes: string[] = [];
  if (!vmStreamAggr && scenario.aggregation) notes.push('The installed vmagent (VictoriaMetrics 1.79) has no stream aggregation (from 1.86); Prometheus agent mode cannot aggregate: both ran the allowlist and label denylist only, so their series out per site is higher and their figures are for that part of the job.');
  if (opts.fleetscopeRoot !== undefined) {
    const head = await runCommand('git', ['-C', opts.fleetscopeRoot, 'log', '-1', '--format=%h %s']);
    notes.push(`The fleetscope contender is the collector built from ${opts.fleetscopeRoot} (${head.output.trim() || 'not a git checkout'}), not this tree.`);
  }
  notes.push(`Machine load (1-minute load average, other work included) was ${loadBefore.toFixed(1)} at the start and ${(loadavg()[0] ?? 0).toFixed(1)} at the end, on ${cpus().length} cores.`);
  notes.push(`CPU per million samples counts the samples scraped (or pushed) in, in whole measured intervals; RSS per active series divides peak RSS by sites × series per site. Took ${Math.round((Date.now() - started) / 1000)} s.`);
  const report = buildReport({
    scenario: scenario.name,
    description: scenario.description,
    sites: opts.sites,
    seriesPerSite: opts.seriesPerSite,
    intervalMs: opts.intervalMs,
    measureIntervals: opts.measureIntervals,
    runs: opts.runs,
    sink: opts.sink === 'null' ? 'null receiver (decodes and counts)' : 'VictoriaMetrics (forwarded through the counting receiver)',
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    versions: await versions(),
    command: `fleetscope bench run ${args.join(' ')}`,
    expectedSeriesOutPerSite: expectation.seriesPerSite,
    notes,
  }, outcomes);
  const outDir = o.out ?? join(ROOT, 'bench', 'results');
  await mkdir(outDir, { recursive: true });
  const md = `### ${scenario.name}: ${scenario.description}\n\n${opts.sites} sites × ${opts.seriesPerSite} series, scrape interval ${opts.intervalMs / 1000} s, ${opts.measureIntervals} measured intervals, ${opts.runs} runs, sink: ${String(report.sink)}. Median (min–max).\n\n${markdownTable(report)}\n${notes.map((n) => `${n}\n`).join('')}`;
  await writeFile(join(outDir, `${scenario.name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(outDir, `${scenario.name}.md`), md);
  await writeFile(join(outDir, `${scenario.name}.svg`), svgChart(report));
  io.stdout.write(md);
  return EXIT_OK;
}

export const benchCommand: Command = {
  name: 'bench',
  help,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub === 'simulate') return simulate(rest, io);
    if (sub === 'run') return run(rest, io);
    if (sub === 'sink') return sink(rest, io);
    io.stderr.write(`fleetscope bench: expected simulate, run or sink${sub === undefined ? '' : `, got "${sub}"`}\n\n${help}`);
    return EXIT_USAGE;
  },
};

export { SCENARIOS };
