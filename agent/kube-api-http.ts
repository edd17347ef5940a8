// The KubeApi of kube.ts on node:http(s), for the cluster configurations
// loadClusterAccess (kube-sd-http.ts) handles: the in-cluster service
// account, or a kubeconfig with a token, a token file or a client
// certificate. Why not @kubernetes/client-node: loading it costs ~85 MB of
// resident memory, which put an agent over its 100 MB budget after its first
// upgrade; what the agent uses is four requests.
//
// The requests, per the published API (api-concepts, server-side-apply):
//   - where a kind lives: API discovery, GET /api/v1 or /apis/{group}/{version}
//     → APIResourceList resources[] {name, kind, namespaced} (subresources,
//     "x/y", skipped); cached per group/version and fetched again when a kind
//     is missing (a CRD that was just established). As the official client
//     does: a group/version the server does not serve is its 404 (read → null,
//     delete → done, apply → permanent); a kind missing from a served one is
//     a plain Error (transient: its CRD may be about to be established);
//   - apply: PATCH …/{plural}/{name}?fieldManager=…&force=true|false with
//     Content-Type application/apply-patch+yaml (the body is JSON, which is
//     YAML); metadata.resourceVersion in the body is a precondition (409);
//   - read: GET, 404 → null; delete: DELETE with a DeleteOptions body
//     {propagationPolicy: Background}, 404 → done.
// A non-2xx answer throws KubeHttpError {code, body}: the shape
// classifyApiError recognises (the same as the official client's
// ApiException), so 429/5xx are transient, other 4xx permanent, and 409
// conflicts reach the reboot lock as `code === 409`. No answer at all
// (connection refused, reset, timeout) is a plain Error: transient.
import { type IncomingMessage, Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { KubeApi } from './kube.js';
import type { ClusterAccess } from './kube-sd-http.js';
import type { KubeObject, ObjectRef } from './manifests.js';

const REQUEST_TIMEOUT_MS = 30_000;
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const DEFAULT_NAMESPACE = 'default';

/** A non-2xx answer of the API server; `body` is the response text (usually a Status). */
export class KubeHttpError extends Error {
  constructor(readonly code: number, readonly body: string, what: string) {
    let message = body.slice(0, 300);
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? message;
    } catch {
      // not a Status body
    }
    super(`${what}: HTTP ${code}: ${message}`);
    this.name = 'KubeHttpError';
  }
}

interface ResourceInfo {
  readonly plural: string;
  readonly namespaced: boolean;
}

export interface HttpKubeApiOptions {
  readonly timeoutMs?: number;
  /** Prepared for the managed label etc. by kube.ts; see kubeApiFrom. */
  readonly prepare: (o: KubeObject, resourceVersion: string | undefined) => KubeObject;
  readonly fieldManager: string;
}

export interface HttpKubeApi extends KubeApi {
  /** Discovery requests made (each group/version fetch), for tests. */
  readonly discoveries: () => number;
}

