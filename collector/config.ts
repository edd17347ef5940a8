// The collector's YAML config, validated once at the edge with zod: shape and
// defaults first, cross-field rules second, then frozen. An invalid file is
// rejected whole with the file, the path inside it and the reason.
import { type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import yaml from 'js-yaml';
import { z } from 'zod';
import { DEFAULT_REMOTE_WRITE_LIMITS, tokenPublicKey } from '../wire/index.js';
import { MetricFilter, Relabeler, RelabelError } from '../relabel/index.js';
import { type AggregateRule, aggregateRuleSchema, compileAggregateRule } from './aggregate-config.js';
import { duration } from './duration.js';
import { CollectorError } from './errors.js';
import { faroConfigSchema } from './faro/index.js';
import { checkLogsConfig, logsConfigSchema } from './logs/index.js';
import { scrapeJobSchema } from './scrape-config.js';
import { targetsFromGroup } from './targets.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const pipelineSchema = z
  .object({
    /** Metric allowlist/denylist and label denylist (relabel/ MetricFilter). */
    filter: z.unknown().optional(),
    /** Prometheus relabel_configs, applied after the filter. */
    relabel_configs: z.array(z.unknown()).optional(),
    /** Active series one site may have; over it, new series are dropped and counted. */
    series_limit_per_site: z.number().int().positive().optional(),
    /** Pre-aggregation rules (aggregate-config.ts), after the filter and rules. */
    aggregate: z.array(aggregateRuleSchema).optional(),
  })
  .strict();

const siteSchema = z
  .object({
    /** The bearer token this site's agent sends. */
    token: z.string().min(16, 'a site token must be at least 16 characters').optional(),
    /** With tls.client_ca_file: the client certificate's CN or a DNS SAN that identifies this site. */
    certificate_name: z.string().min(1).optional(),
    tenant: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'a tenant is 1-128 of A-Z a-z 0-9 _ . -'),
    site: z.string().min(1).max(256),
    group: z.string().min(1).optional(),
  })
  .strict();

const remoteWriteSchema = z
  .object({
    url: z.string().url(),
    /** Sent as X-Scope-OrgID; the sender's tenant unless set. */
    basic_auth: z.object({ username: z.string(), password: z.string() }).strict().optional(),
    bearer_token: z.string().optional(),
    /** TLS towards the target (Prometheus's tls_config): its CA, a client certificate, the server name. */
    tls_config: z.object({
      ca_file: z.string().min(1).optional(),
      cert_file: z.string().min(1).optional(),
      key_file: z.string().min(1).optional(),
      server_name: z.string().min(1).optional(),
      insecure_skip_verify: z.boolean().default(false),
    }).strict().optional(),
    timeout: duration.default(30_000),
    min_backoff: duration.default(30),
    max_backoff: duration.default(5000),
    /** Records of the queue read per send cycle. */
    max_records_per_send: z.number().int().positive().default(64),
    /** Samples per request, about (a request holds whole queue records). */
    max_samples_per_send: z.number().int().positive().default(10_000),
    /** How long a batch smaller than max_samples_per_send waits for more. */
    batch_send_deadline: duration.default(1000),
    /** Concurrent requests (shards) per target: they grow with the backlog and shrink when it is gone. */
    min_shards: z.number().int().positive().default(1),
    max_shards: z.number().int().positive().default(8),
    /** Targets sharing a shard group split sites between them by consistent hash of `site`; without one, a target receives everything. */
    shard_group: z.string().min(1).optional(),
  })
  .strict();

