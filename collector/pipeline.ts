// The per-sample path of a push: a remote-write request from one
// authenticated site becomes one WriteRequest body for its tenant, with the
// tenant's (or its site group's) filter and relabel rules applied, the
// identity labels set from the sender, never from the payload, and the
// site's active-series limit enforced. Every drop is counted by reason.
//
// What does not change between sends is cached per site by the series' raw
// label bytes (RemoteWriteReader.labelsKey): the relabeled, encoded output
// labels, or the decision to drop. A known series costs a map lookup.
import { DropReason, LabelsBuilder, type Labels, getLabel } from '../relabel/index.js';
import { RemoteWriteBatch, type RemoteWriteReader, encodeLabels } from '../wire/index.js';
import type { CompiledPipeline } from './config.js';

export interface Identity {
  readonly tenant: string;
  readonly site: string;
  readonly group?: string | undefined;
}

export const SERIES_LIMIT = 'series_limit';

export interface Entry {
  /** Encoded output labels, or null when the series is dropped. */
  readonly labels: Buffer | null;
  readonly reason: string;
  /** A pre-aggregation rule takes it. */
  readonly aggregate: boolean;
  /** It also goes on as it is (no rule took it, or one keeps its input). */
  readonly forward: boolean;
  lastSeen: number;
}

interface SiteState {
  readonly cache: Map<string, Entry>;
  active: number;
}

export interface PushResult {
  /** The tenant's WriteRequest body (uncompressed); empty when nothing survived. */
  readonly body: Buffer;
  readonly samplesIn: number;
  readonly samplesOut: number;
  /** What pre-aggregation takes (a WriteRequest body, uncompressed), under `pipelineKey`. */
  readonly aggregate?: { readonly pipelineKey: string; readonly body: Buffer; readonly samples: number };
  /** Samples dropped, by reason. */
  readonly dropped: ReadonlyMap<string, number>;
  /** Series newly seen in this request. */
  readonly newSeries: number;
}

export class PushPipeline {
  private readonly sites = new Map<string, SiteState>();
  private readonly builder = new LabelsBuilder();
  private readonly batch = new RemoteWriteBatch();
  private readonly aggBatch = new RemoteWriteBatch();
  private readonly external: readonly [string, string][];

  constructor(
    private readonly pipelines: ReadonlyMap<string, CompiledPipeline>,
    externalLabels: Readonly<Record<string, string>>,
    private readonly idleMs: number,
  ) {
    this.external = Object.entries(externalLabels);
  }

  /**
   * Runs one request through the pipeline. Throws (WireError) on a malformed
   * or invalid request, in which case nothing of it is taken in: the site's
   * cache and counts change only when the whole request is good.
   */
  process(id: Identity, reader: RemoteWriteReader, now: number): PushResult {
    const pipeline = this.pipelineFor(id);
    const site = this.siteFor(id);
    const batch = this.batch;
    batch.reset();
    const agg = this.aggBatch;
    agg.reset();
    const dropped = new Map<string, number>();
    // Series first seen in this request join the site's cache only once the whole request is read.
    const fresh = new Map<string, Entry>();
    let samplesIn = 0;
    let admitted = 0;
    while (reader.next()) {
      const n = reader.sampleCount();
      samplesIn += n;
      const key = reader.labelsKey();
      let entry = site.cache.get(key) ?? fresh.get(key);
      if (entry === undefined) {
        entry = this.evaluate(id, pipeline, reader.labels(), now);
        if (entry.labels !== null && site.active + admitted >= pipeline.seriesLimit) {
          // Over the limit: not remembered, so the series is admitted once room frees up.
          dropped.set(SERIES_LIMIT, (dropped.get(SERIES_LIMIT) ?? 0) + n);
          continue;
        }
        if (entry.labels !== null) admitted++;
        // Dropped series are remembered too, but within a bound: a site cannot grow memory
        // without limit by sending endless distinct names that the filter drops anyway.
        if (entry.labels !== null || site.cache.size + fresh.size < pipeline.seriesLimit * 4) fresh.set(key, entry);
      } else {
        entry.lastSeen = now;
      }
      if (entry.labels === null) {
        dropped.set(entry.reason, (dropped.get(entry.reason) ?? 0) + n);
        continue;
      }
      if (n === 0) continue;
      if (entry.forward) batch.addFromReader(entry.labels, reader);
      if (entry.aggregate) agg.addFromReader(entry.labels, reader);
    }
    for (const [key, entry] of fresh) site.cache.set(key, entry);
    site.active += admitted;
    const aggregate = agg.sampleCount > 0 ? { pipelineKey: pipeline.key, body: Buffer.from(agg.finish()), samples: agg.sampleCount } : undefined;
    return { body: Buffer.from(batch.finish()), samplesIn, samplesOut: batch.sampleCount, dropped, newSeries: fresh.size, ...(aggregate ? { aggregate } : {}) };
  }

