// One pre-rendered exposition body shared by every simulated site. Sites
// differ only in bytes at known offsets: the site name (fixed width, so every
// site's body has the same length), each series' value (12 zero-padded
// digits), the scrape timestamp (13 digits, milliseconds: the sink reads the
// end-to-end delay from it) and, for churn, three hex digits of the `uid`
// label. Rendering a scrape is one memcpy of the template plus those writes:
// no string building, no label formatting, no per-site label tables.
import { sortLabels } from '../../relabel/index.js';
import { generateSite, type MetricType, type SimSeries } from './site.js';

/** Site names are `ce-` and six digits: fixed width, so they can be overwritten in place. */
export const SITE_NAME_WIDTH = 9;
export const PLACEHOLDER_SITE = 'ce-000000';
const VALUE_WIDTH = 12;
const TS_WIDTH = 13;
const MAX_VALUE = 10 ** VALUE_WIDTH - 1;

export function siteName(index: number): string {
  return `ce-${String(index + 1).padStart(6, '0')}`;
}

export interface TemplateOptions {
  readonly series: number;
  readonly histogramShare: number;
  readonly seed: number;
  /** Labels added to every series beyond the generator's ~16 (`extra_<k>`, constant per site); 0 by default. */
  readonly extraLabels?: number;
}

/** What varies between two renders of the same site. */
export interface RenderState {
  readonly siteIndex: number;
  /** Scrape interval number since the simulator started. */
  readonly interval: number;
  /** Intervals since this site's counters last reset. */
  readonly sinceReset: number;
  readonly timestampMs: number;
  /** Share of series replaced per interval, 0..1 (0: labels never change). */
  readonly churn: number;
}

export class SiteTemplate {
  /** The body with placeholder site, zero values and timestamps. */
  readonly body: Buffer;
  /** The series, with the placeholder site name (labels sorted, `__name__` included). */
  readonly series: readonly SimSeries[];
  private readonly valueAt: Uint32Array;
  private readonly tsAt: Uint32Array;
  private readonly uidAt: Int32Array;
  private readonly siteAt: Uint32Array;
  private readonly base: Float64Array;
  /** 1 for values that only grow (counters, histogram and summary counts/sums), 0 for gauges. */
  private readonly monotonic: Uint8Array;

  constructor(readonly options: TemplateOptions) {
    const { series } = generateSite({ site: PLACEHOLDER_SITE, seed: options.seed, series: options.series, histogramShare: options.histogramShare });
    // Group lines by family so each family's # HELP/# TYPE comes once, before its series.
    const order = series.map((s, i) => ({ s, i }));
    const familyRank = new Map<string, number>();
    for (const s of series) if (!familyRank.has(s.family)) familyRank.set(s.family, familyRank.size);
    order.sort((a, b) => (familyRank.get(a.s.family) as number) - (familyRank.get(b.s.family) as number) || a.i - b.i);
    const extra: string[] = [];
    for (let k = 0; k < (options.extraLabels ?? 0); k++) extra.push(`extra_${k}`, `${PLACEHOLDER_SITE}-value-${k}`);
    this.series = order.map((o) => (extra.length === 0 ? o.s : { ...o.s, labels: sortLabels([...o.s.labels, ...extra]) }));
    const n = this.series.length;
    this.valueAt = new Uint32Array(n);
    this.tsAt = new Uint32Array(n);
    this.uidAt = new Int32Array(n).fill(-1);
    this.base = new Float64Array(n);
    this.monotonic = new Uint8Array(n);
    const siteAt: number[] = [];
    const parts: string[] = [];
    let pos = 0;
    let family = '';
    const zeros = '0'.repeat(VALUE_WIDTH);
    const ts0 = '0'.repeat(TS_WIDTH);
    for (let i = 0; i < n; i++) {
      const s = this.series[i] as SimSeries;
      if (s.family !== family) {
        family = s.family;
        const head = `# HELP ${family} Simulated ${family.replace(/_/g, ' ')}.\n# TYPE ${family} ${typeName(s.type)}\n`;
        parts.push(head);
        pos += head.length;
      }
      let line: string;
      let name = '';
      let labels = '';
      for (let j = 0; j < s.labels.length; j += 2) {
        const k = s.labels[j] as string;
        const v = s.labels[j + 1] as string;
        if (k === '__name__') name = v;
        else labels += `${labels === '' ? '' : ','}${k}="${v}"`;
      }
      line = `${name}{${labels}} `;
      let from = 0;
      for (;;) {
        const at = line.indexOf(PLACEHOLDER_SITE, from);
        if (at < 0) break;
        siteAt.push(pos + at);
        from = at + SITE_NAME_WIDTH;
      }
      const uid = line.indexOf('uid="');
      // The last three characters of the uid value change with the series' churn generation.
      if (uid >= 0) this.uidAt[i] = pos + line.indexOf('"', uid + 5) - 3;
      this.valueAt[i] = pos + line.length;
      this.tsAt[i] = pos + line.length + VALUE_WIDTH + 1;
      line += `${zeros} ${ts0}\n`;
      parts.push(line);
      pos += line.length;
      this.base[i] = Math.max(1, Math.round(s.value));
      this.monotonic[i] = s.type === 'gauge' || (s.type === 'summary' && name === s.family) ? 0 : 1;
    }
    this.body = Buffer.from(parts.join(''), 'latin1');
    this.siteAt = Uint32Array.from(siteAt);
  }

