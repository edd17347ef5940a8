// The alerting service: rules folder → engine → notifier → Alertmanagers.
// Records come in by `offer(batch)` (in-process, from the collector's
// onLogRecords, the top README's contract §4) or `POST /api/v1/records` (JSON lines or a
// JSON array; answered once the records are in the write-ahead log on disk).
import Fastify, { type FastifyInstance } from 'fastify';
import { AlertmanagerClient, type PostableAlert } from './alertmanager.js';
import type { AlertingConfig } from './config.js';
import { Engine, ruleIntervalMs, type LogRecord, type RunnerState } from './engine.js';
import { AlertingError } from './errors.js';
import { formatIssue, loadRulesFolder, type RuleIssue } from './loader.js';
import { AlertingMetrics } from './metrics.js';
import { Notifier, type NotifierState } from './notifier.js';
import { parseTimestamp } from './ruletype.js';
import { StateStore } from './state.js';
import type { CompiledRule } from './rule.js';

export interface AlertingServiceOptions {
  /** Overrides the config's listen (tests use 127.0.0.1:0). */
  readonly listen?: string;
  /** The wall clock (tests inject one). */
  readonly now?: () => number;
  /** Do not start the tick timer (tests drive tick() themselves). */
  readonly manualTicks?: boolean;
  readonly log?: (line: string) => void;
}

export type ReloadResult = { ok: true; rules: number; warnings: RuleIssue[] } | { ok: false; issues: RuleIssue[] };

const MAX_FIELD = 1024;

/** Reads one posted record: the §4 shape, or a bare _source document (tenant/site/@timestamp from it). */
export function toLogRecord(v: unknown, i: number): LogRecord {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AlertingError('FS_ALERTING_BAD_RECORDS', [`record ${i}: not a JSON object`]);
  const o = v as Record<string, unknown>;
  const doc = (typeof o.doc === 'object' && o.doc !== null && !Array.isArray(o.doc) ? o.doc : o) as Record<string, unknown>;
  const tenant = o.tenant ?? doc.tenant;
  const site = o.site ?? doc.site;
  if (typeof tenant !== 'string' || tenant === '' || tenant.length > MAX_FIELD) throw new AlertingError('FS_ALERTING_BAD_RECORDS', [`record ${i}: tenant must be a non-empty string`]);
  if (typeof site !== 'string' || site.length > MAX_FIELD) throw new AlertingError('FS_ALERTING_BAD_RECORDS', [`record ${i}: site must be a string`]);
  let ts = typeof o.timestampMs === 'number' ? o.timestampMs : parseTimestamp(doc['@timestamp'], 'iso');
  if (ts === null || !Number.isFinite(ts)) throw new AlertingError('FS_ALERTING_BAD_RECORDS', [`record ${i}: no timestampMs and no RFC 3339 @timestamp`]);
  ts = Math.trunc(ts);
  return { timestampMs: ts, tenant, site, doc };
}

export class AlertingService {
  readonly metrics = new AlertingMetrics();
  readonly engine: Engine;
  readonly notifier: Notifier;
  private readonly client: AlertmanagerClient;
  private readonly outbox = new Map<string, Map<string, PostableAlert>>();
  private store: StateStore | null = null;
  private app: FastifyInstance | null = null;
  private timer: NodeJS.Timeout | null = null;
  private flushing = false;
  private lastCheckpoint = 0;
  private maxEventTs = 0;
  private counted = { notifications: 0, silenced: 0 };
  url = '';

  private constructor(private readonly config: AlertingConfig, private readonly opts: AlertingServiceOptions) {
    this.engine = new Engine({
      runEveryMs: config.run_every,
      bufferTimeMs: config.buffer_time,
      allowedLatenessMs: config.allowed_lateness,
      maxPendingPerRule: config.limits.max_pending_per_rule,
      onMatch: (m) => {
        this.metrics.matches.inc({ rule: m.rule.name });
        this.notifier.onMatch(m, this.now());
      },
      onDrop: (rule, reason, n) => this.metrics.recordsDropped.inc({ rule, reason }, n),
    });
    this.notifier = new Notifier({
      resendMs: config.resend_interval,
      externalUrl: config.external_url,
      defaultSeverity: config.default_severity,
      holdMs: (rule) => this.holdMs(rule),
      send: (alerts) => this.enqueue(alerts),
    });
    this.client = new AlertmanagerClient({
      urls: config.alertmanagers,
      onOutcome: (url, o, n) => this.metrics.sends.inc({ alertmanager: url, outcome: 'ok' in o ? 'ok' : 'retryable' in o ? 'retryable' : 'failed' }, n),
    });
    for (const u of config.alertmanagers) this.outbox.set(u, new Map());
  }

  private holdMs(rule: CompiledRule): number {
    const interval = ruleIntervalMs(rule, this.config.run_every, this.config.buffer_time);
    const tf = rule.timeframeMs ?? 0;
    return rule.type === 'spike' || rule.type === 'spike_aggregation' ? 2 * tf + interval : tf + interval;
  }

