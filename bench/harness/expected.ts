// What a contender must deliver for each scrape answered or push
// acknowledged: the series of that record that the scenario's filter keeps,
// each with exactly the record's timestamp. Computed with relabel/'s
// MetricFilter on the simulator's template, i.e. by the same rules every
// contender was given.
import { MetricFilter } from '../../relabel/index.js';
import type { ServedRecord } from '../sim/fleet.js';
import { siteName, type SiteTemplate } from '../sim/template.js';
import type { Scenario } from './scenario.js';

export class Expectation {
  /** prefix[i]: kept series among template indexes [0, i). */
  private readonly prefix: Uint32Array;

  /** With `aggregated`, the series of the scenario's aggregated families are left out (their output is checked by count only). */
  constructor(template: SiteTemplate, scenario: Scenario, aggregated = false) {
    const filter = scenario.filter === undefined ? null : MetricFilter.compile(scenario.filter);
    const families = new Set(aggregated ? (scenario.aggregation ?? []).map((a) => a.family) : []);
    const n = template.seriesCount;
    this.prefix = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) {
      const labels = template.series[i]?.labels as readonly string[];
      const kept = !families.has(template.series[i]?.family as string) && (filter === null || filter.apply([...labels]) !== null);
      this.prefix[i + 1] = (this.prefix[i] as number) + (kept ? 1 : 0);
    }
  }

  /** Kept series per site (every site has the template's series). */
  get seriesPerSite(): number {
    return this.prefix[this.prefix.length - 1] as number;
  }

  kept(r: ServedRecord): number {
    return (this.prefix[r.first + r.count] as number) - (this.prefix[r.first] as number);
  }

  /** Expected samples by site name and timestamp. */
  bySiteAndTime(records: readonly ServedRecord[]): Map<string, Map<number, number>> {
    const out = new Map<string, Map<number, number>>();
    for (const r of records) {
      const site = siteName(r.site);
      let m = out.get(site);
      if (!m) out.set(site, (m = new Map()));
      m.set(r.ts, (m.get(r.ts) ?? 0) + this.kept(r));
    }
    return out;
  }
}

export interface DeliveryCheck {
  readonly expected: number;
  /** Samples that arrived for the expected (site, timestamp) pairs, at most the expected number each. */
  readonly delivered: number;
  readonly missing: number;
  /** Samples beyond the expected number for a (site, timestamp): duplicates. */
  readonly extra: number;
}

export function checkDelivery(expected: Map<string, Map<number, number>>, groups: Record<string, [number, number][]>): DeliveryCheck {
  let want = 0;
  let got = 0;
  let extra = 0;
  for (const [site, byTs] of expected) {
    const have = new Map(groups[site] ?? []);
    for (const [ts, n] of byTs) {
      const h = have.get(ts) ?? 0;
      want += n;
      got += Math.min(n, h);
      extra += Math.max(0, h - n);
    }
  }
  return { expected: want, delivered: got, missing: want - got, extra };
}
