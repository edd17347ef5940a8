// The agent daemon: one process per site. Scrapes its targets on their
// intervals into the disk buffer, drains the buffer to the collector,
// registers with the control plane when it has no identity yet, follows
// upgrades, serves its own /metrics, and starts the log shipper (agent/logs/)
// through the hook in log-hook.ts when the config has a `logs:` section.
//
// Scraping never waits for the network: a scrape is durable in the buffer
// before anything is sent, so samples taken before registration completes,
// or while the collector is down, are sent once it is possible.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Server, createServer } from 'node:http';
import { hostname } from 'node:os';
import { MetricFilter, Relabeler } from '../relabel/index.js';
import { SegmentBuffer } from './buffer.js';
import type { LoadedAgentConfig, ScrapeJobConfig, TargetConfig } from './config.js';
import { AgentError } from './errors.js';
import { type SiteIdentity, ensureStateDir, loadIdentity, wipeIdentity } from './identity.js';
import type { LogShipper, LogShipperFactory } from './log-hook.js';
import { AgentMetrics } from './metrics.js';
import { type BodySource, type ScrapeResult, TargetScraper, httpSource, instanceOf } from './scrape.js';
import { Sender } from './sender.js';
import { Upgrader } from './upgrade.js';
import { TlsClient } from './tls.js';
import type { KubernetesDiscovery, SdJob } from './kube-sd.js';
import type { ResolvedTarget } from './target-labels.js';

export type AgentLog = (level: 'info' | 'warn' | 'error', msg: string) => void;

export interface AgentOptions {
  /** Starts the log shipper when the config has `logs:` (see log-hook.ts). */
  readonly logShipper?: LogShipperFactory;
  readonly log?: AgentLog;
  /** Called after each scrape's result is durable in the buffer (tests, the bench). */
  readonly onScrape?: (job: string, atMs: number, result: ScrapeResult) => void;
  /** Environment for the registration token lookup and the Kubernetes client choice (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Kubernetes discovery's first backoff after an API error (default 1 s, up to 30 s); tests shorten it. */
  readonly discoveryBackoffMs?: number;
}

interface ScrapeLoop {
  readonly job: string;
  readonly scraper: TargetScraper;
  readonly intervalMs: number;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
  /** Set when discovery removed the target: no further scrapes. */
  stopped: boolean;
  /** Series the last scrape shipped after the edge rules. */
  series: number;
}

const SELF_FILTER = MetricFilter.compile({ deny: { prefixes: ['fleetscope_agent_nodejs_'] } });
const NO_RULES = Relabeler.compile([]);

/**
 * The `logs:` section with the site's issued certificate (<state_dir>/cert.pem,
 * key.pem) as the client certificate of a TLS output that names none, once
 * both files exist: the collector's mTLS listener then knows the site by it.
 */
export function withSiteCertificate(logs: unknown, stateDir: string): unknown {
  const cert = join(stateDir, 'cert.pem');
  const key = join(stateDir, 'key.pem');
  if (!existsSync(cert) || !existsSync(key) || typeof logs !== 'object' || logs === null) return logs;
  const c = logs as { output?: { forward?: Record<string, unknown>; http?: Record<string, unknown> } };
  const f = c.output?.forward;
  if (f !== undefined && f.tls === true && f.cert_file === undefined) return { ...c, output: { forward: { ...f, cert_file: cert, key_file: key } } };
  const h = c.output?.http;
  if (h !== undefined && typeof h.url === 'string' && h.url.startsWith('https:') && h.cert_file === undefined) return { ...c, output: { http: { ...h, cert_file: cert, key_file: key } } };
  return logs;
}

/** A stable offset within the interval per target, as Prometheus spreads its scrapes. */
function offsetMs(key: string, intervalMs: number): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) % intervalMs;
}

