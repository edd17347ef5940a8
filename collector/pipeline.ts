// The per-sample path of a push: a remote-write request from one
// authenticated site becomes one WriteRequest body for its tenant, with the
// tenant's (or its site group's) filter and relabel rules applied, the
// identity labels set from the sender, never from the payload, and the
// site's active-series limit enforced. Every drop is counted by reason.
//
// What does not change between sends is cached per site, keyed by the
// series' raw label bytes: the relabeled, encoded output labels, or the
// decision to drop. Agents send the same series in the same order every
// time, so each series is first compared (memcmp, no hashing) with the one
// at its position in the site's previous request; only when that differs is
// it looked up by a CRC-32 of its label bytes, and every candidate is
// compared byte for byte, so a hash collision never mixes two series up.
// The kept series are written straight into a snappy block
// (RemoteWriteSnappyBatch): the sender forwards it without compressing again.
import { crc32 } from 'node:zlib';
import { DropReason, LabelsBuilder, type Labels, getLabel } from '../relabel/index.js';
import { OutputIndex } from './output-index.js';
import { RemoteWriteBatch, type RemoteWriteLimits, type RemoteWriteReader, RemoteWriteSnappyBatch, encodeLabels } from '../wire/index.js';
import type { CollectorConfig, CompiledPipeline, LoadedConfig } from './config.js';

export interface Identity {
  readonly tenant: string;
  readonly site: string;
  readonly group?: string | undefined;
}

export const SERIES_LIMIT = 'series_limit';
/**
 * A new series whose output labels (after rules, external and identity
 * labels) are those of another series of the site: sending both would make
 * a receiver refuse the whole request (Prometheus and Cortex answer 400 to a
 * duplicate series), which would drop every other site's samples with it.
 */
export const DUPLICATE_SERIES = 'duplicate_series';

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

/**
 * A pushed series the site's cache knows: its input label bytes, what they
 * became, its CRC chain. Most pipelines only add labels (external, tenant,
 * site) or drop some: then the input's Label fields are all in the output,
 * in order, and the input is kept as up to three spans of the output rather
 * than as a copy, which halves what a series costs in memory.
 */
class KnownSeries implements Entry {
  /** Another series whose label bytes have the same CRC-32. */
  next: KnownSeries | null = null;
  /** Swept: no longer in the site's index (a stale position may still point at it). */
  gone = false;
  /** The input is these spans of `source` (the output labels), or all of `source` when spans is 0. */
  private readonly source: Buffer;
  private readonly inputLength: number;
  private readonly spans: number;
  private readonly s0: number;
  private readonly e0: number;
  private readonly s1: number;
  private readonly e1: number;
  private readonly s2: number;
  private readonly e2: number;

  constructor(
    input: Buffer,
    readonly hash: number,
    readonly labels: Buffer | null,
    readonly reason: string,
    readonly aggregate: boolean,
    readonly forward: boolean,
    public lastSeen: number,
  ) {
    const spans = labels === null ? null : spansIn(input, labels);
    this.inputLength = input.length;
    if (spans === null || labels === null) {
      this.source = Buffer.from(input);
      this.spans = 0;
      this.s0 = this.e0 = this.s1 = this.e1 = this.s2 = this.e2 = 0;
    } else {
      this.source = labels;
      this.spans = spans.length / 2;
      this.s0 = spans[0] ?? 0;
      this.e0 = spans[1] ?? 0;
      this.s1 = spans[2] ?? 0;
      this.e1 = spans[3] ?? 0;
      this.s2 = spans[4] ?? 0;
      this.e2 = spans[5] ?? 0;
    }
  }

  /** Whether these are its label bytes. */
  is(buf: Buffer, start: number, end: number): boolean {
    const len = end - start;
    if (this.inputLength !== len) return false;
    const src = this.source;
    if (this.spans === 0) return buf.compare(src, 0, len, start, end) === 0;
    let at = start + this.e0 - this.s0;
    if (buf.compare(src, this.s0, this.e0, start, at) !== 0) return false;
    if (this.spans === 1) return true;
    const next = at + this.e1 - this.s1;
    if (buf.compare(src, this.s1, this.e1, at, next) !== 0) return false;
    if (this.spans === 2) return true;
    at = next;
    return buf.compare(src, this.s2, this.e2, at, end) === 0;
  }
}

/** The end of the Label field (tag 0x0a, length, message) at `p`, or -1 when there is none. */
function fieldEnd(b: Buffer, p: number, end: number): number {
  if (p >= end || b[p] !== 0x0a) return -1;
  let len = 0;
  let mul = 1;
  for (let i = p + 1; i < end && i < p + 6; i++) {
    const x = b[i] as number;
    len += (x & 0x7f) * mul;
    if (x < 0x80) return i + 1 + len <= end ? i + 1 + len : -1;
    mul *= 128;
  }
  return -1;
}

