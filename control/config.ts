// The control plane's YAML config, validated with zod once at the edge: shape
// and defaults, then cross-field rules, then frozen. An invalid file is
// rejected whole with the file, the path inside it and the reason.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import yaml from 'js-yaml';
import { z } from 'zod';
import { ControlError } from './errors.js';

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** "500ms", "30s", "5m", "1h", "2d" → milliseconds. */
export function parseDuration(s: string): number | null {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(s);
  return m ? Number(m[1]) * UNITS[m[2] as keyof typeof UNITS] : null;
}

const duration = z.union([
  z.number().int().nonnegative(),
  z.string().refine((s) => parseDuration(s) !== null, 'a duration like 500ms, 30s, 5m, 1h or 2d').transform((s) => parseDuration(s) as number),
]);

const endpointsSchema = z.object({
  remote_write_url: z.string().url().optional(),
  logs_forward: z.string().regex(/^[^:\s]+:\d{1,5}$/, 'host:port').optional(),
  logs_http_url: z.string().url().optional(),
  control_url: z.string().url().optional(),
}).strict();

const operatorSchema = z.object({
  name: z.string().min(1).max(128),
  /** The bearer token (at least 16 characters), or its sha256 in hex as token_sha256. */
  token: z.string().min(16, 'an operator token must be at least 16 characters').optional(),
  token_sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 hex digits').optional(),
  role: z.enum(['viewer', 'operator']),
}).strict();

const s3Schema = z.object({
  /** http(s)://host:port of an S3-compatible store; absent: AWS S3 in `region`. */
  endpoint: z.string().url().refine((u) => /^https?:\/\//.test(u), 'an http:// or https:// URL').optional(),
  region: z.string().min(1).default('us-east-1'),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 of a-z 0-9 . -)'),
  /** Prepended to every key; '' or ending in '/'. */
  prefix: z.string().max(512).regex(/^([^/].*\/)?$/, "'' or a prefix ending in '/', not starting with '/'").default(''),
  /** Default: true when an endpoint is given (most S3-compatible stores), false for AWS. */
  force_path_style: z.boolean().optional(),
  access_key_id: z.string().min(1).optional(),
  secret_access_key: z.string().min(1).optional(),
  session_token: z.string().min(1).optional(),
  /** An AWS shared credentials file; used when the keys are not in this config. */
  credentials_file: z.string().min(1).optional(),
  profile: z.string().min(1).default('default'),
  /** PEM CA(s) for an https endpoint with a private CA. */
  ca_file: z.string().min(1).optional(),
  timeout: duration.default(10_000),
  max_attempts: z.number().int().min(1).max(10).default(3),
}).strict();

export const controlConfigSchema = z.object({
  listen: z.string().regex(/^[^\s:]*:\d{1,5}$/, 'HOST:PORT').default('0.0.0.0:9300'),
  /** A directory (the embedded store) or etcd://host:port[,host:port]. */
  store: z.string().min(1).default('data/control/state'),
  /** Key prefix in etcd. */
  store_prefix: z.string().min(1).default('/fleetscope/'),
  /** A directory (default), or with `s3` any S3-compatible store (then `dir` is not used). */
  artifacts: z.object({ dir: z.string().min(1).default('data/control/artifacts'), s3: s3Schema.optional() }).strict().default({ dir: 'data/control/artifacts' }),
  git: z.object({
    /** A repository path (bare or not) or a URL. */
    repo: z.string().min(1).optional(),
    ref: z.string().min(1).default('main'),
    /** Subdirectory of the repository holding the model ('' = the root). */
    path: z.string().default(''),
    /** 0 = only on `control load` / POST /api/v1/model/load. */
    poll_interval: duration.default(0),
    /** Where URLs are mirrored. */
    cache_dir: z.string().min(1).default('data/control/git'),
  }).strict().default({ ref: 'main', path: '', poll_interval: 0, cache_dir: 'data/control/git' }),
  keys: z.object({
    /** Ed25519 private key (PEM file) that signs site tokens. */
    token_private_key: z.string().min(1),
    /** Public keys (PEM files) accepted on registration and site tokens; the private key's own is always accepted. */
    token_public_keys: z.array(z.string().min(1)).default([]),
    /** Directory of `<tenant>.key.pem` + `<tenant>.crt.pem` CAs; a tenant without files gets a CA kept in the state store. */
    ca_dir: z.string().min(1).optional(),
  }).strict(),
  /** Serve HTTPS; sites may then authenticate with their client certificate instead of the site token. */
  tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).strict().optional(),
  operators: z.array(operatorSchema).min(1, 'at least one operator is needed'),
  endpoints: endpointsSchema.default({}),
  tenants: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/), z.object({ endpoints: endpointsSchema.default({}) }).strict()).default({}),
  /** How often agents poll; a site unseen for 3 intervals is offline. */
  poll_interval: duration.default(300_000),
  registration_poll_after_s: z.number().int().positive().default(10),
  rollout_tick: duration.default(1000),
  /** What a new site is given on approval: the current release (true) or nothing until a rollout. */
  first_version_on_approval: z.boolean().default(true),
  /** The fleet page at / : where it reports its own errors and timings (a collector's Faro endpoint, e.g. http://collector:9201/faro/collect); none when absent. */
  page: z.object({ faro_url: z.string().url().optional() }).strict().default({}),
  limits: z.object({
    max_body_bytes: z.number().int().positive().default(65_536),
    max_wait_s: z.number().int().positive().default(120),
    max_event_streams: z.number().int().positive().default(20_000),
    history: z.number().int().positive().default(50),
  }).strict().default({ max_body_bytes: 65_536, max_wait_s: 120, max_event_streams: 20_000, history: 50 }),
}).strict();

