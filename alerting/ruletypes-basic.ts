// any, blacklist, whitelist, change, frequency, flatline, new_term and
// cardinality, decision for decision as ElastAlert 0.2.4's ruletypes.py
// makes them (the comments name the Python method each mirrors).
import { hashKey, lookupKey, type Doc } from './fields.js';
import { timedeltaMs } from './duration.js';
import { RuleType, type RuleEvent } from './ruletype.js';
import { EventWindow, type WindowEvent } from './window.js';
import type { CompiledRule } from './rule.js';

/** Python truthiness of a JSON value. */
export function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

/** Python == on JSON values (1 == 1.0, deep for lists and dicts). */
export function pyEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || a === null) return b === undefined || b === null;
  if (typeof a === 'boolean' || typeof b === 'boolean') return Number(a) === Number(b) && typeof a !== 'string' && typeof b !== 'string' && typeof a !== 'object' && typeof b !== 'object';
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => pyEquals(x, b[i]));
  if (typeof a === 'object' && typeof b === 'object' && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a as object);
    const kb = Object.keys(b as object);
    return ka.length === kb.length && ka.every((k) => k in (b as object) && pyEquals((a as Doc)[k], (b as Doc)[k]));
  }
  return false;
}

export class AnyRule extends RuleType {
  addData(events: readonly RuleEvent[]): void {
    for (const e of events) this.addMatch(e.doc, e.ts);
  }
  snapshot(): unknown {
    return null;
  }
  restore(): void {}
}

export class BlacklistRule extends RuleType {
  private readonly list = new Set((this.rule.options.blacklist as string[]) ?? []);
  addData(events: readonly RuleEvent[]): void {
    for (const e of events) {
      const term = lookupKey(e.doc, this.rule.compareKey as string);
      if (typeof term === 'string' && this.list.has(term)) this.addMatch(e.doc, e.ts);
    }
  }
  snapshot(): unknown {
    return null;
  }
  restore(): void {}
}

export class WhitelistRule extends RuleType {
  private readonly list = new Set((this.rule.options.whitelist as string[]) ?? []);
  addData(events: readonly RuleEvent[]): void {
    for (const e of events) {
      const term = lookupKey(e.doc, this.rule.compareKey as string);
      const hit = term === undefined || term === null ? !this.rule.options.ignore_null : !(typeof term === 'string' && this.list.has(term));
      if (hit) this.addMatch(e.doc, e.ts);
    }
  }
  snapshot(): unknown {
    return null;
  }
  restore(): void {}
}

export class ChangeRule extends RuleType {
  private occurrences = new Map<string, unknown[]>();
  private occurrenceTime = new Map<string, number>();
  private changeMap = new Map<string, [unknown[], unknown[]]>();

  addData(events: readonly RuleEvent[]): void {
    for (const e of events) if (this.compare(e)) this.addChangeMatch(e);
  }

  // ChangeRule.compare
  private compare(e: RuleEvent): boolean {
    const key = hashKey(lookupKey(e.doc, this.rule.queryKey as string));
    const values = (this.rule.compoundCompareKey as string[]).map((k) => lookupKey(e.doc, k) ?? null);
    for (const v of values) if (typeof v !== 'boolean' && !truthy(v) && this.rule.options.ignore_null) return false;
    let changed = false;
    const prev = this.occurrences.get(key);
    if (prev !== undefined) {
      for (let i = 0; i < prev.length; i++) {
        changed = !pyEquals(prev[i], values[i]);
        if (changed) break;
      }
      if (changed) {
        this.changeMap.set(key, [prev, values]);
        const t = this.occurrenceTime.get(key);
        if (t !== undefined) changed = e.ts - t <= (this.rule.timeframeMs as number);
      }
    }
    this.occurrences.set(key, values);
    if (this.rule.timeframeMs !== null) this.occurrenceTime.set(key, e.ts);
    return changed;
  }

  private addChangeMatch(e: RuleEvent): void {
    const change = this.changeMap.get(hashKey(lookupKey(e.doc, this.rule.queryKey as string)));
    this.addMatch(change ? { ...e.doc, old_value: change[0], new_value: change[1] } : e.doc, e.ts);
  }

  snapshot(): unknown {
    return { o: [...this.occurrences], t: [...this.occurrenceTime], c: [...this.changeMap] };
  }
  restore(s: unknown): void {
    const st = s as { o: [string, unknown[]][]; t: [string, number][]; c: [string, [unknown[], unknown[]]][] };
    this.occurrences = new Map(st.o);
    this.occurrenceTime = new Map(st.t);
    this.changeMap = new Map(st.c);
  }
}

interface KeyedWindow {
  /** The key as ElastAlert holds it (the query_key's value, or 'all'). */
  key: unknown;
  w: EventWindow;
}

export class FrequencyRule extends RuleType {
  protected occurrences = new Map<string, KeyedWindow>();
  protected readonly timeframe = this.rule.timeframeMs as number;

