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
// compressing again. A request that repeats the last one position by
// position leaves a template of its body (wire/remote-write-template.ts);
// while the site's requests keep coming so, each is that body with its own
// samples put in, and nothing is searched for repeats or compressed again.
import { DropReason, LabelsBuilder, type Labels, getLabel } from '../relabel/index.js';
import { RemoteWriteBatch, type RemoteWriteLimits, RemoteWriteReader, RemoteWriteRepeat, RemoteWriteSnappyBatch, RemoteWriteTemplate, type RepeatScratch, SeriesFields, type SnappyScratch, encodeLabels, labelFieldEnd, snappyCompressKeeping, snappyUncompress } from '../wire/index.js';
import type { CollectorConfig, CompiledPipeline, LoadedConfig } from './config.js';
import { AGGREGATE, FORWARD, KEPT, type Recipe, type SiteOutput, SiteSeries, hashHigh, hashLabels, reasonNumber, reasonOf, seenSecond } from './series-table.js';

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
  /** The body is the site's previous one with this request's samples put in (its series came again in the same order). */
  readonly reused?: boolean;
  /** The request was recognised as the site's last one with other samples, before decompressing it (processBody). */
  readonly repeat?: boolean;
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

const siteKeyOf = (id: Identity): string => `${id.tenant}\u0000${id.site}`;

/**
 * Misses in a row, counted on for one more chance: a site tries again while
 * it has missed fewer than three times, then every 32nd time (the count goes
 * back to 0 then). A try is due when the count returned is below 3.
 */
