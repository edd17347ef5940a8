// ElastAlert's EventWindow (ruletypes.py): events kept in timestamp order
// (an equal timestamp goes after the ones already there, as SortedKeyList
// inserts), a running count, and eviction of the oldest while the window's
// span is at least the timeframe. Evicted events go to onRemoved.
import type { Doc } from './fields.js';

export interface WindowEvent {
  readonly ts: number;
  readonly doc: Doc;
  readonly count: number;
}

export class EventWindow {
  data: WindowEvent[] = [];
  runningCount = 0;

  constructor(
    readonly timeframeMs: number,
    private readonly onRemoved: ((e: WindowEvent) => void) | null = null,
  ) {}

  clear(): void {
    this.data = [];
    this.runningCount = 0;
  }

  append(e: WindowEvent): void {
    const d = this.data;
    const last = d[d.length - 1];
    if (last === undefined || last.ts <= e.ts) d.push(e);
    else {
      let lo = 0;
      let hi = d.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((d[mid] as WindowEvent).ts <= e.ts) lo = mid + 1;
        else hi = mid;
      }
      d.splice(lo, 0, e);
    }
    this.runningCount += e.count;
    let head = 0;
    while (d.length - head > 0 && (d[d.length - 1] as WindowEvent).ts - (d[head] as WindowEvent).ts >= this.timeframeMs) {
      const oldest = d[head] as WindowEvent;
      head++;
      this.runningCount -= oldest.count;
      if (this.onRemoved) this.onRemoved(oldest);
    }
    if (head > 0) d.splice(0, head);
  }

  count(): number {
    return this.runningCount;
  }

  /** Mean of the counts of non-placeholder events, or null. */
  mean(): number | null {
    let sum = 0;
    let n = 0;
    for (const e of this.data) {
      if (!('placeholder' in e.doc)) {
        sum += e.count;
        n++;
      }
    }
    return n > 0 ? sum / n : null;
  }

  toJSON(): { d: WindowEvent[] } {
    return { d: this.data };
  }

  static from(timeframeMs: number, s: { d: WindowEvent[] } | undefined, onRemoved: ((e: WindowEvent) => void) | null = null): EventWindow {
    const w = new EventWindow(timeframeMs, onRemoved);
    if (s) {
      w.data = s.d;
      w.runningCount = s.d.reduce((a, e) => a + e.count, 0);
    }
    return w;
  }
}
