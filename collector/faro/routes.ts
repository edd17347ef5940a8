// POST /faro/collect: the Faro web SDK's transport payload (what Grafana
// Alloy's faro receiver accepts), from browser pages such as the fleet page.
// Each log, exception, measurement and event becomes a log record in the
// shape of the top README's contract §4 and counts in prom-client metrics. CORS lets a
// page on another origin post; limits bound body, items and label values.
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Registry } from 'prom-client';
import { FaroError } from './errors.js';
import { FaroMetrics } from './metrics.js';
import { describeIssue, type FaroPayload, payloadSchema } from './payload.js';

/** One log record, as the collector's log pipeline carries them (the top README's contract §4). */
export interface FaroLogRecord {
  readonly timestampMs: number;
  readonly tenant: string;
  readonly site: string;
  readonly doc: Record<string, unknown>;
}

/**
 * Takes accepted records. Returning false (or a promise of false) means it
 * cannot take them now: the page is answered 429 and its SDK retries.
 */
export type FaroSink = (records: readonly FaroLogRecord[]) => boolean | void | Promise<boolean | void>;

export interface FaroOptions {
  /** Tenant, RE and site the records are filed under: the page is not a site, so these are configured, never read from the payload. */
  readonly tenant?: string;
  readonly re?: string;
  readonly site?: string;
  /** Origins allowed to post cross-origin (`*` for any). Default: none (same origin only). */
  readonly allowedOrigins?: readonly string[];
  /** If set, the `x-api-key` header must equal it (the SDK's `apiKey` option). */
  readonly apiKey?: string;
  readonly maxBodyBytes?: number;
  readonly maxItems?: number;
  readonly maxFieldLength?: number;
  /** Where the metrics go (the collector's registry); a registry of its own by default. */
  readonly registry?: Registry;
  readonly path?: string;
}

export const FARO_DEFAULTS = {
  tenant: 'fleetscope', re: 'control', site: 'fleet-page', allowedOrigins: [] as readonly string[],
  maxBodyBytes: 512 * 1024, maxItems: 1000, maxFieldLength: 8192, path: '/faro/collect',
} as const;

const ALLOW_HEADERS = 'content-type, content-encoding, x-faro-session-id, x-api-key, idempotency-key';

function corsOrigin(origin: string | undefined, allowed: readonly string[]): string | null | undefined {
  if (origin === undefined) return undefined; // not a cross-origin browser request
  if (allowed.includes('*')) return '*';
  return allowed.includes(origin) ? origin : null;
}

function toRecords(p: FaroPayload, o: { tenant: string; re: string; site: string }, app: string): FaroLogRecord[] {
  const common = {
    tenant: o.tenant, re: o.re, site: o.site, source: 'faro', app,
    app_version: p.meta.app?.version, environment: p.meta.app?.environment,
    session_id: p.meta.session?.id, page_url: p.meta.page?.url, view: p.meta.view?.name,
    browser: p.meta.browser?.name, browser_version: p.meta.browser?.version, user_id: p.meta.user?.id,
  };
  const out: FaroLogRecord[] = [];
  const add = (timestamp: string, kind: string, fields: Record<string, unknown>): void => {
    const ms = Date.parse(timestamp);
    out.push({ timestampMs: ms, tenant: o.tenant, site: o.site, doc: { '@timestamp': new Date(ms).toISOString(), kind, ...common, ...fields } });
  };
  for (const l of p.logs ?? []) add(l.timestamp, 'log', { level: l.level, message: l.message, context: l.context ?? undefined, trace_id: l.trace?.trace_id });
  for (const e of p.exceptions ?? []) {
    const frames = e.stacktrace?.frames.map((f) => `${f.function ?? '?'} (${f.filename ?? '?'}:${f.lineno ?? 0}:${f.colno ?? 0})`);
    add(e.timestamp, 'exception', { level: 'error', message: `${e.type}: ${e.value}`, exception_type: e.type, stacktrace: frames?.join('\n'), context: e.context, trace_id: e.trace?.trace_id });
  }
  for (const ms of p.measurements ?? []) {
    add(ms.timestamp, 'measurement', { measurement_type: ms.type, values: ms.values, context: ms.context });
  }
  for (const ev of p.events ?? []) add(ev.timestamp, 'event', { event_name: ev.name, event_domain: ev.domain, attributes: ev.attributes });
  return out;
}

/** Counts an accepted payload (only once the sink took it). */
function count(p: FaroPayload, app: string, m: FaroMetrics): void {
  const kinds: [string, number][] = [['log', p.logs?.length ?? 0], ['exception', p.exceptions?.length ?? 0], ['measurement', p.measurements?.length ?? 0], ['event', p.events?.length ?? 0], ['trace', p.traces?.resourceSpans?.length ?? 0]];
  for (const [kind, n] of kinds) if (n > 0) m.items.inc({ app, kind }, n);
  for (const e of p.exceptions ?? []) m.exceptions.inc({ app, type: m.exceptionType.value(e.type) });
  for (const ms of p.measurements ?? []) {
    const type = m.measurementName.value(ms.type);
    for (const [name, v] of Object.entries(ms.values)) m.measurement.observe({ app, type, name: m.measurementName.value(name) }, v);
  }
}

