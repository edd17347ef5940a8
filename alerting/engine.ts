// The stream engine: log records in, rule matches out, in event time.
//
// Each rule is evaluated per tenant (a tenant's records never meet another's)
// in runs, as ElastAlert runs a rule every run_every: a run hands the rule the
// records of [start, end) in timestamp order and then garbage_collect(end),
// exactly what one ElastAlert query over that interval would have returned.
// A run closes once the clock passes end + allowed lateness (the role of
// buffer_time/query_delay); a record for an interval already run is late,
// and is counted, not silently lost. Aggregation types (metric_aggregation,
// spike_aggregation, percentage_match) run over buffer_time intervals, as
// ElastAlert's segmenting does for them.
//
// A record reaches only the rules whose filters can match it: each rule is
// indexed by one necessary (field, value/token) condition of its filter, so
// a record visits the rules listening for its values, not all of them.
import { lookupKey, pyStr, type Doc } from './fields.js';
import { timedeltaMs } from './duration.js';
import { indexKeys } from './filter.js';
import { parseTimestamp, type RuleType, type RuleEvent } from './ruletype.js';
import { AnyRule, BlacklistRule, CardinalityRule, ChangeRule, FlatlineRule, FrequencyRule, NewTermRule, WhitelistRule } from './ruletypes-basic.js';
import { MetricAggregationRule, PercentageMatchRule, SpikeAggregationRule, SpikeRule } from './ruletypes-spike.js';
import { countedRecord, topCounts, type CountedRecord } from './topcounts.js';
import type { CompiledRule } from './rule.js';

/** The collector's log record (the top README's contract §4), declared here as the contract says. */
export interface LogRecord {
  readonly timestampMs: number;
  readonly tenant: string;
  readonly site: string;
  readonly doc: Record<string, unknown>;
}

export interface EngineMatch {
  readonly rule: CompiledRule;
  readonly tenant: string;
  /** The query_key value as ElastAlert's silence cache keys it (flatline: its `key`), or null. */
  readonly key: string | null;
  readonly ts: number;
  readonly doc: Doc;
  /** Records the run handed the rule. */
  readonly numHits: number;
}

export const DROP_REASONS = ['late', 'no_timestamp', 'backlog'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface EngineOptions {
  /** Interval of a run (ElastAlert's run_every). Default 1 minute. */
  readonly runEveryMs?: number;
  /** Interval of aggregation-type runs (ElastAlert's buffer_time). Default 15 minutes. */
  readonly bufferTimeMs?: number;
  /** How long after an interval's end its records are still taken. Default 1 minute. */
  readonly allowedLatenessMs?: number;
  /** Records pending (accepted, not yet run) per rule and tenant. Default 100,000. */
  readonly maxPendingPerRule?: number;
  readonly onMatch: (m: EngineMatch) => void;
  readonly onDrop?: (rule: string, reason: DropReason, n: number) => void;
}

/** Intervals one advance() runs one by one per rule; older ones are run as one. */
const MAX_CATCH_UP_RUNS = 1440;

const AGGREGATION_TYPES = new Set(['metric_aggregation', 'spike_aggregation', 'percentage_match']);

export function createRuleType(rule: CompiledRule): RuleType {
  switch (rule.type) {
    case 'any': return new AnyRule(rule);
    case 'blacklist': return new BlacklistRule(rule);
    case 'whitelist': return new WhitelistRule(rule);
    case 'change': return new ChangeRule(rule);
    case 'frequency': return new FrequencyRule(rule);
    case 'flatline': return new FlatlineRule(rule);
    case 'new_term': return new NewTermRule(rule);
    case 'cardinality': return new CardinalityRule(rule);
    case 'spike': return new SpikeRule(rule);
    case 'metric_aggregation': return new MetricAggregationRule(rule);
    case 'spike_aggregation': return new SpikeAggregationRule(rule);
    case 'percentage_match': return new PercentageMatchRule(rule);
  }
}

/** The key ElastAlert silences and groups a match by (get_query_key_value). */
export function matchKey(rule: CompiledRule, doc: Doc): string | null {
  if (rule.type === 'flatline' && 'key' in doc) return pyStr(doc.key);
  if (rule.queryKey === null) return null;
  const v = lookupKey(doc, rule.queryKey);
  return v === undefined || v === null ? null : pyStr(v);
}

/**
 * The record as ElastAlert's get_hits hands it to the rule: `_source` trimmed
 * to `include` (not for the aggregation types, which ElastAlert answers from
 * Elasticsearch aggregations over whole documents), then what process_hits
 * adds: a compound key's values joined by ', ' under the joined name.
 */
export function prepareDoc(rule: CompiledRule, source: Doc): Doc {
  const doc = rule.include === null || AGGREGATION_TYPES.has(rule.type) ? source : rule.include.apply(source);
  if (rule.compoundQueryKey === null && rule.compoundAggregationKey === null) return doc;
  const out = doc === source ? { ...doc } : doc;
  if (rule.compoundQueryKey !== null) out[rule.queryKey as string] = rule.compoundQueryKey.map((k) => pyStr(lookupKey(doc, k))).join(', ');
  if (rule.compoundAggregationKey !== null) out[rule.aggregationKey as string] = rule.compoundAggregationKey.map((k) => pyStr(lookupKey(doc, k))).join(', ');
  return out;
}

export function ruleIntervalMs(rule: CompiledRule, runEveryMs: number, bufferTimeMs: number): number {
  if (AGGREGATION_TYPES.has(rule.type) && !rule.options.use_run_every_query_size) return timedeltaMs(rule.options.buffer_time) ?? bufferTimeMs;
  return rule.runEveryMs ?? runEveryMs;
}

interface Runner {
  readonly rule: CompiledRule;
  readonly tenant: string;
  readonly type: RuleType;
  readonly intervalMs: number;
  pending: RuleEvent[];
  lastEnd: number | null;
  /** The records run lately, for top_count_keys (empty without it). */
  recent: CountedRecord[];
}

interface RunnerState {
  rule: string;
  tenant: string;
  fingerprint: string;
  lastEnd: number | null;
  pending: RuleEvent[];
  type: unknown;
  recent?: CountedRecord[];
}

function fingerprint(rule: CompiledRule): string {
  return JSON.stringify(rule.options);
}

function insertSorted(list: RuleEvent[], e: RuleEvent): void {
  const last = list[list.length - 1];
  if (last === undefined || last.ts <= e.ts) {
    list.push(e);
    return;
  }
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as RuleEvent).ts <= e.ts) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, e);
}

