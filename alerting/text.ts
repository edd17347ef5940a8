// alert_subject / alert_text with their args, as ElastAlert's Alerter
// create_title and BasicMatchString._add_custom_alert_text build them:
// Python str.format with positional ({0}, {}) or keyword ({name}) fields,
// a value looked up in the match (or else in the rule), and
// alert_missing_value ('<MISSING VALUE>') for what is absent.
import { lookupKey, pyStr, type Doc } from './fields.js';
import type { CompiledRule } from './rule.js';

/** Python str.format for the fields people use: {}, {0}, {name}, {0:spec} (spec ignored), {{ }}. */
export function pyFormat(template: string, args: readonly unknown[], kw: Readonly<Record<string, unknown>> = {}): string {
  let auto = 0;
  return template.replace(/\{\{|\}\}|\{([^{}:!]*)(?:![rsa])?(?::([^{}]*))?\}/g, (m, name: string | undefined, spec: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    let v: unknown;
    if (name === undefined || name === '') v = args[auto++];
    else if (/^\d+$/.test(name)) v = args[Number(name)];
    else v = kw[name];
    if (v === undefined) return m;
    if (spec && typeof v === 'number') {
      const f = /^\.?(\d+)f$/.exec(spec);
      if (f) return v.toFixed(Number(f[1]));
    }
    return pyStr(v);
  });
}

function values(rule: CompiledRule, match: Doc, argsKey: string): unknown[] {
  const missing = String(rule.options.alert_missing_value ?? '<MISSING VALUE>');
  const args = (rule.options[argsKey] as string[] | undefined) ?? [];
  return args.map((a) => {
    const v = lookupKey(match, a) ?? rule.options[a];
    return v === undefined || v === null ? missing : v;
  });
}

/** Alerter.create_title. */
export function alertSubject(rule: CompiledRule, match: Doc): string {
  if (typeof rule.options.alert_subject !== 'string') {
    let title = `ElastAlert: ${rule.name}`;
    if (rule.queryKey !== null) {
      const qk = lookupKey(match, rule.queryKey);
      if (qk !== undefined && qk !== null) title += ` - ${pyStr(qk)}`;
    }
    return title;
  }
  let s = rule.options.alert_subject;
  if ('alert_subject_args' in rule.options) s = pyFormat(s, values(rule, match, 'alert_subject_args'));
  const max = Number(rule.options.alert_subject_max_len ?? 2048);
  return s.length > max ? s.slice(0, max) : s;
}

/** BasicMatchString._add_custom_alert_text (without the match's field dump). */
export function alertText(rule: CompiledRule, match: Doc): string {
  const text = typeof rule.options.alert_text === 'string' ? rule.options.alert_text : '';
  if ('alert_text_args' in rule.options) return pyFormat(text, values(rule, match, 'alert_text_args'));
  if (typeof rule.options.alert_text_kw === 'object' && rule.options.alert_text_kw !== null) {
    const missing = String(rule.options.alert_missing_value ?? '<MISSING VALUE>');
    const kw: Record<string, unknown> = {};
    for (const [name, kwName] of Object.entries(rule.options.alert_text_kw as Record<string, string>)) {
      const v = lookupKey(match, name) ?? rule.options[name];
      kw[kwName] = v === undefined || v === null ? missing : v;
    }
    return pyFormat(text, [], kw);
  }
  return text;
}
