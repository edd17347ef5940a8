// The pre-aggregation engine: samples of matching series in, one output
// series per group and output out, once per interval. Synchronous and
// deterministic (no clock of its own: the caller passes it), so it is table
// tested, and its whole state is a JSON checkpoint.
//
// - Windows are [k·interval, (k+1)·interval) of the sample's own timestamp;
//   a window is written when the clock passes its end + max_delay, stamped
//   with its end. A sample for a window already written is dropped
//   (too_late), one too far ahead (more than an interval past the clock) too
//   (too_early).
// - Each (source series, rule) remembers its last timestamp: a sample at or
//   before it is a duplicate (a site's retry, or a replay of the input queue
//   after a crash) and is not counted again. That is what makes a replay from
//   the last checkpoint exact: nothing lost, nothing counted twice.
// - `total` is reset-aware, as PromQL's increase(): a value below the
//   previous one is a restart of the source, and counts from zero; the first
//   sample of a source is its baseline. The output is the running sum of
//   increases, kept across windows (and restarts, through the checkpoint), so
//   it never goes backwards.
import { type Labels, getLabel } from '../relabel/index.js';
import { RemoteWriteBatch, type RemoteWriteReader, encodeLabels, isStaleNaN, parseGoFloat } from '../wire/index.js';
import type { AggregateOutput, AggregateRule } from './aggregate-config.js';

export const TOO_LATE = 'too_late';
export const TOO_EARLY = 'too_early';
export const DUPLICATE = 'duplicate';

interface Group {
  readonly key: string;
  /** Output labels, flat and sorted, with the input's metric name. */
  readonly labels: Labels;
  readonly name: string;
  /** What picks the remote-write shard: the group's site, else its tenant. */
  readonly shardKey: string;
  /** Encoded labels per output (index as rule.outputs), built on first flush. */
  readonly encoded: (Buffer | undefined)[];
  /** `total`: the running sum of increases. */
  total: number;
}

interface Acc {
  sum: number;
  count: number;
  min: number;
  max: number;
  last: number;
  lastTs: number;
  series: number;
  increase: number;
}

interface SourceRule {
  readonly rule: AggregateRule;
  readonly group: Group;
  lastTs: number;
  lastValue: number;
  /** The window it last counted in (count_series). */
  window: number;
  /** Increase of samples dropped as too late, carried into the next window. */
  pendingIncrease: number;
}

interface Source {
  /** Empty when no rule applies: remembered so the lookup is not redone. */
  readonly rules: SourceRule[];
  lastSeen: number;
}

interface RuleState {
  readonly rule: AggregateRule;
  readonly groups: Map<string, Group>;
  readonly windows: Map<number, Map<Group, Acc>>;
  /** Windows ending at or before this are written. */
  watermark: number;
}

export interface AggregateOutputBatch {
  readonly tenant: string;
  readonly shardKey: string;
  /** Uncompressed WriteRequest. */
  readonly body: Buffer;
  readonly samples: number;
}

/** The checkpoint's shape (JSON). */
interface Checkpoint {
  readonly v: 1;
  readonly sources: [string, number, [string, string, number, number, number, number][]][];
  readonly rules: Record<string, { watermark: number; groups: [string, Labels, number][]; windows: [number, [string, ...number[]][]][] }>;
}

const newAcc = (): Acc => ({ sum: 0, count: 0, min: Infinity, max: -Infinity, last: 0, lastTs: -Infinity, series: 0, increase: 0 });

export class AggregationEngine {
  private rulesByPipeline = new Map<string, readonly AggregateRule[]>();
  private readonly states = new Map<string, RuleState>();
  private readonly sources = new Map<string, Source>();
  private readonly batch = new RemoteWriteBatch();
  /** Samples dropped, by "tenant\0reason", since the caller last took them. */
  readonly dropped = new Map<string, number>();

  /** Rules per pipeline key ("tenant" or "tenant/group"); on a reload, state of rules that stay is kept. */
  setRules(rules: ReadonlyMap<string, readonly AggregateRule[]>): void {
    this.rulesByPipeline = new Map(rules);
    const ids = new Set<string>();
    for (const list of rules.values()) {
      for (const r of list) {
        ids.add(r.id);
        if (!this.states.has(r.id)) this.states.set(r.id, { rule: r, groups: new Map(), windows: new Map(), watermark: -Infinity });
      }
    }
    for (const id of [...this.states.keys()]) if (!ids.has(id)) this.states.delete(id);
    // Sources point at rules; rebuild them lazily against the new ones.
    for (const [key, s] of this.sources) if (s.rules.some((sr) => !ids.has(sr.rule.id)) || s.rules.length === 0) this.sources.delete(key);
  }

  hasRules(): boolean {
    for (const l of this.rulesByPipeline.values()) if (l.length > 0) return true;
    return false;
  }