  protected keyOf(e: RuleEvent): [string, unknown] {
    if (this.rule.queryKey === null) return ['all', 'all'];
    const v = lookupKey(e.doc, this.rule.queryKey) ?? null;
    return [hashKey(v), v];
  }

  protected window(key: string, raw: unknown): EventWindow {
    let k = this.occurrences.get(key);
    if (k === undefined) {
      k = { key: raw, w: new EventWindow(this.timeframe) };
      this.occurrences.set(key, k);
    }
    return k.w;
  }

  // FrequencyRule.add_data
  addData(events: readonly RuleEvent[]): void {
    let last = '';
    for (const e of events) {
      const [key, raw] = this.keyOf(e);
      last = key;
      this.window(key, raw).append({ ts: e.ts, doc: e.doc, count: 1 });
      this.checkForMatch(key, false);
    }
    if (this.occurrences.has(last)) this.checkForMatch(last, true);
  }

  protected checkForMatch(key: string, _end: boolean): void {
    const k = this.occurrences.get(key) as KeyedWindow;
    if (k.w.count() >= Number(this.rule.options.num_events)) {
      const ev = k.w.data[k.w.data.length - 1] as WindowEvent;
      const doc = this.rule.options.attach_related ? { ...ev.doc, related_events: k.w.data.slice(0, -1).map((d) => d.doc) } : ev.doc;
      this.addMatch(doc, ev.ts);
      this.occurrences.delete(key);
    }
  }

  override garbageCollect(ts: number): void {
    for (const [key, k] of this.occurrences) {
      const lastTs = (k.w.data[k.w.data.length - 1] as WindowEvent | undefined)?.ts ?? ts;
      if (ts - lastTs > this.timeframe) this.occurrences.delete(key);
    }
  }

  snapshot(): unknown {
    return { o: [...this.occurrences].map(([h, k]) => [h, k.key, k.w.toJSON()]) };
  }
  restore(s: unknown): void {
    const st = s as { o: [string, unknown, { d: WindowEvent[] }][] };
    this.occurrences = new Map(st.o.map(([h, key, w]) => [h, { key, w: EventWindow.from(this.timeframe, w) }]));
  }
}

export class FlatlineRule extends FrequencyRule {
  private firstEvent = new Map<string, number>();

  // FlatlineRule.check_for_match
  protected override checkForMatch(key: string, end: boolean): void {
    if (!end) return;
    const k = this.occurrences.get(key) as KeyedWindow;
    const data = k.w.data;
    const mostRecent = (data[data.length - 1] as WindowEvent).ts;
    if (!this.firstEvent.has(key)) this.firstEvent.set(key, mostRecent);
    if (mostRecent - (this.firstEvent.get(key) as number) < this.timeframe) return;
    const count = k.w.count();
    if (count < Number(this.rule.options.threshold)) {
      const last = data[data.length - 1] as WindowEvent;
      this.addMatch({ ...last.doc, key: k.key, count }, last.ts);
      if (!this.rule.options.forget_keys) {
        this.firstEvent.set(key, Math.min((data[0] as WindowEvent).ts, mostRecent - this.timeframe));
      } else {
        this.firstEvent.delete(key);
        this.occurrences.delete(key);
      }
    }
  }

  // FlatlineRule.garbage_collect: a zero-count event at `ts` for every key.
  override garbageCollect(ts: number): void {
    const keys: [string, unknown][] = [...this.occurrences].map(([h, k]) => [h, k.key]);
    if (keys.length === 0 && this.rule.queryKey === null) keys.push(['all', 'all']);
    for (const [h, raw] of keys) {
      const doc: Doc = { [this.rule.timestampField]: ts };
      this.window(h, raw).append({ ts, doc, count: 0 });
      if (!this.firstEvent.has(h)) this.firstEvent.set(h, ts);
      this.checkForMatch(h, true);
    }
  }

  override snapshot(): unknown {
    return { ...(super.snapshot() as object), f: [...this.firstEvent] };
  }
  override restore(s: unknown): void {
    super.restore(s);
    this.firstEvent = new Map((s as { f: [string, number][] }).f);
  }
}

const MAX_TERMS_PER_FIELD = 1_000_000;

export class NewTermRule extends RuleType {
  private readonly fields: (string | string[])[];
  /** Per field (or composite field, joined by \u0001), term → last seen (ms). */
  private seen = new Map<string, Map<string, number>>();
  private readonly windowMs: number;
  /** Terms not remembered because a field's set is full. */
  dropped = 0;

  constructor(rule: CompiledRule) {
    super(rule);
    const f = 'fields' in rule.options ? rule.options.fields : rule.options.query_key;
    this.fields = (Array.isArray(f) ? f : [f]) as (string | string[])[];
    this.windowMs = timedeltaMs(rule.options.terms_window_size) ?? 30 * 86_400_000;
  }

