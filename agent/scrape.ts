// One scrape target: fetch its exposition (timeout, body limit), parse it
// with wire/'s cursor, and write its samples into a remote-write body.
//
// What does not change between scrapes is computed once per series and
// cached by the series' raw text (ExpositionParser.seriesKey()): the target
// labels merged in, the edge filter and metric_relabel_configs applied, the
// external labels added, and the result encoded as remote-write label bytes
// (or "dropped", so that a dropped series costs one map lookup). A steady
// scrape of known series is then parse, one lookup and one append per sample.
//
// Like Prometheus (scrape/scrape.go): `up`, `scrape_duration_seconds`,
// `scrape_samples_scraped`, `scrape_samples_post_metric_relabeling` and
// `scrape_series_added` per scrape; a series that was in the last scrape
// and is not in this one gets a staleness marker (StaleNaN) at this scrape's
// timestamp, as do all of them when a scrape fails. Series with explicit
// timestamps get none (Prometheus does the same).
import type { LabelsBuilder, MetricFilter, Relabeler } from '../relabel/index.js';
import { LabelsBuilder as Builder } from '../relabel/index.js';
import { httpRequest } from './http.js';
import { ExpositionParser, RemoteWriteSnappyBatch, STALE_NAN, encodeLabels, formatFromContentType } from '../wire/index.js';

/** What Prometheus 2.42 sends as Accept when scraping. */
export const SCRAPE_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/** Why a series or a scrape's samples were not sent; counted by these. */
export const ScrapeDrop = {
  notAllowed: 'not_in_allowlist',
  denied: 'in_denylist',
  rule: 'relabel_rule',
  emptyName: 'relabel_empty_name',
  duplicate: 'duplicate_series',
  sampleLimit: 'sample_limit',
} as const;

/** Where a body comes from: an HTTP target, or the agent's own registry. */
export type BodySource = (signal: AbortSignal) => Promise<{ body: string; contentType: string | undefined }>;

export interface TargetOptions {
  readonly job: string;
  /** The `instance` label (host:port of the URL for HTTP targets). */
  readonly instance: string;
  readonly source: BodySource;
  readonly timeoutMs: number;
  /** The target's config `labels`. */
  readonly targetLabels: Readonly<Record<string, string>>;
  readonly externalLabels: Readonly<Record<string, string>>;
  readonly honorLabels: boolean;
  readonly honorTimestamps: boolean;
  readonly sampleLimit: number;
  readonly filter: MetricFilter;
  readonly relabeler: Relabeler;
}

export interface ScrapeResult {
  readonly up: boolean;
  /** The remote-write body (snappy) of this scrape; a copy the caller owns. */
  readonly body: Buffer;
  readonly samples: number;
  readonly scraped: number;
  readonly postRelabel: number;
  readonly seriesAdded: number;
  readonly staleMarkers: number;
  readonly error: string | undefined;
  /** Series dropped in this scrape, by ScrapeDrop reason (new series only are counted once; known drops each scrape). */
  readonly dropped: Readonly<Record<string, number>>;
}

interface SeriesEntry {
  /** Remote-write label bytes, or null when the series is dropped. */
  readonly bytes: Buffer | null;
  readonly dropReason: string;
  /** The scrape generation that last saw it. */
  gen: number;
  /** The successful scrape generation that last sent it. */
  sentGen: number;
  /** Whether its last sample carried its own timestamp (then no staleness marker). */
  explicitTs: boolean;
}

/** An HTTP exposition source, with the headers Prometheus sends. */
export function httpSource(url: string, timeoutMs: number, bodyLimit: number): BodySource {
  const headers = { Accept: SCRAPE_ACCEPT, 'User-Agent': 'fleetscope-agent/0.1.0', 'X-Prometheus-Scrape-Timeout-Seconds': String(timeoutMs / 1000) };
  // The body is read into one buffer reused from scrape to scrape.
  const scratch = { buf: Buffer.allocUnsafe(64 * 1024) };
  return async (signal) => {
    const res = await httpRequest(url, { headers, signal, timeoutMs: timeoutMs + 1000, maxBytes: bodyLimit, scratch });
    if (res.status !== 200) throw new Error(`server returned HTTP status ${res.status}`);
    const body = res.text();
    if (scratch.buf.length > 4 * bodyLimit) scratch.buf = Buffer.allocUnsafe(64 * 1024);
    return { body, contentType: res.header('content-type') };
  };
}

