// The HTTP log inputs, on the collector's own fastify app:
//  - An Elasticsearch-compatible surface, so unmodified Elasticsearch clients
//    (Fluent Bit `es`, rsyslog `omelasticsearch`, Vector, Filebeat's bulk
//    path) can point at the collector: `GET /` and `HEAD /` answer like an
//    8.x cluster (with `X-Elastic-Product: Elasticsearch`, which the clients'
//    product checks require), `POST /_bulk` and `POST /{index}/_bulk` take
//    NDJSON and answer Elasticsearch-shaped per-item results
//    (https://www.elastic.co/guide/en/elasticsearch/reference/8.11/docs-bulk.html).
//  - `POST /api/v1/logs`: JSON lines, one record a line, for anything else.
// Auth: `Authorization: Bearer <site token>`, or Basic with the site token as
// password (any username). The answer comes only once the batch is durable.
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LogsError } from './errors.js';
import { registerSetupRoutes } from './es-setup.js';
import type { LogIngest } from './ingest.js';
import type { LogsMetrics } from './metrics.js';
import { type Authenticate, type LogIdentity } from './pipeline.js';
import { parseTimestampMs } from './timestamp.js';

export interface HttpLimits {
  readonly max_body_bytes: number;
  readonly max_lines: number;
  readonly max_line_bytes: number;
}

export const CLUSTER_INFO = {
  name: 'fleetscope-collector',
  cluster_name: 'fleetscope',
  cluster_uuid: 'ZmxlZXRzY29wZS1sb2dz',
  version: {
    number: '8.11.0',
    build_flavor: 'default',
    build_type: 'tar',
    build_hash: 'fleetscope',
    build_date: '2023-11-04T10:04:57.184859352Z',
    build_snapshot: false,
    lucene_version: '9.8.0',
    minimum_wire_compatibility_version: '7.17.0',
    minimum_index_compatibility_version: '7.0.0',
  },
  tagline: 'You Know, for Search',
};

function esError(type: string, reason: string, status: number): Record<string, unknown> {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}

/** The site token of a request: Bearer, or Basic's password (or username when the password is empty). */
export function tokenOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (header.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  if (header.startsWith('Basic ')) {
    const plain = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const sep = plain.indexOf(':');
    const password = sep < 0 ? '' : plain.slice(sep + 1);
    return password || (sep < 0 ? plain : plain.slice(0, sep)) || undefined;
  }
  return undefined;
}

interface Line {
  readonly n: number;
  readonly text: string;
}

/** Splits an NDJSON body into non-blank lines, within the limits. */
function splitLines(body: Buffer, limits: HttpLimits): Line[] | LogsError {
  const out: Line[] = [];
  let pos = 0;
  let n = 0;
  while (pos < body.length) {
    let end = body.indexOf(10, pos);
    if (end < 0) end = body.length;
    n++;
    if (end - pos > limits.max_line_bytes) return new LogsError('FS_COLLECTOR_LOGS_BODY_LIMIT', [`line ${n} is over ${limits.max_line_bytes} bytes`]);
    let stop = end;
    if (stop > pos && body[stop - 1] === 13) stop--;
    if (stop > pos) {
      const text = body.toString('utf8', pos, stop);
      if (text.trim() !== '') {
        if (out.length >= limits.max_lines) return new LogsError('FS_COLLECTOR_LOGS_BODY_LIMIT', [`more than ${limits.max_lines} lines`]);
        out.push({ n, text });
      }
    }
    pos = end + 1;
  }
  return out;
}

