// Keeps one scrape loop per target: targets from static_configs and from
// file_sd files, which are re-read when they change (a watch on their
// folder, and a poll every refresh_interval in case the watch misses one).
// A file that does not parse keeps its previous targets, logged and counted.
// On every change the loops are reconciled by target key: unchanged targets
// keep scraping, new ones start, and removed ones stop with stale markers.
import { type FSWatcher, watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { CollectorMetrics } from './metrics.js';
import { type ScrapeSink, ScrapeLoop } from './scrape.js';
import type { ScrapeJob } from './scrape-config.js';
import { type ScrapeTarget, expandFilePattern, readTargetsFile, targetsFromGroup } from './targets.js';

interface FileProvider {
  readonly job: ScrapeJob;
  readonly patterns: readonly string[];
  readonly refreshMs: number;
  /** Targets per file, from its last good read. */
  readonly byFile: Map<string, ScrapeTarget[]>;
  /** mtime+size per file at its last read, to skip unchanged files on a poll. */
  readonly stamps: Map<string, string>;
  pollTimer: NodeJS.Timeout | null;
  kickTimer: NodeJS.Timeout | null;
  watchers: FSWatcher[];
}

export class ScrapeManager {
  private readonly loops = new Map<string, ScrapeLoop>();
  private staticTargets: ScrapeTarget[] = [];
  private providers: FileProvider[] = [];
  private tenants: ReadonlySet<string> = new Set();
  private syncing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly sink: ScrapeSink,
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger,
  ) {}

  /** Applies scrape_configs (at start and on reload). */
  async apply(jobs: readonly ScrapeJob[], tenants: ReadonlySet<string>): Promise<void> {
    this.tenants = tenants;
    for (const p of this.providers) this.closeProvider(p);
    this.staticTargets = [];
    for (const job of jobs) {
      for (const group of job.static_configs) {
        const { targets, errors } = targetsFromGroup(job, group, tenants);
        // Static groups were checked with the config; errors here would be a bug, but never a crash.
        for (const e of errors) this.log.error({ job: job.job_name }, e);
        this.staticTargets.push(...targets);
      }
    }
    this.providers = jobs.flatMap((job) =>
      job.file_sd_configs.map((f) => ({ job, patterns: f.files, refreshMs: f.refresh_interval, byFile: new Map(), stamps: new Map(), pollTimer: null, kickTimer: null, watchers: [] })),
    );
    await Promise.all(this.providers.map((p) => this.refresh(p)));
    for (const p of this.providers) this.watchProvider(p);
    await this.sync();
  }

  /** Loops by target key (tests look at them). */
  targets(): ScrapeLoop[] {
    return [...this.loops.values()];
  }

  /** Stops every loop without stale markers (a shutdown: the series are not gone, the collector is). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.providers) this.closeProvider(p);
    await this.syncing;
    await Promise.all([...this.loops.values()].map((l) => l.stop(false)));
    this.loops.clear();
  }

  private watchProvider(p: FileProvider): void {
    const kick = (): void => {
      if (p.kickTimer) clearTimeout(p.kickTimer);
      // Editors and atomic renames touch a file several times: wait for it to settle.
      p.kickTimer = setTimeout(() => void this.refreshAndSync(p), 100);
    };
    for (const dir of new Set(p.patterns.map((f) => dirname(f)))) {
      try {
        const w = watch(dir, kick);
        w.on('error', () => undefined);
        w.unref();
        p.watchers.push(w);
      } catch {
        // No folder yet: the poll finds the file once it exists.
      }
    }
    const poll = (): void => {
      p.pollTimer = setTimeout(() => void this.refreshAndSync(p).finally(() => !this.stopped && this.providers.includes(p) && poll()), p.refreshMs);
      p.pollTimer.unref();
    };
    poll();
  }

  private closeProvider(p: FileProvider): void {
    if (p.pollTimer) clearTimeout(p.pollTimer);
    if (p.kickTimer) clearTimeout(p.kickTimer);
    p.pollTimer = null;
    p.kickTimer = null;
    for (const w of p.watchers) w.close();
    p.watchers = [];
  }

  private async refreshAndSync(p: FileProvider): Promise<void> {
    if (this.stopped || !this.providers.includes(p)) return;
    if (await this.refresh(p)) await this.sync();
  }

  /** Reads the provider's files again; true when its targets changed. */
  private async refresh(p: FileProvider): Promise<boolean> {
    const files = new Set<string>();
    for (const pattern of p.patterns) for (const f of await expandFilePattern(pattern)) files.add(f);
    let changed = false;
    for (const f of [...p.byFile.keys()]) {
      if (!files.has(f)) {
        p.byFile.delete(f);
        p.stamps.delete(f);
        changed = true;
      }
    }
    for (const file of files) {
      let stamp: string;
      try {
        const s = await stat(file);
        stamp = `${s.mtimeMs}/${s.size}`;
      } catch {
        if (p.byFile.delete(file)) changed = true;
        continue;
      }
      if (p.stamps.get(file) === stamp) continue;
      try {
        const groups = await readTargetsFile(file);
        const targets: ScrapeTarget[] = [];
        for (const g of groups) {
          const r = targetsFromGroup(p.job, { targets: g.targets, labels: g.labels }, this.tenants);
          targets.push(...r.targets);
          for (const e of r.errors) {
            this.metrics.scrapeSdErrors.inc({ job: p.job.job_name });
            this.log.warn({ file }, `targets file: ${e}; that target is left out`);
          }
        }
        p.byFile.set(file, targets);
        p.stamps.set(file, stamp);
        changed = true;
      } catch (err) {
        // Keep the previous targets of a file that does not parse: a half-written file must not stop every scrape.
        this.metrics.scrapeSdErrors.inc({ job: p.job.job_name });
        this.log.error({ file, err: (err as Error).message }, 'targets file rejected; its previous targets stay');
        p.stamps.set(file, stamp);
      }
    }
    return changed;
  }

  /** Reconciles the running loops with the wanted targets, one reconciliation at a time. */
  private sync(): Promise<void> {
    this.syncing = this.syncing.then(() => this.reconcile());
    return this.syncing;
  }

  private async reconcile(): Promise<void> {
    if (this.stopped) return;
    const wanted = new Map<string, ScrapeTarget>();
    for (const t of this.staticTargets) wanted.set(t.key, t);
    for (const p of this.providers) for (const ts of p.byFile.values()) for (const t of ts) wanted.set(t.key, t);
    const gone: ScrapeLoop[] = [];
    for (const [key, loop] of this.loops) {
      if (wanted.has(key)) continue;
      this.loops.delete(key);
      gone.push(loop);
    }
    for (const [key, t] of wanted) {
      if (this.loops.has(key)) continue;
      const loop = new ScrapeLoop(t, this.sink, this.metrics, this.log);
      this.loops.set(key, loop);
      loop.start();
    }
    const perJob = new Map<string, number>();
    for (const l of this.loops.values()) perJob.set(l.target.job.job_name, (perJob.get(l.target.job.job_name) ?? 0) + 1);
    this.metrics.scrapeTargets.reset();
    for (const [job, n] of perJob) this.metrics.scrapeTargets.set({ job }, n);
    if (gone.length > 0 || wanted.size > 0) this.log.info({ targets: this.loops.size, removed: gone.length }, 'scrape targets updated');
    await Promise.all(gone.map((l) => l.stop(true)));
  }
}