export class AgentDaemon {
  readonly metrics: AgentMetrics;
  private buffer!: SegmentBuffer;
  private sender!: Sender;
  private loops: ScrapeLoop[] = [];
  /** Discovered targets' loops: job → target key → loop. */
  private readonly discovered = new Map<string, Map<string, ScrapeLoop>>();
  private discoveries: KubernetesDiscovery[] = [];
  /** Target set changes are applied one at a time, in order. */
  private reconciling: Promise<void> = Promise.resolve();
  private server: Server | null = null;
  private identity: SiteIdentity | null = null;
  private staticToken: string | undefined;
  private identityListeners = new Set<(id: SiteIdentity | null) => void>();
  private registering: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private logShipper: LogShipper | null = null;
  private upgrader: Upgrader | null = null;
  private stopped = false;
  private readonly log: AgentLog;
  /** The address /metrics is served on, e.g. http://127.0.0.1:9310. */
  url = '';

  private constructor(readonly loaded: LoadedAgentConfig, private readonly opts: AgentOptions) {
    this.log = opts.log ?? ((level, msg) => process.stderr.write(`${new Date().toISOString()} ${level} ${msg}\n`));
    this.metrics = new AgentMetrics(() => this.buffer);
    const { config } = loaded;
    const rwTls = config.remote_write.tls;
    this.remoteWriteTls = new TlsClient('remote_write.tls', rwTls, config.registration !== undefined && rwTls.use_site_certificate ? config.state_dir : undefined);
    const reg = config.registration;
    this.controlTls = reg === undefined ? undefined : new TlsClient('registration.tls', reg.tls, reg.tls.use_site_certificate ? config.state_dir : undefined);
  }

  static async start(loaded: LoadedAgentConfig, opts: AgentOptions = {}): Promise<AgentDaemon> {
    const d = new AgentDaemon(loaded, opts);
    await d.init();
    return d;
  }

  /** The current site identity, or null (static-token agents have none). */
  currentIdentity(): SiteIdentity | null {
    return this.identity;
  }

  /** Scrape results land here; exposed for tests and the bench. */
  get bufferStats(): SegmentBuffer['stats'] {
    return this.buffer.stats;
  }

  private async init(): Promise<void> {
    const { config } = this.loaded;
    await ensureStateDir(config.state_dir);
    const b = config.buffer;
    this.buffer = await SegmentBuffer.open({ dir: this.loaded.bufferDir, maxBytes: b.max_bytes, segmentBytes: b.segment_bytes, fsync: b.fsync });
    if (config.remote_write.bearer_token !== undefined) this.staticToken = config.remote_write.bearer_token;
    if (config.remote_write.bearer_token_file !== undefined) {
      try {
        this.staticToken = (await readFile(config.remote_write.bearer_token_file, 'utf8')).trim();
      } catch (err) {
        throw new AgentError('FS_AGENT_INVALID_CONFIG', [this.loaded.file, 'remote_write.bearer_token_file', (err as Error).message], { cause: err });
      }
    }
    if (config.registration !== undefined) this.identity = await loadIdentity(config.state_dir);
    this.metrics.registered.set(this.identity !== null || this.staticToken !== undefined ? 1 : 0);

    let lastError = '';
    let lastErrorAt = 0;
    this.sender = new Sender({
      buffer: this.buffer,
      destination: () => this.destination(),
      timeoutMs: config.remote_write.timeout,
      backoff: { minMs: config.remote_write.min_backoff, maxMs: config.remote_write.max_backoff },
      metrics: this.metrics,
      tls: this.remoteWriteTls,
      onError: (reason, detail) => {
        // At most one line per reason a minute: an outage of hours must not flood the log.
        const now = Date.now();
        if (reason !== lastError || now - lastErrorAt > 60_000) {
          this.log('warn', `remote write: ${reason} ${detail}`.trim());
          lastError = reason;
          lastErrorAt = now;
        }
      },
    });
    this.sender.start();

    for (const t of config.targets) this.addLoop(t.job, this.targetScraper(t), t.interval ?? config.scrape.interval, `${t.job}|${t.url}`);
    if (config.self_metrics.enabled) {
      const registry = this.metrics.registry;
      const source: BodySource = async () => ({ body: await registry.metrics(), contentType: registry.contentType });
      const instance = config.listen !== '' ? config.listen : hostname();
      // The edge filter and rules are for the site's targets; the agent's own health always ships, less Node's runtime detail.
      const scraper = new TargetScraper({ job: config.self_metrics.job, instance, source, timeoutMs: config.scrape.timeout, targetLabels: {}, externalLabels: config.external_labels, honorLabels: false, honorTimestamps: true, sampleLimit: 0, filter: SELF_FILTER, relabeler: NO_RULES });
      this.addLoop(config.self_metrics.job, scraper, config.scrape.interval, 'self');
    }
    await this.startDiscovery();
    if (config.listen !== '') await this.listen(config.listen);
    if (config.registration !== undefined && this.identity === null) this.startRegistration();
    if (this.identity !== null) this.onRegistered();
    if (config.logs !== undefined) await this.startLogs();
  }