  /** Series i's value in a render: counters grow with the intervals since the last reset, gauges drift. */
  value(i: number, st: RenderState): number {
    const b = this.base[i] as number;
    const v = this.monotonic[i] === 1 ? b * (1 + st.sinceReset) : (b + st.interval * 37 + st.siteIndex) % 1_000_000;
    return v > MAX_VALUE ? v % MAX_VALUE : v;
  }

  get seriesCount(): number {
    return this.series.length;
  }

  /** Writes one site's scrape into `out` (at least body.length bytes) and returns the bytes used. */
  render(out: Buffer, st: RenderState): number {
    const body = this.body;
    body.copy(out, 0, 0, body.length);
    const site = Buffer.from(siteName(st.siteIndex), 'latin1');
    const siteAt = this.siteAt;
    for (let i = 0; i < siteAt.length; i++) {
      const o = siteAt[i] as number;
      for (let j = 0; j < SITE_NAME_WIDTH; j++) out[o + j] = site[j] as number;
    }
    const ts = Buffer.from(String(Math.floor(st.timestampMs)).padStart(TS_WIDTH, '0'), 'latin1');
    const n = this.valueAt.length;
    const churned = Math.round(st.churn * n);
    const shift = st.interval * churned;
    for (let i = 0; i < n; i++) {
      writeDigits(out, this.valueAt[i] as number, VALUE_WIDTH, this.value(i, st));
      const t = this.tsAt[i] as number;
      for (let j = 0; j < TS_WIDTH; j++) out[t + j] = ts[j] as number;
      if (churned > 0) {
        const u = this.uidAt[i] as number;
        // Series i is in generation floor((shift + n - 1 - i) / n): each interval the next `churned` series move on.
        if (u >= 0) writeHex3(out, u, Math.floor((shift + n - 1 - i) / n));
      }
    }
    return body.length;
  }
}

function typeName(t: MetricType): string {
  return t;
}

function writeDigits(out: Buffer, at: number, width: number, value: number): void {
  let v = Math.floor(value);
  for (let j = width - 1; j >= 0; j--) {
    const q = Math.floor(v / 10);
    out[at + j] = 48 + (v - q * 10);
    v = q;
  }
}

const HEX = '0123456789abcdef';
function writeHex3(out: Buffer, at: number, value: number): void {
  const v = value & 0xfff;
  out[at] = HEX.charCodeAt(v >> 8);
  out[at + 1] = HEX.charCodeAt((v >> 4) & 15);
  out[at + 2] = HEX.charCodeAt(v & 15);
}
