// The relabel engine: Prometheus 2.42's model/relabel semantics, compiled
// once per rule list and run with one reusable LabelsBuilder.
import { goToLower, goToUpper } from './casefold.js';
import { validateRelabelConfig, type RelabelAction, type RelabelConfig } from './config.js';
import { RelabelError } from './errors.js';
import { compileTemplate, type Template } from './expand.js';
import { compileGoRegexp, type GoRegexp } from './goregexp.js';
import { hashMod } from './hashmod.js';
import { LabelsBuilder, isValidLabelName, type Labels } from './labels.js';
import { Memo } from './memo.js';

/** Why a series was dropped; counted by these constants, never silently. */
export const DropReason = {
  none: '',
  /** A keep/drop/keepequal/dropequal rule dropped it. */
  rule: 'relabel_rule',
  /** Relabeling left it without a metric name. */
  emptyName: 'relabel_empty_name',
  /** Its metric name is not in the filter's allowlist. */
  notAllowed: 'not_in_allowlist',
  /** Its metric name is in the filter's denylist. */
  denied: 'in_denylist',
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
  /** Outcomes by input (a source value, or a label name for labelmap/labeldrop/labelkeep). */
  readonly memo: Memo<Outcome>;
  /** labeldrop/labelkeep: whether a label of this name stays. */
  readonly retain: (name: string) => boolean;
}

/** What a rule decided for one input: matched or not, and for replace/labelmap the label to set. */
interface Outcome {
  readonly match: boolean;
  readonly target: string;
  readonly value: string;
}

const NO_MATCH: Outcome = { match: false, target: '', value: '' };
const MATCH: Outcome = { match: true, target: '', value: '' };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

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
  const rule: Mutable<CompiledRule> = {
    action: c.action,
    sources: c.sourceLabels ?? [],
    separator: c.separator,
    regex,
    target: c.targetLabel,
    targetTemplate,
    replacement,
    modulus: c.modulus,
    plainSet: c.regex === '(.*)' && targetTemplate === null && !c.replacement.includes('$'),
    memo: new Memo<Outcome>(),
    retain: () => true,
  };
  if (c.action === 'labeldrop') rule.retain = (name) => !matches(rule, name);
  if (c.action === 'labelkeep') rule.retain = (name) => matches(rule, name);
  return rule;
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
   * `labels` must be sorted by name; an unchanged series is returned as is.
   */
  process(labels: Labels): Labels | null {
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

/** Whether the rule's regex matches `s`, memoised unless matching is already a lookup. */
function matches(rule: CompiledRule, s: string): boolean {
  if (rule.regex.simple) return rule.regex.matches(s);
  const hit = rule.memo.get(s);
  if (hit !== undefined) return hit.match;
  return rule.memo.set(s, rule.regex.matches(s) ? MATCH : NO_MATCH).match;
}

/** replace: the label to set for a source value (target "" when nothing is to be done). */
function replaceOutcome(rule: CompiledRule, val: string): Outcome {
  const hit = rule.memo.get(val);
  if (hit !== undefined) return hit;
  const groups = rule.regex.exec(val);
  if (groups === null) return rule.memo.set(val, NO_MATCH);
  const target = rule.targetTemplate === null ? rule.target : rule.targetTemplate.expand(groups);
  if (!isValidLabelName(target)) return rule.memo.set(val, NO_MATCH);
  return rule.memo.set(val, { match: true, target, value: rule.replacement.expand(groups) });
}

/** labelmap: the new name for a label name, or no match. */
function labelmapOutcome(rule: CompiledRule, name: string): Outcome {
  const hit = rule.memo.get(name);
  if (hit !== undefined) return hit;
  const groups = rule.regex.exec(name);
  if (groups === null) return rule.memo.set(name, NO_MATCH);
  return rule.memo.set(name, { match: true, target: rule.replacement.expand(groups), value: '' });
}

function apply(rule: CompiledRule, b: LabelsBuilder): boolean {
  switch (rule.action) {
    case 'drop':
      return !matches(rule, sourceValue(rule, b));
    case 'keep':
      return matches(rule, sourceValue(rule, b));
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
      const out = replaceOutcome(rule, val);
      // set() with an empty value deletes, as Prometheus's Builder does.
      if (out.match) b.set(out.target, out.value);
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
        const out = labelmapOutcome(rule, b.snapshotName(i));
        if (out.match) b.set(out.target, b.snapshotValue(i));
      }
      return true;
    }
    case 'labeldrop':
    case 'labelkeep':
      b.retainNames(rule.retain);
      return true;
  }
}
