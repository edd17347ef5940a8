// `fleetscope bench run`: one scenario, every contender as a real process,
// the same simulated fleet and the same sink, runs alternating A B C A B C …
// Each run: start the contender, let it warm up (its first scrape creates
// every series), then measure over whole scrape intervals: CPU from /proc,
// the samples it delivered for every scrape answered (or push acknowledged)
// in the window, checked sample for sample against what the scenario keeps.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ServedRecord } from '../sim/fleet.js';
import { SiteTemplate } from '../sim/template.js';
import { CONTENDERS, type ContenderInput, type ContenderName, type LaunchPlan, fleetscopePlan, prometheusAgentPlan, vmagentPlan } from './configs.js';
import { Expectation, checkDelivery } from './expected.js';
import type { Progress } from './progress.js';
import { Proc, cpuSeconds, freePort, peakRssBytes, runCommand } from './proc.js';
import { SCENARIOS, type Scenario, type ScenarioName } from './scenario.js';

export interface BenchOptions {
  readonly scenario: ScenarioName;
  readonly sites: number;
  readonly seriesPerSite: number;
  readonly intervalMs: number;
  readonly warmupMs: number;
  readonly measureIntervals: number;
  readonly runs: number;
  readonly contenders: readonly ContenderName[];
  /** `null`: count only; `victoria-metrics`: forward to a real VictoriaMetrics and count what it accepted. */
  readonly sink: 'null' | 'victoria-metrics';
  readonly seed: number;
  readonly quick: boolean;
  /** Repository root (bin/fleetscope.js, dist/). */
  readonly root: string;
  /** Another built checkout whose collector runs as the fleetscope contender. */
  readonly fleetscopeRoot?: string;
  readonly progress: Progress;
}

/** One run of one contender. */
export interface RunResult {
  readonly contender: ContenderName;
  readonly run: number;
  readonly cpuSeconds: number;
  readonly windowSeconds: number;
  readonly inputSamples: number;
  readonly expected: number;
  readonly delivered: number;
  readonly missing: number;
  readonly extra: number;
  readonly peakRssBytes: number;
  readonly wireBytes: number;
  readonly wireSamples: number;
  readonly delayP50: number;
  readonly delayP99: number;
  readonly seriesOutPerSite: number;
  readonly sim: { cpuSeconds: number; peakRssBytes: number };
}

export type ContenderOutcome =
  | { readonly kind: 'ran'; readonly runs: RunResult[]; readonly notes: readonly string[] }
  | { readonly kind: 'not_run'; readonly reason: string; readonly notes: readonly string[] };

interface SinkStatsJson {
  bytes: number;
  samples: number;
  stale: number;
  seriesPerSite: Record<string, number>;
  groups: Record<string, [number, number][]>;
  delay: { count: number; p50: number; p99: number };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function post(url: string, body?: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`POST ${url}: ${res.status}`);
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return (await res.json()) as T;
}

/** The simulator, the sink and (for the real sink) VictoriaMetrics, as processes shared by all runs. */
export class Rig {
  private constructor(
    readonly sim: Proc,
    readonly simUrl: string,
    readonly sink: Proc,
    readonly sinkUrl: string,
    readonly sinkControl: string,
    readonly vm: Proc | null,
    private readonly dir: string,
  ) {}

  static async start(o: BenchOptions, scenario: Scenario): Promise<Rig> {
    const dir = await mkdtemp(join(tmpdir(), 'fleetscope-bench-'));
    const bin = join(o.root, 'bin', 'fleetscope.js');
    const simPort = await freePort();
    const f = scenario.fleet;
    const sim = new Proc(process.execPath, [bin, 'bench', 'simulate', '--listen', `127.0.0.1:${simPort}`, '--sites', String(o.sites), '--series', String(o.seriesPerSite),
      '--interval', `${o.intervalMs}ms`, '--seed', String(o.seed), '--churn', String(f.churn ?? 0), '--offline', String(f.offlineShare ?? 0),
      '--counter-resets', String(f.counterResetShare ?? 0)]);
    let vm: Proc | null = null;
    let forward: string | undefined;
    if (o.sink === 'victoria-metrics') {
      const vmPort = await freePort();
      vm = new Proc('victoria-metrics', [`-httpListenAddr=127.0.0.1:${vmPort}`, `-storageDataPath=${join(dir, 'vm-data')}`, '-retentionPeriod=100y', '-loggerLevel=ERROR']);
      await vm.ready(`http://127.0.0.1:${vmPort}/health`);
      forward = `http://127.0.0.1:${vmPort}/api/v1/write`;
    }
    const dataPort = await freePort();
    const controlPort = await freePort();
    const sink = new Proc(process.execPath, [bin, 'bench', 'sink', '--listen', `127.0.0.1:${dataPort}`, '--control', `127.0.0.1:${controlPort}`, ...(forward ? ['--forward', forward] : [])]);
    const simUrl = `http://127.0.0.1:${simPort}`;
    const sinkControl = `http://127.0.0.1:${controlPort}`;
    await sim.ready(`${simUrl}/-/healthy`, 120_000);
    await sink.ready(`${sinkControl}/stats`);
    return new Rig(sim, simUrl, sink, `http://127.0.0.1:${dataPort}/api/v1/write`, sinkControl, vm, dir);
  }