function recordTime(doc: Record<string, unknown>, now: number): { ms: number; iso: string | undefined } {
  const ts = doc['@timestamp'] ?? doc.timestamp;
  const ms = parseTimestampMs(ts);
  if (Number.isNaN(ms)) return { ms: now, iso: undefined };
  // An RFC 3339 @timestamp is kept as sent (its precision and offset); anything else Date.parse read is rewritten as RFC 3339.
  return { ms, iso: typeof ts === 'string' && doc['@timestamp'] === ts && RFC3339.test(ts) ? ts : undefined };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function registerLogRoutes(app: FastifyInstance, ingest: LogIngest, authenticate: () => Authenticate, limits: HttpLimits, metrics: LogsMetrics): void {
  let seqNo = 0;
  void app.register(async (scope) => {
    // Elasticsearch clients send NDJSON as application/json or application/x-ndjson: take every body raw.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.max_body_bytes }, (_req, body, done) => done(null, body));
    scope.addHook('onSend', async (_req, reply, payload) => {
      reply.header('X-Elastic-Product', 'Elasticsearch');
      return payload;
    });
    scope.setErrorHandler((err, req, reply) => {
      const status = (err as { statusCode?: number }).statusCode ?? 500;
      const input = req.url.startsWith('/api/v1/logs') ? 'jsonlines' : req.url.includes('/_bulk') ? 'bulk' : 'setup';
      metrics.requests.inc({ input, code: String(status) });
      const message = status === 413 ? new LogsError('FS_COLLECTOR_LOGS_BODY_LIMIT', [`body over ${limits.max_body_bytes} bytes`]).message : (err as Error).message;
      void reply.code(status).send(input !== 'jsonlines' ? esError(status === 413 ? 'content_too_long_exception' : 'parse_exception', message, status) : { code: status === 413 ? 'FS_COLLECTOR_LOGS_BODY_LIMIT' : 'FS_COLLECTOR_LOGS_JSON_LINES_SYNTAX', message });
    });

    const identify = (req: FastifyRequest): LogIdentity | undefined => {
      const token = tokenOf(req.headers.authorization);
      return token === undefined ? undefined : authenticate()(token);
    };
    const body = (req: FastifyRequest): Buffer | LogsError => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const enc = req.headers['content-encoding'];
      if (enc === undefined || enc === 'identity') return raw;
      if (enc !== 'gzip') return new LogsError('FS_COLLECTOR_LOGS_UNSUPPORTED_ENCODING', [String(enc)]);
      try {
        return gunzipSync(raw, { maxOutputLength: limits.max_body_bytes });
      } catch (err) {
        return err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE'
          ? new LogsError('FS_COLLECTOR_LOGS_BODY_LIMIT', [`gzip body decompresses past ${limits.max_body_bytes} bytes`])
          : new LogsError('FS_COLLECTOR_LOGS_BULK_SYNTAX', [0, `gzip: ${(err as Error).message}`]);
      }
    };

    // GET / (and the HEAD fastify derives from it) answers like a cluster: clients' version and product checks.
    scope.get('/', async () => CLUSTER_INFO);
    // Filebeat's and Logstash's setup calls (license, index templates, ILM policies).
    registerSetupRoutes(scope, identify, metrics);

    const bulk = async (req: FastifyRequest<{ Params: { index?: string } }>, reply: FastifyReply): Promise<unknown> => {
      const t0 = Date.now();
      const answer = (status: number, payload: unknown): unknown => {
        metrics.requests.inc({ input: 'bulk', code: String(status) });
        return reply.code(status).send(payload);
      };
      const id = identify(req);
      if (!id) {
        reply.header('WWW-Authenticate', 'Basic realm="security" charset="UTF-8"');
        return answer(401, esError('security_exception', new LogsError('FS_COLLECTOR_LOGS_UNAUTHORIZED', ['a site token is required: Authorization: Bearer <token>, or Basic with the token as password']).message, 401));
      }
      const raw = body(req);
      if (raw instanceof LogsError) return answer(raw.status, esError(raw.status === 413 ? 'content_too_long_exception' : 'parse_exception', raw.message, raw.status));
      const lines = splitLines(raw, limits);
      if (lines instanceof LogsError) return answer(lines.status, esError('content_too_long_exception', lines.message, lines.status));
      const batch = ingest.begin(id);
      const pipeline = ingest.pipeline;
      const items: Record<string, unknown>[] = [];
      let errors = false;
      const now = Date.now();
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i] as Line;
        let action: unknown;
        try {
          action = JSON.parse(line.text);
        } catch (err) {
          return answer(400, esError('x_content_parse_exception', new LogsError('FS_COLLECTOR_LOGS_BULK_SYNTAX', [line.n, `malformed action/metadata line: ${(err as Error).message}`]).message, 400));
        }
        const keys = isObject(action) ? Object.keys(action) : [];
        const op = keys[0] as string;
        if (keys.length !== 1 || !['index', 'create', 'update', 'delete'].includes(op) || !isObject((action as Record<string, unknown>)[op])) {
          return answer(400, esError('illegal_argument_exception', new LogsError('FS_COLLECTOR_LOGS_BULK_SYNTAX', [line.n, 'an action line is {"index"|"create"|"update"|"delete": {...}}']).message, 400));
        }
        const meta = (action as Record<string, Record<string, unknown>>)[op] as Record<string, unknown>;
        const clientId = typeof meta._id === 'string' ? meta._id : undefined;
        if (op === 'update' || op === 'delete') {
          if (op === 'update') i++;
          errors = true;
          items.push({ [op]: { _index: String(meta._index ?? req.params.index ?? ''), _id: clientId ?? null, status: 400, error: { type: 'action_request_validation_exception', reason: 'Validation Failed: 1: fleetscope takes index and create operations only;' } } });
          continue;
        }
        const src = lines[i + 1];
        if (src === undefined) {
          return answer(400, esError('action_request_validation_exception', new LogsError('FS_COLLECTOR_LOGS_BULK_SYNTAX', [line.n, 'an action without its source line']).message, 400));
        }
        i++;
        let doc: unknown;
        let parseError: string | undefined;
        try {
          doc = JSON.parse(src.text);
        } catch (err) {
          parseError = (err as Error).message;
        }
        if (parseError !== undefined || !isObject(doc)) {
          errors = true;
          const reason = parseError !== undefined ? `failed to parse: ${parseError}` : 'the source is not a JSON object';
          items.push({ [op]: { _index: pipeline.indexFor(id.tenant, now), _id: clientId ?? null, status: 400, error: { type: 'document_parsing_exception', reason: `[${src.n}:1] ${reason}` } } });
          continue;
        }
        const t = recordTime(doc, now);
        const before = batch.ids.length;
        const kept = pipeline.add(batch, doc, t.ms, t.iso, clientId);
        const docId = batch.ids.length > before ? (batch.ids[before] as string) : (clientId ?? null);
        items.push({ [op]: { _index: pipeline.indexFor(id.tenant, t.ms), _id: docId, _version: 1, result: kept ? 'created' : 'noop', _shards: { total: 1, successful: 1, failed: 0 }, _seq_no: seqNo++, _primary_term: 1, status: 201 } });
      }
      try {
        await ingest.commit(batch, 'bulk');
      } catch (err) {
        return answer(503, esError('fleetscope_buffer_unavailable', (err as Error).message, 503));
      }
      reply.header('Content-Type', 'application/json; charset=UTF-8');
      return answer(200, { took: Date.now() - t0, errors, items });
    };
    scope.post('/_bulk', bulk);
    scope.put('/_bulk', bulk);
    scope.post('/:index/_bulk', bulk);
    scope.put('/:index/_bulk', bulk);

    scope.post('/api/v1/logs', async (req, reply) => {
      const answer = (status: number, payload: unknown): unknown => {
        metrics.requests.inc({ input: 'jsonlines', code: String(status) });
        return reply.code(status).send(payload);
      };
      const id = identify(req);
      if (!id) return answer(401, { code: 'FS_COLLECTOR_LOGS_UNAUTHORIZED', message: new LogsError('FS_COLLECTOR_LOGS_UNAUTHORIZED', ['a site token is required: Authorization: Bearer <token>']).message });
      const raw = body(req);
      if (raw instanceof LogsError) return answer(raw.status, { code: raw.code, message: raw.message });
      const lines = splitLines(raw, limits);
      if (lines instanceof LogsError) return answer(lines.status, { code: lines.code, message: lines.message });
      // Parse all first: a bad line refuses the whole request, and nothing of it is taken.
      const docs: Record<string, unknown>[] = [];
      for (const line of lines) {
        let doc: unknown;
        try {
          doc = JSON.parse(line.text);
        } catch (err) {
          const e = new LogsError('FS_COLLECTOR_LOGS_JSON_LINES_SYNTAX', [line.n, (err as Error).message]);
          return answer(400, { code: e.code, message: e.message });
        }
        if (!isObject(doc)) {
          const e = new LogsError('FS_COLLECTOR_LOGS_JSON_LINES_SYNTAX', [line.n, 'not a JSON object']);
          return answer(400, { code: e.code, message: e.message });
        }
        docs.push(doc);
      }
      const batch = ingest.begin(id);
      // The sender's id of this batch, repeated on its resend (the agent's shipper sends one): the records' ids follow it.
      const batchId = req.headers['x-fleetscope-batch-id'];
      if (typeof batchId === 'string' && batchId !== '') ingest.pipeline.keyBatch(batch, { kind: 'request', key: batchId });
      const now = Date.now();
      let accepted = 0;
      for (const doc of docs) {
        const t = recordTime(doc, now);
        if (ingest.pipeline.add(batch, doc, t.ms, t.iso, undefined)) accepted++;
      }
      try {
        await ingest.commit(batch, 'jsonlines');
      } catch (err) {
        const e = err as LogsError;
        return answer(503, { code: e.code ?? 'FS_COLLECTOR_LOGS_BUFFER_UNAVAILABLE', message: e.message });
      }
      return answer(200, { accepted, dropped: docs.length - accepted });
    });
  });
}
