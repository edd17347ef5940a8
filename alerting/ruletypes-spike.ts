// spike, spike_aggregation, metric_aggregation and percentage_match, as
// ElastAlert 0.2.4's ruletypes.py decides them. The aggregation types run on
// the records of one interval the way ElastAlert's aggregation query does:
// terms buckets per query_key (top terms_size by count), an optional
// date_histogram of bucket_interval, and the metric over each bucket; the
// match timestamp is the interval's end (or the histogram bucket's key).
import { hashKey, lookupKey, type Doc } from './fields.js';
import { timedeltaMs } from './duration.js';
import { compileFilter, type Predicate } from './filter.js';
import { RuleType, type RuleEvent } from './ruletype.js';
import { EventWindow, type WindowEvent } from './window.js';
import type { CompiledRule } from './rule.js';

export class SpikeRule extends RuleType {
  protected refWindows = new Map<string, EventWindow>();
  protected curWindows = new Map<string, EventWindow>();
  protected firstEvent = new Map<string, WindowEvent>();
  protected skipChecks = new Map<string, number>();
  protected refFilledOnce = false;
  protected readonly timeframe = this.rule.timeframeMs as number;
  protected readonly fieldValue = typeof this.rule.options.field_value === 'string' ? this.rule.options.field_value : null;

  // SpikeRule.add_data
  addData(events: readonly RuleEvent[]): void {
    for (const e of events) {
      let qk = 'all';
      if (this.rule.queryKey !== null) {
        const v = lookupKey(e.doc, this.rule.queryKey);
        qk = v === undefined || v === null ? 'other' : hashKey(v);
      }
      if (this.fieldValue !== null) {
        const c = lookupKey(e.doc, this.fieldValue);
        if (c === undefined || c === null) continue;
        const n = typeof c === 'number' ? Math.trunc(c) : typeof c === 'string' && /^\s*[+-]?\d+\s*$/.test(c) ? Number(c) : NaN;
        if (Number.isNaN(n)) continue;
        this.handleEvent(e.doc, e.ts, n, qk);
      } else this.handleEvent(e.doc, e.ts, 1, qk);
    }
  }

  protected windows(qk: string): [EventWindow, EventWindow] {
    let ref = this.refWindows.get(qk);
    if (ref === undefined) this.refWindows.set(qk, (ref = new EventWindow(this.timeframe)));
    let cur = this.curWindows.get(qk);
    const r = ref;
    if (cur === undefined) this.curWindows.set(qk, (cur = new EventWindow(this.timeframe, (x) => r.append(x))));
    return [ref, cur];
  }

  // SpikeRule.handle_event
  protected handleEvent(doc: Doc, ts: number, count: number, qk: string): void {
    if (!this.firstEvent.has(qk)) this.firstEvent.set(qk, { ts, doc, count });
    const [ref, cur] = this.windows(qk);
    cur.append({ ts, doc, count });
    if (ts - (this.firstEvent.get(qk) as WindowEvent).ts < this.timeframe * 2) {
      if (!this.refFilledOnce) return;
      if (!(this.rule.queryKey !== null && this.rule.options.alert_on_new_data)) return;
      const skip = this.skipChecks.get(qk);
      if (skip !== undefined && ts < skip) return;
    } else this.refFilledOnce = true;
    let match: WindowEvent | undefined;
    if (this.fieldValue !== null) {
      if (!this.findMatches(ref.mean(), cur.mean())) return;
      for (match of cur.data) if (!('placeholder' in match.doc)) break;
    } else {
      if (!this.findMatches(ref.count(), cur.count())) return;
      for (match of cur.data) if (match.count) break;
    }
    if (match === undefined) return;
    this.addSpikeMatch(match, qk);
    // clear_windows
    ref.clear();
    this.firstEvent.delete(qk);
    this.skipChecks.set(qk, match.ts + this.timeframe * 2);
  }

