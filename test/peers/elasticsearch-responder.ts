// A STAND-IN for Elasticsearch, because no Elasticsearch server can be
// installed on this machine. It follows the published bulk API
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.11/docs-bulk.html):
// NDJSON action/source pairs, `index` (create or overwrite by _id, version
// counted) and `create` (409 version_conflict_engine_exception when the id
// exists), per-item results with `errors: true` when any item failed, the
// `X-Elastic-Product: Elasticsearch` header the official clients check, and
// Elasticsearch 8's refusal of `compatible-with=9` media types. Faults are
// injected per item (status + error type, e.g. 429 or a mapping error) and
// as a full outage (the port closed). Tests against a real cluster run when
// ES_URL is set (test/logs-elasticsearch-real.test.ts).
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';

export interface StoredDoc {
  readonly index: string;
  readonly source: Record<string, unknown>;
  version: number;
}

export type ItemFault = (op: string, index: string, id: string | undefined, source: Record<string, unknown>) => { status: number; type: string; reason: string } | undefined;

export interface ResponderOptions {
  /** Major version answered in GET / and enforced on compatible-with media types (default 8). */
  readonly major?: 8 | 9;
  readonly itemFault?: ItemFault;
  /** Answer each whole bulk request with this status instead (e.g. 503), while set. */
  requestStatus?: number | undefined;
}

export interface ElasticsearchResponder {
  readonly url: string;
  readonly docs: Map<string, StoredDoc>;
  /** Every (index, id) write attempt accepted, in order (a rewrite of one id appears twice). */
  readonly writes: string[];
  readonly requests: { path: string; headers: IncomingMessage['headers']; lines: number }[];
  options: ResponderOptions;
  /** A full outage: the port stops accepting (connection refused) until resume(). */
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

const esError = (type: string, reason: string, status: number): string => JSON.stringify({ error: { root_cause: [{ type, reason }], type, reason }, status });

export async function startElasticsearchResponder(options: ResponderOptions = {}, port = 0): Promise<ElasticsearchResponder> {
  const docs = new Map<string, StoredDoc>();
  const writes: string[] = [];
  const requests: ElasticsearchResponder['requests'] = [];
  let seq = 0;
  let autoId = 0;
  const sockets = new Set<Socket>();
  const state = { options };

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    res.setHeader('X-Elastic-Product', 'Elasticsearch');
    res.setHeader('Content-Type', 'application/json');
    const major = state.options.major ?? 8;
    const media = `${req.headers.accept ?? ''} ${req.headers['content-type'] ?? ''}`;
    const compat = /compatible-with=(\d+)/.exec(media);
    if (compat && Number(compat[1]) !== major && Number(compat[1]) !== major - 1) {
      res.statusCode = 400;
      res.end(esError('media_type_header_exception', `Invalid media-type value on headers [Accept, Content-Type]: compatible-with=${compat[1]} on a ${major}.x cluster`, 400));
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/') {
      res.end(JSON.stringify({ name: 'responder', cluster_name: 'responder', cluster_uuid: 'x', version: { number: major === 8 ? '8.11.0' : '9.0.0', build_flavor: 'default' }, tagline: 'You Know, for Search' }));
      return;
    }
    const m = /^\/(?:([^/]+)\/)?_bulk$/.exec(url.pathname);
    if (req.method !== 'POST' && req.method !== 'PUT') {
      res.statusCode = 405;
      res.end(esError('method_not_allowed', 'no', 405));
      return;
    }
    if (!m) {
      res.statusCode = 404;
      res.end(esError('resource_not_found_exception', `no handler for ${url.pathname}`, 404));
      return;
    }
    const lines = body.toString('utf8').split('\n').filter((l) => l.trim() !== '');
    requests.push({ path: url.pathname, headers: req.headers, lines: lines.length });
    if (state.options.requestStatus !== undefined) {
      res.statusCode = state.options.requestStatus;
      res.end(esError(state.options.requestStatus === 429 ? 'es_rejected_execution_exception' : 'unavailable_shards_exception', 'injected', state.options.requestStatus));
      return;
    }
    if (body.length > 0 && body[body.length - 1] !== 10) {
      res.statusCode = 400;
      res.end(esError('illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]', 400));
      return;
    }
    const t0 = Date.now();
    const items: unknown[] = [];
    let errors = false;
    for (let i = 0; i < lines.length; i++) {
      let action: Record<string, Record<string, unknown>>;
      try {
        action = JSON.parse(lines[i] as string) as Record<string, Record<string, unknown>>;
      } catch {
        res.statusCode = 400;
        res.end(esError('x_content_parse_exception', `[1:1] Malformed action/metadata line [${i + 1}]`, 400));
        return;
      }
      const op = Object.keys(action)[0] as string;
      const meta = action[op] ?? {};
      const index = String(meta._index ?? m[1] ?? '');
      if (op === 'delete') {
        items.push({ delete: { _index: index, _id: meta._id, status: 404, result: 'not_found' } });
        continue;
      }
      const source = JSON.parse(lines[++i] ?? '{}') as Record<string, unknown>;
      const id = typeof meta._id === 'string' ? meta._id : `auto-${autoId++}`;
      const fault = state.options.itemFault?.(op, index, typeof meta._id === 'string' ? meta._id : undefined, source);
      if (fault) {
        errors = true;
        items.push({ [op]: { _index: index, _id: id, status: fault.status, error: { type: fault.type, reason: fault.reason } } });
        continue;
      }
      const key = `${index}/${id}`;
      const existing = docs.get(key);
      if (op === 'create' && existing) {
        errors = true;
        items.push({ create: { _index: index, _id: id, status: 409, error: { type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict, document already exists (current version [${existing.version}])` } } });
        continue;
      }
      const version = (existing?.version ?? 0) + 1;
      docs.set(key, { index, source, version });
      writes.push(key);
      items.push({ [op]: { _index: index, _id: id, _version: version, result: existing ? 'updated' : 'created', _shards: { total: 2, successful: 1, failed: 0 }, _seq_no: seq++, _primary_term: 1, status: existing ? 200 : 201 } });
    }
    res.end(JSON.stringify({ took: Date.now() - t0, errors, items }));
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const listen = (p: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const bound = await listen(port);
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  return {
    url: `http://127.0.0.1:${bound}`,
    docs,
    writes,
    requests,
    get options() {
      return state.options;
    },
    set options(o: ResponderOptions) {
      state.options = o;
    },
    pause: close,
    resume: async () => {
      await listen(bound);
    },
    stop: close,
  };
}
