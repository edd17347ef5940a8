// The `logs:` section of the collector config (validated with the rest of
// the file by collector/config.ts): ingest endpoints, per-tenant pipeline,
// the on-disk buffer and the Elasticsearch egress. Defaults live here, in the
// schema; cross-field rules (regexes compile, TLS files exist) in
// compileLogsConfig. Omit the section and the collector has no log path.
import { z } from 'zod';

const duration = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration like 500ms, 30s, 5m or 1h').transform((s) => {
    const m = /^(\d+)(ms|s|m|h)$/.exec(s) as RegExpExecArray;
    return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  }),
], { error: 'expected a duration like 500ms, 30s, 5m or 1h, or a number of milliseconds' });

const hostPort = z.string().regex(/^[^:]*:\d+$/, 'host:port');

const sharedKeySchema = z
  .object({
    /** The forward shared_key. */
    key: z.string().min(8, 'a shared key must be at least 8 characters'),
    /** A key bound to a tenant (and a site) fixes the sender's identity without a site token. */
    tenant: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/).optional(),
    site: z.string().min(1).max(256).optional(),
  })
  .strict();

const forwardSchema = z
  .object({
    listen: hostPort.default('0.0.0.0:24224'),
    /** TLS on the forward port (Fluent Bit `tls on`). PEM files. */
    tls: z.object({ cert_file: z.string().min(1), key_file: z.string().min(1), ca_file: z.string().min(1).optional() }).strict().optional(),
    /**
     * Shared keys for the HELO/PING/PONG handshake. With none, there is no
     * handshake (the server sends no HELO), as a Fluent Bit or Fluentd
     * `forward` output without `shared_key` expects; then each frame's
     * `fleetscope_token` option (Fluent Bit: `Add_option fleetscope_token <site token>`)
     * or, failing that, `identity` names the sender.
     */
    shared_keys: z.array(sharedKeySchema).default([]),
    /** Without shared keys: the site every sender on this listener is, unless a frame names its own with `fleetscope_token`. Only for a listener only that site can reach. */
    identity: z.object({ tenant: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/), site: z.string().min(1).max(256) }).strict().optional(),
    /** The hostname this server names in PONG. */
    server_hostname: z.string().min(1).default('fleetscope-collector'),
    /** A frame (one msgpack array) larger than this closes the connection. */
    max_frame_bytes: z.number().int().positive().default(16 * 1024 ** 2),
    /** Entries in one frame, and decompressed bytes of a CompressedPackedForward frame. */
    max_entries_per_frame: z.number().int().positive().default(100_000),
    max_decompressed_bytes: z.number().int().positive().default(64 * 1024 ** 2),
    /** Frames of one connection being made durable at once before the socket is paused. */
    max_inflight_frames: z.number().int().positive().default(8),
    /** Open connections at most; more are closed at once (counted, reason too_many_connections). */
    max_connections: z.number().int().positive().default(10_000),
    /** A connection silent this long (handshake included) is closed. */
    idle_timeout: duration.default(300_000),
  })
  .strict();

const httpSchema = z
  .object({
    max_body_bytes: z.number().int().positive().default(16 * 1024 ** 2),
    max_lines: z.number().int().positive().default(100_000),
    max_line_bytes: z.number().int().positive().default(1024 ** 2),
  })
  .strict();

const dropRuleSchema = z
  .object({
    /** A dotted path into the record, e.g. `level` or `kubernetes.namespace_name`. */
    field: z.string().min(1),
    /** Drop when the field's value (as a string) equals this… */
    equals: z.string().optional(),
    /** …or matches this regex (JavaScript syntax, anchored as written). */
    matches: z.string().optional(),
  })
  .strict()
  .refine((r) => (r.equals === undefined) !== (r.matches === undefined), { error: 'give exactly one of equals or matches' });

const tenantSchema = z
  .object({
    /** Records matching any rule are dropped (counted, reason `filter`). */
    drop: z.array(dropRuleSchema).default([]),
    redact: z
      .object({
        /** Dotted paths whose values become `mask`. */
        fields: z.array(z.string().min(1)).default([]),
        /** Regexes replaced in every string value (global). */
        patterns: z.array(z.object({ regex: z.string().min(1), replacement: z.string().default('[REDACTED]') }).strict()).default([]),
        mask: z.string().default('[REDACTED]'),
      })
      .strict()
      .default({ fields: [], patterns: [], mask: '[REDACTED]' }),
  })
  .strict();

