// One target's scrape loop, as Prometheus 2.42's scrape/scrape.go does it:
// every interval (first at an offset hashed from the target, so thousands of
// targets spread out), GET the target with a timeout and a body size limit,
// parse text 0.0.4 or OpenMetrics (by Content-Type), merge the target's
// labels (honor_labels), run the tenant's pipeline, and write `up`,
// `scrape_duration_seconds`, `scrape_samples_scraped`,
// `scrape_samples_post_metric_relabeling` and `scrape_series_added`.
// Staleness: a series of the previous scrape missing from this one gets a
// stale marker (STALE_NAN) at this scrape's time; a failed scrape marks
// every series of the previous one stale; a target that goes away marks its
// series and report series stale. Series with explicit timestamps are not
// marked, as in Prometheus.
//
// Hot path: a known series costs a string comparison with the series at the
// same position in the previous scrape (exporters write series in the same
// order every time), or one map lookup by its raw text; its relabeled,
// encoded labels come from that cache entry. Only a new series is parsed
// into labels and run through the rules.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { type Labels, LabelsBuilder } from '../relabel/index.js';
import { ExpositionParser, RemoteWriteBatch, STALE_NAN, WireError, formatFromContentType } from '../wire/index.js';
import type { IntakeOutcome } from './intake.js';
import { OutputIndex } from './output-index.js';
import type { CollectorMetrics } from './metrics.js';
import type { Identity, PushPipeline, PushResult } from './pipeline.js';
import { DUPLICATE_SERIES, SERIES_LIMIT } from './pipeline.js';
import type { ScrapeTarget } from './targets.js';

/** Prometheus 2.42's Accept header for scrapes. */
export const SCRAPE_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

export const DUPLICATE_SAMPLE = 'duplicate_sample';

export interface ScrapeSink {
  /** The pipeline in force now (a reload replaces it). */
  pipeline(): PushPipeline;
  accept(id: Identity, result: PushResult): Promise<IntakeOutcome>;
}

interface Entry {
  /** The series' raw text, a copy (not a slice that would keep a whole body alive). */
  readonly key: string;
  /** Encoded output labels, or null when dropped. */
  readonly labels: Buffer | null;
  readonly reason: string;
  /** A pre-aggregation rule takes it; and whether it also goes on as it is. */
  readonly aggregate: boolean;
  readonly forward: boolean;
  /** The scrape that last saw it. */
  seen: number;
  /** Its last sample carried a timestamp: no staleness marker for it. */
  explicit: boolean;
  /** Out of the cache (a duplicate let go so that it is admitted again): the positional guess must not use it. */
  gone?: boolean;
}

const REPORT_NAMES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'] as const;

export interface ScrapeReport {
  readonly up: boolean;
  readonly durationMs: number;
  readonly scraped: number;
  readonly kept: number;
  readonly added: number;
  readonly error?: string;
}

const fresh = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

export class ScrapeLoop {
  private readonly cache = new Map<string, Entry>();
  /** The kept entries by their output labels: what tells a duplicate. */
  private readonly outputs = new OutputIndex<Entry>();
  private prev: Entry[] = [];
  private cur: Entry[] = [];
  private seq = 0;
  private pipelineRef: PushPipeline | null = null;
  private report: Buffer[] = [];
  private readonly batch = new RemoteWriteBatch();
  private readonly aggBatch = new RemoteWriteBatch();
  private readonly builder = new LabelsBuilder();
  private timer: NodeJS.Timeout | null = null;
  private inflight: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private stopped = false;
  private reported = false;
  private lastError = '';
  /** The last scrape's outcome, for tests and /metrics. */
  last: ScrapeReport | null = null;

  constructor(
    readonly target: ScrapeTarget,
    private readonly sink: ScrapeSink,
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger,
  ) {}

