// The report of one scenario: bench/results/<scenario>.json (one object per
// contender, medians with min–max over the runs, and the ratios of each
// figure between contenders), a Markdown table and an SVG bar chart. A
// contender that did not deliver every sample it was sent gets no speed or
// memory figure (null), only what it delivered and what it missed.
import { CONTENDERS, type ContenderName } from './configs.js';
import type { ContenderOutcome, RunResult } from './run.js';

export const FIELDS = [
  'cpu_seconds_per_million_samples',
  'peak_rss_mb',
  'rss_bytes_per_active_series',
  'wire_bytes_per_sample',
  'samples_delivered',
  'delay_p50_ms',
  'delay_p99_ms',
  'series_out_per_site',
] as const;
export type Field = (typeof FIELDS)[number];

/** Figures that a contender which lost data does not get. */
const PERFORMANCE: ReadonlySet<Field> = new Set(['cpu_seconds_per_million_samples', 'peak_rss_mb', 'rss_bytes_per_active_series', 'wire_bytes_per_sample', 'delay_p50_ms', 'delay_p99_ms']);
/** Lower is better for every figure but samples delivered (which must be equal). */
const LABELS: Record<Field, string> = {
  cpu_seconds_per_million_samples: 'CPU s per million input samples',
  peak_rss_mb: 'peak RSS (MiB)',
  rss_bytes_per_active_series: 'peak RSS bytes per active series',
  wire_bytes_per_sample: 'bytes on the wire per sample',
  samples_delivered: 'samples delivered (window)',
  delay_p50_ms: 'delay scrape→receiver p50 (ms)',
  delay_p99_ms: 'delay scrape→receiver p99 (ms)',
  series_out_per_site: 'series out per site',
};

export interface ReportContext {
  readonly scenario: string;
  readonly description: string;
  readonly sites: number;
  readonly seriesPerSite: number;
  readonly intervalMs: number;
  readonly measureIntervals: number;
  readonly runs: number;
  readonly sink: string;
  readonly machine: string;
  readonly versions: Readonly<Record<string, string>>;
  readonly command: string;
  readonly expectedSeriesOutPerSite: number;
  readonly notes: readonly string[];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function figures(r: RunResult, ctx: ReportContext): Record<Field, number> {
  return {
    cpu_seconds_per_million_samples: r.inputSamples === 0 ? NaN : (r.cpuSeconds / r.inputSamples) * 1e6,
    peak_rss_mb: r.peakRssBytes / 2 ** 20,
    rss_bytes_per_active_series: r.peakRssBytes / (ctx.sites * ctx.seriesPerSite),
    wire_bytes_per_sample: r.wireSamples === 0 ? NaN : r.wireBytes / r.wireSamples,
    samples_delivered: r.delivered,
    delay_p50_ms: r.delayP50,
    delay_p99_ms: r.delayP99,
    series_out_per_site: r.seriesOutPerSite,
  };
}

const round = (v: number): number => (Number.isFinite(v) ? Number(v.toPrecision(4)) : v);

export type ContenderReport = Record<Field, number | null> & {
  runs: number;
  complete: boolean;
  samples_expected: number;
  samples_missing: number;
  samples_extra: number;
  range: Partial<Record<Field, [number, number]>>;
  simulator_cpu_cores: number | null;
  notes: readonly string[];
  not_run?: string;
  per_run: Record<string, number>[];
};

export function buildReport(ctx: ReportContext, outcomes: ReadonlyMap<ContenderName, ContenderOutcome>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    scenario: ctx.scenario,
    description: ctx.description,
    date: new Date().toISOString(),
    machine: ctx.machine,
    versions: ctx.versions,
    command: ctx.command,
    sites: ctx.sites,
    series_per_site: ctx.seriesPerSite,
    scrape_interval_s: ctx.intervalMs / 1000,
    measured_intervals: ctx.measureIntervals,
    runs: ctx.runs,
    sink: ctx.sink,
    expected_series_out_per_site: ctx.expectedSeriesOutPerSite,
    notes: ctx.notes,
  };
  const reports = new Map<ContenderName, ContenderReport>();
  for (const name of CONTENDERS) {
    const o = outcomes.get(name);
    const empty = Object.fromEntries(FIELDS.map((f) => [f, null])) as Record<Field, null>;
    if (o === undefined) continue;
    if (o.kind === 'not_run') {
      reports.set(name, { ...empty, runs: 0, complete: false, samples_expected: 0, samples_missing: 0, samples_extra: 0, range: {}, simulator_cpu_cores: null, notes: o.notes, not_run: o.reason, per_run: [] });
      continue;
    }
    const per = o.runs.map((r) => figures(r, ctx));
    // Nothing sent in the window (e.g. every push refused) is no result either.
    const complete = o.runs.length > 0 && o.runs.every((r) => r.missing === 0 && r.expected > 0);
    const rep = { ...empty } as Record<Field, number | null>;
    const range: Partial<Record<Field, [number, number]>> = {};
    for (const f of FIELDS) {
      const xs = per.map((p) => p[f]).filter((v) => Number.isFinite(v));
      if (xs.length === 0 || (!complete && PERFORMANCE.has(f))) continue;
      rep[f] = round(median(xs));
      range[f] = [round(Math.min(...xs)), round(Math.max(...xs))];
    }
    const notes = [...o.notes];
    if (!complete) notes.push(o.runs.some((r) => r.expected === 0) ? 'in some run no scrape was answered in full or no push acknowledged within the measured window: no figure' : 'did not deliver every sample of the window: no speed or memory figure');
    reports.set(name, {
      ...rep,
      runs: o.runs.length,
      complete,
      samples_expected: median(o.runs.map((r) => r.expected)),
      samples_missing: Math.max(0, ...o.runs.map((r) => r.missing)),
      samples_extra: Math.max(0, ...o.runs.map((r) => r.extra)),
      range,
      simulator_cpu_cores: o.runs.length === 0 ? null : round(median(o.runs.map((r) => r.sim.cpuSeconds / r.windowSeconds))),
      notes,
      per_run: o.runs.map((r) => ({ run: r.run, cpu_seconds: round(r.cpuSeconds), window_s: round(r.windowSeconds), input_samples: r.inputSamples, expected: r.expected, delivered: r.delivered, missing: r.missing, extra: r.extra, peak_rss_mb: round(r.peakRssBytes / 2 ** 20), sim_peak_rss_mb: round(r.sim.peakRssBytes / 2 ** 20) })),
    });
  }
  for (const [name, r] of reports) out[name] = r;
  const ratios: Record<string, Record<string, number | null>> = {};
  for (let i = 0; i < CONTENDERS.length; i++) {
    for (let j = i + 1; j < CONTENDERS.length; j++) {
      const a = reports.get(CONTENDERS[i] as ContenderName);
      const b = reports.get(CONTENDERS[j] as ContenderName);
      if (!a || !b) continue;
      const r: Record<string, number | null> = {};
      for (const f of FIELDS) {
        const x = a[f];
        const y = b[f];
        r[f] = x === null || y === null || y === 0 ? null : round(x / y);
      }
      ratios[`${CONTENDERS[i]}_vs_${CONTENDERS[j]}`] = r;
    }
  }
  out.ratios = ratios;
  return out;
}

