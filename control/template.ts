// Manifest templates: Kubernetes YAML with `${...}` references in string
// values. No code runs: a reference is a dotted path into the render context
// (`params.*`, `site.name|tenant|group`, `site.labels.*`, `component.name|version`).
//   - a value that is exactly one reference takes the referenced value with its
//     type (number, boolean, list, map);
//   - a reference inside a longer string is interpolated as text (lists and
//     maps as JSON);
//   - `$${` writes a literal `${`;
//   - a reference to something that does not exist is an error naming the
//     template file and the reference; references in keys are refused.
// A template is compiled once per model load: parsed, annotated, dumped to
// YAML with a marker where each reference goes, and cut into segments; a
// render is then string concatenation plus one JSON encoding per reference
// (JSON is YAML's flow syntax, so an encoded value is valid YAML in place).
import { randomBytes } from 'node:crypto';
import yaml from 'js-yaml';
import { EMPTY_CHECKSUM_LINE } from './checksum.js';
import { ControlError } from './errors.js';

export const ANNOTATION_PREFIX = 'fleetscope.io/';
export const VERSION_ANNOTATION = 'fleetscope.io/version';
export const APPLY_MODE_ANNOTATION = 'fleetscope.io/apply-mode';
export const PREPULL_ANNOTATION = 'fleetscope.io/prepull-images';

const ROOTS = new Set(['params', 'site', 'component']);
const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** One piece of an interpolated string: literal text or a reference path. */
type Part = string | Ref;
interface Ref {
  readonly path: readonly string[];
  /** `|string`: always text. */
  readonly text: boolean;
}

interface Hole {
  /** null: the version; 'prepull': the pre-pull list; otherwise a value template. */
  readonly kind: 'version' | 'prepull' | 'value';
  readonly parts: readonly Part[];
  /** The whole value is one reference: keep its type. */
  readonly whole: boolean;
}

export interface CompiledTemplate {
  readonly file: string;
  readonly documents: number;
  /** Literal text, then hole, then text... (`segments.length === holes.length + 1`). */
  readonly segments: readonly string[];
  readonly holes: readonly Hole[];
  /** Every distinct reference path, for reporting. */
  readonly references: readonly string[];
}

export interface RenderContext {
  readonly params: Record<string, unknown>;
  readonly site: { readonly name: string; readonly tenant: string; readonly group: string; readonly labels: Record<string, string> };
  readonly component: { readonly name: string; readonly version: string };
}

function templateError(file: string, where: string, reason: string): ControlError {
  return new ControlError('FS_CONTROL_TEMPLATE', [file, where, reason]);
}

/** Splits a string value into literal text and references; throws on a malformed one. */
function parseParts(file: string, where: string, s: string): Part[] {
  const parts: Part[] = [];
  let text = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('$${', i)) {
      text += '${';
      i += 3;
      continue;
    }
    if (s.startsWith('${', i)) {
      const end = s.indexOf('}', i + 2);
      if (end < 0) throw templateError(file, where, `unterminated reference in "${s}"`);
      const expr = s.slice(i + 2, end).trim();
      const text_ = expr.endsWith('|string');
      const path = (text_ ? expr.slice(0, -7).trim() : expr).split('.');
      if (!path.every((p) => IDENT.test(p)) || !ROOTS.has(path[0] as string) || path.length < 2) {
        throw templateError(file, where, `"\${${expr}}" is not a reference: use \${params.NAME}, \${site.name|tenant|group|labels.KEY} or \${component.name|version}, optionally ending in |string`);
      }
      if (text !== '') parts.push(text);
      text = '';
      parts.push({ path, text: text_ });
      i = end + 1;
      continue;
    }
    text += s[i];
    i++;
  }
  if (text !== '') parts.push(text);
  return parts;
}

function resolve(ctx: RenderContext, path: readonly string[]): unknown {
  let v: unknown = ctx;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, p)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** JSON, with the characters YAML does not allow raw escaped: valid YAML flow. */