  start(): void {
    const interval = this.target.intervalMs;
    // Prometheus spreads targets over the interval by a hash of the target; so do we.
    const offset = createHash('sha256').update(this.target.key).digest().readUInt32BE(0) % interval;
    const base = Date.now();
    const first = base - (base % interval) + offset;
    this.schedule(first < base ? first + interval : first);
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.inflight = this.scrape().then(() => undefined, (err: unknown) => this.log.error({ err, target: this.target.url }, "scrape loop error")).finally(() => {
        this.inflight = null;
        const next = at + this.target.intervalMs;
        const now = Date.now();
        // Behind (a slow scrape): skip the missed slots rather than scrape back to back.
        this.schedule(next > now ? next : next + Math.ceil((now - next) / this.target.intervalMs) * this.target.intervalMs);
      });
    }, Math.max(0, at - Date.now()));
  }

  /**
   * Stops the loop. With `markStale` (the target went away, not a shutdown),
   * its last scrape's series and its report series get stale markers.
   */
  async stop(markStale: boolean): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.inflight;
    if (!markStale || this.pipelineRef === null) return;
    const pipeline = this.pipelineRef;
    const now = Date.now();
    this.batch.reset();
    this.aggBatch.reset();
    for (const e of this.prev) if (e.labels !== null && e.forward && !e.explicit) this.batch.add(e.labels, STALE_NAN, now);
    if (this.reported) for (const l of this.report) this.batch.add(l, STALE_NAN, now);
    pipeline.releaseScraped(this.target.identity, this.admittedInCache());
    this.cache.clear();
    this.outputs.clear();
    this.prev = [];
    await this.hand({ samplesIn: 0, kept: 0, dropped: new Map() });
  }

  /** One scrape, now. Public for tests; the loop calls it on its schedule. */
  async scrape(): Promise<ScrapeReport> {
    const t = this.target;
    const start = Date.now();
    let text: string;
    let format;
    try {
      ({ text, format } = await this.fetchBody());
    } catch (err) {
      return this.fail(start, (err as Error).message);
    }
    if (this.stopped) return this.fail(start, 'stopped');
    const pipeline = this.sink.pipeline();
    this.batch.reset();
    this.aggBatch.reset();
    if (pipeline !== this.pipelineRef) this.newPipeline(pipeline, start);
    const seq = ++this.seq;
    const prev = this.prev;
    const cur = this.cur;
    cur.length = 0;
    const added: Entry[] = [];
    const dropped = new Map<string, number>();
    let scraped = 0;
    let kept = 0;
    const p = new ExpositionParser(text, { format });
    try {
      for (let kind = p.next(); kind !== null; kind = p.next()) {
        if (kind !== 'series') continue;
        scraped++;
        const key = p.seriesKey();
        const guess = prev[cur.length];
        let e = guess !== undefined && guess.gone !== true && guess.key === key ? guess : this.cache.get(key);
        if (e === undefined) {
          let out = pipeline.admitScraped(t.identity, this.merge(p.labels()), start);
          if (out.labels !== null && this.outputs.has(out.labels)) {
            // Another series of this target already has these output labels: sending both would
            // make the receiver refuse the whole request. The first one stays.
            pipeline.releaseScraped(t.identity, 1);
            out = { labels: null, reason: DUPLICATE_SERIES, aggregate: false, forward: false, lastSeen: start };
          }
          e = { key: fresh(key), labels: out.labels, reason: out.reason, aggregate: out.aggregate, forward: out.forward, seen: 0, explicit: false };
          if (e.labels !== null && out.reason !== SERIES_LIMIT) this.outputs.add(e);
          // Over the limit: not remembered, so the series is admitted once room frees up.
          if (out.reason !== SERIES_LIMIT) {
            this.cache.set(e.key, e);
            added.push(e);
          }
        }
        if (e.seen === seq) {
          // The same series twice in one body: Prometheus keeps the first.
          dropped.set(DUPLICATE_SAMPLE, (dropped.get(DUPLICATE_SAMPLE) ?? 0) + 1);
          continue;
        }
        e.seen = seq;
        cur.push(e);
        if (e.labels === null) {
          dropped.set(e.reason, (dropped.get(e.reason) ?? 0) + 1);
          continue;
        }
        const ts = t.job.honor_timestamps ? p.timestamp() : undefined;
        e.explicit = ts !== undefined;
        if (e.forward) this.batch.add(e.labels, p.value(), ts ?? start);
        if (e.aggregate) this.aggBatch.add(e.labels, p.value(), ts ?? start);
        kept++;
      }
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      // Prometheus takes nothing of a body that does not parse: forget what this scrape added, then fail it.
      let admitted = 0;
      for (const e of added) {
        this.cache.delete(e.key);
        this.outputs.delete(e);
        if (e.labels !== null) admitted++;
      }
      pipeline.releaseScraped(t.identity, admitted);
      for (const e of prev) e.seen = seq - 1;
      return this.fail(start, err.message);
    }
    // What the previous scrape had and this one has not is gone: a stale marker, and out of the cache.
    let released = 0;
    let keptGone = false;
    for (const e of prev) {
      if (e.seen === seq) continue;
      if (e.labels !== null) {
        if (e.forward && !e.explicit) this.batch.add(e.labels, STALE_NAN, start);
        released++;
        keptGone = this.outputs.delete(e) || keptGone;
      }
      this.cache.delete(e.key);
    }
    pipeline.releaseScraped(t.identity, released);
    // A series that duplicated one now gone is evaluated again from the next scrape on.
    if (keptGone) {
      for (const e of this.cache.values()) {
        if (e.reason !== DUPLICATE_SERIES) continue;
        e.gone = true;
        this.cache.delete(e.key);
      }
    }
    this.prev = cur;
    this.cur = prev;
    const seriesAdded = added.reduce((n, e) => n + (e.labels === null ? 0 : 1), 0);
    const report: ScrapeReport = { up: true, durationMs: Date.now() - start, scraped, kept, added: seriesAdded };
    this.addReport(report, start);
    this.metrics.scrapes.inc({ job: t.job.job_name, result: 'ok' });
    this.last = report;
    await this.hand({ samplesIn: scraped, kept, dropped });
    return report;
  }

  private async fetchBody(): Promise<{ text: string; format: 'prometheus' | 'openmetrics' }> {
    const t = this.target;
    const headers: Record<string, string> = {
      Accept: SCRAPE_ACCEPT,
      'Accept-Encoding': 'gzip',
      'User-Agent': 'fleetscope-collector',
      'X-Prometheus-Scrape-Timeout-Seconds': String(t.timeoutMs / 1000),
    };
    if (t.job.basic_auth) headers.Authorization = `Basic ${Buffer.from(`${t.job.basic_auth.username}:${t.job.basic_auth.password}`).toString('base64')}`;
    if (t.job.bearer_token) headers.Authorization = `Bearer ${t.job.bearer_token}`;
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(t.timeoutMs)]);
    const res = await fetch(t.url, { headers, signal, redirect: 'follow' });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`server returned HTTP status ${res.status} ${res.statusText}`);
    }
    const limit = t.job.body_size_limit;
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (res.body) {
      for await (const chunk of res.body) {
        size += chunk.byteLength;
        if (limit > 0 && size > limit) {
          await res.body.cancel().catch(() => undefined);
          throw new Error(`body size limit exceeded (${limit} bytes)`);
        }
        chunks.push(chunk);
      }
    }
    return { text: Buffer.concat(chunks).toString('utf8'), format: formatFromContentType(res.headers.get('content-type') ?? undefined) };
  }

  /** A failed scrape: up is 0, and the previous scrape's series are stale. */
  private async fail(start: number, reason: string): Promise<ScrapeReport> {
    const t = this.target;
    const report: ScrapeReport = { up: false, durationMs: Date.now() - start, scraped: 0, kept: 0, added: 0, error: reason };
    this.last = report;
    if (this.stopped) return report;
    this.metrics.scrapes.inc({ job: t.job.job_name, result: 'failed' });
    if (reason !== this.lastError) this.log.warn({ job: t.job.job_name, target: t.url, tenant: t.identity.tenant, site: t.identity.site, reason }, 'scrape failed');
    this.lastError = reason;
    const pipeline = this.sink.pipeline();
    this.batch.reset();
    this.aggBatch.reset();
    if (pipeline !== this.pipelineRef) this.newPipeline(pipeline, start);
    for (const e of this.prev) if (e.labels !== null && e.forward && !e.explicit) this.batch.add(e.labels, STALE_NAN, start);
    pipeline.releaseScraped(t.identity, this.admittedInCache());
    this.cache.clear();
    this.outputs.clear();
    this.prev = [];
    this.addReport(report, start);
    await this.hand({ samplesIn: 0, kept: 0, dropped: new Map() });
    return report;
  }

  /**
   * The rules changed (a reload): cached outputs were made by the old ones.
   * The old outputs are marked stale, and the cache starts afresh.
   */
  private newPipeline(pipeline: PushPipeline, now: number): void {
    for (const e of this.prev) if (e.labels !== null && e.forward && !e.explicit) this.batch.add(e.labels, STALE_NAN, now);
    // The old pipeline's counts went with it.
    this.cache.clear();
    this.outputs.clear();
    this.prev = [];
    this.pipelineRef = pipeline;
    this.report = REPORT_NAMES.map((name) => {
      const b = this.builder.reset(this.target.labels);
      b.set('__name__', name);
      return pipeline.encodeReport(this.target.identity, b.labels());
    });
  }

  private admittedInCache(): number {
    let n = 0;
    for (const e of this.cache.values()) if (e.labels !== null) n++;
    return n;
  }

  private addReport(r: ScrapeReport, at: number): void {
    const [up, duration, scraped, post, added] = this.report as [Buffer, Buffer, Buffer, Buffer, Buffer];
    this.batch.add(up, r.up ? 1 : 0, at);
    this.batch.add(duration, r.durationMs / 1000, at);
    this.batch.add(scraped, r.scraped, at);
    this.batch.add(post, r.kept, at);
    this.batch.add(added, r.added, at);
    this.reported = true;
  }

  /** Target labels onto a scraped series, as Prometheus's mutateSampleLabels does. */
  private merge(scraped: Labels): Labels {
    const b = this.builder.reset(scraped);
    const target = this.target.labels;
    if (this.target.job.honor_labels) {
      for (let i = 0; i < target.length; i += 2) if (b.get(target[i] as string) === '') b.set(target[i] as string, target[i + 1] as string);
      return b.labels();
    }
    // A scraped label that a target label would overwrite is kept as exported_<name> (exported_exported_<name> if that is taken too).
    for (let i = 0; i < target.length; i += 2) {
      const name = target[i] as string;
      const existing = b.get(name);
      if (existing !== '') {
        let exported = `exported_${name}`;
        while (b.get(exported) !== '') exported = `exported_${exported}`;
        b.set(exported, existing);
      }
    }
    for (let i = 0; i < target.length; i += 2) b.set(target[i] as string, target[i + 1] as string);
    return b.labels();
  }

  private async hand(counts: { samplesIn: number; kept: number; dropped: Map<string, number> }): Promise<void> {
    const agg = this.aggBatch;
    const aggregate = agg.sampleCount > 0 && this.pipelineRef !== null
      ? { pipelineKey: this.pipelineRef.pipelineFor(this.target.identity).key, body: Buffer.from(agg.finish()), samples: agg.sampleCount }
      : undefined;
    agg.reset();
    const result: PushResult = { body: Buffer.from(this.batch.finish()), samplesIn: counts.samplesIn, samplesOut: this.batch.sampleCount, dropped: counts.dropped, newSeries: 0, ...(aggregate ? { aggregate } : {}) };
    const outcome = await this.sink.accept(this.target.identity, result);
    if (!outcome.ok) {
      // Nobody to answer with a 503: the scrape's samples are lost, and counted as such.
      this.metrics.samplesDropped.inc({ tenant: this.target.identity.tenant, site: this.target.identity.site, reason: 'queue_error' }, result.samplesOut);
    }
  }
}