const elasticsearchSchema = z
  .object({
    /** One or more node URLs. */
    nodes: z.array(z.string().url()).min(1),
    username: z.string().optional(),
    password: z.string().optional(),
    api_key: z.string().optional(),
    /** Daily indices `prefix-YYYY.MM.DD` (`prefix-<tenant>-YYYY.MM.DD` with per_tenant), written with `index`. */
    index_prefix: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'lowercase index name characters').default('fleetscope-logs'),
    per_tenant: z.boolean().default(false),
    /** Write to this data stream instead (with `create`); with per_tenant, `<name>-<tenant>`. */
    data_stream: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/).optional(),
    /** The REST compatibility version sent (8 works with Elasticsearch 8 and 9). */
    compatible_with: z.union([z.literal(8), z.literal(9)]).default(8),
    batch_max_docs: z.number().int().positive().default(2000),
    batch_max_bytes: z.number().int().positive().default(8 * 1024 ** 2),
    concurrency: z.number().int().positive().max(64).default(2),
    timeout: duration.default(30_000),
    min_backoff: duration.default(100),
    max_backoff: duration.default(10_000),
    /** Items refused for good (mapping errors, other 4xx) are appended here, one JSON object a line. */
    dead_letter_file: z.string().min(1).default('data/logs-dead-letter.ndjson'),
  })
  .strict();

export const logsConfigSchema = z
  .object({
    /** The durable buffer between acknowledging and delivering. */
    buffer: z
      .object({
        dir: z.string().min(1).default('data/logs'),
        max_bytes: z.number().int().positive().default(1024 ** 3),
        segment_bytes: z.number().int().positive().default(64 * 1024 ** 2),
      })
      .strict()
      .default({ dir: 'data/logs', max_bytes: 1024 ** 3, segment_bytes: 64 * 1024 ** 2 }),
    /** The Fluent forward server; off unless given. */
    forward: forwardSchema.optional(),
    /** Limits of POST /_bulk, /{index}/_bulk and /api/v1/logs on the collector's HTTP port. */
    http: httpSchema.default({ max_body_bytes: 16 * 1024 ** 2, max_lines: 100_000, max_line_bytes: 1024 ** 2 }),
    tenants: z.record(z.string(), tenantSchema).default({}),
    /** Without it records still go to onLogRecords listeners (alerting) but are not stored. */
    elasticsearch: elasticsearchSchema.optional(),
  })
  .strict();

export type LogsConfig = z.output<typeof logsConfigSchema>;
export type ForwardConfig = z.output<typeof forwardSchema>;
export type ElasticsearchConfig = z.output<typeof elasticsearchSchema>;
export type LogsTenantConfig = z.output<typeof tenantSchema>;

/** A cross-field problem: the path inside `logs` and the reason. */
export interface LogsConfigProblem {
  readonly path: readonly (string | number)[];
  readonly reason: string;
}

/** Cross-field rules zod cannot express; returns the first problem or null. */
export function checkLogsConfig(c: LogsConfig): LogsConfigProblem | null {
  for (const [tenant, t] of Object.entries(c.tenants)) {
    for (const [i, r] of t.drop.entries()) {
      if (r.matches !== undefined) {
        try {
          new RegExp(r.matches);
        } catch (err) {
          return { path: ['tenants', tenant, 'drop', i, 'matches'], reason: (err as Error).message };
        }
      }
    }
    for (const [i, p] of t.redact.patterns.entries()) {
      try {
        new RegExp(p.regex, 'g');
      } catch (err) {
        return { path: ['tenants', tenant, 'redact', 'patterns', i, 'regex'], reason: (err as Error).message };
      }
    }
  }
  if (c.forward) {
    for (const [i, k] of c.forward.shared_keys.entries()) {
      if (k.site !== undefined && k.tenant === undefined) return { path: ['forward', 'shared_keys', i, 'site'], reason: 'a key bound to a site needs its tenant too' };
    }
    if (c.forward.identity !== undefined && c.forward.shared_keys.length > 0) return { path: ['forward', 'identity'], reason: 'identity is for a listener without shared_keys (with them, the handshake identifies the sender)' };
  }
  const es = c.elasticsearch;
  if (es && (es.username === undefined) !== (es.password === undefined)) return { path: ['elasticsearch', 'username'], reason: 'username and password go together' };
  if (es?.api_key !== undefined && es.username !== undefined) return { path: ['elasticsearch', 'api_key'], reason: 'give api_key or username/password, not both' };
  return null;
}
