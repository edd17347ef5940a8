// The agent's YAML config, validated once at the edge with zod: shape and
// defaults first, cross-field rules second, then frozen. An invalid file is
// rejected whole with the file, the path inside it and the reason.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { z } from 'zod';
import { MetricFilter, Relabeler, RelabelError } from '../relabel/index.js';
import { AgentError } from './errors.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MIB = 1024 * 1024;

/** "500ms", "30s", "5m", "1h", or a number of milliseconds. */
const duration = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration like 500ms, 30s, 5m or 1h').transform((s) => {
    const m = /^(\d+)(ms|s|m|h)$/.exec(s) as RegExpExecArray;
    return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  }),
], { error: 'expected a duration like 500ms, 30s, 5m or 1h, or a number of milliseconds' });

const labelsSchema = z.record(z.string(), z.string());

const targetSchema = z
  .object({
    /** The `job` label of every series of this target. */
    job: z.string().min(1),
    /** http(s) URL of the exposition, e.g. http://127.0.0.1:9100/metrics. */
    url: z.string().url(),
    /** Overrides scrape.interval / scrape.timeout for this target. */
    interval: duration.optional(),
    timeout: duration.optional(),
    /** Extra labels on every series of this target. */
    labels: labelsSchema.default({}),
    /** As Prometheus's honor_labels: when false (default), a scraped job/instance/... becomes exported_job. */
    honor_labels: z.boolean().default(false),
    /** As Prometheus's honor_timestamps (default true). */
    honor_timestamps: z.boolean().default(true),
  })
  .strict();

/** TLS towards the collector or the control plane (Prometheus's tls_config names). */
const tlsSchema = z
  .object({
    /** PEM CA bundle the server's certificate must verify against; default: the system CAs. */
    ca_file: z.string().min(1).optional(),
    /** A client certificate and its key; default: the site's issued certificate (<state_dir>/cert.pem, key.pem) once registered. */
    cert_file: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
    /** The name the server's certificate must carry, when not the URL's host. */
    server_name: z.string().min(1).optional(),
    /** Do not verify the server's certificate (tests only). */
    insecure_skip_verify: z.boolean().default(false),
    /** Present the site's issued certificate when no cert_file is set (default true). */
    use_site_certificate: z.boolean().default(true),
  })
  .strict();

const sdSelectorSchema = z
  .object({
    role: z.enum(['pod', 'service', 'endpoints']),
    /** A label selector (`app=web,tier!=db`), sent to the API server. */
    label: z.string().min(1).optional(),
    /** A field selector (`spec.nodeName=node-1`), sent to the API server. */
    field: z.string().min(1).optional(),
  })
  .strict();

const kubernetesSdSchema = z
  .object({
    role: z.enum(['pod', 'service', 'endpoints']),
    /** Namespaces to watch: a list of names, or Prometheus's {names, own_namespace}; all when empty. */
    namespaces: z
      .union([z.array(z.string().min(1)), z.object({ names: z.array(z.string().min(1)).default([]), own_namespace: z.boolean().default(false) }).strict()])
      .default([])
      .transform((n) => (Array.isArray(n) ? { names: n, own_namespace: false } : n)),
    selectors: z.array(sdSelectorSchema).default([]),
    /** A kubeconfig file; default: in-cluster in a pod, else KUBECONFIG / ~/.kube/config. */
    kubeconfig_file: z.string().min(1).optional(),
    /** `builtin`: list + watch on node:https (~85 MB lighter); `client-node`: @kubernetes/client-node, also used when the kubeconfig needs an exec / auth-provider plugin. */
    client: z.enum(['builtin', 'client-node']).default('builtin'),
  })
  .strict();

const scrapeJobSchema = z
  .object({
    /** The job name: the `job` label unless relabeled. */
    job: z.string().min(1),
    /** Prometheus's kubernetes_sd_configs (roles pod and endpoints). */
    kubernetes_sd: z.array(kubernetesSdSchema).min(1),
    /** Prometheus relabel_configs over the discovered targets' __meta_kubernetes_* labels. */
    relabel_configs: z.array(z.unknown()).default([]),
    scheme: z.enum(['http', 'https']).default('http'),
    metrics_path: z.string().startsWith('/').default('/metrics'),
    params: z.record(z.string(), z.array(z.string())).default({}),
    interval: duration.optional(),
    timeout: duration.optional(),
    honor_labels: z.boolean().default(false),
    honor_timestamps: z.boolean().default(true),
  })
  .strict();

