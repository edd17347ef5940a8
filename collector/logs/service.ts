// The log path as one service the collector starts: pipeline, durable
// buffer, HTTP routes on the collector's fastify app, the forward server,
// and the Elasticsearch egress. collector/collector.ts calls startLogs()
// when its config has a `logs:` section and stop() on shutdown.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DurableQueue } from '../queue.js';
import type { LogsConfig } from './config.js';
import { ElasticsearchEgress } from './egress.js';
import { ForwardServer } from './forward-server.js';
import { registerLogRoutes } from './http.js';
import { LogIngest, type LogRecordsListener } from './ingest.js';
import { LogsMetrics } from './metrics.js';
import { type Authenticate, LogPipeline } from './pipeline.js';

export interface LogsDeps {
  /** The collector's app; routes are registered on it before it listens. */
  readonly app: FastifyInstance;
  readonly registry: Registry;
  readonly logger: Logger;
  /** The current token → identity resolver (read per request, so a reload applies). */
  readonly authenticate: () => Authenticate;
  /** `external_labels.re` of the collector. */
  readonly re: string | undefined;
  /** Overrides logs.forward.listen (tests use port 0). */
  readonly forwardListen?: string;
}

export class LogsService {
  private constructor(
    private readonly ingest: LogIngest,
    private readonly forward: ForwardServer | null,
    private readonly egress: ElasticsearchEgress | null,
    private readonly buffer: DurableQueue | null,
    /** host:port the forward server listens on, when it runs. */
    readonly forwardAddress: string | undefined,
    readonly metrics: LogsMetrics,
  ) {}

  static async start(config: LogsConfig, deps: LogsDeps): Promise<LogsService> {
    const log = deps.logger.child({ part: 'logs' });
    const metrics = new LogsMetrics(deps.registry);
    const pipeline = new LogPipeline(config, deps.re);
    // Log records come a MB or more a frame: the newest 64 MiB stay in memory, so an egress that keeps up does not read them back from disk.
    const buffer = config.elasticsearch ? await DurableQueue.open({ dir: config.buffer.dir, maxBytes: config.buffer.max_bytes, segmentBytes: config.buffer.segment_bytes, memoryBytes: 64 * 1024 ** 2 }) : null;
    const egress = config.elasticsearch && buffer ? new ElasticsearchEgress(config.elasticsearch, buffer, metrics, log) : null;
    const ingest = new LogIngest(pipeline, buffer, metrics, log, () => egress?.wake());
    registerLogRoutes(deps.app, ingest, deps.authenticate, config.http, metrics);
    let forward: ForwardServer | null = null;
    let forwardAddress: string | undefined;
    if (config.forward) {
      forward = new ForwardServer(config.forward, ingest, deps.authenticate, metrics, log);
      forwardAddress = await forward.start(deps.forwardListen);
      log.info({ forward: forwardAddress, tls: config.forward.tls !== undefined }, 'forward server listening');
    }
    egress?.start();
    return new LogsService(ingest, forward, egress, buffer, forwardAddress, metrics);
  }

  /** the top README's contract §4: every record after enrichment, filter and redaction, in batches. Returns the unsubscribe. */
  onLogRecords(listener: LogRecordsListener): () => void {
    return this.ingest.onLogRecords(listener);
  }

  /**
   * Takes records from an in-process source (the Faro receiver) through the
   * same pipeline and buffer as every input: resolves once they are durable.
   * The identity is the source's, never a record's own fields.
   */
  async ingestRecords(records: readonly { readonly timestampMs: number; readonly tenant: string; readonly site: string; readonly doc: Record<string, unknown> }[], input: string): Promise<void> {
    const byIdentity = new Map<string, { tenant: string; site: string; docs: (typeof records)[number][] }>();
    for (const r of records) {
      const key = `${r.tenant}\u0000${r.site}`;
      let g = byIdentity.get(key);
      if (g === undefined) byIdentity.set(key, (g = { tenant: r.tenant, site: r.site, docs: [] }));
      g.docs.push(r);
    }
    for (const g of byIdentity.values()) {
      const batch = this.ingest.begin({ tenant: g.tenant, site: g.site });
      for (const r of g.docs) this.ingest.pipeline.add(batch, { ...r.doc }, r.timestampMs, undefined, undefined);
      await this.ingest.commit(batch, input);
    }
  }

  /** Stops taking records (forward first; the HTTP routes stop with the app), then the egress; the buffer keeps the rest. */
  async stop(): Promise<void> {
    await this.forward?.stop();
    await this.egress?.stop();
    await this.buffer?.close();
  }
}