  /** Takes in one WriteRequest of series that matched a rule of `pipelineKey`, received at `receivedAt`. */
  ingest(pipelineKey: string, reader: RemoteWriteReader, receivedAt: number): void {
    while (reader.next()) {
      const key = `${pipelineKey}\u0000${reader.labelsKey()}`;
      let source = this.sources.get(key);
      if (source === undefined) {
        source = this.newSource(pipelineKey, reader.labels(false));
        this.sources.set(key, source);
      }
      source.lastSeen = receivedAt;
      const n = reader.sampleCount();
      for (let i = 0; i < n; i++) {
        const v = reader.sampleValue(i);
        if (isStaleNaN(v)) continue;
        const ts = reader.sampleTimestamp(i);
        for (const sr of source.rules) this.add(sr, ts, v, receivedAt);
      }
    }
  }

  private newSource(pipelineKey: string, labels: Labels): Source {
    const rules: SourceRule[] = [];
    const name = getLabel(labels, '__name__');
    for (const rule of this.rulesByPipeline.get(pipelineKey) ?? []) {
      if (!rule.matches(name)) continue;
      const bucket = name.endsWith('_bucket');
      if (bucket && rule.keepLe !== null) {
        const le = parseGoFloat(getLabel(labels, 'le'));
        // Buckets are cumulative: a boundary left out is already counted in the next kept one up.
        if (le === undefined || !rule.keepLe.has(le)) continue;
      }
      const out: string[] = [];
      for (let i = 0; i < labels.length; i += 2) {
        const n = labels[i] as string;
        const keep = rule.always.has(n) || (bucket && n === 'le') || (rule.by !== null ? rule.by.has(n) : rule.without === null || !rule.without.has(n));
        if (keep) out.push(n, labels[i + 1] as string);
      }
      const state = this.states.get(rule.id) as RuleState;
      const gkey = out.join('\u0000');
      let group = state.groups.get(gkey);
      if (group === undefined) {
        group = makeGroup(gkey, out, name, rule.outputs.length);
        state.groups.set(gkey, group);
      }
      rules.push({ rule, group, lastTs: -Infinity, lastValue: NaN, window: NaN, pendingIncrease: 0 });
    }
    return { rules, lastSeen: 0 };
  }

  private add(sr: SourceRule, ts: number, v: number, receivedAt: number): void {
    const rule = sr.rule;
    if (ts <= sr.lastTs) return this.drop(rule.tenant, DUPLICATE);
    const state = this.states.get(rule.id) as RuleState;
    const start = ts - (((ts % rule.intervalMs) + rule.intervalMs) % rule.intervalMs);
    if (start + rule.intervalMs <= state.watermark) {
      // Its window is written. The counter's value still moves the baseline, so the next
      // window's increase includes what this sample would have added: late, not lost.
      sr.lastTs = ts;
      if (!Number.isNaN(sr.lastValue)) sr.pendingIncrease += increase(sr.lastValue, v);
      sr.lastValue = v;
      return this.drop(rule.tenant, TOO_LATE);
    }
    if (ts > receivedAt + rule.intervalMs) return this.drop(rule.tenant, TOO_EARLY);
    let win = state.windows.get(start);
    if (win === undefined) {
      win = new Map();
      state.windows.set(start, win);
    }
    let acc = win.get(sr.group);
    if (acc === undefined) {
      acc = newAcc();
      win.set(sr.group, acc);
    }
    acc.sum += v;
    acc.count++;
    if (v < acc.min) acc.min = v;
    if (v > acc.max) acc.max = v;
    if (ts >= acc.lastTs) {
      acc.last = v;
      acc.lastTs = ts;
    }
    if (sr.window !== start) {
      acc.series++;
      sr.window = start;
    }
    if (!Number.isNaN(sr.lastValue)) acc.increase += increase(sr.lastValue, v);
    acc.increase += sr.pendingIncrease;
    sr.pendingIncrease = 0;
    sr.lastTs = ts;
    sr.lastValue = v;
  }

  private drop(tenant: string, reason: string): void {
    const k = `${tenant}\u0000${reason}`;
    this.dropped.set(k, (this.dropped.get(k) ?? 0) + 1);
  }

