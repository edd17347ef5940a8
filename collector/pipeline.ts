// The per-sample path of a push: a remote-write request from one
// authenticated site becomes one WriteRequest body for its tenant, with the
// tenant's (or its site group's) filter and relabel rules applied, the
// identity labels set from the sender, never from the payload, and the
// site's active-series limit enforced. Every drop is counted by reason.
//
// What does not change between sends is remembered per site (series-table.ts):
// per series a 64-bit hash of its label bytes, the decision, and its output
// as ids plus a shared shape, with no label bytes. Agents send the same
// series in the same order every time, so each series is first checked
// against the one at its position in the site's previous request, and
// looked up by its hash only when that differs. The kept series are written
// straight into a snappy block (RemoteWriteSnappyBatch) from the request's
// own bytes and the site's constant fields: the sender forwards it without
// compressing again.
import { DropReason, LabelsBuilder, type Labels, getLabel } from '../relabel/index.js';
import { RemoteWriteBatch, type RemoteWriteLimits, type RemoteWriteReader, RemoteWriteSnappyBatch, SeriesFields, encodeLabels, labelFieldEnd } from '../wire/index.js';
import type { CollectorConfig, CompiledPipeline, LoadedConfig } from './config.js';
import { AGGREGATE, FORWARD, KEPT, type Recipe, SiteSeries, hashHigh, hashLabels, reasonNumber, reasonOf, seenSecond } from './series-table.js';

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
const NOT_REMEMBERED = -1;

/** The Label fields of encoded label bytes, as [start, end) pairs. */
function fieldSpans(labels: Uint8Array): number[] {
  const spans: number[] = [];
  for (let p = 0; p < labels.length;) {
    const end = labelFieldEnd(labels, p, labels.length);
    if (end < 0) throw new Error('encodeLabels wrote something that is not Label fields');
    spans.push(p, end);
    p = end;
  }
  return spans;
}

