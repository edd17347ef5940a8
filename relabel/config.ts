// Prometheus `relabel_configs`, validated as Prometheus 2.42 validates them
// (model/relabel/relabel.go Config.Validate): same defaults, same rules, same
// reasons, each error naming the rule's index.
import yaml from 'js-yaml';
import { z } from 'zod';
import { RelabelError } from './errors.js';
import { isValidLabelName } from './labels.js';

export const ACTIONS = [
  'replace', 'keep', 'drop', 'keepequal', 'dropequal', 'hashmod',
  'labelmap', 'labeldrop', 'labelkeep', 'lowercase', 'uppercase',
] as const;
export type RelabelAction = (typeof ACTIONS)[number];

/** A rule as written in YAML (Prometheus's field names). */
export interface RelabelConfigInput {
  source_labels?: readonly string[];
  separator?: string;
  regex?: string;
  modulus?: number | string;
  target_label?: string;
  replacement?: string;
  action?: string;
}

/** A rule after defaults and validation. */
export interface RelabelConfig {
  readonly sourceLabels: readonly string[] | undefined;
  readonly separator: string;
  readonly regex: string;
  readonly modulus: number;
  readonly targetLabel: string;
  readonly replacement: string;
  readonly action: RelabelAction;
}

export const DEFAULTS = { separator: ';', regex: '(.*)', replacement: '$1', action: 'replace' } as const;

// Scalars are accepted as YAML gives them; Go's yaml decodes any scalar into a string field.
const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const ruleSchema = z
  .object({
    source_labels: z.array(scalar).optional(),
    separator: scalar.optional(),
    regex: scalar.optional(),
    modulus: z.union([z.number(), z.string()]).optional(),
    target_label: scalar.optional(),
    replacement: scalar.optional(),
    action: scalar.optional(),
  })
  .strict();

const RELABEL_TARGET = /^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$/;

function reject(index: number, reason: string): never {
  throw new RelabelError('FS_RELABEL_INVALID_CONFIG', [String(index), reason]);
}

function parseModulus(index: number, raw: number | string | undefined): number {
  if (raw === undefined) return 0;
  const n = typeof raw === 'number' ? raw : /^[0-9]+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) reject(index, `modulus ${JSON.stringify(raw)} is not an unsigned integer below 2^53`);
  return n;
}

/** Validates one rule; `index` names it in errors. */
export function validateRelabelConfig(raw: unknown, index: number): RelabelConfig {
  const parsed = ruleSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    if (issue?.code === 'unrecognized_keys') reject(index, `field ${issue.keys.join(', ')} not found in relabel config`);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) reject(index, 'a rule must be a mapping of relabel fields');
    reject(index, `${path}: ${issue?.message ?? 'invalid'}`);
  }
  const r = parsed.data;
  for (const ln of r.source_labels ?? []) {
    if (!isValidLabelName(ln)) reject(index, `${JSON.stringify(ln)} is not a valid label name`);
  }
  const action = (r.action ?? DEFAULTS.action).toLowerCase();
  if (!(ACTIONS as readonly string[]).includes(action)) reject(index, `unknown relabel action ${JSON.stringify(r.action)}`);
  const c: RelabelConfig = {
    sourceLabels: r.source_labels,
    separator: r.separator ?? DEFAULTS.separator,
    regex: r.regex ?? DEFAULTS.regex,
    modulus: parseModulus(index, r.modulus),
    targetLabel: r.target_label ?? '',
    replacement: r.replacement ?? DEFAULTS.replacement,
    action: action as RelabelAction,
  };
  const a = c.action;
  if (c.modulus === 0 && a === 'hashmod') reject(index, 'relabel configuration for hashmod requires non-zero modulus');
  if ((a === 'replace' || a === 'hashmod' || a === 'lowercase' || a === 'uppercase' || a === 'keepequal' || a === 'dropequal') && c.targetLabel === '') {
    reject(index, `relabel configuration for ${a} action requires 'target_label' value`);
  }
  if ((a === 'replace' || a === 'lowercase' || a === 'uppercase') && !RELABEL_TARGET.test(c.targetLabel)) {
    reject(index, `${JSON.stringify(c.targetLabel)} is invalid 'target_label' for ${a} action`);
  }
  if ((a === 'lowercase' || a === 'uppercase' || a === 'keepequal' || a === 'dropequal') && c.replacement !== DEFAULTS.replacement) {
    reject(index, `'replacement' can not be set for ${a} action`);
  }
  if (a === 'labelmap' && !RELABEL_TARGET.test(c.replacement)) {
    reject(index, `${JSON.stringify(c.replacement)} is invalid 'replacement' for ${a} action`);
  }
  if (a === 'hashmod' && !isValidLabelName(c.targetLabel)) {
    reject(index, `${JSON.stringify(c.targetLabel)} is invalid 'target_label' for ${a} action`);
  }
  if ((a === 'dropequal' || a === 'keepequal') &&
    (c.regex !== DEFAULTS.regex || c.modulus !== 0 || c.separator !== DEFAULTS.separator || c.replacement !== DEFAULTS.replacement)) {
    reject(index, `${a} action requires only 'source_labels' and \`target_label\`, and no other fields`);
  }
  if ((a === 'labeldrop' || a === 'labelkeep') &&
    (c.sourceLabels !== undefined || c.targetLabel !== '' || c.modulus !== 0 || c.separator !== DEFAULTS.separator || c.replacement !== DEFAULTS.replacement)) {
    reject(index, `${a} action requires only 'regex', and no other fields`);
  }
  return c;
}

/**
 * Parses a YAML file holding a list in Prometheus's `relabel_configs` form.
 * `file` names the source in errors.
 */
export function parseRelabelConfigsYaml(text: string, file: string): unknown[] {
  let doc: unknown;
  try {
    // Go's yaml reads every scalar of a string field as its literal text
    // ("1.0" stays "1.0"), which the failsafe schema reproduces.
    doc = yaml.load(text, { schema: yaml.FAILSAFE_SCHEMA, filename: file });
  } catch (err) {
    throw new RelabelError('FS_RELABEL_INVALID_YAML', [file, (err as Error).message], { cause: err });
  }
  if (doc === undefined || doc === null) return [];
  if (!Array.isArray(doc)) {
    throw new RelabelError('FS_RELABEL_INVALID_YAML', [file, 'expected a list of relabel rules (Prometheus relabel_configs form)']);
  }
  return doc;
}