export class Engine {
  private rules: CompiledRule[] = [];
  private readonly runners = new Map<string, Runner>();
  /** Per rule position: tenant → runner (the hot path's lookup). */
  private byRule: Map<string, Runner>[] = [];
  /** field → index key → rule positions. */
  private index = new Map<string, Map<string, number[]>>();
  private indexFields: string[] = [];
  private unindexed: number[] = [];
  private stamp = new Uint32Array(0);
  private stampNo = 0;
  private readonly runEveryMs: number;
  private readonly bufferTimeMs: number;
  private readonly latenessMs: number;
  private readonly maxPending: number;
  /** The highest watermark advance() has seen. */
  private watermark: number | null = null;
  /** Rule evaluations (filter checks) done, for the benchmark and /metrics. */
  filterChecks = 0;
  records = 0;

  constructor(private readonly opts: EngineOptions) {
    this.runEveryMs = opts.runEveryMs ?? 60_000;
    this.bufferTimeMs = opts.bufferTimeMs ?? 15 * 60_000;
    this.latenessMs = opts.allowedLatenessMs ?? 60_000;
    this.maxPending = opts.maxPendingPerRule ?? 100_000;
  }

  get ruleList(): readonly CompiledRule[] {
    return this.rules;
  }

  /** Replaces the rule set; rules whose document did not change keep their state. */
  setRules(rules: readonly CompiledRule[]): void {
    const byName = new Map(rules.map((r) => [r.name, r]));
    for (const [k, r] of this.runners) {
      const n = byName.get(r.rule.name);
      if (n === undefined || fingerprint(n) !== fingerprint(r.rule)) this.runners.delete(k);
    }
    this.rules = [...rules];
    this.index = new Map();
    this.unindexed = [];
    this.rules.forEach((rule, i) => {
      // Exact values select better than text tokens; then fewer keys.
      const exact = (h: { keys: readonly string[] }): number => (h.keys.every((k) => k.startsWith('v:')) ? 0 : 1);
      const hints = [...rule.filter.hints].sort((a, b) => exact(a) - exact(b) || a.keys.length - b.keys.length);
      const h = hints[0];
      if (h === undefined) {
        this.unindexed.push(i);
        return;
      }
      let f = this.index.get(h.field);
      if (f === undefined) this.index.set(h.field, (f = new Map()));
      for (const k of new Set(h.keys)) {
        const l = f.get(k);
        if (l === undefined) f.set(k, [i]);
        else l.push(i);
      }
    });
    this.indexFields = [...this.index.keys()];
    this.stamp = new Uint32Array(this.rules.length);
    this.byRule = this.rules.map(() => new Map());
    const pos = new Map(this.rules.map((r, i) => [r.name, i]));
    for (const r of this.runners.values()) this.byRule[pos.get(r.rule.name) ?? -1]?.set(r.tenant, r);
    this.stampNo = 0;
  }