/** host:port of a URL, with the scheme's default port, as Prometheus's `instance`. */
export function instanceOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
}

/** A copy of a string that shares no memory with the body it was sliced from. */
function detach(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/** Most series a target's cache holds; past it new series are not cached (still sent), so a churning target cannot grow memory without bound. */
const MAX_CACHED_SERIES = 200_000;

export class TargetScraper {
  private readonly cache = new Map<string, SeriesEntry>();
  private readonly batch = new RemoteWriteSnappyBatch({ initialBytes: 256 * 1024 });
  private readonly builder: LabelsBuilder = new Builder();
  private gen = 0;
  /** The generation of the last successful scrape; 0 after a failure (its series are already marked stale). */
  private lastOkGen = 0;
  /** Label bytes of the five report series, built once. */
  private readonly report: { up: Buffer; duration: Buffer; scraped: Buffer; post: Buffer; added: Buffer };
  /** Target labels sorted once, flat. */
  private readonly targetPairs: readonly string[];

  constructor(readonly opts: TargetOptions) {
    const base: Record<string, string> = { ...opts.targetLabels, job: opts.job, instance: opts.instance };
    this.targetPairs = Object.entries(base).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flat();
    const reportLabels = (name: string): Buffer => {
      const b = new Builder().reset(this.targetPairs);
      b.set('__name__', name);
      return encodeLabels(this.withExternal(b.labels()));
    };
    this.report = {
      up: reportLabels('up'),
      duration: reportLabels('scrape_duration_seconds'),
      scraped: reportLabels('scrape_samples_scraped'),
      post: reportLabels('scrape_samples_post_metric_relabeling'),
      added: reportLabels('scrape_series_added'),
    };
  }

  /** Series currently cached (kept and dropped). */
  get cachedSeries(): number {
    return this.cache.size;
  }

  /** Scrapes once; `nowMs` is the scrape's timestamp. Never throws: a failed scrape is up=0. */
  async scrape(nowMs: number): Promise<ScrapeResult> {
    const started = performance.now();
    const gen = ++this.gen;
    const batch = this.batch;
    batch.reset();
    const dropped: Record<string, number> = {};
    let scraped = 0;
    let post = 0;
    let added = 0;
    let error: string | undefined;
    try {
      const { body, contentType } = await this.opts.source(AbortSignal.timeout(this.opts.timeoutMs));
      const parser = new ExpositionParser(body, { format: formatFromContentType(contentType) });
      const honorTs = this.opts.honorTimestamps;
      const limit = this.opts.sampleLimit;
      for (let kind = parser.next(); kind !== null; kind = parser.next()) {
        if (kind !== 'series') continue;
        scraped++;
        const key = parser.seriesKey();
        let entry = this.cache.get(key);
        if (entry === undefined) {
          entry = this.compile(parser);
          if (entry.bytes !== null) added++;
          if (this.cache.size < MAX_CACHED_SERIES) this.cache.set(detach(key), entry);
        } else if (entry.gen === gen) {
          dropped[ScrapeDrop.duplicate] = (dropped[ScrapeDrop.duplicate] ?? 0) + 1;
          continue;
        }
        entry.gen = gen;
        if (entry.bytes === null) {
          dropped[entry.dropReason] = (dropped[entry.dropReason] ?? 0) + 1;
          continue;
        }
        const ts = honorTs ? parser.timestamp() : undefined;
        entry.explicitTs = ts !== undefined;
        if (limit > 0 && post >= limit) throw new SampleLimitError(limit);
        batch.add(entry.bytes, parser.value(), ts ?? nowMs);
        post++;
      }
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      if (err instanceof SampleLimitError) dropped[ScrapeDrop.sampleLimit] = post;
      // A failed scrape sends nothing of what it read: Prometheus discards it whole.
      batch.reset();
      post = 0;
      added = 0;
    }
    // Staleness: what the last successful scrape sent and this one does not
    // (all of it when this one failed). Entries unseen are forgotten.
    let stale = 0;
    const last = this.lastOkGen;
    const ok = error === undefined;
    for (const [key, e] of this.cache) {
      const seen = ok && e.gen === gen;
      if (seen) {
        if (e.bytes !== null) e.sentGen = gen;
        continue;
      }
      if (last > 0 && e.sentGen === last && e.bytes !== null && !e.explicitTs) {
        batch.add(e.bytes, STALE_NAN, nowMs);
        stale++;
      }
      if (ok) this.cache.delete(key);
    }
    this.lastOkGen = ok ? gen : 0;
    const up = error === undefined;
    const r = this.report;
    batch.add(r.up, up ? 1 : 0, nowMs);
    batch.add(r.duration, (performance.now() - started) / 1000, nowMs);
    batch.add(r.scraped, scraped, nowMs);
    batch.add(r.post, post, nowMs);
    batch.add(r.added, added, nowMs);
    const samples = batch.sampleCount;
    return { up, body: Buffer.from(batch.finish()), samples, scraped, postRelabel: post, seriesAdded: added, staleMarkers: stale, error, dropped };
  }

  /**
   * The target is gone (discovery removed it): staleness markers at `nowMs`
   * for everything its last successful scrape sent, report series included,
   * as Prometheus's scrape loop does when it stops (endOfRunStaleness). Null
   * when there is nothing to mark. The scraper is not used afterwards.
   */
  finish(nowMs: number): { body: Buffer; samples: number } | null {
    const batch = this.batch;
    batch.reset();
    const last = this.lastOkGen;
    if (last > 0) for (const e of this.cache.values()) if (e.sentGen === last && e.bytes !== null && !e.explicitTs) batch.add(e.bytes, STALE_NAN, nowMs);
    if (this.gen > 0) for (const b of [this.report.up, this.report.duration, this.report.scraped, this.report.post, this.report.added]) batch.add(b, STALE_NAN, nowMs);
    this.cache.clear();
    const samples = batch.sampleCount;
    return samples === 0 ? null : { body: Buffer.from(batch.finish()), samples };
  }

  /** External labels are added where a series lacks them, after relabeling (as Prometheus's remote write does). */
  private withExternal(labels: readonly string[]): readonly string[] {
    const ext = this.opts.externalLabels;
    const names = Object.keys(ext);
    if (names.length === 0) return labels;
    const b = new Builder().reset(labels);
    for (const name of names) if (b.get(name) === '') b.set(name, ext[name] as string);
    return b.labels();
  }

  /** The cache entry of a series seen for the first time. */
  private compile(parser: ExpositionParser): SeriesEntry {
    const { filter, relabeler, honorLabels } = this.opts;
    let labels: readonly string[] = parser.labels();
    // Target labels, as Prometheus's mutateSampleLabels: a scraped label that
    // clashes is kept as exported_<name> unless honor_labels.
    const b = this.builder.reset(labels);
    const t = this.targetPairs;
    for (let i = 0; i < t.length; i += 2) {
      const name = t[i] as string;
      const value = t[i + 1] as string;
      const have = b.get(name);
      if (have !== '') {
        if (honorLabels) continue;
        b.set(`exported_${name}`, have);
      }
      b.set(name, value);
    }
    labels = b.labels();
    const filtered = filter.apply(labels);
    if (filtered === null) return { bytes: null, dropReason: filter.dropReason, gen: 0, sentGen: 0, explicitTs: false };
    const relabeled = relabeler.length === 0 ? filtered : relabeler.process(filtered);
    if (relabeled === null) return { bytes: null, dropReason: relabeler.dropReason, gen: 0, sentGen: 0, explicitTs: false };
    // Detach: labels() slices the body, and the cache outlives it.
    return { bytes: encodeLabels(this.withExternal(relabeled).map(detach)), dropReason: '', gen: 0, sentGen: 0, explicitTs: false };
  }
}

class SampleLimitError extends Error {
  constructor(limit: number) {
    super(`sample_limit of ${limit} exceeded`);
  }
}