export const collectorConfigSchema = z
  .object({
    /** host:port to listen on. */
    listen: z.string().regex(/^[^:]*:\d+$/, 'host:port').default('0.0.0.0:9201'),
    /** Labels added to every series (e.g. the regional edge, `re`). Identity labels win over them. */
    external_labels: z.record(z.string(), z.string()).default({}),
    /** TLS for the listener; with client_ca_file, sites may authenticate with client certificates (mTLS). */
    tls: z.object({
      cert_file: z.string().min(1),
      key_file: z.string().min(1),
      client_ca_file: z.string().min(1).optional(),
      /** Take a verified client certificate's subject as the identity: O = tenant, CN = site, OU = group. */
      identity_from_certificate: z.boolean().default(false),
    }).strict().optional(),
    /** Cortex HA deduplication: adds `cluster` and `__replica__` to every series. */
    ha: z.object({ cluster: z.string().min(1), replica: z.string().min(1) }).strict().optional(),
    queue: z
      .object({
        dir: z.string().min(1).default('data/queue'),
        max_bytes: z.number().int().positive().default(1024 ** 3),
        segment_bytes: z.number().int().positive().default(64 * 1024 ** 2),
      })
      .strict()
      .default({ dir: 'data/queue', max_bytes: 1024 ** 3, segment_bytes: 64 * 1024 ** 2 }),
    limits: z
      .object({
        max_body_bytes: z.number().int().positive().default(DEFAULT_REMOTE_WRITE_LIMITS.maxBodyBytes),
        max_decompressed_bytes: z.number().int().positive().default(DEFAULT_REMOTE_WRITE_LIMITS.maxDecompressedBytes),
        max_series_per_request: z.number().int().positive().default(DEFAULT_REMOTE_WRITE_LIMITS.maxSeries),
        max_labels_per_series: z.number().int().positive().default(DEFAULT_REMOTE_WRITE_LIMITS.maxLabelsPerSeries),
        max_label_name_length: z.number().int().positive().default(DEFAULT_REMOTE_WRITE_LIMITS.maxLabelNameLength),
        max_label_value_length: z.number().int().positive().default(DEFAULT_REMOTE_WRITE_LIMITS.maxLabelValueLength),
        max_samples_per_series: z.number().int().positive().default(DEFAULT_REMOTE_WRITE_LIMITS.maxSamplesPerSeries),
      })
      .strict()
      .default({
        max_body_bytes: DEFAULT_REMOTE_WRITE_LIMITS.maxBodyBytes,
        max_decompressed_bytes: DEFAULT_REMOTE_WRITE_LIMITS.maxDecompressedBytes,
        max_series_per_request: DEFAULT_REMOTE_WRITE_LIMITS.maxSeries,
        max_labels_per_series: DEFAULT_REMOTE_WRITE_LIMITS.maxLabelsPerSeries,
        max_label_name_length: DEFAULT_REMOTE_WRITE_LIMITS.maxLabelNameLength,
        max_label_value_length: DEFAULT_REMOTE_WRITE_LIMITS.maxLabelValueLength,
        max_samples_per_series: DEFAULT_REMOTE_WRITE_LIMITS.maxSamplesPerSeries,
      }),
    /** How long a series may go unseen before it stops counting as active. */
    series_idle_timeout: duration.default(600_000),
    /**
     * Worker threads that run the push pipeline (decompress, rules, series cache, compress),
     * each for its share of the sites; 0 runs it on the main thread. One per core beyond the
     * first is the point: the main thread keeps HTTP, the queues and the senders.
     */
    push_workers: z.number().int().min(0).max(64).default(0),
    /**
     * Each push worker's JS heap limit in MB (its old generation, V8's
     * maxOldGenerationSizeMb); unset, V8's default. A worker over it exits,
     * its requests in flight are answered 503, and it is started again. The
     * series tables are typed arrays outside this heap.
     */
    push_worker_max_heap_mb: z.number().int().min(64).max(1_048_576).optional(),
    /**
     * Bytes the push path may keep of sites' last output (a template of the
     * body as sent on, ~80 bytes a series), all workers together; 0 keeps
     * none. When a site's next request has the same series in the same order
     * (an agent's do), its body is the template with the new samples put in,
     * not built and compressed again. Sites past the bound are built every time.
     */
    push_output_cache_bytes: z.number().int().min(0).default(1024 * 1024 * 1024),
    /** Each site's identity, by the bearer token it sends. */
    sites: z.array(siteSchema).default([]),
    /** Control-plane public keys (PEM text, or a file holding it) that signed site tokens verify against. */
    site_token_public_keys: z.array(z.string().min(1)).default([]),
    /** Per tenant: its pipeline, and per site group, overrides of it. */
    tenants: z.record(z.string(), z.object({ pipeline: pipelineSchema.default({}), groups: z.record(z.string(), pipelineSchema).default({}) }).strict()).default({}),
    remote_write: z.array(remoteWriteSchema).default([]),
    /** The log path (collector/logs/README.md); absent: no log endpoints. */
    logs: logsConfigSchema.optional(),
    /** The Faro receiver for the fleet page (collector/faro/README.md); off by default. */
    faro: faroConfigSchema.default(faroConfigSchema.parse({})),
    /** Targets to scrape (Prometheus's scrape_configs, with tenant and site per target group). */
    scrape_configs: z.array(scrapeJobSchema).default([]),
  })
  .strict();