function missesAfterTry(misses: number): number {
  if (misses < 3) return misses;
  return misses >= 31 ? 0 : misses + 1;
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
  /** The sample count at each position of the request in progress (what a template of it is checked against). */
  private nextCounts = new Uint16Array(0);
  /** Positions of the request in progress whose entries a template pass that missed already found (in nextOrder). */
  private resolved = 0;
  /** Bytes of the sites' output templates. */
  private outputBytes = 0;
  /** Where a block becoming a template is decompressed. */
  private readonly rawScratch: SnappyScratch = { bytes: new Uint8Array(0) };
  /** Where a request's body is masked to be recognised (RemoteWriteRepeat). */
  private readonly repeatScratch: RepeatScratch = { bytes: new Uint8Array(0) };
  /** Where each sample of the request in progress starts, for a repeat to be made of it. */
  private sampleStarts = new Int32Array(0);

  /**
   * `outputCacheBytes` bounds the sites' output templates (what a request
   * whose series come again in the same order is written from); 0 keeps none.
   */
  constructor(
    private readonly pipelines: ReadonlyMap<string, CompiledPipeline>,
    externalLabels: Readonly<Record<string, string>>,
    private readonly idleMs: number,
    private readonly outputCacheBytes = 0,
  ) {
    this.external = Object.entries(externalLabels);
  }

  /**
   * Runs one request through the pipeline. Throws (WireError) on a malformed
   * or invalid request, in which case nothing of it is taken in: the site's
   * cache and counts change only when the whole request is good.
   * `compressed` is the snappy body the reader's was decompressed from:
   * given, a request that hits the site's template leaves a repeat of it,
   * for processBody() to recognise the next one by.
   */
  process(id: Identity, reader: RemoteWriteReader, now: number, compressed?: Uint8Array): PushResult {
    const pipeline = this.pipelineFor(id);
    const site = this.siteFor(id);
    const added = this.added;
    added.length = 0;
    const activeBefore = site.active;
    this.resolved = 0;
    try {
      const output = site.output;
      if (output !== null) {
        const r = this.runTemplate(pipeline, site, output, reader, now, compressed);
        if (r !== null) {
          site.outputMisses = 0;
          return r;
        }
        // Not the same series in the same order: built anew, from the positions found so far.
        this.dropOutput(site);
        site.outputMisses++;
        reader.rewind();
      }
      return this.run(id, pipeline, site, reader, now);
    } catch (err) {
      for (let i = added.length - 1; i >= 0; i--) site.remove(added[i] as number);
      site.active = activeBefore;
      this.dropOutput(site);
      throw err;
    } finally {
      added.length = 0;
    }
  }

  private dropOutput(site: SiteSeries): void {
    if (site.output === null) return;
    this.outputBytes -= site.output.bytes;
    site.output = null;
  }

  /**
   * A request written from the site's template: each position must hold the
   * series it held in the last request, with as many samples, and the
   * request as many positions. Null (the caller rewinds the reader and
   * builds the body anew) at the first that does not, or when a timestamp
   * does not fit the template; the entries found until then stay in
   * nextOrder, this.resolved of them.
   */
  private runTemplate(pipeline: CompiledPipeline, site: SiteSeries, output: SiteOutput, reader: RemoteWriteReader, now: number, compressed: Uint8Array | undefined): PushResult | null {
    const template = output.template;
    const counts = output.counts;
    const orderLength = site.orderLength;
    if (counts.length !== orderLength) return null;
    // Where each sample starts, when a repeat is to be made of this request.
    let starts = compressed !== undefined && output.repeat === null && this.wantsRepeat(site) ? this.sampleStarts : null;
    if (starts !== null && starts.length < template.sampleCount) starts = this.sampleStarts = new Int32Array(2 * template.sampleCount);
    let j = 0;
    const order = site.order;
    const agg = this.aggBatch;
    agg.reset();
    const body = reader.buffer;
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const dropped = new Map<string, number>();
    const seen = seenSecond(now);
    if (this.nextOrder.length < orderLength) this.nextOrder = new Int32Array(orderLength + 64);
    const nextOrder = this.nextOrder;
    const fields = this.fields;
    template.begin();
    let position = 0;
    let samplesIn = 0;
    let k = 0;
    while (reader.next()) {
      if (position >= orderLength) return null;
      const n = reader.sampleCount();
      const start = reader.labelsStart();
      if (start < 0 || n !== counts[position]) return null;
      const len = reader.labelsEnd() - start;
      const h1 = hashLabels(body, view, start, start + len);
      const e = order[position] as number;
      if (e < 0 || !site.is(e, h1, hashHigh(), len)) return null;
      nextOrder[position++] = e;
      this.resolved = position;
      samplesIn += n;
      if (starts !== null) {
        if (j + n > starts.length) {
          const bigger = new Int32Array(2 * (j + n));
          bigger.set(starts);
          starts = this.sampleStarts = bigger;
        }
        for (let i = 0; i < n; i++) starts[j++] = reader.sampleFieldStart(i);
      }
      const flags = this.seenKept(site, e, seen, n, dropped);
      if (flags < 0 || n === 0) continue;
      if ((flags & FORWARD) !== 0) {
        const values = reader.sampleValues();
        const times = reader.sampleTimestamps();
        for (let i = 0; i < n; i++) if (!template.put(k++, values, times, i)) return null;
      }
      if ((flags & AGGREGATE) !== 0) {
        starts = null; // what is aggregated is read from the body: only a reader has it
        site.fieldsOf(e, reader, fields, false);
        agg.addFromReader(this.joinFields(body, site.constants(), fields), reader);
      }
    }
    if (position !== orderLength || k !== template.sampleCount) return null;
    // This request's positions are the site's again; the two arrays trade places as in run().
    site.order = nextOrder.length > 2 * position + 64 ? nextOrder.slice(0, position) : nextOrder;
    this.nextOrder = order;
    const aggregate = agg.sampleCount > 0 ? { pipelineKey: pipeline.key, body: Buffer.from(agg.finish()), samples: agg.sampleCount } : undefined;
    if (starts !== null && compressed !== undefined) this.keepRepeat(site, output, compressed, starts.subarray(0, j));
    return { body: template.finish(), snappy: true, samplesIn, samplesOut: k, dropped, newSeries: 0, reused: true, ...(aggregate ? { aggregate } : {}) };
  }

  /**
   * A push as it arrives, its snappy body: recognised as the site's last
   * one with other samples when it is one (processRepeat), else
   * decompressed (into `scratch`, within `maxDecompressed` bytes) and run
   * through process() with `limits`. An empty label value is taken as no
   * label (Prometheus's meaning) rather than refusing the whole request.
   * Throws as process() does.
   */
  processBody(id: Identity, compressed: Uint8Array, now: number, limits: Partial<RemoteWriteLimits>, maxDecompressed: number, scratch: SnappyScratch): PushResult {
    return this.processRepeat(id, compressed, now) ?? this.process(id, new RemoteWriteReader(snappyUncompress(compressed, maxDecompressed, scratch), limits, { allowEmptyValues: true }), now, compressed);
  }

  /**
   * A request recognised, before it is decompressed, as the site's last one
   * with other samples (the repeat its last template hit left): the
   * template's body with the request's samples put in as they are, and the
   * series marked seen and counted as a template hit does. Null when the
   * site has no repeat or the body is not one. Its series go to no
   * pre-aggregation (a request that feeds one leaves no repeat).
   */
  private processRepeat(id: Identity, compressed: Uint8Array, now: number): PushResult | null {
    const site = this.sites.get(siteKeyOf(id));
    const output = site?.output ?? null;
    const repeat = output?.repeat ?? null;
    if (site === undefined || output === null || repeat === null) return null;
    const counts = output.counts;
    if (!repeat.matches(compressed, counts, this.repeatScratch)) {
      // Another request, or the same series sent otherwise: read as before (a template hit makes another repeat).
      this.outputBytes -= repeat.byteSize;
      output.bytes -= repeat.byteSize;
      output.repeat = null;
      site.repeatMisses++;
      return null;
    }
    const template = output.template;
    const order = site.order;
    const at = repeat.at;
    const dropped = new Map<string, number>();
    const seen = seenSecond(now);
    template.begin();
    let j = 0;
    let k = 0;
    for (let position = 0; position < counts.length; position++) {
      const n = counts[position] as number;
      const flags = this.seenKept(site, order[position] as number, seen, n, dropped);
      if (flags >= 0 && (flags & FORWARD) !== 0) for (let i = 0; i < n; i++) template.putRaw(k++, compressed, at[j + i] as number);
      j += n;
    }
    if (k !== template.sampleCount) {
      // Cannot be (the hit that made the repeat put as many): built anew rather than send a sample of the template's.
      template.finish();
      this.dropOutput(site);
      return null;
    }
    site.outputMisses = 0;
    site.repeatMisses = 0;
    return { body: template.finish(), snappy: true, samplesIn: j, samplesOut: k, dropped, newSeries: 0, reused: true, repeat: true };
  }

  /** Makes the repeat of a request that hit the site's template, within outputCacheBytes. */
  private keepRepeat(site: SiteSeries, output: SiteOutput, compressed: Uint8Array, starts: Int32Array): void {
    const repeat = RemoteWriteRepeat.of(compressed, starts, output.template.timestampLength, this.repeatScratch);
    if (repeat === null) {
      site.repeatMisses++; // its sender's compressor puts a sample in a copy, or a sample has another shape
      return;
    }
    if (this.outputBytes + repeat.byteSize > this.outputCacheBytes) return;
    output.repeat = repeat;
    output.bytes += repeat.byteSize;
    this.outputBytes += repeat.byteSize;
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
    let counts = this.nextCounts;
    const resolved = this.resolved;
    const fields = this.fields;
    let position = 0;
    let samplesIn = 0;
    let fresh = 0;
    // Whether the next request can be written from this one's body: when it holds the series of
    // the last one in the same order (the site's sender sends them so; a template pays only then),
    // none over a limit (not remembered), none with its label fields apart (the template pass
    // hashes one span).
    let templatable = this.outputCacheBytes > 0 && orderLength > 0;
    while (reader.next()) {
      const n = reader.sampleCount();
      samplesIn += n;
      let e: number;
      const start = reader.labelsStart();
      if (position < resolved) {
        e = nextOrder[position] as number; // a template pass found it
      } else {
        let h1: number;
        let len: number;
        if (start >= 0) {
          len = reader.labelsEnd() - start;
          h1 = hashLabels(body, view, start, start + len);
        } else {
          len = this.joinInput(reader);
          h1 = hashLabels(this.joined, new DataView(this.joined.buffer, 0, len), 0, len);
        }
        const h2 = hashHigh();
        e = position < orderLength ? (order[position] as number) : NOT_REMEMBERED;
        if (e === NOT_REMEMBERED || !site.is(e, h1, h2, len)) {
          templatable = false;
          e = site.find(h1, h2, len);
          if (e < 0) {
            e = this.remember(id, pipeline, site, reader, h1, h2, len, n, now, dropped);
            if (e >= 0) fresh++;
            // The constants may have grown.
            batch.setSource(1, site.constants());
          }
        }
      }
      if (position >= nextOrder.length) {
        const bigger = new Int32Array(Math.max(64, nextOrder.length * 2));
        bigger.set(nextOrder);
        nextOrder = bigger;
      }
      if (position >= counts.length) {
        const bigger = new Uint16Array(Math.max(64, counts.length * 2));
        bigger.set(counts);
        counts = bigger;
      }
      if (e < 0 || start < 0 || n > 0xffff) templatable = false;
      counts[position] = n;
      nextOrder[position++] = e;
      if (e < 0) continue; // dropped and not remembered: counted by remember()
      const flags = this.seenKept(site, e, seen, n, dropped);
      if (flags < 0 || n === 0) continue;
      if ((flags & (FORWARD | AGGREGATE)) !== 0) site.fieldsOf(e, reader, fields);
      if ((flags & FORWARD) !== 0) batch.addFields(fields, reader);
      if ((flags & AGGREGATE) !== 0) agg.addFromReader(this.joinFields(body, site.constants(), fields), reader);
    }
    if (position !== orderLength) templatable = false;
    // Field ids made again (the site's template had let them go) leave their arrays part empty too.
    site.trim();
    site.orderLength = position;
    // This request's positions become the site's; the old array is reused for the next request.
    // Not one sized for a much larger site: the spare goes from site to site.
    site.order = nextOrder.length > 2 * position + 64 ? nextOrder.slice(0, position) : nextOrder;
    this.nextOrder = order;
    this.nextCounts = counts;
    const aggregate = agg.sampleCount > 0 ? { pipelineKey: pipeline.key, body: Buffer.from(agg.finish()), samples: agg.sampleCount } : undefined;
    const samplesOut = batch.sampleCount;
    if (samplesOut === 0) return { body: EMPTY, snappy: true, samplesIn, samplesOut, dropped, newSeries: fresh, ...(aggregate ? { aggregate } : {}) };
    const block = batch.finish();
    const kept = templatable && this.wantsTemplate(site) ? this.keepTemplate(site, block, counts.slice(0, position)) : null;
    return { body: kept ?? Buffer.from(block), snappy: true, samplesIn, samplesOut, dropped, newSeries: fresh, ...(aggregate ? { aggregate } : {}) };
  }

  /**
   * Marks entry e seen now; returns its flags when the series is kept, else
   * counts its `n` samples as dropped, by its reason, and returns -1.
   */
  private seenKept(site: SiteSeries, e: number, seen: number, n: number, dropped: Map<string, number>): number {
    site.touch(e, seen);
    const flags = site.flags(e);
    if ((flags & KEPT) !== 0) return flags;
    const reason = reasonOf(flags);
    dropped.set(reason, (dropped.get(reason) ?? 0) + n);
    return -1;
  }

  /**
   * Whether to keep a template of a site's request: yes, unless its last
   * three did not fit theirs (a sender that batches its series differently
   * every time, as Prometheus does); such a site tries again every 32nd
   * request.
   */
  private wantsTemplate(site: SiteSeries): boolean {
    site.outputMisses = missesAfterTry(site.outputMisses);
    return site.outputMisses < 3;
  }

  /** Whether to make a repeat of a site's request: as for templates, by its repeat misses. */
  private wantsRepeat(site: SiteSeries): boolean {
    site.repeatMisses = missesAfterTry(site.repeatMisses);
    return site.repeatMisses < 3;
  }

  /**
   * Keeps the block just finished as the site's template, within
   * outputCacheBytes, and returns the body to send: the template's block.
   * The batch trades bytes for speed (~120 bytes a series); the template is
   * compressed again as snappy would (~80), with every sample in a literal
   * and none the source of a copy, for ~3 µs a series once: it is kept, and
   * queued and sent every time, so smaller pays. The site's field ids are
   * let go: what is written from a template does not need them. Null when
   * no template is kept.
   */
  private keepTemplate(site: SiteSeries, block: Uint8Array, counts: Uint16Array): Buffer | null {
    const batch = this.batch;
    const tsLength = batch.uniformTimestampLength;
    if (tsLength <= 0) return null;
    const starts = batch.sampleOffsets();
    // Past the bound, not even the compressing (a template's block is about two thirds of the batch's).
    if (this.outputBytes + block.byteLength / 2 + 4 * starts.length + counts.byteLength > this.outputCacheBytes) return null;
    const ends = new Int32Array(starts.length);
    for (let i = 0; i < starts.length; i++) ends[i] = (starts[i] as number) + 12 + tsLength;
    const compact = snappyCompressKeeping(snappyUncompress(block, batch.uncompressedLength, this.rawScratch), starts, ends);
    const bytes = compact.byteLength + 4 * starts.length + counts.byteLength;
    if (this.outputBytes + bytes > this.outputCacheBytes) return null;
    const template = RemoteWriteTemplate.of(compact, starts, tsLength);
    if (template === null) return null;
    site.output = { template, counts, repeat: null, bytes };
    this.outputBytes += bytes;
    site.dropIds();
    return Buffer.from(compact.buffer, compact.byteOffset, compact.byteLength);
  }

  /** Bytes the sites' output templates hold (within the bound given at construction). */
  outputTemplateBytes(): number {
    return this.outputBytes;
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
    const siteKey = siteKeyOf(id);
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
        // Its template may hold a forgotten series (whose entry a new one can take).
        this.dropOutput(site);
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
  // The bound on output templates is the collector's: each worker keeps its share.
  const outputCacheBytes = Math.floor(c.push_output_cache_bytes / Math.max(1, c.push_workers));
  return new PushPipeline(loaded.pipelines, c.ha ? { ...c.external_labels, cluster: c.ha.cluster, __replica__: c.ha.replica } : c.external_labels, c.series_idle_timeout, outputCacheBytes);
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