export function yamlFlow(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Compiles one template file (one or more YAML documents, each a Kubernetes
 * object with `metadata`). `applyMode` is written as an annotation on every
 * object; version, checksum and pre-pull annotations are filled per render.
 */
export function compileTemplate(file: string, text: string, applyMode: 'optimistic' | 'pessimistic'): CompiledTemplate {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text, undefined, { schema: yaml.CORE_SCHEMA, filename: file }).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    throw templateError(file, '(document)', `not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const nonce = randomBytes(6).toString('hex');
  const marker = (i: number): string => `FSMARK${nonce}N${i}E`;
  const holes: Hole[] = [];
  const refs = new Set<string>();
  const walk = (v: unknown, where: string): unknown => {
    if (typeof v === 'string') {
      if (!v.includes('${')) return v.replaceAll('$${', '${');
      const parts = parseParts(file, where, v);
      if (parts.every((p) => typeof p === 'string')) return parts.join('');
      for (const p of parts) if (typeof p !== 'string') refs.add(p.path.join('.'));
      holes.push({ kind: 'value', parts, whole: parts.length === 1 && typeof parts[0] !== 'string' && !parts[0]!.text });
      return marker(holes.length - 1);
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${where}[${i}]`));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        if (k.includes('${')) throw templateError(file, `${where}.${k}`, 'references are not allowed in keys');
        out[k] = walk(x, `${where}.${k}`);
      }
      return out;
    }
    return v;
  };
  const dumped: string[] = [];
  docs.forEach((doc, d) => {
    const where = `document ${d + 1}`;
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw templateError(file, where, 'a manifest must be a map (a Kubernetes object)');
    const o = doc as Record<string, unknown>;
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') throw templateError(file, where, 'a manifest needs apiVersion and kind');
    const meta = o.metadata;
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw templateError(file, where, 'a manifest needs a metadata map');
    const walked = walk(o, where) as Record<string, unknown>;
    const m = walked.metadata as Record<string, unknown>;
    const ann = m.annotations ?? {};
    if (ann === null || typeof ann !== 'object' || Array.isArray(ann)) throw templateError(file, `${where}.metadata.annotations`, 'annotations must be a map');
    for (const k of Object.keys(ann)) {
      if (k.startsWith(ANNOTATION_PREFIX)) throw templateError(file, `${where}.metadata.annotations.${k}`, `annotations under ${ANNOTATION_PREFIX} are written by the renderer`);
    }
    holes.push({ kind: 'version', parts: [], whole: true });
    const versionMarker = marker(holes.length - 1);
    holes.push({ kind: 'prepull', parts: [], whole: true });
    const prepullMarker = marker(holes.length - 1);
    m.annotations = {
      ...(ann as Record<string, unknown>),
      [VERSION_ANNOTATION]: versionMarker,
      'fleetscope.io/checksum': '',
      [APPLY_MODE_ANNOTATION]: applyMode,
      [PREPULL_ANNOTATION]: prepullMarker,
    };
    const out = yaml.dump(walked, { lineWidth: -1, noRefs: true, schema: yaml.CORE_SCHEMA });
    if (!out.includes(EMPTY_CHECKSUM_LINE)) throw templateError(file, where, 'internal: checksum annotation not written as expected');
    dumped.push(`---\n${out}`);
  });
  const all = dumped.join('');
  const split = all.split(new RegExp(`'?FSMARK${nonce}N(\\d+)E'?`));
  const segments: string[] = [];
  const ordered: Hole[] = [];
  for (let i = 0; i < split.length; i++) {
    if (i % 2 === 0) segments.push(split[i] as string);
    else ordered.push(holes[Number(split[i])] as Hole);
  }
  return { file, documents: docs.length, segments, holes: ordered, references: [...refs].sort() };
}

/** The text of one reference hole for a context; throws naming the file on an unknown reference. */
function fill(t: CompiledTemplate, h: Hole, ctx: RenderContext, version: string, prepull: string): string {
  if (h.kind === 'version') return yamlFlow(version);
  if (h.kind === 'prepull') return yamlFlow(prepull);
  let out = '';
  for (const p of h.parts) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    const v = resolve(ctx, p.path);
    if (v === undefined) throw templateError(t.file, `site ${ctx.site.name}`, `unknown reference \${${p.path.join('.')}}`);
    if (h.whole) return yamlFlow(v);
    out += typeof v === 'string' ? v : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  }
  return yamlFlow(out);
}

/** Renders a compiled template: YAML documents each starting with `---`, checksum annotations empty. */
export function renderTemplate(t: CompiledTemplate, ctx: RenderContext, version: string, prepull: string): string {
  let out = t.segments[0] as string;
  for (let i = 0; i < t.holes.length; i++) out += fill(t, t.holes[i] as Hole, ctx, version, prepull) + (t.segments[i + 1] as string);
  return out;
}

/** Checks a template's references against a context without building the text. */
export function checkReferences(t: CompiledTemplate, ctx: RenderContext): void {
  for (const h of t.holes) {
    if (h.kind !== 'value') continue;
    for (const p of h.parts) if (typeof p !== 'string' && resolve(ctx, p.path) === undefined) throw templateError(t.file, `site ${ctx.site.name}`, `unknown reference \${${p.path.join('.')}}`);
  }
}