export type CollectorConfig = Readonly<z.output<typeof collectorConfigSchema>>;
export type RemoteWriteTarget = z.output<typeof remoteWriteSchema>;

/** The compiled pipeline of one tenant, or of one of its site groups. */
export interface CompiledPipeline {
  /** "tenant" or "tenant/group": the pipeline's name, which aggregation state is kept under. */
  readonly key: string;
  readonly filter: MetricFilter;
  readonly aggregations: readonly AggregateRule[];
  readonly relabeler: Relabeler;
  readonly seriesLimit: number;
}

export const DEFAULT_SERIES_LIMIT = 50_000;

function fail(file: string, path: readonly PropertyKey[], reason: string): never {
  throw new CollectorError('FS_COLLECTOR_INVALID_CONFIG', [file, path.map(String).join('.') || '(root)', reason]);
}

/** Compiles a pipeline, naming `path` in errors. */
function compilePipeline(file: string, path: string[], p: z.output<typeof pipelineSchema>, key: string, externalLabels: readonly string[], base?: CompiledPipeline): CompiledPipeline {
  const tenant = key.split('/')[0] as string;
  const aggregations = p.aggregate === undefined && base
    ? base.aggregations
    : (p.aggregate ?? []).map((r, i) => {
      try {
        return compileAggregateRule(r, tenant, `${key}#${i}`, externalLabels);
      } catch (err) {
        return fail(file, [...path, 'aggregate', i], (err as Error).message);
      }
    });
  try {
    return {
      key,
      aggregations,
      filter: p.filter === undefined && base ? base.filter : MetricFilter.compile(p.filter ?? {}),
      relabeler: p.relabel_configs === undefined && base ? base.relabeler : Relabeler.compile(p.relabel_configs ?? []),
      seriesLimit: p.series_limit_per_site ?? base?.seriesLimit ?? DEFAULT_SERIES_LIMIT,
    };
  } catch (err) {
    if (err instanceof RelabelError) fail(file, path, err.message);
    throw err;
  }
}

export interface LoadedConfig {
  readonly config: CollectorConfig;
  /** Compiled pipelines by "tenant" and "tenant/group". */
  readonly pipelines: ReadonlyMap<string, CompiledPipeline>;
  /** site_token_public_keys, loaded. */
  readonly siteTokenKeys: readonly KeyObject[];
  /** The listener's TLS material, read. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer };
  /** The document it was validated from, and its file: what push workers validate again for their own pipelines. */
  readonly source: { readonly doc: unknown; readonly file: string };
}

function readTlsFile(file: string, path: string, name: string): Buffer {
  try {
    return readFileSync(resolve(dirname(file), name));
  } catch (err) {
    return fail(file, ['tls', path], `cannot read: ${(err as Error).message}`);
  }
}

/** A PEM given inline, or read from a file (relative to the config file's folder). */
function loadPublicKey(file: string, index: number, value: string): KeyObject {
  let pem = value;
  if (!value.includes('-----BEGIN')) {
    try {
      pem = readFileSync(resolve(dirname(file), value), 'utf8');
    } catch (err) {
      fail(file, ['site_token_public_keys', index], `cannot read key file: ${(err as Error).message}`);
    }
  }
  try {
    const key = tokenPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') fail(file, ['site_token_public_keys', index], `an Ed25519 public key is needed, not ${key.asymmetricKeyType ?? 'unknown'}`);
    return key;
  } catch (err) {
    if (err instanceof CollectorError) throw err;
    return fail(file, ['site_token_public_keys', index], `not a PEM public key: ${(err as Error).message}`);
  }
}

