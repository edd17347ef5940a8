// The sugar SREs write most: keep only some metric names, drop some, strip
// some labels. Each compiles to ordinary relabel rules (toRelabelConfigs, also
// what the bench hands to vmagent and Prometheus) but runs on a fast path: a
// dropped metric costs one Set lookup on its name.
import { z } from 'zod';
import type { RelabelConfigInput } from './config.js';
import { RelabelError } from './errors.js';
import { compileGoRegexp, quoteMeta, type GoRegexp } from './goregexp.js';
import { LabelsBuilder, getLabel, type Labels } from './labels.js';
import { DropReason } from './relabel.js';

const nameMatchersSchema = z
  .object({
    names: z.array(z.string().min(1)).default([]),
    prefixes: z.array(z.string().min(1)).default([]),
    regexes: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const metricFilterSchema = z
  .object({
    /** Metric names to keep; when empty, every name passes this step. */
    allow: nameMatchersSchema.optional(),
    /** Metric names to drop (applied after allow). */
    deny: nameMatchersSchema.optional(),
    /** Label names to remove from every series (`__name__` cannot be removed). */
    label_deny: z.array(z.string().min(1)).default([]),
  })
  .strict();

export type MetricFilterConfig = z.input<typeof metricFilterSchema>;

class NameMatcher {
  private readonly names: ReadonlySet<string>;
  private readonly prefixes: readonly string[];
  private readonly regexes: readonly GoRegexp[];
  readonly empty: boolean;

  constructor(readonly cfg: z.output<typeof nameMatchersSchema>) {
    this.names = new Set(cfg.names);
    this.prefixes = cfg.prefixes;
    this.regexes = cfg.regexes.map((r) => compileGoRegexp(r));
    this.empty = cfg.names.length + cfg.prefixes.length + cfg.regexes.length === 0;
  }

  matches(name: string): boolean {
    if (this.names.has(name)) return true;
    for (const p of this.prefixes) {
      // `prefix.*` in RE2: the rest must not hold a newline.
      if (name.startsWith(p) && name.indexOf('\n', p.length) < 0) return true;
    }
    for (const r of this.regexes) if (r.matches(name)) return true;
    return false;
  }

  /** The same set as one RE2 alternation, for a relabel rule. */
  regex(): string {
    return [
      ...this.cfg.names.map(quoteMeta),
      ...this.cfg.prefixes.map((p) => `${quoteMeta(p)}.*`),
      ...this.cfg.regexes.map((r) => `(?:${r})`),
    ].join('|');
  }
}

export class MetricFilter {
  private readonly allow: NameMatcher | null;
  private readonly deny: NameMatcher | null;
  private readonly labelDeny: ReadonlySet<string>;
  private readonly builder = new LabelsBuilder();

  private constructor(private readonly cfg: z.output<typeof metricFilterSchema>) {
    const allow = cfg.allow ? new NameMatcher(cfg.allow) : null;
    const deny = cfg.deny ? new NameMatcher(cfg.deny) : null;
    this.allow = allow && !allow.empty ? allow : null;
    this.deny = deny && !deny.empty ? deny : null;
    this.labelDeny = new Set(cfg.label_deny);
  }

  /** Validates a filter config; errors name the path (`allow.regexes.2`) and reason. */
  static compile(input: unknown): MetricFilter {
    const parsed = metricFilterSchema.safeParse(input ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RelabelError('FS_RELABEL_INVALID_FILTER', [issue?.path.join('.') || '(root)', issue?.message ?? 'invalid']);
    }
    if (parsed.data.label_deny.includes('__name__')) {
      throw new RelabelError('FS_RELABEL_INVALID_FILTER', ['label_deny', '__name__ cannot be denied: every series needs its name']);
    }
    for (const side of ['allow', 'deny'] as const) {
      (parsed.data[side]?.regexes ?? []).forEach((r, i) => {
        try {
          compileGoRegexp(r);
        } catch (err) {
          throw new RelabelError('FS_RELABEL_INVALID_FILTER', [`${side}.regexes.${i}`, (err as Error).message], { cause: err });
        }
      });
    }
    return new MetricFilter(parsed.data);
  }

  /** Set when keepName or apply drops a series: not allowed, or denied. */
  dropReason: DropReason = DropReason.none;

  /** True when a series of this metric name survives allow and deny. */
  keepName(name: string): boolean {
    if (this.allow !== null && !this.allow.matches(name)) {
      this.dropReason = DropReason.notAllowed;
      return false;
    }
    if (this.deny !== null && this.deny.matches(name)) {
      this.dropReason = DropReason.denied;
      return false;
    }
    return true;
  }

  /** True when the filter removes labels (so `apply` must rebuild the set). */
  get stripsLabels(): boolean {
    return this.labelDeny.size > 0;
  }

  /** Filters one series: null when dropped, else its labels without denied ones. */
  apply(labels: Labels): Labels | null {
    if (!this.keepName(getLabel(labels, '__name__'))) return null;
    if (this.labelDeny.size === 0) return labels;
    let hit = false;
    for (let i = 0; i < labels.length; i += 2) {
      if (this.labelDeny.has(labels[i] as string)) {
        hit = true;
        break;
      }
    }
    if (!hit) return labels;
    const b = this.builder.reset(labels);
    for (const name of this.labelDeny) b.del(name);
    return b.labels();
  }

  /** The equivalent Prometheus `relabel_configs` (for vmagent, Prometheus, or our own engine). */
  toRelabelConfigs(): RelabelConfigInput[] {
    const out: RelabelConfigInput[] = [];
    if (this.allow) out.push({ source_labels: ['__name__'], regex: this.allow.regex(), action: 'keep' });
    if (this.deny) out.push({ source_labels: ['__name__'], regex: this.deny.regex(), action: 'drop' });
    if (this.labelDeny.size > 0) out.push({ regex: [...this.labelDeny].map(quoteMeta).join('|'), action: 'labeldrop' });
    return out;
  }

  get config(): z.output<typeof metricFilterSchema> {
    return this.cfg;
  }
}
