// The request bodies of the HTTP API (the top README's contract §2), validated with zod;
// a bad body is a 400 naming the path and the reason.
import { z } from 'zod';
import { ControlError } from './errors.js';
import { parseDuration } from './config.js';
import { parseFraction, parsePortion } from './rollout.js';

export const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const name = z.string().regex(NAME, 'a name is 1-63 of A-Z a-z 0-9 . _ -, starting alphanumeric');
const labels = z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/, 'a label key is 1-63 of A-Z a-z 0-9 . _ / -'), z.string().max(253))
  .refine((l) => Object.keys(l).length <= 64, 'at most 64 labels');

export const registerBody = z.object({
  csr: z.string().min(1).max(16_384),
  facts: z.record(z.string().max(128), z.union([z.string().max(1024), z.number(), z.boolean()]))
    .refine((f) => Object.keys(f).length <= 64, 'at most 64 facts')
    .refine((f) => typeof f.machine_id === 'string' && f.machine_id.length > 0 && f.machine_id.length <= 256, 'facts.machine_id (a string of 1-256 characters) is required'),
}).strict();

export const approveBody = z.object({ site: name, group: name, labels: labels.default({}) }).strict();
export const rejectBody = z.object({ reason: z.string().min(1).max(1024) }).strict();

export const statusBody = z.object({
  version: z.string().min(1).max(128),
  state: z.enum(['downloading', 'pre-pulling', 'applying', 'healthy', 'failed', 'rolled-back']),
  reason: z.string().max(4096).optional(),
  at: z.string().refine((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)), 'an RFC 3339 time'),
  series: z.number().int().nonnegative().optional(),
}).strict();

const portion = z.string().refine((s) => parsePortion(s, 100) !== null, 'a count or a percentage like "10%"');
const fraction = z.string().refine((s) => parseFraction(s) !== null, 'a percentage like "5%" or a fraction like 0.05');

export const rolloutBody = z.object({
  version: z.string().min(1).max(128),
  selector: z.object({ site: name.optional(), group: name.optional(), labels: labels.optional(), tenant: name.optional() }).strict()
    .refine((s) => [s.site, s.group, s.labels].filter((x) => x !== undefined).length === 1, 'give exactly one of site, group and labels'),
  strategy: z.object({
    canary: z.number().int().nonnegative().default(1),
    partitions: z.number().int().positive().max(1000).default(1),
    max_unavailable: z.union([portion, z.number().int().positive().transform(String)]).default('10%'),
    failure_threshold: z.union([fraction, z.number().min(0).max(1).transform(String)]).default('5%'),
    deadline: z.string().refine((s) => parseDuration(s) !== null, 'a duration like 30m').default('30m'),
  }).strict().default({ canary: 1, partitions: 1, max_unavailable: '10%', failure_threshold: '5%', deadline: '30m' }),
}).strict();

export const abortBody = z.object({ rollback: z.boolean().default(true) }).strict();
export const loadBody = z.object({ repo: z.string().min(1).max(4096).optional(), ref: z.string().min(1).max(256).optional() }).strict();

/** Parses a body with a schema, or throws FS_CONTROL_BAD_REQUEST naming the path. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path.map(String).join('.') || '(body)';
    throw new ControlError('FS_CONTROL_BAD_REQUEST', [`${path}: ${issue?.message ?? 'invalid'}`]);
  }
  return r.data;
}
