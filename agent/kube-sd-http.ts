// A light ListWatchClient (kube-sd-watch.ts) on node:http(s), for the
// cluster configurations most agents have: in a pod, the service account
// (token re-read from its file, as bound tokens rotate; the CA next to it);
// otherwise a kubeconfig whose user has a token, a token file or a client
// certificate. Why not @kubernetes/client-node here: loading it costs ~85 MB
// of resident memory (measured: 41 → 125 MB), which would put an agent that
// discovers its targets far over its 100 MB budget; list + watch is two GET
// requests. A kubeconfig with an exec or auth-provider plugin (cloud
// credentials) is not handled here: loadClusterAccess returns null and the
// caller uses the @kubernetes/client-node client (kube-sd-client.ts).
//
// The requests are what client-go's reflector sends (api-concepts "Efficient
// detection of changes"): LIST ?limit=500[&continue], WATCH
// ?watch=true&resourceVersion=…&allowWatchBookmarks=true&timeoutSeconds=…,
// the watch read as newline-delimited JSON events.
import { readFileSync } from 'node:fs';
import { type ClientRequest, type IncomingMessage, Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import yaml from 'js-yaml';
import type { ListPage, ListWatchClient, ResourceSpec, WatchEvent } from './kube-sd-watch.js';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const LIST_TIMEOUT_MS = 30_000;
const MAX_LIST_BYTES = 64 * 1024 * 1024;
const MAX_EVENT_BYTES = 8 * 1024 * 1024;

export interface ClusterAccess {
  readonly server: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** The bearer token, read when a request is made. */
  readonly token?: () => string;
  readonly insecure: boolean;
  /** Where it came from, for messages. */
  readonly source: string;
}

interface KubeconfigDoc {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  clusters?: { name: string; cluster: { server: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string; 'insecure-skip-tls-verify'?: boolean } }[];
  users?: { name: string; user: Record<string, unknown> }[];
}

/** The cluster to talk to, or null when only @kubernetes/client-node can authenticate (exec / auth-provider plugins, basic auth). */
export function loadClusterAccess(kubeconfig: string | undefined, env: NodeJS.ProcessEnv = process.env): ClusterAccess | null {
  if (kubeconfig === undefined && env.KUBERNETES_SERVICE_HOST) {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT ?? '443';
    return {
      server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
      ca: readFileSync(join(SA_DIR, 'ca.crt')),
      token: () => readFileSync(join(SA_DIR, 'token'), 'utf8').trim(),
      insecure: false,
      source: 'in-cluster service account',
    };
  }
  const file = kubeconfig ?? env.KUBECONFIG?.split(':').find((p) => p !== '') ?? join(homedir(), '.kube', 'config');
  const doc = yaml.load(readFileSync(file, 'utf8')) as KubeconfigDoc;
  const ctxName = doc['current-context'];
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  if (ctx === undefined) throw new Error(`${file}: no current-context`);
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  const user = doc.users?.find((u) => u.name === ctx.user)?.user ?? {};
  if (cluster === undefined) throw new Error(`${file}: cluster ${ctx.cluster} not found`);
  if (user.exec !== undefined || user['auth-provider'] !== undefined || user.username !== undefined) return null;
  const rel = (p: string): string => (isAbsolute(p) ? p : join(dirname(file), p));
  const data = (inline: unknown, path: unknown): Buffer | undefined =>
    typeof inline === 'string' ? Buffer.from(inline, 'base64') : typeof path === 'string' ? readFileSync(rel(path)) : undefined;
  const ca = data(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = data(user['client-certificate-data'], user['client-certificate']);
  const key = data(user['client-key-data'], user['client-key']);
  const tokenFile = typeof user.tokenFile === 'string' ? rel(user.tokenFile) : undefined;
  const token = typeof user.token === 'string' ? user.token : undefined;
  return {
    server: cluster.server.replace(/\/+$/, ''),
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(token !== undefined ? { token: () => token } : tokenFile !== undefined ? { token: () => readFileSync(tokenFile, 'utf8').trim() } : {}),
    insecure: cluster['insecure-skip-tls-verify'] === true,
    source: file,
  };
}

class ApiError extends Error {
  constructor(message: string, readonly statusCode: number) {
    super(message);
  }
}

export function httpListWatchClient(access: ClusterAccess): ListWatchClient {
  const https = access.server.startsWith('https:');
  const agent = https
    ? new HttpsAgent({ keepAlive: true, maxSockets: 16, ...(access.ca ? { ca: access.ca } : {}), ...(access.cert ? { cert: access.cert } : {}), ...(access.key ? { key: access.key } : {}), rejectUnauthorized: !access.insecure })
    : new HttpAgent({ keepAlive: true, maxSockets: 16 });
  const path = (spec: ResourceSpec): string => (spec.namespace === undefined ? `/api/v1/${spec.plural}` : `/api/v1/namespaces/${encodeURIComponent(spec.namespace)}/${spec.plural}`);
  const open = (url: URL, signal: AbortSignal): { req: ClientRequest; response: Promise<IncomingMessage> } => {
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'fleetscope-agent/0.1.0 (discovery)' };
    const token = access.token?.();
    if (token) headers.Authorization = `Bearer ${token}`;
    const req = (https ? httpsRequest : httpRequest)(url, { method: 'GET', headers, agent });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', (res) => {
        // Errors after an abort are expected; the reader sees them through the iterator.
        res.on('error', () => undefined);
        resolve(res);
      });
      req.on('error', reject);
      // Destroyed (aborted, timed out) before an answer: settle, or the caller waits forever.
      req.on('close', () => reject(new Error(`GET ${url.pathname}: closed before an answer${signal.aborted ? ' (aborted or timed out)' : ''}`)));
    });
    // Destroyed without an error: nothing left to emit one to after the reader stopped.
    const onAbort = (): void => void req.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => signal.removeEventListener('abort', onAbort));
    req.end();
    return { req, response };
  };
  const query = (spec: ResourceSpec, extra: Record<string, string>): URL => {
    const u = new URL(`${access.server}${path(spec)}`);
    for (const [k, v] of Object.entries(extra)) u.searchParams.set(k, v);
    if (spec.labelSelector) u.searchParams.set('labelSelector', spec.labelSelector);
    if (spec.fieldSelector) u.searchParams.set('fieldSelector', spec.fieldSelector);
    return u;
  };
  const failure = async (res: IncomingMessage): Promise<ApiError> => {
    let text = '';
    for await (const c of res) {
      text += (c as Buffer).toString();
      if (text.length > 4096) break;
    }
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not a Status body
    }
    return new ApiError(`HTTP ${res.statusCode}: ${message}`, res.statusCode ?? 0);
  };
  return {
    async list(spec, continueToken, signal): Promise<ListPage> {
      const timeout = AbortSignal.any([signal, AbortSignal.timeout(LIST_TIMEOUT_MS)]);
      const { response } = open(query(spec, { limit: '500', ...(continueToken ? { continue: continueToken } : {}) }), timeout);
      const res = await response;
      if (res.statusCode !== 200) throw await failure(res);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of res) {
        size += (c as Buffer).length;
        if (size > MAX_LIST_BYTES) throw new Error(`list ${spec.plural}: response over ${MAX_LIST_BYTES} bytes`);
        chunks.push(c as Buffer);
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { metadata?: { resourceVersion?: string; continue?: string }; items?: ListPage['items'] };
      const token = body.metadata?.continue;
      return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? '', ...(token ? { continueToken: token } : {}) };
    },
    async watch(spec, resourceVersion, onEvent, signal): Promise<void> {
      const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
      const { req, response } = open(query(spec, { watch: 'true', resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) }), signal);
      let res: IncomingMessage;
      try {
        res = await response;
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      }
      if (res.statusCode !== 200) throw await failure(res);
      // No byte for this long (the server's timeout, plus bookmarks every minute or so): the connection is dead.
      let idle: NodeJS.Timeout | undefined;
      const arm = (): void => {
        clearTimeout(idle);
        idle = setTimeout(() => req.destroy(new Error(`watch ${spec.plural}: nothing received for ${timeoutSeconds + 60} s`)), (timeoutSeconds + 60) * 1000);
        idle.unref();
      };
      arm();
      let pending = '';
      try {
        for await (const c of res) {
          arm();
          pending += (c as Buffer).toString('utf8');
          if (pending.length > MAX_EVENT_BYTES) throw new Error(`watch ${spec.plural}: an event over ${MAX_EVENT_BYTES} bytes`);
          let nl = pending.indexOf('\n');
          while (nl >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (line !== '') onEvent(JSON.parse(line) as WatchEvent);
            if (signal.aborted) return;
            nl = pending.indexOf('\n');
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      } finally {
        clearTimeout(idle);
      }
    },
  };
}