  now(): number {
    if (this.config.clock === 'event') return this.maxEventTs;
    return (this.opts.now ?? Date.now)();
  }

  /** Loads the rules and state, listens, and starts ticking. Throws when the rules folder is invalid. */
  static async start(config: AlertingConfig, opts: AlertingServiceOptions = {}): Promise<AlertingService> {
    const s = new AlertingService(config, opts);
    const r = await s.reload();
    if (!r.ok) throw new AlertingError('FS_ALERTING_INVALID_RULE', [config.rules_dir, '', `${r.issues.filter((i) => i.severity === 'error').length} invalid rule(s):\n${r.issues.map(formatIssue).join('\n')}`]);
    if (config.state_dir !== undefined) {
      s.store = new StateStore(config.state_dir);
      const { checkpoint, records } = s.store.load();
      if (checkpoint !== null) {
        s.engine.restore(checkpoint.engine as RunnerState[]);
        s.notifier.restore(checkpoint.notifier as NotifierState);
        s.maxEventTs = checkpoint.savedAt;
      }
      // Records acknowledged after the checkpoint: taken again (the log keeps them until the next one).
      const recs = records.map((x, i) => toLogRecord(x, i));
      s.engine.offer(recs);
      for (const rec of recs) s.maxEventTs = Math.max(s.maxEventTs, rec.timestampMs);
    }
    s.app = s.routes();
    const listen = opts.listen ?? config.listen;
    const sep = listen.lastIndexOf(':');
    s.url = await s.app.listen({ host: listen.slice(0, sep) || '127.0.0.1', port: Number(listen.slice(sep + 1)) });
    if (!opts.manualTicks) {
      s.timer = setInterval(() => void s.tick(), config.tick_interval);
      s.timer.unref();
    }
    return s;
  }

  /** Re-reads the rules folder; an invalid folder is refused whole and the running rules stay. */
  async reload(): Promise<ReloadResult> {
    const r = await loadRulesFolder(this.config.rules_dir, { recursive: this.config.scan_subdirectories });
    if (!r.ok) {
      this.metrics.reloadOk.set(0);
      return { ok: false, issues: [...r.issues] };
    }
    this.engine.setRules(r.rules);
    this.notifier.setRules(r.rules);
    this.metrics.rulesLoaded.set(r.rules.length);
    this.metrics.reloadOk.set(1);
    return { ok: true, rules: r.rules.length, warnings: r.issues.filter((i) => i.severity === 'warning') };
  }

  /** the top README's contract §4: takes a batch from the collector's onLogRecords. */
  offer(batch: readonly LogRecord[]): void {
    try {
      this.take(batch, 'offer', false);
    } catch (err) {
      // The collector's listener must not throw: the records were evaluated; only their log entry failed.
      this.metrics.walErrors.inc();
      this.opts.log?.(`write-ahead log: ${(err as Error).message}`);
    }
  }

  private take(batch: readonly LogRecord[], source: string, sync: boolean): number {
    this.metrics.records.inc({ source }, batch.length);
    for (const r of batch) if (r.timestampMs > this.maxEventTs) this.maxEventTs = r.timestampMs;
    // Over HTTP the log comes first: a failed append answers 500 and nothing is taken, so a retry is safe.
    if (sync) this.store?.append(batch, true);
    const taken = this.engine.offer(batch);
    if (!sync) this.store?.append(batch, false);
    return taken;
  }

  private enqueue(alerts: readonly PostableAlert[]): void {
    for (const [url, box] of this.outbox) {
      for (const a of alerts) {
        const fp = JSON.stringify(a.labels);
        box.delete(fp);
        box.set(fp, a);
        if (box.size > this.config.limits.max_outbox_alerts) {
          const oldest = box.keys().next().value as string;
          box.delete(oldest);
          this.metrics.outboxDropped.inc({ alertmanager: url, reason: 'full' });
        }
      }
    }
  }

