// The `logs:` section of the agent config: which files to tail, how to join
// multiline records, where to ship (forward or HTTP JSON lines), the disk
// spool that holds batches while the region is unreachable.
import { z } from 'zod';

const duration = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration like 500ms, 30s, 5m or 1h').transform((s) => {
    const m = /^(\d+)(ms|s|m|h)$/.exec(s) as RegExpExecArray;
    return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  }),
]);

const regex = z.string().min(1).refine((s) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}, { error: 'not a valid regular expression' });

const inputSchema = z
  .object({
    /** Globs: `*` and `?` within a path segment, `**` for any depth. */
    paths: z.array(z.string().min(1)).min(1),
    exclude: z.array(z.string().min(1)).default([]),
    /** The forward tag (and `tag` field over HTTP). */
    tag: z.string().min(1).default('fleetscope.logs'),
    /** Where to start in a file seen for the first time (no saved position). */
    start_at: z.enum(['beginning', 'end']).default('beginning'),
    /** Fields added to every record of this input. */
    fields: z.record(z.string(), z.string()).default({}),
    /** Join lines into one record: a line matching `start` begins a record, others continue it. */
    multiline: z.object({ start: regex, max_lines: z.number().int().positive().default(500), timeout: duration.default(2000) }).strict().optional(),
  })
  .strict();

const forwardOutput = z
  .object({
    host: z.string().min(1),
    port: z.number().int().positive().max(65535).default(24224),
    tls: z.boolean().default(false),
    /** Extra CA (PEM file) for TLS. */
    ca_file: z.string().optional(),
    /** A client certificate and key (PEM files) for mutual TLS, read at each connection (renewals are picked up). */
    cert_file: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
    /** The collector's shared key; without one there is no handshake (a collector listener without shared_keys). */
    shared_key: z.string().min(1).optional(),
    /** The site token: the handshake's username and password, or, without a shared key, every frame's `fleetscope_token` option. */
    token: z.string().min(1).optional(),
    hostname: z.string().min(1).default('fleetscope-agent'),
    gzip: z.boolean().default(false),
    ack_timeout: duration.default(30_000),
  })
  .strict();

const httpOutput = z
  .object({
    url: z.string().url(),
    token: z.string().min(1),
    timeout: duration.default(30_000),
    /** For https:// URLs: the CA (PEM file) the server must verify against, and a client certificate + key for mutual TLS. */
    ca_file: z.string().min(1).optional(),
    cert_file: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
  })
  .strict();

export const agentLogsConfigSchema = z
  .object({
    inputs: z.array(inputSchema).min(1),
    positions_file: z.string().min(1).default('data/agent/log-positions.json'),
    spool: z
      .object({ dir: z.string().min(1).default('data/agent/log-spool'), max_bytes: z.number().int().positive().default(256 * 1024 ** 2) })
      .strict()
      .default({ dir: 'data/agent/log-spool', max_bytes: 256 * 1024 ** 2 }),
    output: z.union([z.object({ forward: forwardOutput }).strict(), z.object({ http: httpOutput }).strict()]),
    batch_max_records: z.number().int().positive().default(2000),
    batch_max_bytes: z.number().int().positive().default(1024 ** 2),
    poll_interval: duration.default(250),
    min_backoff: duration.default(200),
    max_backoff: duration.default(30_000),
  })
  .strict();

export type AgentLogsConfig = z.output<typeof agentLogsConfigSchema>;
export type LogInput = z.output<typeof inputSchema>;
export type ForwardOutput = z.output<typeof forwardOutput>;
export type HttpOutput = z.output<typeof httpOutput>;
