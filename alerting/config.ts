// The alerting service's YAML config, validated once with zod: shape and
// defaults, then frozen. An invalid file is rejected whole with the file, the
// path inside it and the reason.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import yaml from 'js-yaml';
import { z } from 'zod';
import { AlertingError } from './errors.js';

/** "500ms", "30s", "5m", "1h", "1d", or a number of milliseconds. */
const duration = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration like 500ms, 30s, 5m, 1h or 1d').transform((s) => {
    const m = /^(\d+)(ms|s|m|h|d)$/.exec(s) as RegExpExecArray;
    return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  }),
], { error: 'expected a duration like 500ms, 30s, 5m or 1h, or a number of milliseconds' });

export const alertingConfigSchema = z
  .object({
    listen: z.string().regex(/^[^:]*:\d{1,5}$/, 'HOST:PORT').default('127.0.0.1:9400'),
    /** Folder of ElastAlert rule files (*.yaml, *.yml). */
    rules_dir: z.string().min(1),
    /** Also load rules from sub-folders (ElastAlert's scan_subdirectories). */
    scan_subdirectories: z.boolean().default(false),
    /** Alertmanagers that receive every alert (an HA pair gets both entries). */
    alertmanagers: z.array(z.string().url()).default([]),
    /** Base of generatorURL: where this service's /api/v1/rules/NAME is reached. */
    external_url: z.string().url().default('http://127.0.0.1:9400'),
    /** Where state is checkpointed; without it, state lives in memory only. */
    state_dir: z.string().min(1).optional(),
    run_every: duration.default(60_000),
    buffer_time: duration.default(15 * 60_000),
    allowed_lateness: duration.default(60_000),
    resend_interval: duration.default(60_000),
    checkpoint_interval: duration.default(10_000),
    tick_interval: duration.default(1000),
    default_severity: z.string().min(1).default('warning'),
    /** Evaluate on wall-clock time (default) or on the newest record's time (replays). */
    clock: z.enum(['wall', 'event']).default('wall'),
    limits: z
      .object({
        max_body_bytes: z.number().int().positive().default(8 << 20),
        max_records_per_request: z.number().int().positive().default(50_000),
        max_pending_per_rule: z.number().int().positive().default(100_000),
        max_outbox_alerts: z.number().int().positive().default(10_000),
      })
      .strict()
      .default({ max_body_bytes: 8 << 20, max_records_per_request: 50_000, max_pending_per_rule: 100_000, max_outbox_alerts: 10_000 }),
  })
  .strict();

export type AlertingConfig = Readonly<z.output<typeof alertingConfigSchema>>;

export function parseAlertingConfig(file: string, doc: unknown): AlertingConfig {
  const r = alertingConfigSchema.safeParse(doc ?? {});
  if (!r.success) {
    const i = r.error.issues[0];
    throw new AlertingError('FS_ALERTING_INVALID_CONFIG', [file, i?.path.join('.') || '(root)', i?.message ?? 'invalid']);
  }
  const c = r.data;
  const base = dirname(file);
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  return Object.freeze({ ...c, rules_dir: abs(c.rules_dir), state_dir: c.state_dir === undefined ? undefined : abs(c.state_dir) });
}

export async function loadAlertingConfig(file: string): Promise<AlertingConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new AlertingError('FS_ALERTING_INVALID_CONFIG', [file, '(file)', (err as Error).message], { cause: err });
  }
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (err) {
    throw new AlertingError('FS_ALERTING_INVALID_CONFIG', [file, '(yaml)', (err as Error).message.split('\n')[0] ?? ''], { cause: err });
  }
  return parseAlertingConfig(file, doc);
}