  // NewTermsRule.add_data (the terms known at start come from state, not from an Elasticsearch query)
  addData(events: readonly RuleEvent[]): void {
    for (const e of events) {
      // add_data sets missing_field/new_field on the document itself, so a later
      // field's match of the same document carries the earlier one's too.
      const document: Doc = { ...e.doc };
      for (const field of this.fields) {
        let value: unknown;
        if (Array.isArray(field)) {
          const parts: unknown[] = [];
          for (const sub of field) {
            const r = lookupKey(e.doc, sub);
            if (!truthy(r)) {
              value = null;
              break;
            }
            parts.push(r);
          }
          if (value !== null) value = parts;
        } else value = lookupKey(e.doc, field);
        if (!truthy(value) && this.rule.options.alert_on_missing_field) {
          document.missing_field = field;
          this.addMatch(document, e.ts);
        } else if (truthy(value)) {
          const fk = Array.isArray(field) ? field.join('\u0001') : field;
          let set = this.seen.get(fk);
          if (set === undefined) this.seen.set(fk, (set = new Map()));
          const vk = hashKey(value);
          if (!set.has(vk)) {
            document.new_field = field;
            this.addMatch(document, e.ts);
            if (set.size >= MAX_TERMS_PER_FIELD) {
              this.dropped++;
              continue;
            }
          }
          set.set(vk, Math.max(set.get(vk) ?? -Infinity, e.ts));
        }
      }
    }
  }

  /** Terms not seen for terms_window_size are forgotten (the window ElastAlert's start-up query covers). */
  override garbageCollect(ts: number): void {
    for (const set of this.seen.values()) for (const [k, t] of set) if (ts - t > this.windowMs) set.delete(k);
  }

  snapshot(): unknown {
    return { s: [...this.seen].map(([f, m]) => [f, [...m]]) };
  }
  restore(s: unknown): void {
    this.seen = new Map((s as { s: [string, [string, number][]][] }).s.map(([f, m]) => [f, new Map(m)]));
  }
}

export class CardinalityRule extends RuleType {
  /** key → (term → last seen), plus the key's raw value. */
  private cache = new Map<string, { raw: unknown; terms: Map<string, number> }>();
  private firstEvent = new Map<string, number>();
  private readonly timeframe = this.rule.timeframeMs as number;
  private readonly max = 'max_cardinality' in this.rule.options ? Number(this.rule.options.max_cardinality) : Infinity;
  private readonly min = 'min_cardinality' in this.rule.options ? Number(this.rule.options.min_cardinality) : -Infinity;

  // CardinalityRule.add_data
  addData(events: readonly RuleEvent[]): void {
    const qk = this.rule.queryKey;
    for (const e of events) {
      const raw = qk === null ? 'all' : (lookupKey(e.doc, qk) ?? null);
      const key = qk === null ? 'all' : hashKey(raw);
      if (!this.cache.has(key)) this.cache.set(key, { raw, terms: new Map() });
      if (!this.firstEvent.has(key)) this.firstEvent.set(key, e.ts);
      const value = lookupKey(e.doc, this.rule.options.cardinality_field as string);
      if (value !== undefined && value !== null) {
        (this.cache.get(key) as { terms: Map<string, number> }).terms.set(hashKey(value), e.ts);
        this.checkForMatch(key, e.doc, e.ts, true);
      }
    }
  }

  private checkForMatch(key: string, doc: Doc, ts: number, gc: boolean): void {
    const elapsed = ts - (this.firstEvent.get(key) ?? ts);
    const n = (this.cache.get(key) as { terms: Map<string, number> }).terms.size;
    if (n > this.max || (n < this.min && elapsed > this.timeframe)) {
      if (gc) {
        this.garbageCollect(ts);
        this.checkForMatch(key, doc, ts, false);
      } else {
        this.firstEvent.delete(key);
        this.addMatch(doc, ts);
      }
    }
  }

  // CardinalityRule.garbage_collect
  override garbageCollect(ts: number): void {
    for (const [key, c] of this.cache) {
      for (const [t, last] of c.terms) if (ts - last > this.timeframe) c.terms.delete(t);
      if ('min_cardinality' in this.rule.options) {
        const doc: Doc = { [this.rule.timestampField]: ts };
        if (this.rule.queryKey !== null) doc[this.rule.queryKey] = c.raw;
        this.checkForMatch(key, doc, ts, false);
      }
    }
  }

  snapshot(): unknown {
    return { c: [...this.cache].map(([k, c]) => [k, c.raw, [...c.terms]]), f: [...this.firstEvent] };
  }
  restore(s: unknown): void {
    const st = s as { c: [string, unknown, [string, number][]][]; f: [string, number][] };
    this.cache = new Map(st.c.map(([k, raw, t]) => [k, { raw, terms: new Map(t) }]));
    this.firstEvent = new Map(st.f);
  }
}