  private runnerFor(rule: CompiledRule, tenant: string, nowHint: number, pos = this.rules.findIndex((x) => x.name === rule.name)): Runner {
    const byTenant = this.byRule[pos];
    const fast = byTenant?.get(tenant);
    if (fast !== undefined) return fast;
    const k = `${rule.name}\u0000${tenant}`;
    let r = this.runners.get(k);
    if (r === undefined) {
      const intervalMs = ruleIntervalMs(rule, this.runEveryMs, this.bufferTimeMs);
      r = { rule, tenant, type: createRuleType(rule), intervalMs, pending: [], lastEnd: null, recent: [] };
      // The first interval is the one the first record falls in, but never one the clock has passed
      // (a record from 1970 must not make a new rule replay fifty years of intervals).
      const first = Math.floor((nowHint - this.latenessMs) / intervalMs) * intervalMs;
      r.lastEnd = this.watermark === null ? first : Math.max(first, Math.floor(this.watermark / intervalMs) * intervalMs);
      this.runners.set(k, r);
    }
    byTenant?.set(tenant, r);
    return r;
  }

  private candidates(doc: Doc, out: number[]): void {
    if (++this.stampNo === 0xffffffff) {
      this.stamp.fill(0);
      this.stampNo = 1;
    }
    const s = this.stampNo;
    for (const i of this.unindexed) out.push(i);
    for (const field of this.indexFields) {
      const f = this.index.get(field) as Map<string, number[]>;
      for (const key of indexKeys(doc, field)) {
        const l = f.get(key);
        if (l === undefined) continue;
        for (const i of l) {
          if (this.stamp[i] !== s) {
            this.stamp[i] = s;
            out.push(i);
          }
        }
      }
    }
  }

  private readonly scratch: number[] = [];

  /** Takes a batch of records (the top README's contract §4). Returns the number taken by at least one rule. */
  offer(batch: readonly LogRecord[]): number {
    let taken = 0;
    const cand = this.scratch;
    for (const rec of batch) {
      this.records++;
      cand.length = 0;
      this.candidates(rec.doc, cand);
      let hit = false;
      for (const i of cand) {
        const rule = this.rules[i] as CompiledRule;
        const ts = rule.timestampField === '@timestamp' && rule.timestampType === 'iso' ? rec.timestampMs : parseTimestamp(lookupKey(rec.doc, rule.timestampField), rule.timestampType);
        this.filterChecks++;
        if (ts === null) {
          this.opts.onDrop?.(rule.name, 'no_timestamp', 1);
          continue;
        }
        if (!rule.filter.match(rec.doc, ts)) continue;
        const runner = this.runnerFor(rule, rec.tenant, ts, i);
        if (runner.lastEnd !== null && ts < runner.lastEnd) {
          this.opts.onDrop?.(rule.name, 'late', 1);
          continue;
        }
        if (runner.pending.length >= this.maxPending) {
          this.opts.onDrop?.(rule.name, 'backlog', 1);
          continue;
        }
        insertSorted(runner.pending, { ts, doc: prepareDoc(rule, rec.doc) });
        hit = true;
      }
      if (hit) taken++;
    }
    return taken;
  }

  /** Runs every interval that closed by `nowMs` (its end plus the allowed lateness). */
  advance(nowMs: number): void {
    const watermark = nowMs - this.latenessMs;
    this.watermark = this.watermark === null ? watermark : Math.max(this.watermark, watermark);
    for (const r of this.runners.values()) {
      if (r.lastEnd === null) r.lastEnd = Math.floor(watermark / r.intervalMs) * r.intervalMs;
      // After a long stop, the intervals beyond MAX_CATCH_UP_RUNS are run as one (their records in order).
      const behind = Math.floor((watermark - r.lastEnd) / r.intervalMs);
      if (behind > MAX_CATCH_UP_RUNS) this.runOnce(r, r.lastEnd, r.lastEnd + (behind - MAX_CATCH_UP_RUNS) * r.intervalMs);
      while (r.lastEnd + r.intervalMs <= watermark) this.runOnce(r, r.lastEnd, r.lastEnd + r.intervalMs);
    }
  }