  private destination(): { url: string; token: string | undefined } | null {
    const rw = this.loaded.config.remote_write;
    const url = rw.url ?? this.identity?.endpoints.remote_write_url;
    if (url === undefined) return null;
    // auth: certificate: the client certificate is the identity; without one (not yet issued) there is none.
    if (rw.auth === 'certificate') return this.remoteWriteTls.presenting() === undefined ? null : { url, token: undefined };
    const token = this.staticToken ?? this.identity?.site_token;
    if (token === undefined && this.loaded.config.registration !== undefined) return null;
    return { url, token };
  }

  /** TLS towards the collector: the configured CA and certificate, or the site's issued one. */
  private readonly remoteWriteTls: TlsClient;
  /** TLS towards the control plane (registration, upgrades); undefined without a registration section. */
  readonly controlTls: TlsClient | undefined;

  private targetScraper(t: TargetConfig): TargetScraper {
    const timeout = t.timeout ?? this.loaded.config.scrape.timeout;
    return this.makeScraper(t.job, instanceOf(t.url), httpSource(t.url, timeout, this.loaded.config.scrape.body_limit_bytes), timeout, t.labels, t.honor_labels, t.honor_timestamps);
  }

  private makeScraper(job: string, instance: string, source: BodySource, timeoutMs: number, labels: Record<string, string>, honorLabels: boolean, honorTimestamps: boolean): TargetScraper {
    const { config, filter, relabeler } = this.loaded;
    return new TargetScraper({ job, instance, source, timeoutMs, targetLabels: labels, externalLabels: config.external_labels, honorLabels, honorTimestamps, sampleLimit: config.scrape.sample_limit, filter, relabeler });
  }

  private addLoop(job: string, scraper: TargetScraper, intervalMs: number, key: string): ScrapeLoop {
    const loop: ScrapeLoop = { job, scraper, intervalMs, timer: null, running: null, stopped: false, series: 0 };
    this.loops.push(loop);
    // Scrape times on a fixed grid (interval, offset per target): no drift, and evenly spread targets.
    const offset = offsetMs(key, intervalMs);
    const schedule = (): void => {
      if (this.stopped || loop.stopped) return;
      const now = Date.now();
      const next = now - ((now - offset) % intervalMs) + intervalMs;
      loop.timer = setTimeout(() => {
        // A scrape still running (a slow target) makes this tick skip, as Prometheus does: scrapes never overlap.
        if (loop.running === null) loop.running = this.scrapeOnce(loop, next).finally(() => (loop.running = null));
        schedule();
      }, next - now);
    };
    // The first scrape at once, then on the grid.
    loop.running = this.scrapeOnce(loop, Date.now()).finally(() => (loop.running = null));
    schedule();
    return loop;
  }

