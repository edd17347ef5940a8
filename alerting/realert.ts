// realert and exponential_realert, as elastalert.py's run_rule/next_alert_time
// apply them, but in event time (the match's timestamp) instead of the wall
// clock, so that a replay, a restart and a second replica decide alike.
import type { CompiledRule } from './rule.js';

export interface SilenceEntry {
  until: number;
  exponent: number;
}

export class Silencer {
  private cache = new Map<string, SilenceEntry>();

  static cacheKey(rule: CompiledRule, tenant: string, key: string | null): string {
    return `${tenant}\u0000${rule.name}${key === null ? '' : `.${key}`}`;
  }

  /** True when the match is silenced; otherwise records the silence its alert starts. */
  admit(rule: CompiledRule, tenant: string, key: string | null, ts: number): boolean {
    const k = Silencer.cacheKey(rule, tenant, key);
    const whole = this.cache.get(Silencer.cacheKey(rule, tenant, null) + '._silence');
    const cur = this.cache.get(k);
    if ((whole !== undefined && ts < whole.until) || (cur !== undefined && ts < cur.until)) return false;
    if (rule.realertMs > 0) {
      const [until, exponent] = this.nextAlertTime(rule, cur, ts);
      this.cache.set(k, { until, exponent });
    }
    return true;
  }

  // ElastAlerter.next_alert_time
  private nextAlertTime(rule: CompiledRule, cur: SilenceEntry | undefined, ts: number): [number, number] {
    if (cur === undefined || rule.exponentialRealertMs === null) return [ts + rule.realertMs, 0];
    let exponent = cur.exponent;
    let diff = (ts - cur.until) / 1000;
    const realert = rule.realertMs / 1000;
    if (diff < realert * 2 ** exponent) exponent += 1;
    else {
      while (diff > realert * 2 ** exponent && exponent > 0) {
        diff -= realert * 2 ** exponent;
        exponent -= 1;
      }
    }
    const waitMs = rule.realertMs * 2 ** exponent;
    if (waitMs >= rule.exponentialRealertMs) return [ts + rule.exponentialRealertMs, exponent - 1];
    return [ts + waitMs, exponent];
  }

  /** Forgets silences that ended before `ts`. */
  expire(ts: number): void {
    for (const [k, v] of this.cache) if (v.until < ts - 86_400_000) this.cache.delete(k);
  }

  snapshot(): [string, SilenceEntry][] {
    return [...this.cache];
  }
  restore(s: readonly [string, SilenceEntry][]): void {
    this.cache = new Map(s);
  }
}