export const agentConfigSchema = z
  .object({
    /** Where identity, certificates, the buffer and upgrade state live (0700). */
    state_dir: z.string().min(1).default('/var/lib/fleetscope-agent'),
    /** host:port of the agent's own /metrics, /-/healthy; "" turns it off. */
    listen: z.string().regex(/^([^:]*:\d+)?$/, 'host:port or ""').default('127.0.0.1:9310'),
    /** Labels added to every series after relabeling (the collector sets tenant/site from the token). */
    external_labels: labelsSchema.default({}),
    scrape: z
      .object({
        interval: duration.default(15_000),
        timeout: duration.default(10_000),
        /** A body longer than this fails the scrape (up = 0). */
        body_limit_bytes: z.number().int().positive().default(16 * MIB),
        /** Series one scrape may yield after relabeling; over it the scrape fails (as Prometheus's sample_limit); 0 = none. */
        sample_limit: z.number().int().nonnegative().default(0),
      })
      .strict()
      .prefault({}),
    targets: z.array(targetSchema).default([]),
    /** Jobs whose targets are discovered (Kubernetes pods / endpoints) and relabeled. */
    scrape_jobs: z.array(scrapeJobSchema).default([]),
    /** Edge-side metric allowlist/denylist and label denylist (relabel/ MetricFilter), before metric_relabel_configs. */
    filter: z.unknown().optional(),
    /** Prometheus metric_relabel_configs, after the filter. */
    metric_relabel_configs: z.array(z.unknown()).default([]),
    remote_write: z
      .object({
        /** The collector's remote-write URL; from registration's endpoints when unset. */
        url: z.string().url().optional(),
        /** Bearer token (a site token); from the registered identity when unset. */
        bearer_token: z.string().min(1).optional(),
        bearer_token_file: z.string().min(1).optional(),
        timeout: duration.default(30_000),
        min_backoff: duration.default(250),
        max_backoff: duration.default(30_000),
        /** For https:// URLs: CA, client certificate (the site's by default), server name. */
        tls: tlsSchema.prefault({}),
        /** How the agent identifies itself: `token` (Authorization: Bearer, the default) or `certificate` (the client certificate alone). */
        auth: z.enum(['token', 'certificate']).default('token'),
      })
      .strict()
      .prefault({}),
    buffer: z
      .object({
        /** Default <state_dir>/buffer. */
        dir: z.string().min(1).optional(),
        /** Disk bound; past it the oldest records are dropped and counted. */
        max_bytes: z.number().int().positive().default(512 * MIB),
        segment_bytes: z.number().int().positive().default(8 * MIB),
        fsync: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** The agent's own fleetscope_agent_* metrics, shipped like a target. */
    self_metrics: z
      .object({ enabled: z.boolean().default(true), job: z.string().min(1).default('fleetscope-agent') })
      .strict()
      .prefault({}),
    registration: z
      .object({
        control_url: z.string().url(),
        /** Where the registration token is looked for, in this order. */
        token_file: z.string().min(1).optional(),
        token_env: z.string().min(1).default('FLEETSCOPE_REGISTRATION_TOKEN'),
        cloud_init_user_data: z.string().min(1).default('/var/lib/cloud/instance/user-data.txt'),
        /** Extra facts sent with the CSR (hostname and machine_id are always sent). */
        facts: z.record(z.string(), z.string()).default({}),
        /** Where machine_id is read from. */
        machine_id_file: z.string().min(1).default('/etc/machine-id'),
        /** Poll interval while pending when the server gives no poll_after_s. */
        poll_interval: duration.default(10_000),
        /** For an https:// control plane (registration, desired state, artifacts, status): CA, client certificate (the site's once issued). */
        tls: tlsSchema.prefault({}),
      })
      .strict()
      .optional(),
    upgrades: z
      .object({
        enabled: z.boolean().default(false),
        /** Path of a kubeconfig; in-cluster config when unset. */
        kubeconfig: z.string().min(1).optional(),
        /** `builtin`: apply/read/delete on node:https (~85 MB lighter); `client-node`: @kubernetes/client-node, also used when the kubeconfig needs an exec / auth-provider plugin. */
        client: z.enum(['builtin', 'client-node']).default('builtin'),
        /** Poll period when not notified (the design's 5 minutes), with ±jitter. */
        poll_interval: duration.default(300_000),
        jitter: z.number().min(0).max(1).default(0.2),
        /** Seconds the control plane may hold a long-poll (?wait=); 0 = plain polling. */
        long_poll_seconds: z.number().int().min(0).max(300).default(55),
        /** How long a pessimistic apply waits for readiness before failing. */
        ready_timeout: duration.default(300_000),
        /** Attempts per API call for transient errors (5xx, 429, network). */
        api_retries: z.number().int().min(0).max(20).default(4),
        /** Largest manifests.yaml accepted. */
        max_manifest_bytes: z.number().int().positive().default(8 * MIB),
        /** Namespace of the pre-pull DaemonSet. */
        prepull_namespace: z.string().min(1).default('fleetscope-system'),
        prepull_timeout: duration.default(600_000),
        /** This node's name: the reboot lock's holder and `$(NODE_NAME)` in host-level steps; default $NODE_NAME (the downward API), else the hostname. */
        node_name: z.string().min(1).optional(),
        /** The node-at-a-time lock around host-level steps (a coordination.k8s.io/v1 Lease). */
        reboot_lock: z
          .object({
            namespace: z.string().min(1).default('kube-system'),
            name: z.string().min(1).default('fleetscope-reboot-lock'),
            /** A holder that stops renewing (it died, its node rebooted for good) loses the lock after this. */
            lease_duration: duration.default(900_000),
            /** How long a node waits for the lock before the upgrade fails (and rolls back). */
            timeout: duration.default(1_800_000),
            /** How often a waiting node looks again. */
            poll_interval: duration.default(5000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** Handed as is to the log shipper (agent/logs/), when one is registered; see daemon.ts. */
    logs: z.unknown().optional(),
  })
  .strict();

export type AgentConfig = Readonly<z.output<typeof agentConfigSchema>>;
export type TargetConfig = z.output<typeof targetSchema>;
export type ScrapeJobConfig = z.output<typeof scrapeJobSchema>;

export interface LoadedAgentConfig {
  readonly config: AgentConfig;
  readonly file: string;
  readonly filter: MetricFilter;
  readonly relabeler: Relabeler;
  readonly bufferDir: string;
  /** Each scrape_jobs entry's relabel_configs, compiled, by index. */
  readonly jobRelabelers: readonly Relabeler[];
}

function fail(file: string, path: readonly PropertyKey[], reason: string): never {
  throw new AgentError('FS_AGENT_INVALID_CONFIG', [file, path.map(String).join('.') || '(root)', reason]);
}

/** Validates a parsed YAML document; `file` names it in errors. */
export function validateAgentConfig(doc: unknown, file: string): LoadedAgentConfig {
  const parsed = agentConfigSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail(file, issue?.path ?? [], issue?.message ?? 'invalid');
  }
  const config = parsed.data;
  const checkLabels = (labels: Record<string, string>, path: PropertyKey[]): void => {
    for (const name of Object.keys(labels)) {
      if (!LABEL_NAME.test(name) || name.startsWith('__')) fail(file, [...path, name], 'not a valid label name');
    }
  };
  checkLabels(config.external_labels, ['external_labels']);
  const seen = new Set<string>();
  config.targets.forEach((t, i) => {
    checkLabels(t.labels, ['targets', i, 'labels']);
    const key = `${t.job}\u0000${t.url}`;
    if (seen.has(key)) fail(file, ['targets', i], 'the same job and url twice');
    seen.add(key);
    const timeout = t.timeout ?? config.scrape.timeout;
    const interval = t.interval ?? config.scrape.interval;
    if (interval <= 0) fail(file, ['targets', i, 'interval'], 'must be positive');
    if (timeout > interval) fail(file, ['targets', i, 'timeout'], 'must not exceed the scrape interval');
  });
  if (config.scrape.timeout > config.scrape.interval) fail(file, ['scrape', 'timeout'], 'must not exceed the scrape interval');
  if (config.remote_write.bearer_token !== undefined && config.remote_write.bearer_token_file !== undefined) {
    fail(file, ['remote_write', 'bearer_token_file'], 'give bearer_token or bearer_token_file, not both');
  }
  if (config.remote_write.url === undefined && config.registration === undefined) {
    fail(file, ['remote_write', 'url'], 'required when there is no registration section');
  }
  for (const [section, tls] of [['remote_write', config.remote_write.tls], ['registration', config.registration?.tls]] as const) {
    if (tls === undefined) continue;
    if ((tls.cert_file === undefined) !== (tls.key_file === undefined)) fail(file, [section, 'tls', tls.cert_file === undefined ? 'cert_file' : 'key_file'], 'cert_file and key_file go together');
  }
  if (config.remote_write.auth === 'certificate') {
    if (config.remote_write.bearer_token !== undefined || config.remote_write.bearer_token_file !== undefined) fail(file, ['remote_write', 'auth'], 'auth: certificate sends no bearer token; remove bearer_token(_file)');
    const tls = config.remote_write.tls;
    if (tls.cert_file === undefined && (config.registration === undefined || !tls.use_site_certificate)) fail(file, ['remote_write', 'auth'], 'auth: certificate needs tls.cert_file/key_file or the site certificate (a registration section)');
  }
  if (config.remote_write.min_backoff > config.remote_write.max_backoff) fail(file, ['remote_write', 'min_backoff'], 'must not exceed max_backoff');
  if (config.buffer.segment_bytes > config.buffer.max_bytes) fail(file, ['buffer', 'segment_bytes'], 'must not exceed max_bytes');
  if (config.upgrades.reboot_lock.lease_duration < 3000) fail(file, ['upgrades', 'reboot_lock', 'lease_duration'], 'must be at least 3s (the holder renews every third of it)');
  if (config.upgrades.enabled && config.registration === undefined) fail(file, ['upgrades', 'enabled'], 'upgrades need a registration section (the control plane)');
  let filter: MetricFilter;
  let relabeler: Relabeler;
  try {
    filter = MetricFilter.compile(config.filter ?? {});
  } catch (err) {
    if (err instanceof RelabelError) fail(file, ['filter'], err.message);
    throw err;
  }
  try {
    relabeler = Relabeler.compile(config.metric_relabel_configs);
  } catch (err) {
    if (err instanceof RelabelError) fail(file, ['metric_relabel_configs'], err.message);
    throw err;
  }
  const jobNames = new Set(config.targets.map((t) => t.job));
  const jobRelabelers = config.scrape_jobs.map((j, i) => {
    if (jobNames.has(j.job)) fail(file, ['scrape_jobs', i, 'job'], `job "${j.job}" is used twice`);
    jobNames.add(j.job);
    const timeout = j.timeout ?? config.scrape.timeout;
    const interval = j.interval ?? config.scrape.interval;
    if (interval <= 0) fail(file, ['scrape_jobs', i, 'interval'], 'must be positive');
    if (timeout > interval) fail(file, ['scrape_jobs', i, 'timeout'], 'must not exceed the scrape interval');
    j.kubernetes_sd.forEach((sd, k) => {
      const allowed = sd.role === 'endpoints' ? ['pod', 'service', 'endpoints'] : [sd.role];
      const roles = new Set<string>();
      sd.selectors.forEach((s, m) => {
        if (!allowed.includes(s.role)) fail(file, ['scrape_jobs', i, 'kubernetes_sd', k, 'selectors', m, 'role'], `role ${sd.role} takes selectors of roles ${allowed.join(', ')}`);
        if (roles.has(s.role)) fail(file, ['scrape_jobs', i, 'kubernetes_sd', k, 'selectors', m, 'role'], `one selector per role (${s.role} twice)`);
        roles.add(s.role);
      });
    });
    try {
      return Relabeler.compile(j.relabel_configs);
    } catch (err) {
      if (err instanceof RelabelError) fail(file, ['scrape_jobs', i, 'relabel_configs'], err.message);
      throw err;
    }
  });
  return { config: Object.freeze(config), file, filter, relabeler, bufferDir: config.buffer.dir ?? join(config.state_dir, 'buffer'), jobRelabelers };
}

/** Reads, parses and validates a config file. */
export async function loadAgentConfig(file: string): Promise<LoadedAgentConfig> {
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
  return validateAgentConfig(doc, file);
}