export function httpKubeApi(access: ClusterAccess, opts: HttpKubeApiOptions): HttpKubeApi {
  const https = access.server.startsWith('https:');
  const agent = https
    ? new HttpsAgent({ keepAlive: true, maxSockets: 8, ...(access.ca ? { ca: access.ca } : {}), ...(access.cert ? { cert: access.cert } : {}), ...(access.key ? { key: access.key } : {}), rejectUnauthorized: !access.insecure })
    : new HttpAgent({ keepAlive: true, maxSockets: 8 });
  const timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;

  const call = (method: string, path: string, body?: { type: string; text: string }): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const url = new URL(`${access.server}${path}`);
      const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'fleetscope-agent/0.1.0 (upgrades)' };
      const token = access.token?.();
      if (token) headers.Authorization = `Bearer ${token}`;
      if (body !== undefined) {
        headers['Content-Type'] = body.type;
        headers['Content-Length'] = String(Buffer.byteLength(body.text));
      }
      const req = (https ? httpsRequest : httpRequest)(url, { method, headers, agent });
      const what = `${method} ${url.pathname}`;
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${what}: no answer within ${timeoutMs} ms (${access.source})`)));
      req.on('error', (err) => reject(new Error(`${what}: ${err.message} (${access.source})`, { cause: err })));
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            res.destroy();
            req.destroy(new Error(`${what}: response over ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', (err) => reject(new Error(`${what}: ${err.message}`, { cause: err })));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.end(body?.text);
    });

  const ok = async (method: string, path: string, body?: { type: string; text: string }): Promise<unknown> => {
    const r = await call(method, path, body);
    if (r.status < 200 || r.status > 299) throw new KubeHttpError(r.status, r.text, `${method} ${path}`);
    try {
      return JSON.parse(r.text) as unknown;
    } catch {
      throw new Error(`${method} ${path}: answer is not JSON: ${r.text.slice(0, 200)}`);
    }
  };

  // group/version → kind → resource; a group/version fetched again when a kind is missing.
  const cache = new Map<string, Map<string, ResourceInfo>>();
  let discoveries = 0;
  const discover = async (apiVersion: string): Promise<Map<string, ResourceInfo>> => {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    discoveries++;
    const r = await call('GET', path);
    // As the official client: a group/version not served (404) is an API error, so a read of
    // its objects is null and a delete done (the CRD is gone), while an apply fails (permanent).
    if (r.status < 200 || r.status > 299) throw new KubeHttpError(r.status, r.text, `GET ${path}`);
    const list = JSON.parse(r.text) as { resources?: { name?: unknown; kind?: unknown; namespaced?: unknown }[] };
    const kinds = new Map<string, ResourceInfo>();
    for (const res of list.resources ?? []) {
      if (typeof res.name !== 'string' || typeof res.kind !== 'string' || res.name.includes('/')) continue;
      kinds.set(res.kind, { plural: res.name, namespaced: res.namespaced === true });
    }
    cache.set(apiVersion, kinds);
    return kinds;
  };
  const resource = async (apiVersion: string, kind: string): Promise<ResourceInfo> => {
    if (typeof apiVersion !== 'string' || apiVersion === '' || typeof kind !== 'string' || kind === '') throw new Error(`an object needs apiVersion and kind (got ${JSON.stringify(apiVersion)}, ${JSON.stringify(kind)})`);
    let info = cache.get(apiVersion)?.get(kind);
    if (info === undefined) info = (await discover(apiVersion)).get(kind);
    if (info === undefined) throw new Error(`Unrecognized API version and kind: ${apiVersion} ${kind} (not in GET ${apiVersion.includes('/') ? '/apis' : '/api'}/${apiVersion})`);
    return info;
  };
  const pathOf = async (ref: ObjectRef): Promise<string> => {
    const info = await resource(ref.apiVersion, ref.kind);
    const base = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    const ns = info.namespaced ? `/namespaces/${encodeURIComponent(ref.namespace ?? DEFAULT_NAMESPACE)}` : '';
    if (typeof ref.name !== 'string' || ref.name === '') throw new Error(`${ref.apiVersion} ${ref.kind}: metadata.name is required`);
    return `${base}${ns}/${info.plural}/${encodeURIComponent(ref.name)}`;
  };
  const refOf = (o: KubeObject): ObjectRef => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata?.name, ...(o.metadata?.namespace !== undefined ? { namespace: o.metadata.namespace } : {}) }) as ObjectRef;

  const applyWith: KubeApi['applyWith'] = async (o, a) => {
    const spec = opts.prepare(o, a.resourceVersion);
    const q = new URLSearchParams({ fieldManager: a.fieldManager, force: String(a.force) });
    return (await ok('PATCH', `${await pathOf(refOf(spec))}?${q.toString()}`, { type: 'application/apply-patch+yaml', text: JSON.stringify(spec) })) as KubeObject;
  };
  return {
    apply: (o) => applyWith(o, { fieldManager: opts.fieldManager, force: true }),
    applyWith,
    async read(ref) {
      let path: string;
      try {
        path = await pathOf(ref);
      } catch (err) {
        if (err instanceof KubeHttpError && err.code === 404) return null;
        throw err;
      }
      const r = await call('GET', path);
      if (r.status === 404) return null;
      if (r.status < 200 || r.status > 299) throw new KubeHttpError(r.status, r.text, `GET ${path}`);
      return JSON.parse(r.text) as KubeObject;
    },
    async delete(ref) {
      let path: string;
      try {
        path = await pathOf(ref);
      } catch (err) {
        if (err instanceof KubeHttpError && err.code === 404) return;
        throw err;
      }
      const r = await call('DELETE', path, { type: 'application/json', text: JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' }) });
      if (r.status === 404) return;
      if (r.status < 200 || r.status > 299) throw new KubeHttpError(r.status, r.text, `DELETE ${path}`);
    },
    discoveries: () => discoveries,
  };
}