export class PushPipeline {
  private readonly sites = new Map<string, SiteSeries>();
  private readonly builder = new LabelsBuilder();
  private readonly batch = new RemoteWriteSnappyBatch({ initialBytes: 256 * 1024 });
  private readonly aggBatch = new RemoteWriteBatch();
  private readonly external: readonly [string, string][];
  private readonly fields = new SeriesFields();
  /** The positions being filled by the request in progress; swapped with the site's when it is done. */
  private nextOrder = new Int32Array(0);
  /** Entries added by the request in progress: taken back if it fails. */
  private readonly added: number[] = [];
  /** Label fields that are not written together, joined to be hashed; and a series' output labels, joined for aggregation. */
  private joined = new Uint8Array(4096);

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
    const added = this.added;
    added.length = 0;
    const activeBefore = site.active;
    try {
      return this.run(id, pipeline, site, reader, now);
    } catch (err) {
      for (let i = added.length - 1; i >= 0; i--) site.remove(added[i] as number);
      site.active = activeBefore;
      throw err;
    } finally {
      added.length = 0;
    }
  }

  private run(id: Identity, pipeline: CompiledPipeline, site: SiteSeries, reader: RemoteWriteReader, now: number): PushResult {
    const batch = this.batch;
    batch.reset();
    const agg = this.aggBatch;
    agg.reset();
    const body = reader.buffer;
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    batch.setSource(0, body);
    batch.setSource(1, site.constants());
    const dropped = new Map<string, number>();
    const seen = seenSecond(now);
    const order = site.order;
    const orderLength = site.orderLength;
    let nextOrder = this.nextOrder;
    const fields = this.fields;
    let position = 0;
    let samplesIn = 0;
    let fresh = 0;
    while (reader.next()) {
      const n = reader.sampleCount();
      samplesIn += n;
      let h1: number;
      let len: number;
      const start = reader.labelsStart();
      if (start >= 0) {
        len = reader.labelsEnd() - start;
        h1 = hashLabels(body, view, start, start + len);
      } else {
        len = this.joinInput(reader);
        h1 = hashLabels(this.joined, new DataView(this.joined.buffer, 0, len), 0, len);
      }
      const h2 = hashHigh();
      let e = position < orderLength ? (order[position] as number) : NOT_REMEMBERED;
      if (e === NOT_REMEMBERED || !site.is(e, h1, h2, len)) {
        e = site.find(h1, h2, len);
        if (e < 0) {
          e = this.remember(id, pipeline, site, reader, h1, h2, len, n, now, dropped);
          if (e >= 0) fresh++;
          // The constants may have grown.
          batch.setSource(1, site.constants());
        }
      }
      if (position >= nextOrder.length) {
        const bigger = new Int32Array(Math.max(64, nextOrder.length * 2));
        bigger.set(nextOrder);
        nextOrder = bigger;
      }
      nextOrder[position++] = e;
      if (e < 0) continue; // dropped and not remembered: counted by remember()
      site.touch(e, seen);
      const flags = site.flags(e);
      if ((flags & KEPT) === 0) {
        const reason = reasonOf(flags);
        dropped.set(reason, (dropped.get(reason) ?? 0) + n);
        continue;
      }
      if (n === 0) continue;
      if ((flags & (FORWARD | AGGREGATE)) !== 0) site.fieldsOf(e, reader, fields);
      if ((flags & FORWARD) !== 0) batch.addFields(fields, reader);
      if ((flags & AGGREGATE) !== 0) agg.addFromReader(this.joinFields(body, site.constants(), fields), reader);
    }
    if (fresh > 0) site.trim();
    site.orderLength = position;
    // This request's positions become the site's; the old array is reused for the next request.
    // Not one sized for a much larger site: the spare goes from site to site.
    site.order = nextOrder.length > 2 * position + 64 ? nextOrder.slice(0, position) : nextOrder;
    this.nextOrder = order;
    const aggregate = agg.sampleCount > 0 ? { pipelineKey: pipeline.key, body: Buffer.from(agg.finish()), samples: agg.sampleCount } : undefined;
    const samplesOut = batch.sampleCount;
    return { body: samplesOut === 0 ? EMPTY : Buffer.from(batch.finish()), snappy: true, samplesIn, samplesOut, dropped, newSeries: fresh, ...(aggregate ? { aggregate } : {}) };
  }

  /**
   * A series the site's table does not know: evaluated, and remembered
   * unless it is over the series limit (then counted here) or a dropped
   * series past the bound on those. Returns its entry, or -1.
   */
  private remember(id: Identity, pipeline: CompiledPipeline, site: SiteSeries, reader: RemoteWriteReader, h1: number, h2: number, len: number, n: number, now: number, dropped: Map<string, number>): number {
    let e = this.evaluate(id, pipeline, reader.labels(), now);
    let oh1 = 0;
    let oh2 = 0;
    if (e.labels !== null) {
      const out = e.labels;
      oh1 = hashLabels(out, new DataView(out.buffer, out.byteOffset, out.byteLength), 0, out.length);
      oh2 = hashHigh();
      if (site.hasOutput(oh1, oh2)) e = { labels: null, reason: DUPLICATE_SERIES, aggregate: false, forward: false, lastSeen: now };
    }
    if (e.labels !== null && site.active >= pipeline.seriesLimit) {
      // Over the limit: not remembered, so the series is admitted once room frees up.
      dropped.set(SERIES_LIMIT, (dropped.get(SERIES_LIMIT) ?? 0) + n);
      return NOT_REMEMBERED;
    }
    // Dropped series are remembered too, but within a bound: a site cannot grow memory
    // without limit by sending endless distinct names that the filter drops anyway.
    if (e.labels === null && site.size >= pipeline.seriesLimit * 4) {
      dropped.set(e.reason, (dropped.get(e.reason) ?? 0) + n);
      return NOT_REMEMBERED;
    }
    const flags = e.labels === null ? reasonNumber(e.reason) << 3 : KEPT | (e.aggregate ? AGGREGATE : 0) | (e.forward ? FORWARD : 0);
    const recipe: Recipe | null = e.labels === null ? null : { labels: e.labels, fields: fieldSpans(e.labels) };
    const entry = site.add(h1, h2, len, flags, seenSecond(now), reader, recipe, oh1, oh2);
    if (e.labels !== null) site.active++;
    this.added.push(entry);
    return entry;
  }

  /** The current series' Label fields, joined into this.joined; their length. */
  private joinInput(reader: RemoteWriteReader): number {
    const body = reader.buffer;
    let len = 0;
    for (let i = 0; i < reader.labelCount(); i++) len += reader.labelFieldEnd(i) - reader.labelFieldStart(i);
    if (len > this.joined.length) this.joined = new Uint8Array(len * 2);
    let p = 0;
    for (let i = 0; i < reader.labelCount(); i++) {
      this.joined.set(body.subarray(reader.labelFieldStart(i), reader.labelFieldEnd(i)), p);
      p += reader.labelFieldEnd(i) - reader.labelFieldStart(i);
    }
    return len;
  }

  /** A series' output labels, joined from its fields (source 0: the request, 1: the constants): a view valid until the next call. */
  private joinFields(body: Uint8Array, constants: Uint8Array, fields: SeriesFields): Uint8Array {
    if (fields.bytes > this.joined.length) this.joined = new Uint8Array(fields.bytes * 2);
    let p = 0;
    for (let k = 0; k < fields.count; k++) {
      const at = fields.at[k] as number;
      const len = fields.len[k] as number;
      this.joined.set((fields.src[k] === 0 ? body : constants).subarray(at, at + len), p);
      p += len;
    }
    return this.joined.subarray(0, p);
  }

  /** The compiled pipeline of an identity: its group's, else its tenant's. */
  pipelineFor(id: Identity): CompiledPipeline {
    const pipeline = (id.group === undefined ? undefined : this.pipelines.get(`${id.tenant}/${id.group}`)) ?? this.pipelines.get(id.tenant);
    if (pipeline === undefined) throw new Error(`no pipeline for tenant ${id.tenant}`);
    return pipeline;
  }

  private siteFor(id: Identity): SiteSeries {
    const siteKey = `${id.tenant}\u0000${id.site}`;
    let site = this.sites.get(siteKey);
    if (!site) {
      site = new SiteSeries();
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

  /**
   * Forgets series not seen for the idle timeout (to the second), so they
   * stop counting against the limit. A site none of whose series can be
   * idle yet is skipped without a look at its series.
   */
  sweep(now: number): number {
    let removed = 0;
    const idleBefore = seenSecond(now) - Math.ceil(this.idleMs / 1000);
    for (const site of this.sites.values()) {
      if (site.oldestSeen >= idleBefore) continue;
      let keptGone = false;
      for (const flags of site.forget((_flags, seen) => seen < idleBefore)) {
        removed++;
        if ((flags & KEPT) === 0) continue;
        site.active--;
        keptGone = true;
      }
      // The series dropped as duplicates are evaluated again by the next push: one of them may now be the only one.
      const duplicate = reasonNumber(DUPLICATE_SERIES) << 3;
      if (keptGone) removed += site.forget((flags) => (flags & KEPT) === 0 && (flags & ~7) === duplicate).length;
    }
    return removed;
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

