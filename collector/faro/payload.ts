// The Faro transport body (@grafana/faro-core `TransportBody`, as the web
// SDK's fetch transport posts it), validated with limits. Unknown fields are
// kept out; traces are accepted and counted but not turned into logs.
// See https://github.com/grafana/faro-web-sdk/blob/main/packages/core/src/transports/types.ts
import { z } from 'zod';

export interface PayloadLimits {
  readonly maxItems: number;
  readonly maxFieldLength: number;
}

const rfc3339 = z.string().max(64).refine((s) => !Number.isNaN(Date.parse(s)), 'not an RFC 3339 timestamp');

export function payloadSchema(l: PayloadLimits) {
  const str = z.string().max(l.maxFieldLength);
  const attrs = z.record(z.string().max(256), str).refine((r) => Object.keys(r).length <= 64, 'more than 64 attributes');
  const trace = z.object({ trace_id: z.string().max(64), span_id: z.string().max(64) }).optional();
  const items = <T extends z.ZodType>(t: T) => z.array(t).max(l.maxItems).optional();
  return z.object({
    meta: z.object({
      app: z.object({ name: z.string().max(128).optional(), version: z.string().max(128).optional(), environment: z.string().max(128).optional() }).passthrough().optional(),
      session: z.object({ id: z.string().max(128).optional(), attributes: attrs.optional() }).passthrough().optional(),
      page: z.object({ url: str.optional(), id: z.string().max(128).optional() }).passthrough().optional(),
      browser: z.object({ name: z.string().max(128).optional(), version: z.string().max(128).optional(), os: z.string().max(128).optional() }).passthrough().optional(),
      sdk: z.object({ name: z.string().max(128).optional(), version: z.string().max(128).optional() }).passthrough().optional(),
      view: z.object({ name: z.string().max(128).optional() }).passthrough().optional(),
      user: z.object({ id: z.string().max(128).optional(), username: z.string().max(128).optional() }).passthrough().optional(),
    }).passthrough(),
    logs: items(z.object({ message: str, level: z.string().max(16).default('info'), timestamp: rfc3339, context: attrs.nullish(), trace })),
    exceptions: items(z.object({
      type: z.string().max(256),
      value: str,
      timestamp: rfc3339,
      stacktrace: z.object({ frames: z.array(z.object({ filename: str.optional(), function: str.optional(), lineno: z.number().optional(), colno: z.number().optional() })).max(200) }).optional(),
      context: attrs.optional(),
      trace,
    })),
    measurements: items(z.object({
      type: z.string().max(128),
      values: z.record(z.string().max(128), z.number().finite()).refine((r) => Object.keys(r).length <= 64, 'more than 64 values'),
      timestamp: rfc3339,
      context: attrs.optional(),
      trace,
    })),
    events: items(z.object({ name: z.string().max(256), domain: z.string().max(256).optional(), timestamp: rfc3339, attributes: attrs.optional(), trace })),
    traces: z.object({ resourceSpans: z.array(z.unknown()).max(l.maxItems).optional() }).passthrough().optional(),
  });
}

export type FaroPayload = z.infer<ReturnType<typeof payloadSchema>>;

/** The first problem zod found, as `path: reason`. */
export function describeIssue(err: z.ZodError): [string, string] {
  const issue = err.issues[0];
  return [issue ? issue.path.map(String).join('.') || '(root)' : '(root)', issue?.message ?? 'invalid'];
}
