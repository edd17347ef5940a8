// The log pipeline, per record: enrichment with the sender's identity
// (`tenant`, `site`, never trusted from the payload) and the region (`re`),
// the tenant's drop filters, redaction, then the Elasticsearch `_source` as
// JSON with a deterministic document id and its target index. Rules are
// compiled once per config; nothing is built per record that is not kept.
import { hash, randomBytes } from 'node:crypto';
import type { ElasticsearchConfig, LogsConfig, LogsTenantConfig } from './config.js';
import { EntryJsonWriter } from './entry-json.js';
import { indexDay, rfc3339FromMs } from './timestamp.js';

/** Who sent a record: fixed by authentication, never by the payload. */
export interface LogIdentity {
  readonly tenant: string;
  readonly site: string;
  readonly group?: string | undefined;
}

/** the top README's contract §4: what the pipeline emits, `doc` being exactly the `_source` indexed. */
export interface LogRecordOut {
  readonly timestampMs: number;
  readonly tenant: string;
  readonly site: string;
  readonly doc: Record<string, unknown>;
}

/** Drop reasons (metric label `reason`). */
export const LOG_DROP_FILTER = 'filter';
export const LOG_DROP_NOT_OBJECT = 'not_an_object';
export const LOG_DROP_NON_LOG_SIGNAL = 'non_log_signal';
export const LOG_DROP_NO_ELASTICSEARCH = 'no_elasticsearch';
export const LOG_DROP_BUFFER_FULL = 'buffer_full';

interface DropRule {
  readonly path: readonly string[];
  readonly equals: string | undefined;
  readonly matches: RegExp | undefined;
}

interface CompiledTenant {
  readonly drop: readonly DropRule[];
  readonly maskPaths: readonly (readonly string[])[];
  readonly mask: string;
  readonly patterns: readonly { readonly re: RegExp; readonly replacement: string }[];
}

const NO_RULES: CompiledTenant = { drop: [], maskPaths: [], mask: '[REDACTED]', patterns: [] };
/** Fields the pipeline sets itself; redaction patterns do not touch them. */
const OWN_FIELDS = new Set(['@timestamp', 'tenant', 're', 'site']);

function compileTenant(t: LogsTenantConfig): CompiledTenant {
  return {
    drop: t.drop.map((r) => ({ path: r.field.split('.'), equals: r.equals, matches: r.matches === undefined ? undefined : new RegExp(r.matches) })),
    maskPaths: t.redact.fields.map((f) => f.split('.')),
    mask: t.redact.mask,
    patterns: t.redact.patterns.map((p) => ({ re: new RegExp(p.regex, 'g'), replacement: p.replacement })),
  };
}

