// The collector service: a remote-write receiver for authenticated sites,
// the push pipeline, one durable queue and sender per remote-write target,
// and /metrics, /-/healthy, /-/ready. A push is acknowledged (204) only once
// what survived the pipeline is durable in every target's queue.
import { type IncomingMessage, type Server, type ServerResponse, createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { type Logger, pino } from 'pino';
import { type RemoteWriteLimits, type SnappyScratch, WireError } from '../wire/index.js';
import { SiteAuthenticator, certificateNames } from './auth.js';
import { type CollectorConfig, type LoadedConfig, loadCollectorConfig } from './config.js';
import { CollectorError } from './errors.js';
import { CollectorMetrics } from './metrics.js';
import { registerFaroRoutes, toFaroOptions } from './faro/index.js';
import { LogsService } from './logs/index.js';
import { type PushPipeline, type PushResult, pushPipelineOf, readerLimitsOf } from './pipeline.js';
import { answer, isPush, readBody } from './push-http.js';
import { PushWorkers } from './push-workers.js';
import { DurableQueue } from './queue.js';
import { Aggregator } from './aggregator.js';
import { Intake } from './intake.js';
import { ScrapeManager } from './scrape-manager.js';
import { RemoteWriteSender } from './sender.js';

/**
 * What V8 grows the old generation by between full collections, unless the
 * process was started with its own --heap-growing-percent. The collector's
 * state lives in typed arrays, so its JS heap is small (~30 MB at 300
 * sites), and V8's default then runs a full collection for every ~1 MB
 * promoted: about two a second under push load, 15-20% of the collector's
 * CPU. Letting the heap grow 4x before collecting cut full collections from
 * 61 to 11 in the same bench run and CPU per sample by ~20%, for ~40 MB more
 * resident memory (collector/README, "Speed"). V8 reads the flag at every
 * collection, so setting it once the process runs takes effect.
 */
export const HEAP_GROWING_PERCENT = 300;

function tuneGarbageCollector(): void {
  if (process.execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

export interface CollectorOptions {
  readonly logger?: Logger;
  /** Overrides `listen` from the config (tests use port 0). */
  readonly listen?: string;
  /** The file the config came from: what SIGHUP and POST /-/reload read again. */
  readonly configFile?: string;
  /** Overrides `logs.forward.listen` (tests use port 0). */
  readonly forwardListen?: string;
}

/** What a reload can change while the collector runs: identities, pipelines, limits. */
interface Live {
  readonly config: CollectorConfig;
  readonly auth: SiteAuthenticator;
  readonly pipeline: PushPipeline;
  readonly readerLimits: Partial<RemoteWriteLimits>;
}

function buildLive(loaded: LoadedConfig): Live {
  const { config } = loaded;
  return {
    config,
    auth: new SiteAuthenticator(config.sites, loaded.siteTokenKeys, new Set(Object.keys(config.tenants)), config.tls?.identity_from_certificate ?? false),
    pipeline: pushPipelineOf(loaded),
    readerLimits: readerLimitsOf(config),
  };
}

/** Settings a reload cannot apply to a running collector. */
function restartOnly(c: CollectorConfig): Record<string, unknown> {
  return { listen: c.listen, tls: c.tls, queue: c.queue, remote_write: c.remote_write, push_workers: c.push_workers, push_worker_max_heap_mb: c.push_worker_max_heap_mb, 'limits.max_body_bytes': c.limits.max_body_bytes, logs: c.logs /* collector/logs/: applied at start only */ };
}

export class Collector {
  /** The log path (collector/logs/), when the config has a `logs:` section: `collector.logs?.onLogRecords(...)`. */
  logs: LogsService | undefined = undefined;

  private constructor(
    private readonly holder: { live: Live },
    private readonly log: Logger,
    private readonly configFile: string | undefined,
    private readonly app: FastifyInstance,
    private readonly queues: readonly DurableQueue[],
    private readonly senders: readonly RemoteWriteSender[],
    /** The scrape loops (tests look at them). */
    readonly scraper: ScrapeManager,
    private readonly aggregator: Aggregator,
    private readonly sweepTimer: NodeJS.Timeout,
    private readonly workers: PushWorkers | null,
    private readonly state: { ready: boolean },
    readonly metrics: CollectorMetrics,
    /** The address it listens on, e.g. http://127.0.0.1:9201. */
    readonly url: string,
  ) {}

  static async start(loaded: LoadedConfig, opts: CollectorOptions = {}): Promise<Collector> {
    tuneGarbageCollector();
    const { config } = loaded;
    const log = opts.logger ?? pino({ name: 'fleetscope-collector' });
    const limits = config.limits;
    const holder = { live: buildLive(loaded) };
    const queues = await Promise.all(
      config.remote_write.map((t, i) =>
        DurableQueue.open({ dir: join(config.queue.dir, `${i}-${new URL(t.url).host.replace(/[^A-Za-z0-9.-]/g, '_')}`), maxBytes: config.queue.max_bytes, segmentBytes: config.queue.segment_bytes }),
      ),
    );
    // Thousands of sites push every few seconds: per-request access logs would drown the real ones.
    // With client_ca_file, a client certificate is asked for but not required: token-only sites still connect;
    // a certificate counts only when it verified (socket.authorized).
    const https = loaded.tls === undefined ? null : { cert: loaded.tls.cert, key: loaded.tls.key, ...(loaded.tls.ca ? { ca: loaded.tls.ca, requestCert: true, rejectUnauthorized: false } : {}) };
    // Pushes go to onPush (push-http.ts) before fastify sees them; fastify serves the rest.
    // (Fastify makes no server of its own then; it reads `https` only to name its address https://.)
    const serverFactory = (handler: (req: IncomingMessage, res: ServerResponse) => void, o: { keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number }): Server => {
      const route = (req: IncomingMessage, res: ServerResponse): void => (isPush(req) ? onPush(req, res) : handler(req, res));
      const server = https ? createHttpsServer(https, route) : createHttpServer(route);
      // What fastify sets on a server it makes itself.
      if (o.keepAliveTimeout !== undefined) server.keepAliveTimeout = o.keepAliveTimeout;
      if (o.requestTimeout !== undefined) server.requestTimeout = o.requestTimeout;
      if (o.connectionTimeout !== undefined) server.setTimeout(o.connectionTimeout);
      return server;
    };
    const app = Fastify({ loggerInstance: log as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), bodyLimit: limits.max_body_bytes, serverFactory, ...(https ? { https } : {}) }) as unknown as FastifyInstance;
    const closing = { now: false };
    app.addHook('preClose', (done) => {
      closing.now = true;
      done();
    });
    const state = { ready: false };
    const metrics = new CollectorMetrics();
    const senders = config.remote_write.map((t, i) => new RemoteWriteSender(t, queues[i] as DurableQueue, metrics, log));
    const intake = new Intake(config.remote_write, queues, senders, metrics, log);
    const aggregator = await Aggregator.open(
      { dir: join(config.queue.dir, 'aggregate'), maxBytes: config.queue.max_bytes, segmentBytes: config.queue.segment_bytes },
      loaded.pipelines, metrics, log, (tenant, shardKey, body, samples) => intake.enqueue(tenant, shardKey, body, samples),
    );
    intake.aggregator = aggregator;
    const scraper = new ScrapeManager({ pipeline: () => holder.live.pipeline, accept: (id, r) => intake.accept(id, r) }, metrics, log);

    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.max_body_bytes }, (_req, body, done) => done(null, body));
    app.setErrorHandler((err, _req, reply) => {
      const status = (err as { statusCode?: number }).statusCode ?? 500;
      metrics.requests.inc({ code: String(status) });
      void reply.code(status).send({ error: (err as Error).message });
    });

    // One buffer for every request's decompressed body: the pipeline is done with it before the next request.
    const decompressed: SnappyScratch = { bytes: new Uint8Array(1024 * 1024) };
    // Pushes on worker threads when configured; the scrape path stays on this thread.
    const workers = config.push_workers > 0 ? new PushWorkers(config.push_workers, loaded.source, log, metrics, config.push_worker_max_heap_mb) : null;
    // The push: its headers first (identity, encoding, declared size), then its body; 204 once durable.
    const push = async (req: IncomingMessage): Promise<{ status: number; error?: string; close?: boolean }> => {
      if (closing.now) return { status: 503, error: new CollectorError('FS_COLLECTOR_STOPPING', []).message };
      const live = holder.live;
      const socket = req.socket as TLSSocket;
      const cert = socket.encrypted && socket.authorized ? certificateNames(socket.getPeerCertificate()) : undefined;
      const who = live.auth.identify(req.headers.authorization, Date.now(), cert);
      if (!who.ok) return { status: who.status, error: new CollectorError(who.status === 401 ? 'FS_COLLECTOR_UNAUTHORIZED' : 'FS_COLLECTOR_UNKNOWN_TENANT', [who.reason]).message };
      const id = who.identity;
      if (req.headers['content-encoding'] !== 'snappy') {
        return { status: 415, error: new CollectorError('FS_COLLECTOR_UNSUPPORTED_ENCODING', ['remote-write bodies must be snappy-compressed (Content-Encoding: snappy)']).message };
      }
      const body = await readBody(req, limits.max_body_bytes);
      if (body === null) return { status: 0 };
      if (!Buffer.isBuffer(body)) return body;
      let result: PushResult;
      if (workers !== null) {
        const done = await workers.process(id, body);
        if (!done.ok) return { status: done.status, error: done.message };
        result = done.result;
      } else {
        try {
          result = live.pipeline.processBody(id, body, Date.now(), live.readerLimits, live.config.limits.max_decompressed_bytes, decompressed);
        } catch (err) {
          if (err instanceof WireError) return { status: err.status, error: `${err.code}: ${err.message}` };
          throw err;
        }
      }
      if (result.reused === true) metrics.pushBodiesReused.inc();
      if (result.repeat === true) metrics.pushRepeats.inc();
      // Not durable everywhere: not acknowledged. The site retries; a duplicate sample is harmless downstream.
      const taken = await intake.accept(id, result);
      if (!taken.ok) return { status: 503, error: taken.error.message };
      return { status: 204 };
    };
    const onPush = (req: IncomingMessage, res: ServerResponse): void => {
      push(req).then(
        (r) => {
          if (r.status === 0) return; // the sender went away mid-body: no one to answer
          metrics.requests.inc({ code: String(r.status) });
          answer(res, r.status, r.error, closing.now || r.close === true);
        },
        (err: unknown) => {
          log.error({ err }, 'push failed');
          metrics.requests.inc({ code: '500' });
          answer(res, 500, (err as Error).message, closing.now);
        },
      );
    };
    app.get('/metrics', async (_req, reply) => reply.header('Content-Type', metrics.registry.contentType).send(await metrics.registry.metrics()));
    app.get('/-/healthy', async () => 'OK\n');
    // Routes are registered before the collector exists; the reload route reaches it through this.
    const self: { collector?: Collector } = {};
    app.post('/-/reload', async (_req, reply) => {
      try {
        const restartNeeded = await (self.collector as Collector).reload();
        return { status: 'reloaded', restart_needed: restartNeeded };
      } catch (err) {
        return reply.code(err instanceof CollectorError ? err.status : 500).send({ error: (err as Error).message });
      }
    });

    app.get('/-/ready', async (_req, reply) => (state.ready ? 'OK\n' : reply.code(503).send('starting\n')));
    // --- logs (collector/logs/): the optional log path: its routes on this app, its forward server ---
    const logs = config.logs
      ? await LogsService.start(config.logs, {
          app,
          registry: metrics.registry,
          logger: log,
          // Static site tokens and signed site tokens alike, as on the metrics path.
          authenticate: () => (token) => {
            const who = holder.live.auth.identify(`Bearer ${token}`, Date.now());
            return who.ok ? who.identity : undefined;
          },
          re: config.external_labels.re,
          ...(opts.forwardListen === undefined ? {} : { forwardListen: opts.forwardListen }),
        })
      : undefined;
    // --- end logs ---
    // The fleet page's Faro payloads become log records (through the log path when
    // there is one) and metrics on this collector's /metrics.
    if (config.faro.enabled) {
      registerFaroRoutes(app, async (records) => {
        if (logs === undefined) return true;
        try {
          await logs.ingestRecords(records, 'faro');
          return true;
        } catch {
          return false;
        }
      }, { ...toFaroOptions(config.faro), registry: metrics.registry });
    }
    const listen = opts.listen ?? config.listen;
    const sep = listen.lastIndexOf(':');
    const address = await app.listen({ host: listen.slice(0, sep) || '0.0.0.0', port: Number(listen.slice(sep + 1)) });
    for (const s of senders) s.start();
    aggregator.start();
    await scraper.apply(config.scrape_configs, new Set(Object.keys(config.tenants)));
    const sweepTimer = setInterval(() => {
      const { pipeline } = holder.live;
      const now = Date.now();
      pipeline.sweep(now);
      workers?.sweep(now);
      const active = pipeline.activeSeries();
      // The workers' pushed series and this thread's scraped ones, per site.
      for (const [k, n] of workers?.activeSeries() ?? []) active.set(k, (active.get(k) ?? 0) + n);
      for (const [k, n] of active) {
        const [tenant, site] = k.split('/');
        metrics.activeSeries.set({ tenant: tenant as string, site: site as string }, n);
      }
    }, 10_000);
    sweepTimer.unref();
    state.ready = true;
    log.info({ address, targets: config.remote_write.map((t) => new URL(t.url).host), sites: config.sites.length }, 'collector ready');
    self.collector = new Collector(holder, log, opts.configFile, app, queues, senders, scraper, aggregator, sweepTimer, workers, state, metrics, address);
    self.collector.logs = logs;
    return self.collector;
  }

  /**
   * Reads the config file again and applies what can change while running
   * (sites, tenants, pipelines, external labels, limits). An invalid file
   * throws FS_COLLECTOR_INVALID_CONFIG and the running config stays. Returns
   * the settings that changed but need a restart (listen, queue, targets).
   */
  async reload(): Promise<string[]> {
    if (this.configFile === undefined) throw new CollectorError('FS_COLLECTOR_INVALID_CONFIG', ['(none)', '(root)', 'started without a config file, nothing to reload']);
    let loaded: LoadedConfig;
    try {
      loaded = await loadCollectorConfig(this.configFile);
    } catch (err) {
      this.metrics.reloads.inc({ result: 'failure' });
      this.metrics.lastReloadSuccessful.set(0);
      this.log.error({ err: (err as Error).message }, 'config reload rejected; the running config stays');
      throw err;
    }
    const before = restartOnly(this.holder.live.config);
    const after = restartOnly(loaded.config);
    const restartNeeded = Object.keys(before).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    this.holder.live = buildLive(loaded);
    this.workers?.reload(loaded.source);
    this.aggregator.setRules(loaded.pipelines);
    await this.scraper.apply(loaded.config.scrape_configs, new Set(Object.keys(loaded.config.tenants)));
    this.metrics.reloads.inc({ result: 'success' });
    this.metrics.lastReloadSuccessful.set(1);
    this.log.info({ sites: loaded.config.sites.length, restartNeeded }, 'config reloaded');
    return restartNeeded;
  }

  /** Stops taking pushes, stops the senders (undelivered data stays queued on disk), closes the queues. */
  async stop(): Promise<void> {
    this.state.ready = false;
    clearInterval(this.sweepTimer);
    await this.app.close();
    await this.scraper.stop();
    // Its last windows go to the queues before the senders stop.
    await this.aggregator.stop();
    await this.logs?.stop();
    await this.workers?.stop();
    await Promise.all(this.senders.map((s) => s.stop()));
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