  private addSpikeMatch(m: WindowEvent, qk: string): void {
    const ref = this.refWindows.get(qk) as EventWindow;
    const cur = this.curWindows.get(qk) as EventWindow;
    const spike = this.fieldValue === null ? cur.count() : cur.mean();
    const reference = this.fieldValue === null ? ref.count() : ref.mean();
    this.addMatch({ ...m.doc, spike_count: spike, reference_count: reference }, m.ts);
  }

  // SpikeRule.find_matches
  protected findMatches(ref: number | null, cur: number | null): boolean {
    const o = this.rule.options;
    if (this.fieldValue === null) {
      if ((cur as number) < Number(o.threshold_cur ?? 0) || (ref as number) < Number(o.threshold_ref ?? 0)) return false;
    } else if (ref === null || ref === 0 || cur === null || cur === 0) return false;
    const height = Number(o.spike_height);
    const down = (cur as number) <= (ref as number) / height;
    const up = (cur as number) >= (ref as number) * height;
    const t = o.spike_type;
    return ((t === 'both' || t === 'up') && up) || ((t === 'both' || t === 'down') && down);
  }

  // SpikeRule.garbage_collect: a zero-count placeholder sizes the windows when no records come.
  override garbageCollect(ts: number): void {
    for (const qk of [...this.curWindows.keys()]) {
      const ref = this.refWindows.get(qk) as EventWindow;
      const cur = this.curWindows.get(qk) as EventWindow;
      if (qk !== 'all' && ref.count() === 0 && cur.count() === 0) {
        this.curWindows.delete(qk);
        this.refWindows.delete(qk);
        continue;
      }
      const doc: Doc = { [this.rule.timestampField]: ts, placeholder: true };
      if (qk !== 'all' && this.rule.queryKey !== null) doc[this.rule.queryKey] = this.rawKey(qk, cur);
      this.handleEvent(doc, ts, 0, qk);
    }
  }

  private rawKey(qk: string, cur: EventWindow): unknown {
    if (qk === 'other') return 'other';
    for (const e of cur.data) {
      const v = lookupKey(e.doc, this.rule.queryKey as string);
      if (v !== undefined && v !== null) return v;
    }
    for (const e of (this.refWindows.get(qk) as EventWindow).data) {
      const v = lookupKey(e.doc, this.rule.queryKey as string);
      if (v !== undefined && v !== null) return v;
    }
    return qk;
  }

  snapshot(): unknown {
    return {
      r: [...this.refWindows].map(([k, w]) => [k, w.toJSON()]),
      c: [...this.curWindows].map(([k, w]) => [k, w.toJSON()]),
      f: [...this.firstEvent],
      s: [...this.skipChecks],
      o: this.refFilledOnce,
    };
  }
  restore(s: unknown): void {
    const st = s as { r: [string, { d: WindowEvent[] }][]; c: [string, { d: WindowEvent[] }][]; f: [string, WindowEvent][]; s: [string, number][]; o: boolean };
    this.refWindows = new Map(st.r.map(([k, w]) => [k, EventWindow.from(this.timeframe, w)]));
    this.curWindows = new Map(st.c.map(([k, w]) => {
      const ref = this.refWindows.get(k) ?? new EventWindow(this.timeframe);
      this.refWindows.set(k, ref);
      return [k, EventWindow.from(this.timeframe, w, (x) => ref.append(x))];
    }));
    this.firstEvent = new Map(st.f);
    this.skipChecks = new Map(st.s);
    this.refFilledOnce = st.o;
  }
}

// ---- aggregations over one interval ----------------------------------------

type MetricType = 'min' | 'max' | 'avg' | 'sum' | 'cardinality' | 'value_count';