  /** A discovered target is gone: stop its loop and mark everything it sent stale (Prometheus does the same). */
  private async removeLoop(loop: ScrapeLoop): Promise<void> {
    loop.stopped = true;
    if (loop.timer !== null) clearTimeout(loop.timer);
    await loop.running?.catch(() => undefined);
    this.loops = this.loops.filter((l) => l !== loop);
    const atMs = Date.now();
    const stale = loop.scraper.finish(atMs);
    if (stale === null || this.stopped) return;
    try {
      await this.buffer.append(stale.body, atMs);
      this.metrics.samplesScraped.inc({ job: loop.job }, stale.samples);
    } catch (err) {
      this.metrics.bufferAppendErrors.inc();
      this.log('error', `buffer: ${(err as Error).message}`);
    }
  }

  private sdJob(j: ScrapeJobConfig, i: number): SdJob {
    const { config } = this.loaded;
    return {
      name: j.job,
      configs: j.kubernetes_sd.map((sd) => ({ role: sd.role, namespaces: sd.namespaces.names, own_namespace: sd.namespaces.own_namespace, selectors: sd.selectors })),
      relabeler: this.loaded.jobRelabelers[i] as NonNullable<LoadedAgentConfig['jobRelabelers'][number]>,
      defaults: { job: j.job, scheme: j.scheme, metricsPath: j.metrics_path, intervalMs: j.interval ?? config.scrape.interval, timeoutMs: j.timeout ?? config.scrape.timeout, params: j.params },
    };
  }

  /** Loaded only when a job uses it: the Kubernetes client costs ~15 MB an agent with static targets does not spend. */
  private async startDiscovery(): Promise<void> {
    const jobs = this.loaded.config.scrape_jobs;
    if (jobs.length === 0) return;
    const [{ KubernetesDiscovery }, { httpListWatchClient, loadClusterAccess }] = await Promise.all([import('./kube-sd.js'), import('./kube-sd-http.js')]);
    // One client per kubeconfig and kind of client; a job's kubernetes_sd entries may name different ones.
    const byClient = new Map<string, { kubeconfig: string | undefined; client: 'builtin' | 'client-node'; jobs: SdJob[] }>();
    jobs.forEach((j, i) => {
      for (const sd of j.kubernetes_sd) {
        const key = `${sd.kubeconfig_file ?? ''}\u0000${sd.client}`;
        const group = byClient.get(key) ?? { kubeconfig: sd.kubeconfig_file, client: sd.client, jobs: [] };
        group.jobs.push(this.sdJob({ ...j, kubernetes_sd: [sd] }, i));
        byClient.set(key, group);
      }
    });
    const honor = new Map(jobs.map((j) => [j.job, j]));
    const env = this.opts.env ?? process.env;
    for (const { kubeconfig, client: kind, jobs: sdJobs } of byClient.values()) {
      let client;
      try {
        const access = kind === 'builtin' ? loadClusterAccess(kubeconfig, env) : null;
        if (access !== null) client = httpListWatchClient(access);
        else {
          // Exec / auth-provider plugins, or asked for: the official client (~85 MB more resident memory).
          const { kubeConfigFor, kubeListWatchClient } = await import('./kube-sd-client.js');
          client = await kubeListWatchClient(await kubeConfigFor(kubeconfig, env));
        }
      } catch (err) {
        throw new AgentError('FS_AGENT_INVALID_CONFIG', [this.loaded.file, 'scrape_jobs.kubernetes_sd', `no Kubernetes client configuration (${kubeconfig ?? 'in-cluster / KUBECONFIG'}): ${(err as Error).message}`], { cause: err });
      }
      // Jobs split by kubeconfig are merged again by name before they reach the loops.
      const partial = new Map<string, Map<string, ReadonlyMap<string, ResolvedTarget>>>();
      const discovery = await KubernetesDiscovery.start(sdJobs.map((j, n) => ({ ...j, name: `${j.name}\u0000${n}` })), {
        client,
        log: this.log,
        count: (resource, event) => this.metrics.sdEvents.inc({ resource, event }),
        invalid: (job) => this.metrics.sdInvalid.inc({ job: job.split('\u0000')[0] as string }),
        ...(this.opts.discoveryBackoffMs !== undefined ? { minBackoffMs: this.opts.discoveryBackoffMs, maxBackoffMs: this.opts.discoveryBackoffMs * 8 } : {}),
        onTargets: (part, targets) => {
          const job = part.split('\u0000')[0] as string;
          const parts = partial.get(job) ?? new Map<string, ReadonlyMap<string, ResolvedTarget>>();
          parts.set(part, targets);
          partial.set(job, parts);
          const all = new Map<string, ResolvedTarget>();
          for (const p of parts.values()) for (const [k, t] of p) all.set(k, t);
          const cfg = honor.get(job) as ScrapeJobConfig;
          this.reconciling = this.reconciling.then(() => this.reconcile(cfg, `${kubeconfig ?? ''}|${kind}`, all)).catch((err: unknown) => this.log('error', `discovery: ${(err as Error).message}`));
        },
      });
      this.discoveries.push(discovery);
    }
  }

