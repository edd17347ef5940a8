// Prometheus matches relabel regexes with Go's RE2 syntax, anchored as
// `^(?:regex)$` (Prometheus 2.42, model/relabel/relabel.go NewRegexp).
// This translates RE2 syntax into an equivalent JavaScript `u` regexp once,
// at load time, and rejects what RE2 rejects (backreferences, lookaround),
// so a rule behaves here exactly as in Prometheus. Syntax:
// https://github.com/google/re2/wiki/Syntax and Go's regexp/syntax docs.
import { RelabelError } from './errors.js';

export interface GoRegexp {
  /** The pattern as written, without Prometheus's anchors. */
  readonly source: string;
  /** The anchored JavaScript translation. */
  readonly re: RegExp;
  /** Capture group names by group number (index 0 is the whole match). */
  readonly groupNames: readonly (string | undefined)[];
  /** True when the whole string matches. */
  matches(s: string): boolean;
  /** Capture groups of a whole-string match (index 0 = whole), or null. */
  exec(s: string): readonly (string | undefined)[] | null;
  /** True when `matches` runs without a regexp (a literal, a set, a prefix). */
  readonly simple: boolean;
}

const GENERAL_CATEGORIES = new Set([
  'C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl', 'No',
  'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs',
]);

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7f', blank: '\\t ', cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9', graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`\\{-~',
  space: '\\t\\n\\v\\f\\r ', upper: 'A-Z', word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};

// Go's \s is ASCII [\t\n\f\r ]; JavaScript's is Unicode white space.
const GO_SPACE = '\\t\\n\\f\\r ';
const GO_NOT_SPACE_RANGES = '\\x00-\\x08\\x0b\\x0e-\\x1f\\x21-\\u{10ffff}';

const JS_SYNTAX = new Set([...'^$\\.*+?()[]{}|/']);
const REPEAT = /^\{(\d+)(,(\d*))?\}/;
const MAX_REPEAT = 1000;

interface Scope {
  dotAll: boolean;
  multiline: boolean;
}

class Translator {
  private i = 0;
  private out = '';
  private scopes: Scope[] = [{ dotAll: false, multiline: false }];
  readonly groupNames: (string | undefined)[] = [undefined];
  ignoreCase = false;

  constructor(private readonly p: string) {}

  translate(): string {
    const p = this.p;
    while (this.i < p.length) {
      const c = p[this.i] as string;
      switch (c) {
        case '\\':
          this.escape();
          break;
        case '.':
          this.out += this.scope().dotAll ? '[\\s\\S]' : '[^\\n]';
          this.i++;
          break;
        case '[':
          this.charClass();
          break;
        case '(':
          this.groupOpen();
          break;
        case ')':
          if (this.scopes.length === 1) this.fail('unexpected )');
          this.scopes.pop();
          this.out += ')';
          this.i++;
          break;
        case '{':
          this.brace();
          break;
        case '}':
        case ']':
          this.out += '\\' + c;
          this.i++;
          break;
        case '^':
          this.out += this.scope().multiline ? '(?<![^\\n])' : '^';
          this.i++;
          break;
        case '$':
          this.out += this.scope().multiline ? '(?![^\\n])' : '$';
          this.i++;
          break;
        default: {
          const cp = p.codePointAt(this.i) as number;
          const ch = String.fromCodePoint(cp);
          this.out += ch;
          this.i += ch.length;
        }
      }
    }
    if (this.scopes.length > 1) this.fail('missing closing )');
    return this.out;
  }

  private scope(): Scope {
    return this.scopes[this.scopes.length - 1] as Scope;
  }

  private fail(reason: string): never {
    throw new RelabelError('FS_RELABEL_INVALID_REGEX', [JSON.stringify(this.p), reason]);
  }

  private unsupported(what: string): never {
    throw new RelabelError('FS_RELABEL_UNSUPPORTED_REGEX', [JSON.stringify(this.p), what]);
  }

  private brace(): void {
    const m = REPEAT.exec(this.p.slice(this.i));
    if (!m) {
      // RE2, like Perl, reads a "{" that does not start a repeat as a literal.
      this.out += '\\{';
      this.i++;
      return;
    }
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
    if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min)) this.fail(`invalid repeat count: ${m[0]}`);
    this.out += m[0];
    this.i += m[0].length;
  }

  private groupOpen(): void {
    const p = this.p;
    const rest = p.slice(this.i);
    if (rest.startsWith('(?=') || rest.startsWith('(?!') || rest.startsWith('(?<=') || rest.startsWith('(?<!')) {
      this.fail(`invalid or unsupported Perl syntax: ${rest.slice(0, 3)}`);
    }
    const named = /^\(\?P?<([^>]*)>/.exec(rest);
    if (named) {
      const name = named[1] as string;
      if (!/^[A-Za-z0-9_]+$/.test(name)) this.fail(`invalid named capture: ${named[0]}`);
      // Names are resolved here, not by JavaScript (whose group names cannot start with a digit).
      this.groupNames.push(name);
      this.scopes.push({ ...this.scope() });
      this.out += '(';
      this.i += named[0].length;
      return;
    }
    if (!rest.startsWith('(?')) {
      this.groupNames.push(undefined);
      this.scopes.push({ ...this.scope() });
      this.out += '(';
      this.i++;
      return;
    }
    const flags = /^\(\?([a-zA-Z-]*)([:)])/.exec(rest);
    if (!flags) this.fail(`invalid or unsupported Perl syntax: ${rest.slice(0, 3)}`);
    const spec = flags[1] as string;
    const isGroup = flags[2] === ':';
    if (spec === '' && isGroup) {
      this.scopes.push({ ...this.scope() });
      this.out += '(?:';
      this.i += 3;
      return;
    }
    const next: Scope = { ...this.scope() };
    let negate = false;
    let sawFlag = false;
    for (const f of spec) {
      if (f === '-') {
        if (negate) this.fail(`invalid or unsupported Perl syntax: ${flags[0]}`);
        negate = true;
        sawFlag = false;
        continue;
      }
      sawFlag = true;
      if (f === 's') next.dotAll = !negate;
      else if (f === 'm') next.multiline = !negate;
      else if (f === 'i') {
        // JavaScript (Node 20) has no scoped case folding: only a leading (?i) that covers the whole pattern.
        const leading = this.i === 0 && this.scopes.length === 1 && !isGroup && !negate;
        if (!leading) this.unsupported('case-insensitive matching of only part of the pattern');
        this.ignoreCase = true;
      } else if (f === 'U') this.unsupported('the ungreedy flag (?U)');
      else this.fail(`invalid or unsupported Perl syntax: ${flags[0]}`);
    }
    if (spec === '' || (negate && !sawFlag)) this.fail(`missing argument to repetition operator: ${flags[0]}`);
    this.i += flags[0].length;
    if (isGroup) {
      this.scopes.push(next);
      this.out += '(?:';
    } else {
      this.scopes[this.scopes.length - 1] = next;
    }
  }

  /** Reads the escape at this.i (a backslash) and returns its meaning. */
  private readEscape(inClass: boolean): { literal?: number; set?: string } {
    const p = this.p;
    this.i++;
    if (this.i >= p.length) this.fail('trailing backslash at end of expression');
    const c = p[this.i] as string;
    this.i++;
    if (c >= '0' && c <= '7') {
      // Octal: \0.. or \1-\7 followed by more octal digits; a lone \1-\9 would be a backreference.
      let digits = c;
      while (digits.length < 3 && /[0-7]/.test(p[this.i] ?? '')) digits += p[this.i++];
      if (c !== '0' && digits.length === 1) this.fail(`invalid escape sequence: \\${c}`);
      return { literal: parseInt(digits, 8) };
    }
    switch (c) {
      case 'x': {
        if (p[this.i] === '{') {
          const end = p.indexOf('}', this.i);
          const hex = end < 0 ? '' : p.slice(this.i + 1, end);
          if (!/^[0-9A-Fa-f]+$/.test(hex) || parseInt(hex, 16) > 0x10ffff) this.fail(`invalid escape sequence: \\x${p.slice(this.i, end + 1)}`);
          this.i = end + 1;
          return { literal: parseInt(hex, 16) };
        }
        const hex = p.slice(this.i, this.i + 2);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) this.fail(`invalid escape sequence: \\x${hex}`);
        this.i += 2;
        return { literal: parseInt(hex, 16) };
      }
      case 'a': return { literal: 7 };
      case 'f': return { literal: 12 };
      case 't': return { literal: 9 };
      case 'n': return { literal: 10 };
      case 'r': return { literal: 13 };
      case 'v': return { literal: 11 };
      case 'd': case 'D': case 'w': case 'W':
        return { set: '\\' + c };
      case 's':
        return { set: inClass ? GO_SPACE : `[${GO_SPACE}]` };
      case 'S':
        return { set: inClass ? GO_NOT_SPACE_RANGES : `[^${GO_SPACE}]` };
      case 'p': case 'P':
        return { set: this.unicodeClass(c === 'P', inClass) };
      default:
        break;
    }
    const cp = c.codePointAt(0) as number;
    if (cp < 0x80 && !/[0-9A-Za-z]/.test(c)) return { literal: cp };
    this.i--;
    return this.fail(`invalid escape sequence: \\${c}`);
  }

  private unicodeClass(negated: boolean, inClass: boolean): string {
    const p = this.p;
    let name: string;
    if (p[this.i] === '{') {
      const end = p.indexOf('}', this.i);
      if (end < 0) this.fail('invalid character class range: missing }');
      name = p.slice(this.i + 1, end);
      this.i = end + 1;
    } else {
      name = p[this.i] ?? '';
      this.i++;
    }
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    if (name === 'Any') {
      if (negated) this.unsupported('\\P{Any}');
      return inClass ? '\\x00-\\u{10ffff}' : '[\\s\\S]';
    }
    const body = GENERAL_CATEGORIES.has(name) ? name : `Script=${name}`;
    try {
      new RegExp(`\\p{${body}}`, 'u');
    } catch {
      this.fail(`invalid character class range: \\p{${name}}`);
    }
    return `\\${negated ? 'P' : 'p'}{${body}}`;
  }

  private escape(): void {
    const p = this.p;
    const c = p[this.i + 1];
    if (c === 'A' || c === 'z') {
      this.out += c === 'A' ? '^' : '$';
      this.i += 2;
      return;
    }
    if (c === 'b' || c === 'B') {
      this.out += '\\' + c;
      this.i += 2;
      return;
    }
    if (c === 'Q') {
      const end = p.indexOf('\\E', this.i + 2);
      // Unterminated, \Q quotes the rest, which in Prometheus includes the ")$" of
      // its own anchoring wrapper: the pattern no longer compiles there.
      if (end < 0) this.fail('missing closing ): \\Q without \\E');
      const text = end < 0 ? p.slice(this.i + 2) : p.slice(this.i + 2, end);
      for (const ch of text) this.out += literal(ch.codePointAt(0) as number, false);
      this.i = end < 0 ? p.length : end + 2;
      return;
    }
    const e = this.readEscape(false);
    this.out += e.set ?? literal(e.literal as number, false);
  }

  private charClass(): void {
    const p = this.p;
    this.i++;
    let cls = '[';
    if (p[this.i] === '^') {
      cls += '^';
      this.i++;
    }
    let first = true;
    for (;;) {
      if (this.i >= p.length) this.fail(`missing closing ]: ${p.slice(p.lastIndexOf('['))}`);
      const c = p[this.i] as string;
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      if (c === '[' && p[this.i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(p.slice(this.i));
        if (m) {
          if (m[1]) this.unsupported(`negated POSIX class ${m[0]}`);
          const ranges = POSIX_CLASSES[m[2] as string];
          if (ranges === undefined) this.fail(`invalid character class range: ${m[0]}`);
          cls += ranges;
          this.i += m[0].length;
          continue;
        }
      }
      const lo = this.classAtom();
      if (lo.set !== undefined) {
        cls += lo.set;
        continue;
      }
      if (p[this.i] === '-' && p[this.i + 1] !== ']' && this.i + 1 < p.length) {
        this.i++;
        const hi = this.classAtom();
        if (hi.set !== undefined || (hi.literal as number) < (lo.literal as number)) {
          this.fail('invalid character class range');
        }
        cls += literal(lo.literal as number, true) + '-' + literal(hi.literal as number, true);
        continue;
      }
      cls += literal(lo.literal as number, true);
    }
    this.out += cls + ']';
  }

  private classAtom(): { literal?: number; set?: string } {
    const p = this.p;
    if (p[this.i] === '\\') return this.readEscape(true);
    const cp = p.codePointAt(this.i) as number;
    this.i += cp > 0xffff ? 2 : 1;
    return { literal: cp };
  }
}

function literal(cp: number, inClass: boolean): string {
  const ch = String.fromCodePoint(cp);
  if (inClass) return ch === '\\' || ch === ']' || ch === '[' || ch === '^' || ch === '-' ? '\\' + ch : cp < 0x20 ? `\\u{${cp.toString(16)}}` : ch;
  if (JS_SYNTAX.has(ch)) return '\\' + ch;
  return cp < 0x20 ? `\\u{${cp.toString(16)}}` : ch;
}

const LITERAL = /^[^\\.+*?()|[\]{}^$]*$/;
const LITERAL_ALTERNATION = /^[^\\.+*?()|[\]{}^$]+(\|[^\\.+*?()|[\]{}^$]+)+$/;
const PREFIX_ANY = /^([^\\.+*?()|[\]{}^$]*)\.\*$/;

/**
 * Compiles a Go (RE2) regular expression as Prometheus anchors it. Simple
 * shapes (a literal, literal alternatives, a literal prefix then `.*`, and
 * the default `(.*)`) get a matcher that needs no regexp at all.
 */
export function compileGoRegexp(pattern: string): GoRegexp {
  const t = new Translator(pattern);
  const body = t.translate();
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${body})$`, t.ignoreCase ? 'iu' : 'u');
  } catch (err) {
    throw new RelabelError('FS_RELABEL_INVALID_REGEX', [JSON.stringify(pattern), (err as Error).message], { cause: err });
  }
  const groupNames = t.groupNames;
  let matches: (s: string) => boolean = (s) => re.test(s);
  let exec: (s: string) => readonly (string | undefined)[] | null = (s) => re.exec(s);
  let simple = true;
  if (t.ignoreCase) simple = false;
  else if (pattern === '(.*)') {
    matches = (s) => s.indexOf('\n') < 0;
    exec = (s) => (s.indexOf('\n') < 0 ? [s, s] : null);
  } else if (LITERAL.test(pattern)) {
    matches = (s) => s === pattern;
  } else if (LITERAL_ALTERNATION.test(pattern)) {
    const set = new Set(pattern.split('|'));
    matches = (s) => set.has(s);
  } else {
    const prefix = PREFIX_ANY.exec(pattern);
    if (prefix) {
      const pre = prefix[1] as string;
      matches = (s) => s.startsWith(pre) && s.indexOf('\n', pre.length) < 0;
    } else simple = false;
  }
  return { source: pattern, re, groupNames, matches, exec, simple };
}

/** Go's regexp.QuoteMeta: escapes every RE2 metacharacter in a literal. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}