export type ControlConfig = Readonly<z.output<typeof controlConfigSchema>>;

function fail(file: string, path: readonly PropertyKey[], reason: string): never {
  throw new ControlError('FS_CONTROL_INVALID_CONFIG', [file, path.map(String).join('.') || '(root)', reason]);
}

/** Validates a parsed config; relative paths are resolved against `baseDir`. */
export function parseControlConfig(raw: unknown, file: string, baseDir: string): ControlConfig {
  const parsed = controlConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail(file, issue?.path ?? [], issue?.message ?? 'invalid');
  }
  const c = parsed.data;
  c.operators.forEach((o, i) => {
    if ((o.token === undefined) === (o.token_sha256 === undefined)) fail(file, ['operators', i], 'give exactly one of token and token_sha256');
  });
  const s3 = c.artifacts.s3;
  if (s3 && (s3.access_key_id === undefined) !== (s3.secret_access_key === undefined)) fail(file, ['artifacts', 's3'], 'give both access_key_id and secret_access_key, or neither');
  if (s3?.session_token !== undefined && s3.access_key_id === undefined) fail(file, ['artifacts', 's3', 'session_token'], 'a session_token goes with access_key_id and secret_access_key');
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const isEtcd = c.store.startsWith('etcd://');
  const out: ControlConfig = {
    ...c,
    store: isEtcd ? c.store : abs(c.store),
    artifacts: {
      dir: abs(c.artifacts.dir),
      ...(s3 ? { s3: { ...s3, ...(s3.credentials_file !== undefined ? { credentials_file: abs(s3.credentials_file) } : {}), ...(s3.ca_file !== undefined ? { ca_file: abs(s3.ca_file) } : {}) } } : {}),
    },
    git: { ...c.git, repo: c.git.repo === undefined || /^[a-z][a-z0-9+.-]*:\/\//i.test(c.git.repo) ? c.git.repo : abs(c.git.repo), cache_dir: abs(c.git.cache_dir), path: c.git.path === '' || c.git.path.endsWith('/') ? c.git.path : `${c.git.path}/` },
    ...(c.tls ? { tls: { cert: abs(c.tls.cert), key: abs(c.tls.key) } } : {}),
    keys: { ...c.keys, token_private_key: abs(c.keys.token_private_key), token_public_keys: c.keys.token_public_keys.map(abs), ...(c.keys.ca_dir !== undefined ? { ca_dir: abs(c.keys.ca_dir) } : {}) },
  };
  return Object.freeze(out);
}

export async function loadControlConfig(file: string): Promise<ControlConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ControlError('FS_CONTROL_INVALID_CONFIG', [file, '(file)', (err as Error).message], { cause: err });
  }
  let raw: unknown;
  try {
    raw = yaml.load(text, { filename: file });
  } catch (err) {
    throw new ControlError('FS_CONTROL_INVALID_CONFIG', [file, '(document)', `not YAML: ${(err as Error).message.split('\n')[0]}`], { cause: err });
  }
  return parseControlConfig(raw, file, dirname(resolve(file)));
}