  /** Starts loops for new targets and stops those of targets gone. */
  private async reconcile(job: ScrapeJobConfig, scope: string, targets: ReadonlyMap<string, ResolvedTarget>): Promise<void> {
    if (this.stopped) return;
    const mapKey = `${job.job}\u0000${scope}`;
    const current = this.discovered.get(mapKey) ?? new Map<string, ScrapeLoop>();
    this.discovered.set(mapKey, current);
    const gone: ScrapeLoop[] = [];
    for (const [key, loop] of current) {
      if (!targets.has(key)) {
        gone.push(loop);
        current.delete(key);
      }
    }
    const body = this.loaded.config.scrape.body_limit_bytes;
    for (const [key, t] of targets) {
      if (current.has(key)) continue;
      const scraper = this.makeScraper(t.job, t.instance, httpSource(t.url, t.timeoutMs, body), t.timeoutMs, t.labels, job.honor_labels, job.honor_timestamps);
      current.set(key, this.addLoop(job.job, scraper, t.intervalMs, `${job.job}|${key}`));
    }
    await Promise.all(gone.map((l) => this.removeLoop(l)));
    let n = 0;
    for (const [k, m] of this.discovered) if (k.startsWith(`${job.job}\u0000`)) n += m.size;
    this.metrics.sdTargets.set({ job: job.job }, n);
  }

  private async scrapeOnce(loop: ScrapeLoop, atMs: number): Promise<void> {
    const r = await loop.scraper.scrape(atMs);
    loop.series = r.postRelabel;
    this.metrics.scrapes.inc({ job: loop.job, result: r.up ? 'ok' : 'failed' });
    for (const [reason, n] of Object.entries(r.dropped)) this.metrics.seriesDropped.inc({ job: loop.job, reason }, n);
    if (!r.up) this.log('warn', `scrape ${loop.job}: ${r.error ?? 'failed'}`);
    try {
      await this.buffer.append(r.body, atMs);
      this.metrics.samplesScraped.inc({ job: loop.job }, r.samples);
      this.opts.onScrape?.(loop.job, atMs, r);
    } catch (err) {
      this.metrics.bufferAppendErrors.inc();
      this.log('error', `buffer: ${(err as Error).message}`);
    }
  }