/**
 * Where the input's Label fields are in the output, as [start, end) spans
 * of it (at most three), when every input field is there, in order; null
 * otherwise (a rule changed or removed one, or they are scattered).
 */
function spansIn(input: Buffer, output: Buffer): number[] | null {
  const spans: number[] = [];
  let ip = 0;
  let op = 0;
  while (ip < input.length) {
    const ie = fieldEnd(input, ip, input.length);
    if (ie < 0) return null;
    const n = ie - ip;
    // The next output field with the same bytes.
    for (;;) {
      const oe = fieldEnd(output, op, output.length);
      if (oe < 0) return null;
      if (oe - op === n && input.compare(output, op, oe, ip, ie) === 0) break;
      op = oe;
    }
    if (spans.length > 0 && spans[spans.length - 1] === op) spans[spans.length - 1] = op + n;
    else {
      if (spans.length === 6) return null;
      spans.push(op, op + n);
    }
    op += n;
    ip = ie;
  }
  return spans.length === 0 ? null : spans;
}

/** Series by the CRC-32 of their label bytes, chained on collision. */
type SeriesIndex = Map<number, KnownSeries>;

function lookup(index: SeriesIndex, hash: number, buf: Buffer, start: number, end: number): KnownSeries | undefined {
  for (let e = index.get(hash) ?? null; e !== null; e = e.next) if (e.is(buf, start, end)) return e;
  return undefined;
}

function insert(index: SeriesIndex, e: KnownSeries): void {
  e.next = index.get(e.hash) ?? null;
  index.set(e.hash, e);
}

interface SiteState {
  readonly index: SeriesIndex;
  /** The kept series by their output labels: what tells a duplicate. */
  readonly outputs: OutputIndex<KnownSeries>;
  /** Series remembered (kept or dropped). */
  size: number;
  active: number;
  /** The series of the site's last request, by position (undefined where one was not remembered). */
  order: (KnownSeries | undefined)[];
}

export interface PushResult {
  /** The tenant's WriteRequest body; empty when nothing survived. A snappy block when `snappy`, else uncompressed. */
  readonly body: Buffer;
  readonly snappy?: boolean;
  readonly samplesIn: number;
  readonly samplesOut: number;
  /** What pre-aggregation takes (a WriteRequest body, uncompressed), under `pipelineKey`. */
  readonly aggregate?: { readonly pipelineKey: string; readonly body: Buffer; readonly samples: number };
  /** Samples dropped, by reason. */
  readonly dropped: ReadonlyMap<string, number>;
  /** Series newly seen in this request. */
  readonly newSeries: number;
}

const EMPTY = Buffer.alloc(0);