function cell(r: ContenderReport | undefined, f: Field): string {
  if (!r) return '';
  if (r.not_run !== undefined) return 'not run';
  const v = r[f];
  if (v === null) return r.complete ? 'n/a' : 'withheld (lost data)';
  const rg = r.range[f];
  const fmt = (x: number): string => (Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : String(x));
  return rg && rg[0] !== rg[1] ? `${fmt(v)} (${fmt(rg[0])}–${fmt(rg[1])})` : fmt(v);
}

export function markdownTable(report: Record<string, unknown>): string {
  const present = CONTENDERS.filter((c) => report[c] !== undefined);
  const ratios = report.ratios as Record<string, Record<string, number | null>>;
  const ratioKeys = Object.keys(ratios);
  const cols = [...present, ...ratioKeys.map((k) => k.replace('_vs_', ' / '))];
  const head = `| figure | ${cols.join(' | ')} |`;
  const sep = `|---|${cols.map(() => '---:').join('|')}|`;
  const rows = FIELDS.map((f) => `| ${LABELS[f]} | ${[...present.map((c) => cell(report[c] as ContenderReport, f)), ...ratioKeys.map((k) => String(ratios[k]?.[f] ?? '–'))].join(' | ')} |`);
  const lines = [head, sep, ...rows];
  const notes: string[] = [];
  for (const c of present) {
    const r = report[c] as ContenderReport;
    if (r.not_run !== undefined) notes.push(`- **${c}**: not run: ${r.not_run}`);
    else notes.push(`- **${c}**: ${r.runs} runs, ${r.complete ? 'delivered every sample' : `missed up to ${r.samples_missing} samples`}${r.samples_extra > 0 ? `, ${r.samples_extra} duplicates` : ''}; simulator used ${r.simulator_cpu_cores} cores meanwhile`);
    for (const n of r.notes) notes.push(`  - ${n}`);
  }
  return `${lines.join('\n')}\n\n${notes.join('\n')}\n`;
}

const COLORS: Record<ContenderName, string> = { fleetscope: '#2b7bb9', vmagent: '#d9822b', prometheus_agent: '#7a5195' };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A bar per contender for each figure, one panel per figure (lower is better except samples delivered). */
export function svgChart(report: Record<string, unknown>): string {
  const present = CONTENDERS.filter((c) => report[c] !== undefined);
  const width = 760;
  const labelW = 150;
  const barH = 16;
  const panelH = 28 + present.length * (barH + 4);
  const fields = FIELDS;
  const height = 40 + fields.length * panelH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(`${String(report.scenario)}: ${String(report.sites)} sites × ${String(report.series_per_site)} series (median of ${String(report.runs)} runs)`)}</text>`,
  ];
  fields.forEach((f, i) => {
    const y0 = 40 + i * panelH;
    parts.push(`<text x="10" y="${y0 + 14}" font-weight="bold">${esc(LABELS[f])}</text>`);
    const vals = present.map((c) => (report[c] as ContenderReport)[f]);
    const max = Math.max(1e-12, ...vals.map((v) => v ?? 0));
    present.forEach((c, k) => {
      const y = y0 + 20 + k * (barH + 4);
      const v = vals[k] ?? null;
      const r = report[c] as ContenderReport;
      parts.push(`<text x="10" y="${y + 12}">${esc(c)}</text>`);
      if (v === null) {
        parts.push(`<text x="${labelW}" y="${y + 12}" fill="#888">${esc(r.not_run !== undefined ? 'not run' : r.complete ? 'n/a' : 'withheld: lost data')}</text>`);
        return;
      }
      const w = Math.max(1, ((width - labelW - 120) * v) / max);
      parts.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[c]}"/>`);
      parts.push(`<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 12}">${esc(String(v))}</text>`);
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
