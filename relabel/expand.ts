// Go's Regexp.Expand, which Prometheus uses for `replacement` and
// `target_label`: `$1`, `${1}`, `$name`, `${name}`, `$$`. A name is the
// longest run of letters, digits and underscores, so `$1x` names the group
// "1x" (usually none: empty), while `${1}x` is group 1 then "x". A malformed
// reference keeps the "$" as text. Compiled once per rule.

type Part = string | number | { groups: readonly number[] };

export interface Template {
  /** True when the template has no references: expanding returns `text`. */
  readonly literal: boolean;
  readonly text: string;
  expand(groups: readonly (string | undefined)[]): string;
}

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

export function compileTemplate(template: string, groupNames: readonly (string | undefined)[]): Template {
  const parts: Part[] = [];
  let lit = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) {
      lit += template.slice(i);
      break;
    }
    lit += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === '$') {
      lit += '$';
      i++;
      continue;
    }
    const brace = template[i] === '{';
    let j = brace ? i + 1 : i;
    const start = j;
    while (j < template.length) {
      const cp = template.codePointAt(j) as number;
      const ch = String.fromCodePoint(cp);
      if (!NAME_CHAR.test(ch)) break;
      j += ch.length;
    }
    const name = template.slice(start, j);
    if (name === '' || (brace && template[j] !== '}')) {
      lit += '$';
      continue;
    }
    if (brace) j++;
    i = j;
    if (lit) parts.push(lit);
    lit = '';
    let num = /^[0-9]+$/.test(name) && name.length <= 8 ? Number(name) : -1;
    if (name.length > 1 && name[0] === '0') num = -1;
    if (num >= 0) parts.push(num);
    else {
      // Go allows several groups of one name and uses the first that took part in the match.
      const groups: number[] = [];
      groupNames.forEach((n, idx) => n === name && groups.push(idx));
      if (groups.length === 1) parts.push(groups[0] as number);
      else if (groups.length > 1) parts.push({ groups });
    }
  }
  if (lit) parts.push(lit);
  const literal = parts.every((p) => typeof p === 'string');
  const text = parts.filter((p): p is string => typeof p === 'string').join('');
  return {
    literal,
    text,
    expand(groups) {
      if (literal) return text;
      let out = '';
      for (const p of parts) {
        if (typeof p === 'string') out += p;
        else if (typeof p === 'number') out += groups[p] ?? '';
        else {
          for (const g of p.groups) {
            const v = groups[g];
            if (v !== undefined) {
              out += v;
              break;
            }
          }
        }
      }
      return out;
    },
  };
}