/** An Elasticsearch metric aggregation over the documents of one bucket. */
export function metricValue(type: MetricType, docs: readonly Doc[], field: string): number | null {
  const vals: unknown[] = [];
  for (const d of docs) {
    const v = lookupKey(d, field);
    if (Array.isArray(v)) vals.push(...v.filter((x) => x !== null));
    else if (v !== undefined && v !== null) vals.push(v);
  }
  if (type === 'value_count') return vals.length;
  if (type === 'cardinality') return new Set(vals.map(hashKey)).size;
  const nums = vals.map((v) => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN)).filter((n) => !Number.isNaN(n));
  if (type === 'sum') return nums.reduce((a, b) => a + b, 0);
  if (nums.length === 0) return null;
  if (type === 'min') return Math.min(...nums);
  if (type === 'max') return Math.max(...nums);
  return nums.reduce((a, b) => a + b, 0) / nums.length;
}

interface Bucket {
  key: unknown;
  docs: RuleEvent[];
}

/** A terms aggregation: buckets by value, doc_count descending then key ascending, the first `size`. */
function termsBuckets(events: readonly RuleEvent[], field: string, size: number, minDocCount: number): Bucket[] {
  const m = new Map<string, Bucket>();
  for (const e of events) {
    const v = lookupKey(e.doc, field);
    for (const x of Array.isArray(v) ? v : [v]) {
      if (x === undefined || x === null || typeof x === 'object') continue;
      const k = hashKey(x);
      let b = m.get(k);
      if (b === undefined) m.set(k, (b = { key: x, docs: [] }));
      b.docs.push(e);
    }
  }
  return [...m.values()]
    .filter((b) => b.docs.length >= minDocCount)
    .sort((a, b) => b.docs.length - a.docs.length || (String(a.key) < String(b.key) ? -1 : String(a.key) > String(b.key) ? 1 : 0))
    .slice(0, size);
}

abstract class AggregationRule extends RuleType {
  protected readonly bucketMs = timedeltaMs(this.rule.options.bucket_interval);

  override run(events: readonly RuleEvent[], _startMs: number, endMs: number): void {
    const qk = this.rule.queryKey;
    const size = Number(this.rule.options.terms_size ?? 50);
    const minDoc = Number(this.rule.options.min_doc_count ?? 1);
    if (qk === null) {
      this.intervals(endMs, null, events);
      return;
    }
    if (this.rule.compoundQueryKey !== null) {
      this.compound(endMs, events, this.rule.compoundQueryKey, [], size, minDoc);
      return;
    }
    for (const b of termsBuckets(events, qk, size, minDoc)) this.intervals(endMs, b.key, b.docs);
  }

  private compound(endMs: number, events: readonly RuleEvent[], keys: readonly string[], path: unknown[], size: number, minDoc: number): void {
    const [first, ...rest] = keys;
    for (const b of termsBuckets(events, first as string, size, minDoc)) {
      if (rest.length === 0) this.checkCompound(endMs, [...path, b.key], b.docs);
      else this.compound(endMs, b.docs, rest, [...path, b.key], size, minDoc);
    }
  }

  protected checkCompound(endMs: number, keys: unknown[], docs: readonly RuleEvent[]): void {
    this.intervals(endMs, keys.map(String).join(','), docs);
  }

  /** With bucket_interval, one check per date_histogram bucket (its key as the timestamp). */
  private intervals(endMs: number, key: unknown, docs: readonly RuleEvent[]): void {
    if (this.bucketMs === null || this.bucketMs <= 0) {
      this.check(endMs, key, docs);
      return;
    }
    const by = new Map<number, RuleEvent[]>();
    for (const e of docs) {
      const k = e.ts - (((e.ts % this.bucketMs) + this.bucketMs) % this.bucketMs);
      let l = by.get(k);
      if (l === undefined) by.set(k, (l = []));
      l.push(e);
    }
    const keys = [...by.keys()].sort((a, b) => a - b);
    if (keys.length === 0) return;
    // date_histogram fills empty buckets between the first and the last (min_doc_count 0).
    for (let t = keys[0] as number; t <= (keys[keys.length - 1] as number); t += this.bucketMs) this.check(t, key, by.get(t) ?? []);
  }

  protected abstract check(ts: number, key: unknown, docs: readonly RuleEvent[]): void;
  addData(): void {}
  snapshot(): unknown {
    return null;
  }
  restore(): void {}
}