/** Validates a parsed YAML document; `file` names it in errors. */
export function validateCollectorConfig(doc: unknown, file: string): LoadedConfig {
  const parsed = collectorConfigSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail(file, issue?.path ?? [], issue?.message ?? 'invalid');
  }
  const config = parsed.data;
  // Cross-field rules.
  const tokens = new Set<string>();
  const certNames = new Set<string>();
  config.sites.forEach((s, i) => {
    if (s.token === undefined && s.certificate_name === undefined) fail(file, ['sites', i], 'a site needs a token or a certificate_name');
    if (s.token !== undefined) {
      if (tokens.has(s.token)) fail(file, ['sites', i, 'token'], 'the same token is given to two sites');
      tokens.add(s.token);
    }
    if (s.certificate_name !== undefined) {
      if (config.tls?.client_ca_file === undefined) fail(file, ['sites', i, 'certificate_name'], 'client certificates need tls.client_ca_file');
      if (certNames.has(s.certificate_name)) fail(file, ['sites', i, 'certificate_name'], 'the same certificate name is given to two sites');
      certNames.add(s.certificate_name);
    }
    const tenant = config.tenants[s.tenant];
    if (!tenant) fail(file, ['sites', i, 'tenant'], `tenant "${s.tenant}" is not defined under tenants`);
    if (s.group !== undefined && !tenant.groups[s.group]) fail(file, ['sites', i, 'group'], `group "${s.group}" is not defined under tenants.${s.tenant}.groups`);
  });
  if (config.ha) {
    for (const name of ['cluster', '__replica__']) {
      if (name in config.external_labels) fail(file, ['external_labels', name], 'set by ha; remove it from external_labels');
    }
  }
  for (const name of Object.keys(config.external_labels)) {
    if (!LABEL_NAME.test(name)) fail(file, ['external_labels', name], 'not a valid label name');
    if (name === 'tenant' || name === 'site') fail(file, ['external_labels', name], 'tenant and site come from the sender\'s identity');
  }
  if (config.logs) {
    const problem = checkLogsConfig(config.logs);
    if (problem) fail(file, ['logs', ...problem.path], problem.reason);
  }
  config.remote_write.forEach((t, i) => {
    if (t.min_shards > t.max_shards) fail(file, ['remote_write', i, 'min_shards'], 'must not be more than max_shards');
  });
  const jobs = new Set<string>();
  const tenantNames = new Set(Object.keys(config.tenants));
  config.scrape_configs.forEach((job, i) => {
    if (jobs.has(job.job_name)) fail(file, ['scrape_configs', i, 'job_name'], `job "${job.job_name}" is defined twice`);
    jobs.add(job.job_name);
    if (job.scrape_timeout > job.scrape_interval) fail(file, ['scrape_configs', i, 'scrape_timeout'], 'must not be longer than scrape_interval');
    job.static_configs.forEach((g, j) => {
      const { errors } = targetsFromGroup(job, g, tenantNames);
      if (errors.length > 0) fail(file, ['scrape_configs', i, 'static_configs', j], errors[0] as string);
    });
  });
  const pipelines = new Map<string, CompiledPipeline>();
  for (const [tenant, t] of Object.entries(config.tenants)) {
    const external = [...Object.keys(config.external_labels), ...(config.ha ? ['cluster', '__replica__'] : [])];
    const base = compilePipeline(file, ['tenants', tenant, 'pipeline'], t.pipeline, tenant, external);
    pipelines.set(tenant, base);
    for (const [group, g] of Object.entries(t.groups)) pipelines.set(`${tenant}/${group}`, compilePipeline(file, ['tenants', tenant, 'groups', group], g, `${tenant}/${group}`, external, base));
  }
  const siteTokenKeys = config.site_token_public_keys.map((k, i) => loadPublicKey(file, i, k));
  if (config.tls?.identity_from_certificate && config.tls.client_ca_file === undefined) fail(file, ['tls', 'identity_from_certificate'], 'needs tls.client_ca_file');
  const tls = config.tls === undefined ? undefined : {
    cert: readTlsFile(file, 'cert_file', config.tls.cert_file),
    key: readTlsFile(file, 'key_file', config.tls.key_file),
    ...(config.tls.client_ca_file === undefined ? {} : { ca: readTlsFile(file, 'client_ca_file', config.tls.client_ca_file) }),
  };
  return { config: Object.freeze(config), pipelines, siteTokenKeys, ...(tls ? { tls } : {}), source: { doc: doc ?? {}, file } };
}

/** Reads, parses and validates a config file. */
export async function loadCollectorConfig(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    fail(file, [], `cannot read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: file });
  } catch (err) {
    fail(file, [], (err as Error).message);
  }
  return validateCollectorConfig(doc, file);
}