function getPath(doc: Record<string, unknown>, path: readonly string[]): unknown {
  // A dotted name may also be one flat key, as Elasticsearch reads `a.b`.
  if (path.length > 1 && path.join('.') in doc) return doc[path.join('.')];
  let v: unknown = doc;
  for (const k of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function maskPath(doc: Record<string, unknown>, path: readonly string[], mask: string): void {
  const flat = path.join('.');
  if (path.length > 1 && flat in doc) {
    doc[flat] = mask;
    return;
  }
  let v: Record<string, unknown> = doc;
  for (let i = 0; i < path.length - 1; i++) {
    const next = v[path[i] as string];
    if (typeof next !== 'object' || next === null) return;
    v = next as Record<string, unknown>;
  }
  const last = path[path.length - 1] as string;
  if (last in v) v[last] = mask;
}

function redactStrings(v: unknown, patterns: CompiledTenant['patterns'], depth: number): unknown {
  if (typeof v === 'string') {
    let s = v;
    for (const p of patterns) s = s.replace(p.re, p.replacement);
    return s;
  }
  if (depth > 16 || typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = redactStrings(v[i], patterns, depth + 1);
    return v;
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (depth > 0 || !OWN_FIELDS.has(k)) o[k] = redactStrings(o[k], patterns, depth + 1);
  return o;
}

function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * Where a batch's document ids come from. Ids must be the same when the
 * same accepted record is delivered again (a crash before the buffer's
 * commit replays it: the ids are written into the buffered bulk body, so a
 * replay sends the very same ids), the same when a sender resends a chunk
 * it saw no ack for (forward's `chunk`, the JSON-lines `X-Fleetscope-Batch-Id`),
 * and different for two records that were accepted separately even when
 * their bytes are identical (the same "connection reset" line twice a
 * minute is two events).
 */
export type IdSource =
  /** A sender-given id for the whole request, unique per request and repeated on its resend. */
  | { readonly kind: 'request'; readonly key: string }
  /** No such id: a sequence number of this accept, never reused. */
  | { readonly kind: 'accept' };

/** What one request (a forward frame, a bulk body) becomes. */
export class LogBatch {
  /** The documents' bulk lines (action line, newline, source JSON, newline), written as UTF-8 straight into one buffer. */
  body: Buffer;
  length = 0;
  /** Per line: the id (bulk answers name it). */
  readonly ids: string[] = [];
  /** The records for onLogRecords listeners; null when nobody listens. */
  readonly out: LogRecordOut[] | null;
  received = 0;
  /** Documents written into the body. */
  stored = 0;
  readonly dropped = new Map<string, number>();
  private seen: Set<string> | null = null;
  /** What a document id hashes before the document: tenant and site, NUL-separated. */
  readonly idPrefix: string;
  /** Every id of this batch without a client id is idBase + "." + the record's ordinal in the request; set by LogPipeline.keyBatch. */
  idBase = '';

  constructor(
    readonly identity: LogIdentity,
    keepRecords: boolean,
    /** Expected body bytes: one allocation instead of doubling copies. */
    sizeHint = 16 * 1024,
    /** A body to write into (a recycled one), when it is large enough. */
    body?: Buffer,
  ) {
    this.out = keepRecords ? [] : null;
    this.idPrefix = `${identity.tenant}\0${identity.site}\0`;
    this.body = body !== undefined && body.length >= sizeHint ? body : Buffer.allocUnsafe(Math.max(1024, sizeHint));
  }

  drop(reason: string, n = 1): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + n);
  }

  /** A unique id within this batch: identical client ids sent together stay distinct, and stay so on a resend. */
  uniqueId(base: string): string {
    this.seen ??= new Set();
    let id = base;
    for (let k = 1; this.seen.has(id); k++) id = `${base}.${k}`;
    this.seen.add(id);
    return id;
  }

  /** Room for `n` more bytes. */
  ensure(n: number): Buffer {
    const need = this.length + n;
    if (need > this.body.length) {
      const next = Buffer.allocUnsafe(Math.max(need, this.body.length * 2));
      this.body.copy(next, 0, 0, this.length);
      this.body = next;
    }
    return this.body;
  }

  /** Documents to store. */
  get docs(): number {
    return this.stored;
  }

  appendDoc(prefix: string, index: string, middle: string, id: string, suffix: string, json: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const b = this.ensure(3 * (prefix.length + index.length + middle.length + id.length + suffix.length + json.length) + 1);
    let at = this.length;
    at += b.write(prefix, at, 'latin1');
    at += b.write(index, at, 'latin1');
    at += b.write(middle, at, 'latin1');
    at += b.write(id, at, 'latin1');
    at += b.write(suffix, at, 'latin1');
    at += b.write(json, at, 'utf8');
    b[at++] = 10;
    this.length = at;
  }

  /**
   * The buffer record: exactly the bulk request body for these documents
   * (JSON never holds a raw newline, so every second newline ends a
   * document), which the egress sends without parsing it again.
   */
  encode(): Buffer {
    return this.body.subarray(0, this.length);
  }
}

const ACCEPT: IdSource = { kind: 'accept' };

export class LogPipeline {
  private readonly tenants = new Map<string, CompiledTenant>();
  private readonly op: 'index' | 'create';
  private readonly elasticsearch: ElasticsearchConfig | undefined;
  private readonly actionPrefix: string;
  /**
   * This process's accept ids: random once per start (so no restart reuses
   * one), then a counter. Never regenerated for a record already accepted:
   * its id is in the buffered body that a replay sends.
   */
  private readonly incarnation = randomBytes(12).toString('base64url');
  private acceptSeq = 0;

  constructor(
    config: LogsConfig,
    /** The region, `external_labels.re` of the collector. */
    private readonly re: string | undefined,
  ) {
    for (const [name, t] of Object.entries(config.tenants)) this.tenants.set(name, compileTenant(t));
    this.elasticsearch = config.elasticsearch;
    this.op = config.elasticsearch?.data_stream !== undefined ? 'create' : 'index';
    this.actionPrefix = `{"${this.op}":{"_index":"`;
  }

  /**
   * Fixes where `batch`'s ids come from (before its first record). With a
   * request key (forward `chunk`): a hash of the sender's identity and the
   * key, so the sender's resend of that request gets the same ids and no
   * other sender's can. Without: this accept's own sequence number.
   */
  keyBatch(batch: LogBatch, source: IdSource): void {
    batch.idBase = source.kind === 'request' ? `r${hash('sha1', `${batch.idPrefix}request\0${source.key}`, 'base64url')}` : `a${this.incarnation}${(this.acceptSeq++).toString(36)}`;
  }

  /**
   * The fast lane for forward entries of `batch` (entry-json.ts), or null
   * when its tenant has drop or redaction rules or nothing is stored: then
   * every entry takes add().
   */
  entryWriter(batch: LogBatch, tag: string): EntryJsonWriter | null {
    const tenant = batch.identity.tenant;
    const rules = this.tenants.get(tenant);
    if (!this.elasticsearch || (rules !== undefined && rules.drop.length + rules.maskPaths.length + rules.patterns.length > 0)) return null;
    if (batch.idBase === '') this.keyBatch(batch, ACCEPT);
    const re = this.re === undefined ? '' : `,"re":${JSON.stringify(this.re)}`;
    return new EntryJsonWriter(batch, {
      actionPrefix: this.actionPrefix,
      indexFor: (ms) => this.indexFor(tenant, ms),
      tail: `","tenant":${JSON.stringify(tenant)}${re},"site":${JSON.stringify(batch.identity.site)}}\n`,
      tagField: `"tag":${JSON.stringify(tag)},`,
    });
  }

  /** Whether records are stored at all (an Elasticsearch target is configured). */
  get stores(): boolean {
    return this.elasticsearch !== undefined;
  }

  indexFor(tenant: string, ms: number): string {
    const es = this.elasticsearch;
    if (!es) return '';
    if (es.data_stream !== undefined) return es.per_tenant ? `${es.data_stream}-${tenant.toLowerCase()}` : es.data_stream;
    return es.per_tenant ? `${es.index_prefix}-${tenant.toLowerCase()}-${indexDay(ms)}` : `${es.index_prefix}-${indexDay(ms)}`;
  }

  /**
   * Runs one record through the pipeline into `batch`. `record` is taken
   * over (mutated into the document). `iso` is the RFC 3339 form of
   * `timestampMs` when the caller has a more precise one (EventTime's
   * nanoseconds). `clientId` is an id the sender gave (bulk `_id`); without
   * one the id is the batch's id base and the record's ordinal in the
   * request (keyBatch; a batch not keyed gets an accept id).
   */
  add(batch: LogBatch, record: Record<string, unknown>, timestampMs: number, iso: string | undefined, clientId: string | undefined): boolean {
    batch.received++;
    const id = batch.identity;
    const rules = this.tenants.get(id.tenant) ?? NO_RULES;
    record['@timestamp'] = iso ?? rfc3339FromMs(timestampMs);
    record.tenant = id.tenant;
    if (this.re !== undefined) record.re = this.re;
    else delete record.re;
    record.site = id.site;
    for (const r of rules.drop) {
      const v = asText(getPath(record, r.path));
      if (v !== undefined && (r.equals !== undefined ? v === r.equals : (r.matches as RegExp).test(v))) {
        batch.drop(LOG_DROP_FILTER);
        return false;
      }
    }
    for (const p of rules.maskPaths) maskPath(record, p, rules.mask);
    if (rules.patterns.length > 0) redactStrings(record, rules.patterns, 0);
    batch.out?.push({ timestampMs, tenant: id.tenant, site: id.site, doc: record });
    if (!this.elasticsearch) {
      batch.drop(LOG_DROP_NO_ELASTICSEARCH);
      return true;
    }
    if (batch.idBase === '') this.keyBatch(batch, ACCEPT);
    const json = JSON.stringify(record);
    const docId = clientId === undefined ? `${batch.idBase}.${batch.received - 1}` : batch.uniqueId(hash('sha1', `${batch.idPrefix}id\0${clientId}`, 'base64url'));
    batch.ids.push(docId);
    batch.stored++;
    // Index names (validated) and base64url ids are ASCII and need no JSON escaping.
    batch.appendDoc(this.actionPrefix, this.indexFor(id.tenant, timestampMs), '","_id":"', docId, '"}}\n', json);
    return true;
  }
}

/** One buffered document, as the egress reads it back: its two bulk lines, as bytes. */
export interface BufferedDoc {
  readonly op: 'index' | 'create';
  readonly bytes: Buffer;
}

/** Splits a buffer record into its documents (views into it, no copies). */
export function decodeBufferRecord(rec: Buffer): BufferedDoc[] {
  const out: BufferedDoc[] = [];
  let start = 0;
  while (start < rec.length) {
    const a = rec.indexOf(10, start);
    const b = a < 0 ? -1 : rec.indexOf(10, a + 1);
    if (b < 0) throw new Error(`malformed buffer record at byte ${start}`);
    out.push({ op: rec[start + 2] === 0x63 ? 'create' : 'index', bytes: rec.subarray(start, b + 1) });
    start = b + 1;
  }
  return out;
}

/** A buffered document's index, id and source JSON (for dead letters). */
export function describeDoc(d: BufferedDoc): { index: string; id: string; source: string } {
  const nl = d.bytes.indexOf(10);
  const action = JSON.parse(d.bytes.toString('utf8', 0, nl)) as Record<string, { _index: string; _id: string }>;
  const meta = action[d.op] as { _index: string; _id: string };
  return { index: meta._index, id: meta._id, source: d.bytes.toString('utf8', nl + 1, d.bytes.length - 1) };
}

/** Resolves a site token (static list or signed) to the site's identity; undefined when unknown. */
export type Authenticate = (token: string) => LogIdentity | undefined;