  private async listen(address: string): Promise<void> {
    const i = address.lastIndexOf(':');
    const host = address.slice(0, i) || '0.0.0.0';
    const port = Number(address.slice(i + 1));
    const registry = this.metrics.registry;
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/metrics') {
        registry.metrics().then(
          (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
          (err: Error) => res.writeHead(500).end(err.message),
        );
      } else if (path === '/-/healthy' || path === '/-/ready') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      }
    });
    this.server.requestTimeout = 10_000;
    this.server.headersTimeout = 5_000;
    this.server.maxHeadersCount = 50;
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, host, () => resolve());
    });
    const addr = this.server.address();
    if (addr !== null && typeof addr === 'object') this.url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  }

  private startRegistration(): void {
    const reg = this.loaded.config.registration;
    if (reg === undefined || this.registering !== null || this.stopped) return;
    const run = async (): Promise<void> => {
      while (!this.stopped) {
        try {
          // Loaded only when needed: @peculiar/x509 and its dependencies cost ~25 MB of RSS.
          const { register } = await import('./registration.js');
          this.identity = await register({
            controlUrl: reg.control_url,
            stateDir: this.loaded.config.state_dir,
            tokenFile: reg.token_file,
            tokenEnv: reg.token_env,
            cloudInitUserData: reg.cloud_init_user_data,
            env: this.opts.env ?? process.env,
            facts: reg.facts,
            machineIdFile: reg.machine_id_file,
            pollIntervalMs: reg.poll_interval,
            signal: this.abort.signal,
            log: this.log,
            tls: this.controlTls,
          });
          this.onRegistered();
          return;
        } catch (err) {
          if (this.stopped) return;
          // No token yet, or rejected: keep looking; an operator may provide a new token.
          this.log('error', (err as Error).message);
          await new Promise((r) => setTimeout(r, Math.max(reg.poll_interval, 1000) * 6).unref());
        }
      }
    };
    this.registering = run().finally(() => (this.registering = null));
  }

  private onRegistered(): void {
    this.metrics.registered.set(1);
    for (const l of this.identityListeners) l(this.identity);
    this.sender.poke();
    const up = this.loaded.config.upgrades;
    if (up.enabled && this.identity !== null && this.upgrader === null) {
      this.upgrader = new Upgrader({
        config: up,
        stateDir: this.loaded.config.state_dir,
        identity: () => this.identity,
        metrics: this.metrics,
        log: this.log,
        onIdentityRevoked: () => void this.factoryReset(),
        series: () => this.loops.reduce((n, l) => n + l.series, 0),
        ...(this.controlTls !== undefined ? { tls: this.controlTls } : {}),
        ...(this.opts.env !== undefined ? { env: this.opts.env } : {}),
      });
      this.upgrader.start();
    }
  }

  /** The control plane no longer knows this identity (factory reset, decommission): forget it and register again. */
  async factoryReset(): Promise<void> {
    this.log('warn', 'the control plane no longer accepts this site identity: factory reset, registering again');
    await this.upgrader?.stop();
    this.upgrader = null;
    this.identity = null;
    this.metrics.registered.set(this.staticToken !== undefined ? 1 : 0);
    await wipeIdentity(this.loaded.config.state_dir);
    for (const l of this.identityListeners) l(null);
    this.startRegistration();
  }

  private async startLogs(): Promise<void> {
    const rawLogs = this.loaded.config.logs;
    const factory = this.opts.logShipper;
    if (factory === undefined) {
      this.log('warn', 'the config has a logs: section but this build has no log shipper; logs are not shipped');
      return;
    }
    const stateDir = this.loaded.config.state_dir;
    const siteCertificate = this.loaded.config.registration !== undefined;
    this.logShipper = await factory({
      // Read at each (re)start of the shipper: once the site has its certificate, TLS outputs present it.
      get config() {
        return siteCertificate ? withSiteCertificate(rawLogs, stateDir) : rawLogs;
      },
      configFile: this.loaded.file,
      stateDir: this.loaded.config.state_dir,
      identity: () => this.identity,
      onIdentity: (listener) => {
        this.identityListeners.add(listener);
        return () => this.identityListeners.delete(listener);
      },
      registry: this.metrics.registry,
      log: this.log,
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    await Promise.all(this.discoveries.map((d) => d.stop()));
    await this.reconciling;
    for (const l of this.loops) if (l.timer !== null) clearTimeout(l.timer);
    await Promise.all(this.loops.map((l) => l.running?.catch(() => undefined)));
    await this.upgrader?.stop();
    await this.logShipper?.stop();
    await this.registering?.catch(() => undefined);
    await this.sender.stop();
    await this.buffer.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