  /**
   * Writes every window that ends at or before `clock` − max_delay, and
   * forgets source series unseen for their rule's staleness interval.
   * Returns the outputs per tenant and shard key.
   */
  flush(clock: number): AggregateOutputBatch[] {
    const batches = new Map<string, { tenant: string; shardKey: string; series: [Buffer, number, number][] }>();
    for (const state of this.states.values()) {
      const rule = state.rule;
      const due = [...state.windows.keys()].filter((start) => start + rule.intervalMs + rule.maxDelayMs <= clock).sort((a, b) => a - b);
      for (const start of due) {
        const end = start + rule.intervalMs;
        for (const [group, acc] of state.windows.get(start) as Map<Group, Acc>) {
          group.total += acc.increase;
          const bk = `${rule.tenant}\u0000${group.shardKey}`;
          let b = batches.get(bk);
          if (b === undefined) {
            b = { tenant: rule.tenant, shardKey: group.shardKey, series: [] };
            batches.set(bk, b);
          }
          rule.outputs.forEach((output, i) => {
            const enc = (group.encoded[i] ??= encodeOutput(group, rule, output));
            b.series.push([enc, outputValue(output, acc, group), end]);
          });
        }
        state.windows.delete(start);
        if (end > state.watermark) state.watermark = end;
      }
    }
    // Forget what went quiet: bounded memory, whatever the churn of source series.
    for (const [key, s] of this.sources) {
      const staleness = s.rules[0]?.rule.stalenessMs ?? 600_000;
      if (clock - s.lastSeen > staleness) this.sources.delete(key);
    }
    const out: AggregateOutputBatch[] = [];
    for (const b of batches.values()) {
      this.batch.reset();
      for (const [enc, value, ts] of b.series) this.batch.add(enc, value, ts);
      out.push({ tenant: b.tenant, shardKey: b.shardKey, body: Buffer.from(this.batch.finish()), samples: this.batch.sampleCount });
    }
    return out;
  }

  /** Windows not yet written, for tests and metrics. */
  openWindows(): number {
    let n = 0;
    for (const s of this.states.values()) n += s.windows.size;
    return n;
  }

  sourceCount(): number {
    return this.sources.size;
  }

  toCheckpoint(): Checkpoint {
    const sources: Checkpoint['sources'] = [];
    for (const [key, s] of this.sources) {
      if (s.rules.length === 0) continue;
      sources.push([Buffer.from(key, 'latin1').toString('base64'), s.lastSeen, s.rules.map((sr) => [sr.rule.id, sr.group.key, sr.lastTs, sr.lastValue, sr.window, sr.pendingIncrease])]);
    }
    const rules: Checkpoint['rules'] = {};
    for (const [id, st] of this.states) {
      rules[id] = {
        watermark: st.watermark,
        groups: [...st.groups.values()].map((g) => [g.key, g.labels, g.total]),
        windows: [...st.windows].map(([start, w]) => [start, [...w].map(([g, a]) => [g.key, a.sum, a.count, a.min, a.max, a.last, a.lastTs, a.series, a.increase] as [string, ...number[]])]),
      };
    }
    return { v: 1, sources, rules };
  }

  /** Restores a checkpoint for the rules set now; state of rules that no longer exist is left out. */
  restore(cp: Checkpoint): void {
    for (const [id, r] of Object.entries(cp.rules)) {
      const st = this.states.get(id);
      if (st === undefined) continue;
      st.watermark = r.watermark;
      for (const [key, labels, total] of r.groups) {
        const g = makeGroup(key, labels, getLabel(labels, '__name__'), st.rule.outputs.length);
        g.total = total;
        st.groups.set(key, g);
      }
      for (const [start, accs] of r.windows) {
        const w = new Map<Group, Acc>();
        for (const [key, sum, count, min, max, last, lastTs, series, inc] of accs) {
          const g = st.groups.get(key);
          if (g) w.set(g, { sum: sum as number, count: count as number, min: min as number, max: max as number, last: last as number, lastTs: lastTs as number, series: series as number, increase: inc as number });
        }
        st.windows.set(start, w);
      }
    }
    for (const [keyB64, lastSeen, rules] of cp.sources) {
      const list: SourceRule[] = [];
      for (const [id, gkey, lastTs, lastValue, window, pendingIncrease] of rules) {
        const st = this.states.get(id);
        const group = st?.groups.get(gkey);
        if (st && group) list.push({ rule: st.rule, group, lastTs, lastValue, window, pendingIncrease });
      }
      if (list.length > 0) this.sources.set(Buffer.from(keyB64, 'base64').toString('latin1'), { rules: list, lastSeen });
    }
  }
}

function increase(prev: number, v: number): number {
  return v >= prev ? v - prev : v;
}

function makeGroup(key: string, labels: Labels, name: string, outputs: number): Group {
  return { key, labels, name, shardKey: getLabel(labels, 'site') || getLabel(labels, 'tenant'), encoded: new Array<Buffer | undefined>(outputs), total: 0 };
}

function encodeOutput(g: Group, rule: AggregateRule, output: AggregateOutput): Buffer {
  const out: string[] = [];
  for (let i = 0; i < g.labels.length; i += 2) out.push(g.labels[i] as string, g.labels[i] === '__name__' ? `${g.name}${rule.suffix}${output}` : (g.labels[i + 1] as string));
  return encodeLabels(out);
}

function outputValue(output: AggregateOutput, a: Acc, g: Group): number {
  switch (output) {
    case 'total':
      return g.total;
    case 'increase':
      return a.increase;
    case 'sum_samples':
      return a.sum;
    case 'count_samples':
      return a.count;
    case 'count_series':
      return a.series;
    case 'last':
      return a.last;
    case 'min':
      return a.min;
    case 'max':
      return a.max;
    case 'avg':
      return a.sum / a.count;
  }
}