  async stop(): Promise<void> {
    await this.sim.stop();
    await this.sink.stop();
    await this.vm?.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

function planFor(name: ContenderName, input: ContenderInput, vmStreamAggr: boolean): LaunchPlan {
  if (name === 'vmagent') return vmagentPlan(input, { streamAggregation: vmStreamAggr });
  if (name === 'prometheus_agent') return prometheusAgentPlan(input);
  return fleetscopePlan(input);
}

/** Whether this vmagent has stream aggregation (VictoriaMetrics ≥ 1.86). */
export async function vmagentHasStreamAggregation(): Promise<boolean> {
  const { output } = await runCommand('vmagent', ['-help']);
  return output.includes('-remoteWrite.streamAggr.config');
}

export async function runOne(o: BenchOptions, rig: Rig, scenario: Scenario, expectation: Expectation, name: ContenderName, run: number, vmStreamAggr: boolean): Promise<{ result?: RunResult; notRun?: string; notes: readonly string[] }> {
  const dir = await mkdtemp(join(tmpdir(), `fleetscope-bench-${name}-`));
  const input: ContenderInput = { scenario, sites: o.sites, seriesPerSite: o.seriesPerSite, intervalMs: o.intervalMs, simUrl: rig.simUrl, sinkUrl: rig.sinkUrl, dir, port: await freePort(), root: o.root, ...(o.fleetscopeRoot !== undefined ? { fleetscopeRoot: o.fleetscopeRoot } : {}) };
  const plan = planFor(name, input, vmStreamAggr);
  let proc: Proc | null = null;
  try {
    for (const [path, text] of Object.entries(plan.files)) {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
    }
    if (plan.check) {
      const c = await runCommand(plan.check.command, plan.check.args);
      if (c.code !== 0) return { notRun: `its config check (${plan.check.command === process.execPath ? 'fleetscope collector --check-config' : plan.check.command}) refused the generated config: ${c.output.trim().split('\n').slice(-3).join(' ')}`, notes: plan.notes };
    }
    await post(`${rig.sinkControl}/reset`);
    proc = new Proc(plan.command, plan.args, o.root);
    await proc.ready(plan.readyUrl);
    const label = `${scenario.name} run ${run}/${o.runs} ${name}`;
    if (scenario.mode === 'push') {
      // Does it take remote-write at all? (Prometheus 2.42's agent mode may refuse it.)
      await post(`${rig.simUrl}/-/push`, { url: plan.pushUrl });
    }
    // Warm-up: until the first full round (every site's series) has arrived, at least warmupMs and at most 4 intervals more.
    const firstRound = o.sites * expectation.seriesPerSite * (1 - (scenario.fleet.offlineShare ?? 0)) * 0.95;
    const warmStart = Date.now();
    const warmUntil = warmStart + o.warmupMs + 4 * o.intervalMs;
    for (;;) {
      const got = (await getJson<SinkStatsJson>(`${rig.sinkControl}/stats`)).samples;
      if ((got >= firstRound && Date.now() - warmStart >= o.warmupMs) || Date.now() > warmUntil) break;
      await o.progress.wait(500, `${label}: warm-up (${got} of ${Math.round(firstRound)} first-round samples)`);
    }
    if (!proc.running) throw new Error(`${name} exited during warm-up:\n${proc.output().slice(-2000)}`);
    const t0 = Date.now();
    const cpu0 = cpuSeconds(proc.pid);
    const simCpu0 = cpuSeconds(rig.sim.pid);
    await post(`${rig.sinkControl}/delay-from?ms=${t0}`);
    const windowMs = o.measureIntervals * o.intervalMs;
    if (scenario.outage) {
      const downMs = Math.min(scenario.outage.durationMs, Math.round(windowMs * 0.5));
      await o.progress.wait(windowMs * scenario.outage.at, `${label}: measuring`);
      await post(`${rig.sinkControl}/down?ms=${downMs}`);
      await o.progress.wait(windowMs * (1 - scenario.outage.at), `${label}: measuring (receiver down ${downMs / 1000} s)`);
    } else {
      await o.progress.wait(windowMs, `${label}: measuring`);
    }
    const t1 = Date.now();
    const cpu1 = cpuSeconds(proc.pid);
    const simCpu1 = cpuSeconds(rig.sim.pid);
    if (scenario.mode === 'push') await post(`${rig.simUrl}/-/push`, { url: null });
    const served = (await getJson<{ served: ServedRecord[] }>(`${rig.simUrl}/-/served?since=${t0}&until=${t1}`)).served;
    const want = expectation.bySiteAndTime(served);
    // Drain: wait for every sample of the window to arrive (a contender still delivering is not done).
    const drainMs = Math.max(30_000, (scenario.outage?.durationMs ?? 0) + 30_000);
    const drainUntil = Date.now() + drainMs;
    let stats = await getJson<SinkStatsJson>(`${rig.sinkControl}/stats`);
    let check = checkDelivery(want, stats.groups);
    while (check.missing > 0 && Date.now() < drainUntil) {
      o.progress.tick(`${label}: draining (${check.missing} samples to come)`);
      await sleep(500);
      stats = await getJson<SinkStatsJson>(`${rig.sinkControl}/stats`);
      check = checkDelivery(want, stats.groups);
    }
    const sites = Object.values(stats.seriesPerSite);
    const result: RunResult = {
      contender: name,
      run,
      cpuSeconds: cpu1 - cpu0,
      windowSeconds: (t1 - t0) / 1000,
      inputSamples: served.reduce((a, r) => a + r.count, 0),
      expected: check.expected,
      delivered: check.delivered,
      missing: check.missing,
      extra: check.extra,
      peakRssBytes: peakRssBytes(proc.pid),
      wireBytes: stats.bytes,
      wireSamples: stats.samples,
      delayP50: stats.delay.p50,
      delayP99: stats.delay.p99,
      seriesOutPerSite: sites.length === 0 ? 0 : sites.reduce((a, b) => a + b, 0) / sites.length,
      sim: { cpuSeconds: simCpu1 - simCpu0, peakRssBytes: peakRssBytes(rig.sim.pid) },
    };
    // A run with nothing to check says why, from the contender's own output.
    const notes = result.expected === 0 ? [...plan.notes, `run ${run}: nothing served or acknowledged in the window; ${name} said: ${proc.output().trim().split('\n').slice(-3).join(' | ').slice(0, 600)}`] : plan.notes;
    return { result, notes };
  } catch (err) {
    const e = err as Error & { cause?: unknown };
    const cause = e.cause === undefined ? '' : ` (${String(e.cause)})`;
    return { notRun: `failed: ${e.message.split('\n').slice(0, 6).join(' ')}${cause}${proc ? `; it said: ${proc.output().trim().split('\n').slice(-2).join(' | ').slice(0, 400)}` : ''}`, notes: plan.notes };
  } finally {
    if (scenario.mode === 'push') await post(`${rig.simUrl}/-/push`, { url: null }).catch(() => undefined);
    await proc?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** All runs of a scenario, alternating contenders. */
export async function runScenario(o: BenchOptions): Promise<{ scenario: Scenario; template: SiteTemplate; outcomes: Map<ContenderName, ContenderOutcome>; expectation: Expectation; vmStreamAggr: boolean }> {
  const scenario = SCENARIOS[o.scenario];
  const template = new SiteTemplate({ series: o.seriesPerSite, histogramShare: 0.35, seed: o.seed });
  const expectation = new Expectation(template, scenario);
  const vmStreamAggr = await vmagentHasStreamAggregation();
  // A contender that pre-aggregates is checked sample for sample on the series it does not aggregate.
  const aggregating = new Set<ContenderName>(scenario.aggregation ? ['fleetscope', ...(vmStreamAggr ? ['vmagent' as const] : [])] : []);
  const aggregatedExpectation = scenario.aggregation ? new Expectation(template, scenario, true) : expectation;
  o.progress.begin(o.runs * o.contenders.length);
  const rig = await Rig.start(o, scenario);
  const runs = new Map<ContenderName, RunResult[]>();
  const notes = new Map<ContenderName, readonly string[]>();
  const notRun = new Map<ContenderName, string>();
  try {
    for (let r = 1; r <= o.runs; r++) {
      for (const name of CONTENDERS) {
        if (!o.contenders.includes(name)) continue;
        if (notRun.has(name)) {
          o.progress.step();
          continue;
        }
        const out = await runOne(o, rig, scenario, aggregating.has(name) ? aggregatedExpectation : expectation, name, r, vmStreamAggr);
        notes.set(name, out.notes);
        if (out.result) runs.set(name, [...(runs.get(name) ?? []), out.result]);
        // A contender that cannot start or is refused its config is not retried on later rounds.
        else if (out.notRun !== undefined) notRun.set(name, out.notRun);
        o.progress.step();
      }
    }
  } finally {
    await rig.stop();
    o.progress.end();
  }
  const outcomes = new Map<ContenderName, ContenderOutcome>();
  for (const name of o.contenders) {
    const reason = notRun.get(name);
    const rs = runs.get(name) ?? [];
    if (reason !== undefined && rs.length === 0) outcomes.set(name, { kind: 'not_run', reason, notes: notes.get(name) ?? [] });
    else outcomes.set(name, { kind: 'ran', runs: rs, notes: [...(notes.get(name) ?? []), ...(reason !== undefined ? [`a later run failed: ${reason}`] : [])] });
  }
  return { scenario, template, outcomes, expectation, vmStreamAggr };
}