export class PushPipeline {
  private readonly sites = new Map<string, SiteState>();
  private readonly builder = new LabelsBuilder();
  private readonly batch = new RemoteWriteSnappyBatch({ initialBytes: 256 * 1024 });
  private readonly aggBatch = new RemoteWriteBatch();
  private readonly external: readonly [string, string][];
  /** The positions being filled by the request in progress; swapped with the site's when it is done. */
  private nextOrder: (KnownSeries | undefined)[] = [];

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
    const fresh: SeriesIndex = new Map();
    const freshOutputs = new OutputIndex<KnownSeries>();
    let freshCount = 0;
    const order = site.order;
    const nextOrder = this.nextOrder;
    let position = 0;
    let samplesIn = 0;
    let admitted = 0;
    const body = reader.buffer;
    while (reader.next()) {
      const n = reader.sampleCount();
      samplesIn += n;
      let buf = body;
      let start = reader.labelsStart();
      let end = reader.labelsEnd();
      if (start < 0) {
        // No labels, or fields between them: the label fields, joined.
        buf = end < 0 ? EMPTY : Buffer.from(reader.labelsKey(), 'latin1');
        start = 0;
        end = buf.length;
      }
      let entry = order[position];
      if (entry === undefined || entry.gone || !entry.is(buf, start, end)) {
        const hash = crc32(buf.subarray(start, end));
        entry = lookup(site.index, hash, buf, start, end) ?? lookup(fresh, hash, buf, start, end);
        if (entry === undefined) {
          let e = this.evaluate(id, pipeline, reader.labels(), now);
          if (e.labels !== null && (site.outputs.has(e.labels) || freshOutputs.has(e.labels))) {
            e = { labels: null, reason: DUPLICATE_SERIES, aggregate: false, forward: false, lastSeen: now };
          }
          if (e.labels !== null && site.active + admitted >= pipeline.seriesLimit) {
            // Over the limit: not remembered, so the series is admitted once room frees up.
            dropped.set(SERIES_LIMIT, (dropped.get(SERIES_LIMIT) ?? 0) + n);
            nextOrder[position++] = undefined;
            continue;
          }
          if (e.labels !== null) admitted++;
          entry = new KnownSeries(buf.subarray(start, end), hash, e.labels, e.reason, e.aggregate, e.forward, now);
          // Dropped series are remembered too, but within a bound: a site cannot grow memory
          // without limit by sending endless distinct names that the filter drops anyway.
          if (e.labels !== null || site.size + freshCount < pipeline.seriesLimit * 4) {
            insert(fresh, entry);
            freshCount++;
            if (e.labels !== null) freshOutputs.add(entry);
          }
        } else {
          entry.lastSeen = now;
        }
      } else {
        entry.lastSeen = now;
      }
      nextOrder[position++] = entry;
      if (entry.labels === null) {
        dropped.set(entry.reason, (dropped.get(entry.reason) ?? 0) + n);
        continue;
      }
      if (n === 0) continue;
      if (entry.forward) batch.addFromReader(entry.labels, reader);
      if (entry.aggregate) agg.addFromReader(entry.labels, reader);
    }
    for (const head of fresh.values()) {
      for (let e: KnownSeries | null = head; e !== null;) {
        const following: KnownSeries | null = e.next;
        insert(site.index, e);
        if (e.labels !== null) site.outputs.add(e);
        e = following;
      }
    }
    site.size += freshCount;
    site.active += admitted;
    // This request's positions become the site's; the old array is reused for the next request.
    nextOrder.length = position;
    site.order = nextOrder;
    order.length = 0;
    this.nextOrder = order;
    const aggregate = agg.sampleCount > 0 ? { pipelineKey: pipeline.key, body: Buffer.from(agg.finish()), samples: agg.sampleCount } : undefined;
    const samplesOut = batch.sampleCount;
    return { body: samplesOut === 0 ? EMPTY : Buffer.from(batch.finish()), snappy: true, samplesIn, samplesOut, dropped, newSeries: freshCount, ...(aggregate ? { aggregate } : {}) };
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
      site = { index: new Map(), outputs: new OutputIndex(), size: 0, active: 0, order: [] };
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
      let keptGone = false;
      for (const e of this.forget(site, (x) => now - x.lastSeen > this.idleMs)) {
        removed++;
        if (e.labels === null) continue;
        site.active--;
        site.outputs.delete(e);
        keptGone = true;
      }
      // The series dropped as duplicates are evaluated again by the next push: one of them may now be the only one.
      if (keptGone) removed += this.forget(site, (x) => x.reason === DUPLICATE_SERIES).length;
    }
    return removed;
  }

  /** Takes the series `leaves` picks out of the site's index, marked gone (a stale position may still point at one); returns them. */
  private forget(site: SiteState, leaves: (e: KnownSeries) => boolean): KnownSeries[] {
    const out: KnownSeries[] = [];
    for (const [hash, head] of site.index) {
      let keep: KnownSeries | null = null;
      for (let e: KnownSeries | null = head; e !== null;) {
        const following: KnownSeries | null = e.next;
        if (leaves(e)) {
          e.gone = true;
          e.next = null;
          out.push(e);
        } else {
          e.next = keep;
          keep = e;
        }
        e = following;
      }
      if (keep === null) site.index.delete(hash);
      else site.index.set(hash, keep);
    }
    site.size -= out.length;
    return out;
  }

  /** Series (kept or dropped) remembered for a site. */
  cachedSeries(tenant: string, site: string): number {
    return this.sites.get(`${tenant}\u0000${site}`)?.size ?? 0;
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

/**
 * The push pipeline a loaded config describes (external labels, with the HA
 * ones when set); new, so its series caches start empty: cached outputs were
 * made by whatever rules came before.
 */
export function pushPipelineOf(loaded: LoadedConfig): PushPipeline {
  const c = loaded.config;
  return new PushPipeline(loaded.pipelines, c.ha ? { ...c.external_labels, cluster: c.ha.cluster, __replica__: c.ha.replica } : c.external_labels, c.series_idle_timeout);
}

/** The request limits a push is read with. */
export function readerLimitsOf(config: CollectorConfig): Partial<RemoteWriteLimits> {
  const l = config.limits;
  return {
    maxSeries: l.max_series_per_request,
    maxLabelsPerSeries: l.max_labels_per_series,
    maxLabelNameLength: l.max_label_name_length,
    maxLabelValueLength: l.max_label_value_length,
    maxSamplesPerSeries: l.max_samples_per_series,
  };
}