  /** Sends what is queued to every Alertmanager; failures stay queued for the next tick. */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      await Promise.all(
        [...this.outbox].map(async ([url, box]) => {
          if (box.size === 0) return;
          const batch = [...box.entries()].slice(0, 64);
          const o = await this.client.sendTo(url, batch.map((e) => e[1]));
          this.metrics.sends.inc({ alertmanager: url, outcome: 'ok' in o ? 'ok' : 'retryable' in o ? 'retryable' : 'failed' }, batch.length);
          if ('retryable' in o) return;
          if ('failed' in o) this.metrics.outboxDropped.inc({ alertmanager: url, reason: 'refused' }, batch.length);
          // Remove what was sent unless a newer version replaced it meanwhile.
          for (const [fp, a] of batch) if (box.get(fp) === a) box.delete(fp);
        }),
      );
    } finally {
      this.flushing = false;
    }
  }

  /** One step: close due intervals, resend/resolve, send, checkpoint when due. */
  async tick(): Promise<void> {
    const now = this.now();
    this.engine.advance(now);
    this.notifier.tick(now, now - this.config.allowed_lateness);
    this.metrics.firing.set(this.notifier.firingCount());
    this.metrics.notifications.inc(this.notifier.notifications - this.counted.notifications);
    this.metrics.silenced.inc(this.notifier.silenced - this.counted.silenced);
    this.counted = { notifications: this.notifier.notifications, silenced: this.notifier.silenced };
    this.metrics.pending.set(this.engine.pendingCount());
    if (this.store !== null && (this.opts.now ?? Date.now)() - this.lastCheckpoint >= this.config.checkpoint_interval) this.checkpoint();
    await this.flush();
  }

  checkpoint(): void {
    if (this.store === null) return;
    try {
      this.store.save({ version: 1, savedAt: this.maxEventTs, engine: this.engine.snapshot(), notifier: this.notifier.snapshot() });
      this.lastCheckpoint = (this.opts.now ?? Date.now)();
      this.metrics.checkpoints.inc({ result: 'ok' });
    } catch (err) {
      this.metrics.checkpoints.inc({ result: 'error' });
      this.opts.log?.(`checkpoint failed: ${(err as Error).message}`);
    }
  }

  queued(): number {
    let n = 0;
    for (const b of this.outbox.values()) n += b.size;
    return n;
  }

  private routes(): FastifyInstance {
    const limits = this.config.limits;
    const app = Fastify({ bodyLimit: limits.max_body_bytes });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.max_body_bytes }, (_req, body, done) => done(null, body));
    app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
      if (err.statusCode === 413 || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        this.metrics.requestsRefused.inc({ code: 'FS_ALERTING_BODY_TOO_LARGE' });
        return reply.code(413).send({ code: 'FS_ALERTING_BODY_TOO_LARGE', message: `body is larger than ${limits.max_body_bytes} bytes` });
      }
      return reply.code(err.statusCode ?? 500).send({ code: err.code ?? 'FS_ALERTING_INTERNAL', message: err.message });
    });
    app.post('/api/v1/records', async (req, reply) => {
      const body = (req.body as Buffer | undefined)?.toString('utf8') ?? '';
      let records: LogRecord[];
      try {
        const trimmed = body.trimStart();
        let items: unknown[];
        if (trimmed.startsWith('[')) {
          const parsed = JSON.parse(trimmed) as unknown;
          items = Array.isArray(parsed) ? parsed : [parsed];
        } else {
          items = [];
          const lines = body.split('\n');
          for (let i = 0; i < lines.length; i++) {
            const l = (lines[i] as string).trim();
            if (l === '') continue;
            try {
              items.push(JSON.parse(l));
            } catch {
              throw new AlertingError('FS_ALERTING_BAD_RECORDS', [`line ${i + 1}: not JSON`]);
            }
          }
        }
        if (items.length > limits.max_records_per_request) throw new AlertingError('FS_ALERTING_BAD_RECORDS', [`${items.length} records is over the limit of ${limits.max_records_per_request} per request`]);
        records = items.map((x, i) => toLogRecord(x, i));
      } catch (err) {
        const e = err instanceof AlertingError ? err : new AlertingError('FS_ALERTING_BAD_RECORDS', [`body is not JSON: ${(err as Error).message}`]);
        this.metrics.requestsRefused.inc({ code: e.code });
        return reply.code(e.status).send({ code: e.code, message: e.message });
      }
      let taken: number;
      try {
        taken = this.take(records, 'http', true);
      } catch (err) {
        const e = err instanceof AlertingError ? err : new AlertingError('FS_ALERTING_STATE_IO', ['records.wal', (err as Error).message]);
        this.metrics.requestsRefused.inc({ code: e.code });
        return reply.code(e.status).send({ code: e.code, message: e.message });
      }
      return reply.code(200).send({ records: records.length, taken });
    });
    app.get('/api/v1/rules', async () => ({ rules: this.engine.ruleList.map((r) => ({ name: r.name, type: r.type, file: r.file })) }));
    app.get('/api/v1/rules/:name', async (req, reply) => {
      const name = (req.params as { name: string }).name;
      const r = this.engine.ruleList.find((x) => x.name === name);
      if (r === undefined) {
        const e = new AlertingError('FS_ALERTING_NO_SUCH_RULE', [name]);
        return reply.code(e.status).send({ code: e.code, message: e.message });
      }
      return { name: r.name, type: r.type, file: r.file, rule: r.options };
    });
    app.post('/-/reload', async (_req, reply) => {
      const r = await this.reload();
      if (!r.ok) return reply.code(400).send({ code: 'FS_ALERTING_INVALID_RULE', message: r.issues.map(formatIssue).join('\n') });
      return { rules: r.rules, warnings: r.warnings.map(formatIssue) };
    });
    app.get('/metrics', async (_req, reply) => reply.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics()));
    app.get('/-/healthy', async () => 'ok\n');
    app.get('/-/ready', async () => 'ok\n');
    return app;
  }

  /** Stops listening and ticking without a final checkpoint or send: what a crash leaves on disk. */
  async halt(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.app?.close();
    this.store?.close();
    this.store = null;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.app?.close();
    this.checkpoint();
    await this.flush().catch(() => undefined);
    this.store?.close();
  }
}