/** Registers the Faro receiver's routes on `app` (in a scope of their own, with their own body parser). */
export function registerFaroRoutes(app: FastifyInstance, sink: FaroSink, options: FaroOptions = {}): { metrics: FaroMetrics; registry: Registry } {
  const o = { ...FARO_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as typeof FARO_DEFAULTS & FaroOptions;
  const registry = options.registry ?? new Registry();
  const metrics = new FaroMetrics(registry);
  const schema = payloadSchema({ maxItems: o.maxItems, maxFieldLength: o.maxFieldLength });

  const fail = (reply: FastifyReply, err: FaroError, reason: string): FastifyReply => {
    metrics.requests.inc({ code: String(err.status) });
    metrics.dropped.inc({ reason });
    if (err.code === 'FS_COLLECTOR_FARO_BACKPRESSURE') reply.header('Retry-After', '5');
    return reply.code(err.status).send({ code: err.code, message: err.message });
  };

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: o.maxBodyBytes }, (_req, body, done) => done(null, body));
    // Fastify's own 413 for an oversized body, in our error form.
    scope.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return fail(reply, new FaroError('FS_COLLECTOR_FARO_TOO_LARGE', ['more than', o.maxBodyBytes]), 'too_large');
      return reply.code(err.statusCode ?? 500).send({ code: err.code ?? 'FS_COLLECTOR_FARO_INVALID_PAYLOAD', message: err.message });
    });

    scope.options(o.path, async (req: FastifyRequest, reply: FastifyReply) => {
      const allow = corsOrigin(req.headers.origin, o.allowedOrigins);
      if (allow === null) return reply.code(403).send({ code: 'FS_COLLECTOR_FARO_ORIGIN_FORBIDDEN', message: `origin ${req.headers.origin} is not in faro.allowed_origins` });
      if (allow !== undefined) reply.header('Access-Control-Allow-Origin', allow).header('Vary', 'Origin');
      return reply.code(204)
        .header('Access-Control-Allow-Methods', 'POST, OPTIONS')
        .header('Access-Control-Allow-Headers', ALLOW_HEADERS)
        .header('Access-Control-Max-Age', '600')
        .send();
    });

    scope.post(o.path, async (req: FastifyRequest, reply: FastifyReply) => {
      const allow = corsOrigin(req.headers.origin, o.allowedOrigins);
      if (allow === null) return fail(reply, new FaroError('FS_COLLECTOR_FARO_ORIGIN_FORBIDDEN', [String(req.headers.origin)]), 'origin');
      if (allow !== undefined) reply.header('Access-Control-Allow-Origin', allow).header('Vary', 'Origin');
      if (o.apiKey !== undefined && req.headers['x-api-key'] !== o.apiKey) return fail(reply, new FaroError('FS_COLLECTOR_FARO_UNAUTHORIZED', []), 'unauthorized');
      const type = String(req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      // navigator.sendBeacon posts text/plain; the fetch transport posts application/json.
      if (type !== 'application/json' && type !== 'text/plain') {
        return fail(reply, new FaroError('FS_COLLECTOR_FARO_UNSUPPORTED_MEDIA_TYPE', [`content-type ${type || '(none)'}: application/json expected`]), 'media_type');
      }
      let raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
      if (encoding === 'gzip') {
        try {
          raw = gunzipSync(raw, { maxOutputLength: o.maxBodyBytes });
        } catch (err) {
          const big = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
          return big
            ? fail(reply, new FaroError('FS_COLLECTOR_FARO_TOO_LARGE', ['more than', o.maxBodyBytes]), 'too_large')
            : fail(reply, new FaroError('FS_COLLECTOR_FARO_INVALID_PAYLOAD', ['body', `not gzip: ${(err as Error).message}`]), 'invalid');
        }
      } else if (encoding !== 'identity') {
        return fail(reply, new FaroError('FS_COLLECTOR_FARO_UNSUPPORTED_MEDIA_TYPE', [`content-encoding ${encoding}: gzip or none expected`]), 'media_type');
      }
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        return fail(reply, new FaroError('FS_COLLECTOR_FARO_INVALID_PAYLOAD', ['body', `not JSON: ${(err as Error).message}`]), 'invalid');
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) return fail(reply, new FaroError('FS_COLLECTOR_FARO_INVALID_PAYLOAD', describeIssue(parsed.error)), 'invalid');
      const appName = metrics.app.value(parsed.data.meta.app?.name);
      const records = toRecords(parsed.data, o, appName);
      if (records.length > 0 && (await sink(records)) === false) return fail(reply, new FaroError('FS_COLLECTOR_FARO_BACKPRESSURE', [5]), 'backpressure');
      count(parsed.data, appName, metrics);
      metrics.requests.inc({ code: '202' });
      return reply.code(202).send();
    });
  });
  return { metrics, registry };
}