  private runOnce(r: Runner, start: number, end: number): void {
    let n = 0;
    while (n < r.pending.length && (r.pending[n] as RuleEvent).ts < end) n++;
    const events = n === 0 ? [] : r.pending.splice(0, n);
    const spec = r.rule.topCounts;
    if (spec !== null) {
      for (const e of events) r.recent.push(countedRecord(r.rule, spec, e.ts, e.doc));
      if (r.recent.length > this.maxPending) r.recent.splice(0, r.recent.length - this.maxPending);
    }
    r.type.run(events, start, end);
    r.lastEnd = end;
    this.drain(r, events.length);
    // Matches of later runs are not older than this run's start.
    if (spec !== null) {
      const keep = r.recent.findIndex((c) => c.ts > start - spec.behindMs);
      r.recent.splice(0, keep < 0 ? r.recent.length : keep);
    }
  }

  private drain(r: Runner, numHits: number): void {
    const ms = r.type.matches.splice(0);
    const spec = r.rule.topCounts;
    for (const m of ms) {
      // send_alert's match.update(get_top_counts(...)); the match is the type's own copy.
      if (spec !== null) Object.assign(m.doc, topCounts(r.rule, spec, r.recent, m.ts, m.doc));
      this.opts.onMatch({ rule: r.rule, tenant: r.tenant, key: matchKey(r.rule, m.doc), ts: m.ts, doc: m.doc, numHits });
    }
  }

  /**
   * One run over everything pending, from the first record to one second past
   * the last, as `elastalert-test-rule --data` runs a rule (the `rules test` command).
   */
  runAll(): void {
    for (const r of this.runners.values()) {
      if (r.pending.length === 0) continue;
      const start = (r.pending[0] as RuleEvent).ts;
      const end = (r.pending[r.pending.length - 1] as RuleEvent).ts + 1000;
      this.runOnce(r, start, end);
    }
  }

  /** Feeds records to rules without the lateness check (for runAll). */
  offerAll(batch: readonly LogRecord[]): void {
    for (const rec of batch) {
      for (let i = 0; i < this.rules.length; i++) {
        const rule = this.rules[i] as CompiledRule;
        const ts = rule.timestampField === '@timestamp' && rule.timestampType === 'iso' && Number.isFinite(rec.timestampMs) ? rec.timestampMs : parseTimestamp(lookupKey(rec.doc, rule.timestampField), rule.timestampType);
        if (ts === null) {
          this.opts.onDrop?.(rule.name, 'no_timestamp', 1);
          continue;
        }
        if (!rule.filter.match(rec.doc, ts)) continue;
        const runner = this.runnerFor(rule, rec.tenant, ts);
        runner.lastEnd = null;
        insertSorted(runner.pending, { ts, doc: prepareDoc(rule, rec.doc) });
      }
    }
  }

  pendingCount(): number {
    let n = 0;
    for (const r of this.runners.values()) n += r.pending.length;
    return n;
  }

  snapshot(): RunnerState[] {
    return [...this.runners.values()].map((r) => ({ rule: r.rule.name, tenant: r.tenant, fingerprint: fingerprint(r.rule), lastEnd: r.lastEnd, pending: r.pending, type: r.type.snapshot(), recent: r.recent }));
  }

  /** Restores runners whose rule is loaded unchanged; state of changed or removed rules is dropped. */
  restore(states: readonly RunnerState[]): { restored: number; dropped: number } {
    const byName = new Map(this.rules.map((r) => [r.name, r]));
    let restored = 0;
    let dropped = 0;
    for (const s of states) {
      const rule = byName.get(s.rule);
      if (rule === undefined || fingerprint(rule) !== s.fingerprint) {
        dropped++;
        continue;
      }
      const type = createRuleType(rule);
      type.restore(s.type);
      const r: Runner = { rule, tenant: s.tenant, type, intervalMs: ruleIntervalMs(rule, this.runEveryMs, this.bufferTimeMs), pending: s.pending, lastEnd: s.lastEnd, recent: s.recent ?? [] };
      this.runners.set(`${rule.name}\u0000${s.tenant}`, r);
      this.byRule[this.rules.findIndex((x) => x.name === rule.name)]?.set(s.tenant, r);
      restored++;
    }
    return { restored, dropped };
  }
}

export type { RunnerState };