export class MetricAggregationRule extends AggregationRule {
  private readonly metricKey = `metric_${String(this.rule.options.metric_agg_key)}_${String(this.rule.options.metric_agg_type)}`;

  protected check(ts: number, key: unknown, docs: readonly RuleEvent[]): void {
    const v = metricValue(this.rule.options.metric_agg_type as MetricType, docs.map((d) => d.doc), this.rule.options.metric_agg_key as string);
    if (!this.crossed(v)) return;
    const doc: Doc = { [this.rule.timestampField]: ts, [this.metricKey]: v };
    if (key !== null && this.rule.queryKey !== null) doc[this.rule.queryKey] = key;
    this.addMatch(doc, ts);
  }

  protected override checkCompound(endMs: number, keys: unknown[], docs: readonly RuleEvent[]): void {
    // check_matches_recursive: each compound key is a field of the match too.
    const v = metricValue(this.rule.options.metric_agg_type as MetricType, docs.map((d) => d.doc), this.rule.options.metric_agg_key as string);
    if (!this.crossed(v)) return;
    const doc: Doc = {};
    (this.rule.compoundQueryKey as string[]).forEach((k, i) => (doc[k] = keys[i]));
    doc[this.rule.timestampField] = endMs;
    doc[this.metricKey] = v;
    doc[this.rule.queryKey as string] = keys.map(String).join(',');
    this.addMatch(doc, endMs);
  }

  private crossed(v: number | null): boolean {
    if (v === null) return false;
    const o = this.rule.options;
    if ('max_threshold' in o && v > Number(o.max_threshold)) return true;
    if ('min_threshold' in o && v < Number(o.min_threshold)) return true;
    return false;
  }
}

export class PercentageMatchRule extends AggregationRule {
  private readonly bucketFilter: Predicate = compileFilter(this.rule.options.match_bucket_filter, 'match_bucket_filter').match;

  protected check(ts: number, key: unknown, docs: readonly RuleEvent[]): void {
    let matching = 0;
    for (const d of docs) if (this.bucketFilter(d.doc, d.ts)) matching++;
    const total = docs.length;
    const o = this.rule.options;
    if (total === 0 || total < Number(o.min_denominator ?? 0)) return;
    const pct = (matching / total) * 100;
    const violated = ('max_percentage' in o && pct > Number(o.max_percentage)) || ('min_percentage' in o && pct < Number(o.min_percentage));
    if (!violated) return;
    const doc: Doc = { [this.rule.timestampField]: ts, percentage: pct, denominator: total };
    if (key !== null && this.rule.queryKey !== null) doc[this.rule.queryKey] = key;
    this.addMatch(doc, ts);
  }
}

export class SpikeAggregationRule extends SpikeRule {
  override run(events: readonly RuleEvent[], _startMs: number, endMs: number): void {
    const type = this.rule.options.metric_agg_type as MetricType;
    const field = this.rule.options.metric_agg_key as string;
    const qk = this.rule.queryKey;
    if (qk === null) {
      const v = metricValue(type, events.map((e) => e.doc), field);
      this.handleEvent({ [this.rule.timestampField]: endMs }, endMs, v ?? 0, 'all');
    } else {
      const keys = this.rule.compoundQueryKey ?? [qk];
      const walk = (evs: readonly RuleEvent[], i: number, path: unknown[]): void => {
        for (const b of termsBuckets(evs, keys[i] as string, Number(this.rule.options.terms_size ?? 50), Number(this.rule.options.min_doc_count ?? 1))) {
          if (i + 1 < keys.length) walk(b.docs, i + 1, [...path, b.key]);
          else {
            const qkStr = [...path, b.key].map(String).join(',');
            const v = metricValue(type, b.docs.map((e) => e.doc), field);
            this.handleEvent({ [this.rule.timestampField]: endMs, [qk]: qkStr }, endMs, v ?? 0, qkStr);
          }
        }
      };
      walk(events, 0, []);
    }
    this.garbageCollect(endMs);
  }
  override addData(): void {}
}

export type { CompiledRule };
