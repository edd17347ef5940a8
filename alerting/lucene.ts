// The Lucene query-string syntax Elasticsearch's `query_string` query reads
// (https://www.elastic.co/guide/en/elasticsearch/reference/7.10/query-dsl-query-string-query.html):
// field:value, "phrases", wildcards (* ?), /regex/, ranges ([a TO b], {a TO b},
// mixed, >, >=, <, <=), _exists_:field, AND/&&, OR/||, NOT/!, +/- and grouping.
// Booleans combine the way Lucene's classic QueryParser does (addClause):
// `a AND b OR c` is a MUST, b MUST, c SHOULD; a clause list with a MUST
// ignores its SHOULDs; a purely negative list matches everything else
// (Elasticsearch adds match_all, Queries.fixNegativeQueryIfNeeded).
import { AlertingError } from './errors.js';

export type Occur = 'must' | 'should' | 'must_not';

export type LuceneNode =
  | { kind: 'bool'; clauses: { occur: Occur; node: LuceneNode }[] }
  | { kind: 'term'; field: string | null; text: string; quoted: boolean; wildcard: boolean }
  | { kind: 'regex'; field: string | null; pattern: string }
  | { kind: 'range'; field: string | null; lo: string | null; hi: string | null; loIncl: boolean; hiIncl: boolean }
  | { kind: 'exists'; field: string }
  | { kind: 'all' };

