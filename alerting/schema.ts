// The JSON-schema (draft 7) keywords that ElastAlert's schema.yaml uses,
// interpreted the way python-jsonschema's Draft7Validator does (no format
// checking, 1.0 is an integer, a boolean is not a number). Errors carry the
// option path so the loader can name file, path and reason.
import { elastalertSchema } from './elastalert-schema.js';

export interface SchemaIssue {
  readonly path: string;
  readonly reason: string;
}

type Schema = Record<string, unknown>;

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

function isType(v: unknown, t: string): boolean {
  const actual = jsonType(v);
  if (t === 'number') return actual === 'number' || actual === 'integer';
  return actual === t;
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Validates `value` against `schema`, appending every issue found. */
export function validateSchema(value: unknown, schema: Schema, path: string, out: SchemaIssue[]): void {
  const t = schema.type;
  if (t !== undefined) {
    const types = Array.isArray(t) ? (t as string[]) : [t as string];
    if (!types.some((x) => isType(value, x))) {
      out.push({ path, reason: `${describe(value)} is not of type ${types.map((x) => `'${x}'`).join(', ')}` });
      return;
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => e === value)) {
    out.push({ path, reason: `${describe(value)} is not one of ${describe(schema.enum)}` });
  }
  if (typeof value === 'string') {
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) {
      out.push({ path, reason: `${describe(value)} does not match '${schema.pattern}'` });
    }
    if (typeof schema.minLength === 'number' && [...value].length < schema.minLength) {
      out.push({ path, reason: `${describe(value)} is too short` });
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) out.push({ path, reason: `${describe(value)} is too short` });
    const items = schema.items as Schema | undefined;
    if (items !== undefined && typeof items === 'object') value.forEach((v, i) => validateSchema(v, items, join(path, i), out));
  }
  if (jsonType(value) === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (typeof schema.minProperties === 'number' && keys.length < schema.minProperties) {
      out.push({ path, reason: `${describe(value)} does not have enough properties` });
    }
    if (Array.isArray(schema.required)) {
      for (const r of schema.required as string[]) if (!(r in obj)) out.push({ path: join(path, r), reason: `'${r}' is a required property` });
    }
    const props = (schema.properties ?? {}) as Record<string, Schema | null>;
    const patterns = (schema.patternProperties ?? {}) as Record<string, Schema>;
    for (const k of keys) {
      let known = false;
      const p = props[k];
      if (Object.prototype.hasOwnProperty.call(props, k)) {
        known = true;
        if (p !== null && p !== undefined && typeof p === 'object') validateSchema(obj[k], p, join(path, k), out);
      }
      for (const [re, ps] of Object.entries(patterns)) {
        if (new RegExp(re, 'u').test(k)) {
          known = true;
          validateSchema(obj[k], ps, join(path, k), out);
        }
      }
      if (!known && schema.additionalProperties === false) out.push({ path: join(path, k), reason: `additional property '${k}' is not allowed` });
    }
  }
  if (Array.isArray(schema.oneOf)) {
    const branches = schema.oneOf as Schema[];
    const results = branches.map((b) => {
      const issues: SchemaIssue[] = [];
      validateSchema(value, b, path, issues);
      return issues;
    });
    const passing = results.filter((r) => r.length === 0).length;
    if (passing === 0) {
      // Report the branch the rule meant (its `type` enum matches), as a person would read it.
      const meant = branches.findIndex((b) => {
        const ty = ((b.properties as Record<string, Schema> | undefined)?.type?.enum as unknown[] | undefined) ?? [];
        return jsonType(value) === 'object' && ty.includes((value as Record<string, unknown>).type);
      });
      if (meant >= 0) out.push(...(results[meant] as SchemaIssue[]));
      else out.push({ path: join(path, 'type'), reason: `${describe((value as Record<string, unknown>)?.type)} is not a known rule type` });
    } else if (passing > 1) {
      out.push({ path, reason: 'is valid under more than one rule type' });
    }
  }
}

/** The top-level option names ElastAlert's schema knows (anything else is reported as unknown). */
export const schemaOptionNames: ReadonlySet<string> = new Set(Object.keys(elastalertSchema.properties as object));

/** Validates one merged rule document against ElastAlert 0.2.4's schema. */
export function validateRuleSchema(rule: Record<string, unknown>): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  validateSchema(rule, elastalertSchema, '', out);
  return out;
}
