// What every rule type implements. A run hands a rule the records of one
// interval [start, end) in timestamp order, as one ElastAlert run_query does,
// then garbage_collect(end); aggregation types work on the whole interval.
import type { Doc } from './fields.js';
import type { CompiledRule } from './rule.js';

export interface RuleEvent {
  readonly ts: number;
  /** The record's _source, with compound query/aggregation keys added as ElastAlert's process_hits adds them. */
  readonly doc: Doc;
}

export interface RuleMatch {
  readonly ts: number;
  readonly doc: Doc;
}

export abstract class RuleType {
  readonly matches: RuleMatch[] = [];
  constructor(readonly rule: CompiledRule) {}

  /** One run over [startMs, endMs): the default is add_data then garbage_collect(end). */
  run(events: readonly RuleEvent[], _startMs: number, endMs: number): void {
    if (events.length > 0) this.addData(events);
    this.garbageCollect(endMs);
  }

  abstract addData(events: readonly RuleEvent[]): void;
  garbageCollect(_ts: number): void {}

  /** RuleType.add_match: a deep copy, the timestamp written back as ElastAlert writes it. */
  protected addMatch(doc: Doc, ts: number): void {
    const copy = structuredClone(doc);
    copy[this.rule.timestampField] = formatTimestamp(ts);
    this.matches.push({ ts, doc: copy });
  }

  abstract snapshot(): unknown;
  abstract restore(state: unknown): void;
}

/** util.dt_to_ts: ISO 8601 in UTC, milliseconds only when there are any, `Z`. */
export function formatTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/** Reads a record's timestamp per timestamp_type, or null when it has none that parses. */
export function parseTimestamp(v: unknown, type: CompiledRule['timestampType']): number | null {
  if (type === 'unix' || type === 'unix_ms') {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n)) return null;
    return type === 'unix' ? n * 1000 : n;
  }
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(v)) return null;
  // dateutil reads a timestamp without an offset as UTC here (ts_to_dt).
  const s = /[zZ]$|[+-]\d{2}:?\d{2}$/.test(v) || v.length === 10 ? v : `${v}Z`;
  const ms = Date.parse(s.replace(' ', 'T'));
  return Number.isNaN(ms) ? null : ms;
}