const MAX_QUERY_LENGTH = 64 * 1024;
const MAX_DEPTH = 64;

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly src: string, private readonly defaultOperator: 'OR' | 'AND') {}

  fail(reason: string): never {
    throw new AlertingError('FS_ALERTING_INVALID_QUERY', [JSON.stringify(this.src.length > 80 ? `${this.src.slice(0, 77)}...` : this.src), `${reason} at offset ${this.pos}`]);
  }

  private ws(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos] as string)) this.pos++;
  }

  private peekWord(word: string): boolean {
    if (!this.src.startsWith(word, this.pos)) return false;
    const next = this.src[this.pos + word.length];
    return next === undefined || /[\s()]/.test(next);
  }

  parseQuery(): LuceneNode {
    const node = this.parseClauses(false);
    this.ws();
    if (this.pos < this.src.length) this.fail(`unexpected ${JSON.stringify(this.src[this.pos])}`);
    return node;
  }

  private parseClauses(inGroup: boolean): LuceneNode {
    if (++this.depth > MAX_DEPTH) this.fail('nesting too deep');
    const clauses: { occur: Occur; node: LuceneNode }[] = [];
    let conj: 'AND' | 'OR' | null = null;
    for (;;) {
      this.ws();
      if (this.pos >= this.src.length) break;
      if (inGroup && this.src[this.pos] === ')') break;
      if (this.peekWord('AND') || this.src.startsWith('&&', this.pos)) {
        this.pos += this.src[this.pos] === '&' ? 2 : 3;
        if (clauses.length === 0) this.fail('AND without a left side');
        conj = 'AND';
        continue;
      }
      if (this.peekWord('OR') || this.src.startsWith('||', this.pos)) {
        this.pos += 2;
        if (clauses.length === 0) this.fail('OR without a left side');
        conj = 'OR';
        continue;
      }
      let mod: 'req' | 'not' | null = null;
      if (this.peekWord('NOT')) {
        this.pos += 3;
        mod = 'not';
      } else if (this.src[this.pos] === '!' && this.src[this.pos + 1] !== '=') {
        this.pos++;
        mod = 'not';
      } else if (this.src[this.pos] === '-') {
        this.pos++;
        mod = 'not';
      } else if (this.src[this.pos] === '+') {
        this.pos++;
        mod = 'req';
      }
      this.ws();
      const node = this.parseClause();
      // Lucene QueryParserBase.addClause, with the default operator.
      const last = clauses[clauses.length - 1];
      if (last !== undefined && conj === 'AND' && last.occur !== 'must_not') last.occur = 'must';
      if (last !== undefined && this.defaultOperator === 'AND' && conj === 'OR' && last.occur !== 'must_not') last.occur = 'should';
      let required: boolean;
      let prohibited: boolean;
      if (this.defaultOperator === 'OR') {
        required = mod === 'req';
        prohibited = mod === 'not';
        if (conj === 'AND' && !prohibited) required = true;
      } else {
        prohibited = mod === 'not';
        required = !prohibited && conj !== 'OR';
      }
      clauses.push({ occur: prohibited ? 'must_not' : required ? 'must' : 'should', node });
      conj = null;
    }
    if (conj !== null) this.fail(`${conj} without a right side`);
    this.depth--;
    if (clauses.length === 0) this.fail(inGroup ? 'empty group' : 'empty query');
    if (clauses.length === 1 && clauses[0]?.occur !== 'must_not') return (clauses[0] as { node: LuceneNode }).node;
    return { kind: 'bool', clauses };
  }

  private parseClause(): LuceneNode {
    if (this.src[this.pos] === '(') return this.parseGroup(null);
    const start = this.pos;
    const word = this.readTermText();
    this.ws();
    if (word !== null && !word.quoted && !word.regex && this.src[this.pos] === ':') {
      this.pos++;
      this.ws();
      const field = word.text;
      if (field === '') this.fail('empty field name');
      if (this.src[this.pos] === '(') return this.parseGroup(field);
      if (field === '_exists_') {
        const f = this.readTermText();
        if (f === null || f.text === '') this.fail('_exists_ without a field');
        return { kind: 'exists', field: f.text };
      }
      return this.parseValue(field);
    }
    this.pos = start;
    return this.parseValue(null);
  }

  private parseGroup(field: string | null): LuceneNode {
    this.pos++;
    const inner = this.parseClauses(true);
    if (this.src[this.pos] !== ')') this.fail('missing )');
    this.pos++;
    this.skipBoost();
    return field === null ? inner : withField(inner, field);
  }

  private skipBoost(): void {
    if (this.src[this.pos] === '^') {
      this.pos++;
      while (this.pos < this.src.length && /[0-9.]/.test(this.src[this.pos] as string)) this.pos++;
    }
  }

  private parseValue(field: string | null): LuceneNode {
    const c = this.src[this.pos];
    if (c === '[' || c === '{') return this.parseRange(field);
    if (c === '>' || c === '<') {
      const op = this.src.startsWith('>=', this.pos) || this.src.startsWith('<=', this.pos) ? this.src.slice(this.pos, this.pos + 2) : (c as string);
      this.pos += op.length;
      const v = this.readTermText();
      if (v === null || v.text === '') this.fail(`${op} without a value`);
      const incl = op.length === 2;
      return op[0] === '>' ? { kind: 'range', field, lo: v.text, hi: null, loIncl: incl, hiIncl: false } : { kind: 'range', field, lo: null, hi: v.text, loIncl: false, hiIncl: incl };
    }
    const t = this.readTermText();
    if (t === null) this.fail(`expected a term, found ${JSON.stringify(c ?? 'end of query')}`);
    this.skipFuzzyAndBoost();
    if (t.regex) return { kind: 'regex', field, pattern: t.text };
    if (!t.quoted && t.text === '*' && field === null) return { kind: 'all' };
    if (!t.quoted && t.text === '*' && field !== null) return { kind: 'exists', field };
    return { kind: 'term', field, text: t.text, quoted: t.quoted, wildcard: !t.quoted && t.wild };
  }

  private skipFuzzyAndBoost(): void {
    if (this.src[this.pos] === '~') {
      this.pos++;
      while (this.pos < this.src.length && /[0-9.]/.test(this.src[this.pos] as string)) this.pos++;
    }
    this.skipBoost();
  }

  private parseRange(field: string | null): LuceneNode {
    const loIncl = this.src[this.pos] === '[';
    this.pos++;
    this.ws();
    const lo = this.readTermText();
    this.ws();
    if (!this.peekWord('TO')) this.fail('range without TO');
    this.pos += 2;
    this.ws();
    const hi = this.readTermText();
    this.ws();
    const close = this.src[this.pos];
    if (close !== ']' && close !== '}') this.fail('range without ] or }');
    this.pos++;
    if (lo === null || hi === null) this.fail('range bound missing');
    return { kind: 'range', field, lo: lo.text === '*' && !lo.quoted ? null : lo.text, hi: hi.text === '*' && !hi.quoted ? null : hi.text, loIncl, hiIncl: close === ']' };
  }

  /** A term, quoted phrase or /regex/, unescaped; null when none starts here. */
  private readTermText(): { text: string; quoted: boolean; regex: boolean; wild: boolean } | null {
    const c = this.src[this.pos];
    if (c === undefined) return null;
    if (c === '"') {
      let out = '';
      this.pos++;
      for (;;) {
        const ch = this.src[this.pos];
        if (ch === undefined) this.fail('unterminated phrase');
        this.pos++;
        if (ch === '"') break;
        if (ch === '\\') {
          const n = this.src[this.pos];
          if (n === undefined) this.fail('dangling escape');
          out += n;
          this.pos++;
        } else out += ch;
      }
      return { text: out, quoted: true, regex: false, wild: false };
    }
    if (c === '/') {
      const end = findRegexEnd(this.src, this.pos + 1);
      if (end < 0) this.fail('unterminated regular expression');
      const text = this.src.slice(this.pos + 1, end);
      this.pos = end + 1;
      return { text, quoted: false, regex: true, wild: false };
    }
    let out = '';
    let wild = false;
    while (this.pos < this.src.length) {
      const ch = this.src[this.pos] as string;
      if (ch === '\\') {
        const n = this.src[this.pos + 1];
        if (n === undefined) this.fail('dangling escape');
        // An escaped wildcard character stays literal: keep it escaped for the wildcard matcher.
        out += n === '*' || n === '?' ? `\\${n}` : n === '\\' ? '\\\\' : n;
        this.pos += 2;
        continue;
      }
      if (/[\s()[\]{}:^~"]/.test(ch)) break;
      if (ch === '*' || ch === '?') wild = true;
      out += ch;
      this.pos++;
    }
    if (out === '') return null;
    if (!wild) out = out.replace(/\\\\/g, '\\');
    return { text: out, quoted: false, regex: false, wild };
  }
}

function findRegexEnd(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '/') return i;
  }
  return -1;
}

function withField(node: LuceneNode, field: string): LuceneNode {
  switch (node.kind) {
    case 'bool':
      return { kind: 'bool', clauses: node.clauses.map((c) => ({ occur: c.occur, node: withField(c.node, field) })) };
    case 'term':
    case 'regex':
    case 'range':
      return node.field === null ? { ...node, field } : node;
    case 'all':
      return { kind: 'exists', field };
    default:
      return node;
  }
}

export function parseLucene(query: string, defaultOperator: 'OR' | 'AND' = 'OR'): LuceneNode {
  if (query.length > MAX_QUERY_LENGTH) throw new AlertingError('FS_ALERTING_INVALID_QUERY', ['(long query)', `longer than ${MAX_QUERY_LENGTH} characters`]);
  return new Parser(query, defaultOperator).parseQuery();
}
