// The relabel engine: Prometheus 2.42's model/relabel semantics, compiled
// once per rule list and run with one reusable LabelsBuilder.
import { goToLower, goToUpper } from './casefold.js';
import { validateRelabelConfig, type RelabelAction, type RelabelConfig } from './config.js';
import { RelabelError } from './errors.js';
import { compileTemplate, type Template } from './expand.js';
import { compileGoRegexp, type GoRegexp } from './goregexp.js';
import { hashMod } from './hashmod.js';
import { LabelsBuilder, isValidLabelName, type Labels } from './labels.js';

/** Why a series was dropped; counted by these constants, never silently. */
export const DropReason = {
  none: '',
  /** A keep/drop/keepequal/dropequal rule dropped it. */
  rule: 'relabel_rule',
  /** Relabeling left it without a metric name. */
  emptyName: 'relabel_empty_name',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

interface CompiledRule {
  readonly action: RelabelAction;
  readonly sources: readonly string[];
  readonly separator: string;
  readonly regex: GoRegexp;
  readonly target: string;
  /** Set when target_label holds `$` references (replace only). */
  readonly targetTemplate: Template | null;
  readonly replacement: Template;
  readonly modulus: number;
  /** Replace with the default regex, no references anywhere: a plain set (Prometheus's fast path). */
  readonly plainSet: boolean;
}

function compileRule(c: RelabelConfig, index: number): CompiledRule {
  let regex: GoRegexp;
  try {
    regex = compileGoRegexp(c.regex);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new RelabelError('FS_RELABEL_INVALID_CONFIG', [String(index), reason], { cause: err });
  }
  const replacement = compileTemplate(c.replacement, regex.groupNames);
  const targetTemplate = c.action === 'replace' && c.targetLabel.includes('$') ? compileTemplate(c.targetLabel, regex.groupNames) : null;
  return {
    action: c.action,
    sources: c.sourceLabels ?? [],
    separator: c.separator,
    regex,
    target: c.targetLabel,
    targetTemplate,
    replacement,
    modulus: c.modulus,
    plainSet: c.regex === '(.*)' && targetTemplate === null && !c.replacement.includes('$'),
  };
}

/** A compiled relabel rule list. */
export class Relabeler {
  private readonly builder = new LabelsBuilder();
  /** Set by `process` when it returns null. */
  dropReason: DropReason = DropReason.none;

  private constructor(private readonly rules: readonly CompiledRule[], readonly configs: readonly RelabelConfig[]) {}

  /**
   * Validates and compiles rules in Prometheus's `relabel_configs` form.
   * Throws a RelabelError naming the first invalid rule's index.
   */
  static compile(inputs: readonly unknown[]): Relabeler {
    const configs = inputs.map((raw, i) => validateRelabelConfig(raw, i));
    return new Relabeler(configs.map(compileRule), configs);
  }

  get length(): number {
    return this.rules.length;
  }

  /**
   * Relabels one series. Returns the new flat labels, or null when it is
   * dropped (then `dropReason` says why), including when no `__name__` is left.
   */
  process(labels: Labels): string[] | null {
    const b = this.builder.reset(labels);
    if (!this.processBuilder(b)) {
      this.dropReason = DropReason.rule;
      return null;
    }
    if (b.get('__name__') === '') {
      this.dropReason = DropReason.emptyName;
      return null;
    }
    return b.labels();
  }

  /** Runs the rules over a caller's builder; false when a rule drops the series. */
  processBuilder(b: LabelsBuilder): boolean {
    for (const rule of this.rules) {
      if (!apply(rule, b)) return false;
    }
    return true;
  }
}

function sourceValue(rule: CompiledRule, b: LabelsBuilder): string {
  const s = rule.sources;
  if (s.length === 1) return b.get(s[0] as string);
  if (s.length === 0) return '';
  let val = b.get(s[0] as string);
  for (let i = 1; i < s.length; i++) val += rule.separator + b.get(s[i] as string);
  return val;
}

function apply(rule: CompiledRule, b: LabelsBuilder): boolean {
  switch (rule.action) {
    case 'drop':
      return !rule.regex.matches(sourceValue(rule, b));
    case 'keep':
      return rule.regex.matches(sourceValue(rule, b));
    case 'dropequal':
      return b.get(rule.target) !== sourceValue(rule, b);
    case 'keepequal':
      return b.get(rule.target) === sourceValue(rule, b);
    case 'replace': {
      const val = sourceValue(rule, b);
      if (rule.plainSet && val === '') {
        b.set(rule.target, rule.replacement.text);
        return true;
      }
      const groups = rule.regex.exec(val);
      if (groups === null) return true;
      const target = rule.targetTemplate === null ? rule.target : rule.targetTemplate.expand(groups);
      if (!isValidLabelName(target)) return true;
      // set() with an empty value deletes, as Prometheus's Builder does.
      b.set(target, rule.replacement.expand(groups));
      return true;
    }
    case 'lowercase':
      b.set(rule.target, goToLower(sourceValue(rule, b)));
      return true;
    case 'uppercase':
      b.set(rule.target, goToUpper(sourceValue(rule, b)));
      return true;
    case 'hashmod':
      b.set(rule.target, String(hashMod(sourceValue(rule, b), rule.modulus)));
      return true;
    case 'labelmap': {
      const n = b.snapshot();
      for (let i = 0; i < n; i++) {
        const groups = rule.regex.exec(b.snapshotName(i));
        if (groups !== null) b.set(rule.replacement.expand(groups), b.snapshotValue(i));
      }
      return true;
    }
    case 'labeldrop':
    case 'labelkeep': {
      const keep = rule.action === 'labelkeep';
      const n = b.snapshot();
      for (let i = 0; i < n; i++) {
        const name = b.snapshotName(i);
        if (rule.regex.matches(name) !== keep) b.del(name);
      }
      return true;
    }
  }
}