  /** The compiled pipeline of an identity: its group's, else its tenant's. */
  pipelineFor(id: Identity): CompiledPipeline {
    const pipeline = (id.group === undefined ? undefined : this.pipelines.get(`${id.tenant}/${id.group}`)) ?? this.pipelines.get(id.tenant);
    if (pipeline === undefined) throw new Error(`no pipeline for tenant ${id.tenant}`);
    return pipeline;
  }

  private siteFor(id: Identity): SiteState {
    const siteKey = `${id.tenant}\u0000${id.site}`;
    let site = this.sites.get(siteKey);
    if (!site) {
      site = { cache: new Map(), active: 0 };
      this.sites.set(siteKey, site);
    }
    return site;
  }

  /**
   * A scraped series seen for the first time (its target labels already
   * merged): its encoded output labels, or null and why it is dropped. An
   * admitted series counts against the site's limit (as pushed ones do)
   * until releaseScraped(); the scrape loop keeps its own cache.
   */
  admitScraped(id: Identity, labels: Labels, now: number): Entry {
    const pipeline = this.pipelineFor(id);
    const entry = this.evaluate(id, pipeline, labels, now);
    if (entry.labels === null) return entry;
    const site = this.siteFor(id);
    if (site.active >= pipeline.seriesLimit) return { labels: null, reason: SERIES_LIMIT, aggregate: false, forward: false, lastSeen: now };
    site.active++;
    return entry;
  }

  /** Scraped series that went away (stale, or their target did): they stop counting against the limit. */
  releaseScraped(id: Identity, n: number): void {
    if (n > 0) this.siteFor(id).active -= n;
  }

  /** Labels that skip the rules (a scrape's `up` and `scrape_*` series): external and identity labels added, encoded. */
  encodeReport(id: Identity, labels: Labels): Buffer {
    const b = this.builder.reset(labels);
    for (const [name, value] of this.external) b.set(name, value);
    b.set('tenant', id.tenant);
    b.set('site', id.site);
    return encodeLabels(b.labels());
  }

  /** Forgets series not seen for the idle timeout, so they stop counting against the limit. */
  sweep(now: number): number {
    let removed = 0;
    for (const site of this.sites.values()) {
      for (const [key, e] of site.cache) {
        if (now - e.lastSeen <= this.idleMs) continue;
        site.cache.delete(key);
        if (e.labels !== null) site.active--;
        removed++;
      }
    }
    return removed;
  }

  /** Series (kept or dropped) remembered for a site. */
  cachedSeries(tenant: string, site: string): number {
    return this.sites.get(`${tenant}\u0000${site}`)?.cache.size ?? 0;
  }

  /** Active (admitted, not idle) series per site, as "tenant/site". */
  activeSeries(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, s] of this.sites) out.set(k.replace('\u0000', '/'), s.active);
    return out;
  }

  private evaluate(id: Identity, p: CompiledPipeline, labels: Labels, now: number): Entry {
    const filtered = p.filter.apply(labels);
    if (filtered === null) return { labels: null, reason: p.filter.dropReason, aggregate: false, forward: false, lastSeen: now };
    const out = p.relabeler.process(filtered);
    if (out === null) return { labels: null, reason: p.relabeler.dropReason || DropReason.rule, aggregate: false, forward: false, lastSeen: now };
    let aggregate = false;
    let keepInput = false;
    if (p.aggregations.length > 0) {
      const name = getLabel(out, '__name__');
      for (const r of p.aggregations) {
        if (!r.matches(name)) continue;
        aggregate = true;
        if (r.keepInput) keepInput = true;
      }
    }
    const forward = !aggregate || keepInput;
    // External labels, then identity: the sender's identity overrides whatever the payload or rules said.
    const b = this.builder.reset(out);
    for (const [name, value] of this.external) b.set(name, value);
    b.set('tenant', id.tenant);
    b.set('site', id.site);
    return { labels: encodeLabels(b.labels()), reason: '', aggregate, forward, lastSeen: now };
  }
}
