// Pre-aggregation rules (`aggregate:` in a tenant's or group's pipeline),
// shaped and named like vmagent's stream aggregation
// (https://docs.victoriametrics.com/stream-aggregation/): an output series is
// named `<metric>:<interval>[_by_<labels>|_without_<labels>]_<output>`, the
// labels sorted and joined with `_`. What differs from vmagent, and why:
// `match` is a regex over the metric name (not a series selector); windows
// are aligned to the interval on the samples' own timestamps (not the
// arrival time), so that a replay after a restart lands in the same windows;
// `tenant` and the external labels are always kept (an aggregate never mixes
// tenants); `le` is always kept on `_bucket` series; `keep_le` keeps only
// chosen bucket boundaries.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { compileGoRegexp } from '../relabel/index.js';
import { parseGoFloat } from '../wire/index.js';
import { duration, formatDuration } from './duration.js';

/** vmagent's output names; `sum` and `count` are accepted for sum_samples and count_samples. */
export const AGGREGATE_OUTPUTS = ['total', 'increase', 'sum_samples', 'count_samples', 'count_series', 'last', 'min', 'max', 'avg'] as const;
export type AggregateOutput = (typeof AGGREGATE_OUTPUTS)[number];
const ALIASES: Record<string, AggregateOutput> = { sum: 'sum_samples', count: 'count_samples' };

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const aggregateRuleSchema = z
  .object({
    /** RE2 regex, anchored, over the metric name. */
    match: z.string().min(1),
    interval: duration.refine((v) => v >= 1000, 'an aggregation interval is at least 1s'),
    by: z.array(z.string().regex(LABEL_NAME, 'not a valid label name')).optional(),
    without: z.array(z.string().regex(LABEL_NAME, 'not a valid label name')).optional(),
    outputs: z.array(z.enum([...AGGREGATE_OUTPUTS, 'sum', 'count'])).min(1),
    /** Only these `le` boundaries of `_bucket` series (+Inf always); the others merge into the next kept one up. */
    keep_le: z.array(z.union([z.number(), z.string()])).optional(),
    /** Also forward the input series unchanged (vmagent's keep_input). */
    keep_input: z.boolean().default(false),
    /** How long after a window ends its samples may still arrive; later ones are dropped as too_late. */
    max_delay: duration.default(30_000),
    /** A source series unseen this long is forgotten (its counter restarts from its next sample). */
    staleness_interval: duration.default(600_000),
  })
  .strict();

export type AggregateRuleConfig = z.output<typeof aggregateRuleSchema>;

export interface AggregateRule {
  /** Stable across restarts and reloads while the rule and its place stay the same: the checkpoint's key. */
  readonly id: string;
  readonly tenant: string;
  readonly matches: (name: string) => boolean;
  readonly intervalMs: number;
  readonly maxDelayMs: number;
  readonly stalenessMs: number;
  /** Labels kept (by), or null. */
  readonly by: ReadonlySet<string> | null;
  /** Labels removed (without), or null. */
  readonly without: ReadonlySet<string> | null;
  /** Labels no rule removes: tenant and the external labels. */
  readonly always: ReadonlySet<string>;
  readonly outputs: readonly AggregateOutput[];
  readonly keepLe: ReadonlySet<number> | null;
  readonly keepInput: boolean;
  /** `:<interval>[_by_…|_without_…]_` */
  readonly suffix: string;
}

/** Compiles one rule; throws Error with the reason (the caller adds file and path). */
export function compileAggregateRule(cfg: AggregateRuleConfig, tenant: string, place: string, externalLabels: readonly string[]): AggregateRule {
  if (cfg.by !== undefined && cfg.without !== undefined) throw new Error('by and without cannot both be set');
  if (cfg.without?.includes('tenant')) throw new Error('tenant cannot be aggregated away: an aggregate never mixes tenants');
  if (cfg.without?.includes('__name__')) throw new Error('__name__ cannot be aggregated away: output names are made from it');
  const re = compileGoRegexp(cfg.match);
  const outputs = [...new Set(cfg.outputs.map((o) => ALIASES[o] ?? (o as AggregateOutput)))];
  let keepLe: Set<number> | null = null;
  if (cfg.keep_le !== undefined) {
    keepLe = new Set([Infinity]);
    for (const v of cfg.keep_le) {
      const n = typeof v === 'number' ? v : parseGoFloat(v);
      if (n === undefined || Number.isNaN(n)) throw new Error(`keep_le: ${JSON.stringify(v)} is not a number`);
      keepLe.add(n);
    }
  }
  const sorted = (l: readonly string[]): string[] => [...new Set(l)].filter((n) => n !== '__name__').sort();
  let suffix = `:${formatDuration(cfg.interval)}`;
  if (cfg.by !== undefined && sorted(cfg.by).length > 0) suffix += `_by_${sorted(cfg.by).join('_')}`;
  if (cfg.without !== undefined && sorted(cfg.without).length > 0) suffix += `_without_${sorted(cfg.without).join('_')}`;
  suffix += '_';
  const id = `${place}#${createHash('sha256').update(JSON.stringify(cfg)).digest('hex').slice(0, 16)}`;
  return {
    id,
    tenant,
    matches: re.matches,
    intervalMs: cfg.interval,
    maxDelayMs: cfg.max_delay,
    stalenessMs: Math.max(cfg.staleness_interval, cfg.interval * 2),
    // by keeps the name (vmagent adds __name__ to by); without keeps it unless listed.
    by: cfg.by === undefined ? null : new Set([...cfg.by, '__name__']),
    without: cfg.without === undefined ? null : new Set(cfg.without),
    always: new Set(['tenant', ...externalLabels]),
    outputs,
    keepLe,
    keepInput: cfg.keep_input,
    suffix,
  };
}
