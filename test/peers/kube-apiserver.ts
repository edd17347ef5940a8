// An in-test Kubernetes API server: no real one can be installed here, so
// this implements what the agent uses of the API, per the published spec
// (https://kubernetes.io/docs/reference/using-api/server-side-apply/,
// api-concepts), over real HTTP for the real @kubernetes/client-node:
//   - discovery: GET /api/v1, GET /apis/{group}/{version} (APIResourceList),
//     including the kinds of CustomResourceDefinitions once Established;
//   - server-side apply: PATCH with Content-Type application/apply-patch+yaml,
//     fieldManager required, force; field ownership per manager; a field
//     owned by another manager with a different value is a 409 Conflict
//     (Status reason Conflict, causes FieldManagerConflict) unless force,
//     which takes it over; fields a manager stops applying are removed when
//     no one else owns them; metadata.generation bumps when anything outside
//     metadata/status changes; resourceVersion, uid, creationTimestamp,
//     managedFields (operation Apply, FieldsV1);
//   - status subresource: .../status GET, PUT, and merge-patch
//     (application/merge-patch+json); an apply to the main resource does
//     not change status;
//   - metadata.resourceVersion in an apply is a precondition (409 Conflict);
//   - GET, LIST (labelSelector: =, ==, !=, exists, !exists, in, notin;
//     fieldSelector: =, ==, != on dotted paths; limit + continue), DELETE
//     with Status bodies; a namespaced object in a missing Namespace is 404,
//     as the real server answers; bearer-token authentication (401 otherwise);
//   - WATCH (?watch=true, api-concepts "Efficient detection of changes"):
//     newline-delimited {type, object} events ADDED / MODIFIED / DELETED from
//     the resourceVersion given (none or "0": the current state as ADDED
//     first), filtered by namespace and selectors (an object that stops
//     matching arrives as DELETED, one that starts as ADDED), BOOKMARK events
//     with allowWatchBookmarks, timeoutSeconds ends the stream, and a
//     resourceVersion older than the retained history is answered with an
//     ERROR event carrying a 410 Expired Status ("too old resource
//     version"), as the real server's watch cache does; `compact()` drops
//     the history, `pause()`/`resume()` take the server away and back on the
//     same port (a restart).
// Simplifications, said plainly: lists are atomic (no merge keys), no
// admission/defaulting/validation beyond names, deletion is immediate (no
// finalizers), Endpoints are written by the test (no endpoints controller). A small "controller manager" stands in for
// kube-controller-manager: it makes CRDs Established, Namespaces Active, and
// Deployments/DaemonSets/Jobs ready after readyAfterMs unless the test's
// `broken(obj)` says the workload can never become ready.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';

type Obj = Record<string, unknown> & { apiVersion: string; kind: string; metadata: Record<string, unknown> & { name: string; namespace?: string } };

interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly hasStatus: boolean;
}

interface Stored {
  obj: Obj;
  /** Field paths (".spec.replicas") owned, per manager. */
  owners: Map<string, Set<string>>;
}

export interface KubeRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly query: Readonly<Record<string, string>>;
  readonly status: number;
  /** The client's User-Agent (which client sent it). */
  readonly userAgent: string | undefined;
}

export interface FakeKubeOptions {
  /** Delay before the controller manager marks a workload ready (default 50 ms). */
  readonly readyAfterMs?: number;
  /** A workload for which this is true never becomes ready (an image that cannot be pulled, a crash loop). */
  readonly broken?: (o: Obj) => boolean;
  /** How often a watch with allowWatchBookmarks gets a BOOKMARK (default 1 s). */
  readonly bookmarkMs?: number;
}

export interface FakeKube {
  readonly url: string;
  readonly token: string;
  /** A kubeconfig file pointing at this server. */
  readonly kubeconfig: string;
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): Obj | undefined;
  list(kind?: string): Obj[];
  /** Owners of the object's fields, manager → paths. */
  owners(apiVersion: string, kind: string, namespace: string | undefined, name: string): Record<string, string[]>;
  /** The next n requests are answered 503 (an API server outage). */
  failNext(n: number, status?: number): void;
  /** Creates or replaces an object as a controller or kubelet would (no field ownership), emitting ADDED / MODIFIED. */
  put(obj: Obj): Obj;
  /** Deletes an object, emitting DELETED; false when it did not exist. */
  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): boolean;
  /** Forgets the event history: a watch from any earlier resourceVersion gets 410 Expired. */
  compact(): void;
  /** The API server goes away (listener closed, every connection and watch cut) … */
  pause(): Promise<void>;
  /** … and comes back on the same port with the same state. */
  resume(): Promise<void>;
  /** Watches open now. */
  readonly openWatches: number;
  readonly requests: KubeRequest[];
  stop(): Promise<void>;
}

const BUILTIN: ResourceType[] = [
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false, hasStatus: true },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true, hasStatus: false },
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true, hasStatus: false },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true, hasStatus: true },
  { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, hasStatus: false },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, hasStatus: true },
  { group: '', version: 'v1', plural: 'endpoints', kind: 'Endpoints', namespaced: true, hasStatus: false },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true, hasStatus: true },
  { group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet', namespaced: true, hasStatus: true },
  { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true, hasStatus: true },
  { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true, hasStatus: true },
  { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false, hasStatus: true },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true, hasStatus: false },
];

const gv = (t: { group: string; version: string }): string => (t.group === '' ? t.version : `${t.group}/${t.version}`);

function status(code: number, reason: string, message: string, details?: unknown): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Field paths join keys with SEP, not ".": label and annotation keys hold dots and slashes.
const SEP = '\u0001';
const show = (path: string): string => path.split(SEP).join('.');
const P = (...keys: string[]): string => keys.map((k) => SEP + k).join('');

/** Leaf paths of a config: objects recurse, everything else (arrays included) is a leaf. */
function leaves(v: unknown, prefix: string, out: Map<string, unknown>): void {
  if (isObject(v) && Object.keys(v).length > 0) {
    for (const [k, x] of Object.entries(v)) leaves(x, `${prefix}${SEP}${k}`, out);
  } else out.set(prefix, v);
}

function getPath(o: unknown, path: string): unknown {
  let cur: unknown = o;
  for (const k of path.slice(1).split(SEP)) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function setPath(o: Record<string, unknown>, path: string, v: unknown): void {
  const keys = path.slice(1).split(SEP);
  let cur = o;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(cur[k])) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1] as string] = structuredClone(v);
}

function deletePath(o: Record<string, unknown>, path: string): void {
  const keys = path.slice(1).split(SEP);
  const stack: Record<string, unknown>[] = [o];
  let cur = o;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(cur[k])) return;
    cur = cur[k] as Record<string, unknown>;
    stack.push(cur);
  }
  delete cur[keys[keys.length - 1] as string];
  // Empty parents go too.
  for (let i = stack.length - 1; i > 0; i--) {
    if (Object.keys(stack[i] as object).length === 0) delete (stack[i - 1] as Record<string, unknown>)[keys[i - 1] as string];
  }
}

function fieldsV1(paths: Iterable<string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const p of paths) {
    let cur = root;
    for (const k of p.slice(1).split(SEP)) {
      const key = `f:${k}`;
      if (!isObject(cur[key])) cur[key] = {};
      cur = cur[key] as Record<string, unknown>;
    }
  }
  return root;
}

const SERVER_FIELDS = new Set(['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields'].map((f) => P('metadata', f)));

function specOf(o: Obj): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}

/** Splits a selector on commas outside parentheses. */
function selectorTerms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

/** A label selector (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors). */
function matchesSelector(o: Obj, selector: string | undefined): boolean {
  if (!selector) return true;
  const labels = (o.metadata.labels ?? {}) as Record<string, string>;
  return selectorTerms(selector).every((term) => {
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m !== null) {
      const values = (m[3] as string).split(',').map((v) => v.trim());
      const has = Object.hasOwn(labels, m[1] as string) && values.includes(labels[m[1] as string] as string);
      return m[2] === 'in' ? has : !has;
    }
    m = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m !== null) {
      const v = labels[m[1] as string];
      return m[2] === '!=' ? v !== m[3] : v === m[3];
    }
    if (term.startsWith('!')) return !Object.hasOwn(labels, term.slice(1));
    return Object.hasOwn(labels, term);
  });
}

/** A field selector: dotted paths with =, == or != (metadata.name, spec.nodeName, status.phase, …). */
function matchesFieldSelector(o: Obj, selector: string | undefined): boolean {
  if (!selector) return true;
  return selectorTerms(selector).every((term) => {
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(term);
    if (m === null) return false;
    let cur: unknown = o;
    for (const k of (m[1] as string).split('.')) cur = isObject(cur) ? cur[k] : undefined;
    const v = cur === undefined || cur === null ? '' : String(cur);
    return m[2] === '!=' ? v !== m[3] : v === m[3];
  });
}

interface WatchEventRecord {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly obj: Obj;
  /** The object before (MODIFIED), to turn selector transitions into ADDED / DELETED. */
  readonly prev: Obj | undefined;
}

interface Watcher {
  readonly t: ResourceType;
  readonly ns: string | undefined;
  readonly labelSelector: string | undefined;
  readonly fieldSelector: string | undefined;
  readonly res: ServerResponse;
}

export async function startFakeKube(opts: FakeKubeOptions = {}): Promise<FakeKube> {
  const token = `test-${randomUUID()}`;
  const types: ResourceType[] = [...BUILTIN];
  const store = new Map<string, Stored>();
  const requests: KubeRequest[] = [];
  let rv = 1000;
  let failures = 0;
  let failStatus = 503;
  const timers = new Set<NodeJS.Timeout>();
  const readyAfter = opts.readyAfterMs ?? 50;
  // Watch history (the watch cache): events newer than `compactedRv`.
  const history: WatchEventRecord[] = [];
  let compactedRv = 0;
  const watchers = new Set<Watcher>();
  const bookmarkMs = opts.bookmarkMs ?? 1000;
  const matches = (w: Watcher, o: Obj | undefined): boolean =>
    o !== undefined && o.kind === w.t.kind && o.apiVersion === gv(w.t) && (w.ns === undefined || o.metadata.namespace === w.ns) && matchesSelector(o, w.labelSelector) && matchesFieldSelector(o, w.fieldSelector);
  /** The event a watcher sees for a change, or null. */
  const viewOf = (w: Watcher, e: WatchEventRecord): { type: string; object: Obj } | null => {
    const now = e.type !== 'DELETED' && matches(w, e.obj);
    const before = e.type === 'MODIFIED' ? matches(w, e.prev) : e.type === 'DELETED' && matches(w, e.obj);
    if (e.type === 'DELETED') return before ? { type: 'DELETED', object: e.obj } : null;
    if (now && before) return { type: 'MODIFIED', object: e.obj };
    if (now) return { type: 'ADDED', object: e.obj };
    if (before) return { type: 'DELETED', object: e.obj };
    return null;
  };
  const writeEvent = (w: Watcher, ev: { type: string; object: unknown }): void => {
    w.res.write(`${JSON.stringify(ev)}\n`);
  };
  const emit = (type: WatchEventRecord['type'], obj: Obj, prev?: Obj): void => {
    const e: WatchEventRecord = { rv: Number(obj.metadata.resourceVersion), type, obj: structuredClone(obj), prev: prev === undefined ? undefined : structuredClone(prev) };
    history.push(e);
    if (history.length > 5000) compactedRv = (history.shift() as WatchEventRecord).rv;
    for (const w of watchers) {
      const v = viewOf(w, e);
      if (v !== null) writeEvent(w, v);
    }
  };

  // What every cluster has.
  for (const name of ['default', 'kube-system']) {
    store.set(`v1/Namespace//${name}`, { obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: randomUUID(), resourceVersion: String(++rv), generation: 1 }, status: { phase: 'Active' } }, owners: new Map() });
  }
  const keyOf = (t: ResourceType, ns: string | undefined, name: string): string => `${gv(t)}/${t.kind}/${ns ?? ''}/${name}`;

  const controller = (t: ResourceType, ns: string | undefined, name: string): void => {
    const run = (): void => {
      const s = store.get(keyOf(t, ns, name));
      if (!s) return;
      const o = s.obj;
      const prev = structuredClone(o);
      const gen = o.metadata.generation as number;
      const spec = (o.spec ?? {}) as Record<string, unknown>;
      const broken = opts.broken?.(o) ?? false;
      switch (t.kind) {
        case 'CustomResourceDefinition': {
          o.status = { conditions: [{ type: 'NamesAccepted', status: 'True' }, { type: 'Established', status: 'True' }], acceptedNames: (spec.names ?? {}) as object };
          const names = spec.names as { plural: string; kind: string };
          for (const v of (spec.versions ?? []) as { name: string; served?: boolean }[]) {
            if (!types.some((x) => x.group === spec.group && x.version === v.name && x.kind === names.kind)) {
              types.push({ group: spec.group as string, version: v.name, plural: names.plural, kind: names.kind, namespaced: spec.scope !== 'Cluster', hasStatus: false });
            }
          }
          break;
        }
        case 'Namespace':
          o.status = { phase: 'Active' };
          break;
        case 'Deployment': {
          const n = typeof spec.replicas === 'number' ? spec.replicas : 1;
          o.status = broken
            ? { observedGeneration: gen, replicas: n, updatedReplicas: n, readyReplicas: 0, availableReplicas: 0, unavailableReplicas: n, conditions: [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' }] }
            : { observedGeneration: gen, replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n, conditions: [{ type: 'Available', status: 'True' }] };
          break;
        }
        case 'DaemonSet':
          o.status = { observedGeneration: gen, desiredNumberScheduled: 1, currentNumberScheduled: 1, updatedNumberScheduled: 1, numberReady: broken ? 0 : 1, numberAvailable: broken ? 0 : 1 };
          break;
        case 'StatefulSet': {
          const n = typeof spec.replicas === 'number' ? spec.replicas : 1;
          o.status = { observedGeneration: gen, replicas: n, readyReplicas: broken ? 0 : n, updatedReplicas: n, currentRevision: 'r1', updateRevision: 'r1' };
          break;
        }
        case 'Job':
          o.status = broken ? { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] } : { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] };
          break;
        default:
          return;
      }
      o.metadata.resourceVersion = String(++rv);
      emit('MODIFIED', o, prev);
    };
    const t0 = setTimeout(() => {
      timers.delete(t0);
      run();
    }, t.kind === 'CustomResourceDefinition' || t.kind === 'Namespace' ? 0 : readyAfter);
    timers.add(t0);
  };

  const send = (res: ServerResponse, code: number, body: unknown): void => {
    res.writeHead(code, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };

  const readBody = async (req: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 3 * 1024 * 1024) throw new Error('request entity too large');
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.headers.authorization !== `Bearer ${token}`) {
      send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return 401;
    }
    if (failures > 0) {
      failures--;
      send(res, failStatus, status(failStatus, 'ServiceUnavailable', 'the server is currently unable to handle the request'));
      return failStatus;
    }
    const parts = url.pathname.split('/').filter(Boolean);
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts.length >= 2) {
      group = '';
      version = parts[1] as string;
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 3) {
      group = parts[1] as string;
      version = parts[2] as string;
      rest = parts.slice(3);
    } else {
      send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return 404;
    }
    const groupTypes = types.filter((t) => t.group === group && t.version === version);
    if (rest.length === 0 && req.method === 'GET') {
      if (groupTypes.length === 0) {
        send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
        return 404;
      }
      const resources = groupTypes.flatMap((t) => [
        { name: t.plural, singularName: t.kind.toLowerCase(), namespaced: t.namespaced, kind: t.kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
        ...(t.hasStatus ? [{ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] }] : []),
      ]);
      send(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv({ group, version }), resources });
      return 200;
    }
    let ns: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const [plural, name, sub] = rest;
    const t = groupTypes.find((x) => x.plural === plural);
    if (t === undefined || (ns !== undefined && !t.namespaced) || (sub !== undefined && (sub !== 'status' || !t.hasStatus))) {
      send(res, 404, status(404, 'NotFound', `the server could not find the requested resource (${req.method} ${url.pathname})`));
      return 404;
    }
    const notFound = (): number => {
      send(res, 404, status(404, 'NotFound', `${t.plural}${t.group ? `.${t.group}` : ''} "${name}" not found`, { name, group: t.group, kind: t.plural }));
      return 404;
    };
    if (name === undefined) {
      if (req.method !== 'GET') {
        send(res, 405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
        return 405;
      }
      const w: Watcher = { t, ns, labelSelector: url.searchParams.get('labelSelector') ?? undefined, fieldSelector: url.searchParams.get('fieldSelector') ?? undefined, res };
      const q = url.searchParams.get('watch');
      if (q === 'true' || q === '1') return watch(w, url.searchParams);
      const all = [...store.values()].map((s) => s.obj).filter((o) => matches(w, o)).sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
      // Paging: the continue token is the offset and the list's resourceVersion.
      const limit = Number(url.searchParams.get('limit') ?? 0);
      let from = 0;
      let listRv = String(rv);
      const cont = url.searchParams.get('continue');
      if (cont) {
        const [off, at] = Buffer.from(cont, 'base64url').toString().split(':');
        from = Number(off);
        listRv = at ?? listRv;
        if (Number(listRv) <= compactedRv) {
          send(res, 410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.'));
          return 410;
        }
      }
      const items = limit > 0 ? all.slice(from, from + limit) : all.slice(from);
      const next = limit > 0 && from + limit < all.length ? Buffer.from(`${from + limit}:${listRv}`).toString('base64url') : undefined;
      send(res, 200, { kind: `${t.kind}List`, apiVersion: gv(t), metadata: { resourceVersion: listRv, ...(next ? { continue: next } : {}) }, items });
      return 200;
    }
    if (t.namespaced && ns === undefined) return notFound();
    const key = keyOf(t, ns, name);
    const live = store.get(key);
    if (req.method === 'GET') {
      if (!live) return notFound();
      send(res, 200, live.obj);
      return 200;
    }
    if (req.method === 'DELETE') {
      if (!live) return notFound();
      store.delete(key);
      live.obj.metadata.resourceVersion = String(++rv);
      emit('DELETED', live.obj);
      if (t.kind === 'Namespace') {
        for (const [k, s] of store) {
          if (s.obj.metadata.namespace !== name) continue;
          store.delete(k);
          s.obj.metadata.resourceVersion = String(++rv);
          emit('DELETED', s.obj);
        }
      }
      send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: t.group, kind: t.plural, uid: live.obj.metadata.uid } });
      return 200;
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
    const text = await readBody(req);
    if (sub === 'status') {
      if (!live) return notFound();
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch (err) {
        send(res, 400, status(400, 'BadRequest', (err as Error).message));
        return 400;
      }
      const prev = structuredClone(live.obj);
      if (req.method === 'PUT') live.obj.status = body.status;
      else if (req.method === 'PATCH' && contentType === 'application/merge-patch+json') live.obj.status = { ...((live.obj.status ?? {}) as object), ...((body.status ?? {}) as object) };
      else {
        send(res, 415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json`));
        return 415;
      }
      live.obj.metadata.resourceVersion = String(++rv);
      emit('MODIFIED', live.obj, prev);
      send(res, 200, live.obj);
      return 200;
    }
    if (req.method !== 'PATCH') {
      send(res, 405, status(405, 'MethodNotAllowed', 'only server-side apply (PATCH) is implemented for writes'));
      return 405;
    }
    if (contentType !== 'application/apply-patch+yaml') {
      send(res, 415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml`));
      return 415;
    }
    const manager = url.searchParams.get('fieldManager');
    if (!manager) {
      send(res, 400, status(400, 'BadRequest', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'));
      return 400;
    }
    const force = url.searchParams.get('force') === 'true';
    let applied: Obj;
    try {
      applied = yaml.load(text) as Obj;
    } catch (err) {
      send(res, 400, status(400, 'BadRequest', `error decoding YAML: ${(err as Error).message}`));
      return 400;
    }
    if (!isObject(applied) || applied.apiVersion !== gv(t) || applied.kind !== t.kind || !isObject(applied.metadata) || applied.metadata.name !== name) {
      send(res, 400, status(400, 'BadRequest', `the body's apiVersion, kind and metadata.name must match the URL (${gv(t)} ${t.kind} ${name})`));
      return 400;
    }
    if (t.namespaced && applied.metadata.namespace !== undefined && applied.metadata.namespace !== ns) {
      send(res, 400, status(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'));
      return 400;
    }
    if (ns !== undefined && !store.has(`v1/Namespace//${ns}`)) {
      send(res, 404, status(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' }));
      return 404;
    }
    // A resourceVersion in the applied object is a precondition (optimistic concurrency).
    const wantRv = applied.metadata.resourceVersion;
    if (wantRv !== undefined && (live === undefined || live.obj.metadata.resourceVersion !== wantRv)) {
      const what = `${t.plural}${t.group ? `.${t.group}` : ''} "${name}"`;
      send(res, 409, status(409, 'Conflict', live === undefined ? `${what} not found` : `Operation cannot be fulfilled on ${what}: the object has been modified; please apply your changes to the latest version and try again`));
      return 409;
    }
    const config = structuredClone(applied) as Record<string, unknown>;
    if (t.hasStatus) delete config.status;
    const meta = config.metadata as Record<string, unknown>;
    for (const f of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields']) delete meta[f];
    if (t.namespaced) meta.namespace = ns;
    const paths = new Map<string, unknown>();
    leaves(config, '', paths);
    for (const p of [P('apiVersion'), P('kind'), P('metadata', 'name'), P('metadata', 'namespace')]) paths.delete(p);
    const owners = live?.owners ?? new Map<string, Set<string>>();
    const conflicts: { manager: string; field: string }[] = [];
    for (const [p, v] of paths) {
      for (const [m, owned] of owners) {
        if (m !== manager && owned.has(p) && JSON.stringify(getPath(live?.obj, p)) !== JSON.stringify(v)) conflicts.push({ manager: m, field: p });
      }
    }
    if (conflicts.length > 0 && !force) {
      const msg = `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.map((c) => `conflict with "${c.manager}": ${show(c.field)}`).join(', ')}`;
      send(res, 409, status(409, 'Conflict', msg, { causes: conflicts.map((c) => ({ type: 'FieldManagerConflict', message: `conflict with "${c.manager}"`, field: show(c.field) })) }));
      return 409;
    }
    const before = live ? specOf(live.obj) : '';
    const obj = (live ? structuredClone(live.obj) : { apiVersion: gv(t), kind: t.kind, metadata: { name, ...(ns !== undefined ? { namespace: ns } : {}) } }) as Obj;
    // Fields this manager applied before and not now: removed unless someone else owns them.
    const mine = owners.get(manager) ?? new Set<string>();
    for (const p of mine) {
      if (paths.has(p) || SERVER_FIELDS.has(p)) continue;
      if (![...owners].some(([m, owned]) => m !== manager && owned.has(p))) deletePath(obj, p);
    }
    for (const [p, v] of paths) setPath(obj, p, v);
    // Ownership: this manager owns exactly what it applied; forced fields leave their old owners.
    owners.set(manager, new Set(paths.keys()));
    for (const [m, owned] of owners) if (m !== manager) for (const c of conflicts) if (c.manager === m) owned.delete(c.field);
    for (const [m, owned] of owners) if (owned.size === 0) owners.delete(m);
    const created = live === undefined;
    obj.metadata.uid = created ? randomUUID() : live.obj.metadata.uid;
    obj.metadata.creationTimestamp = created ? new Date().toISOString().replace(/\.\d+Z$/, 'Z') : live.obj.metadata.creationTimestamp;
    obj.metadata.generation = created ? 1 : (live.obj.metadata.generation as number) + (specOf(obj) !== before ? 1 : 0);
    obj.metadata.resourceVersion = String(++rv);
    obj.metadata.managedFields = [...owners].map(([m, owned]) => ({ manager: m, operation: 'Apply', apiVersion: gv(t), time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), fieldsType: 'FieldsV1', fieldsV1: fieldsV1(owned) }));
    store.set(key, { obj, owners });
    emit(created ? 'ADDED' : 'MODIFIED', obj, live?.obj);
    if (created || specOf(obj) !== before) controller(t, ns, name);
    send(res, created ? 201 : 200, obj);
    return created ? 201 : 200;
  };

  const watch = (w: Watcher, params: URLSearchParams): Promise<number> => {
    const from = params.get('resourceVersion') ?? '';
    const res = w.res;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    if (from !== '' && from !== '0' && Number(from) < compactedRv) {
      // What the real server's watch cache answers for a compacted resourceVersion.
      writeEvent(w, { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${compactedRv})`, reason: 'Expired', code: 410 } });
      res.end();
      return Promise.resolve(200);
    }
    if (from === '' || from === '0') {
      for (const s of store.values()) if (matches(w, s.obj)) writeEvent(w, { type: 'ADDED', object: s.obj });
    } else {
      for (const e of history) {
        if (e.rv <= Number(from)) continue;
        const v = viewOf(w, e);
        if (v !== null) writeEvent(w, v);
      }
    }
    watchers.add(w);
    return new Promise<number>((resolve) => {
      const bookmarks = params.get('allowWatchBookmarks') === 'true'
        ? setInterval(() => writeEvent(w, { type: 'BOOKMARK', object: { kind: w.t.kind, apiVersion: gv(w.t), metadata: { resourceVersion: String(rv) } } }), bookmarkMs)
        : undefined;
      const secs = Number(params.get('timeoutSeconds') ?? 0);
      const timeout = secs > 0 ? setTimeout(() => res.end(), secs * 1000) : undefined;
      const done = (): void => {
        clearInterval(bookmarks);
        clearTimeout(timeout);
        watchers.delete(w);
        resolve(200);
      };
      res.on('close', done);
      res.on('finish', done);
    });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    handle(req, res).then(
      (code) => requests.push({ method: req.method ?? '', path: url.pathname, contentType: req.headers['content-type'], query: Object.fromEntries(url.searchParams), status: code, userAgent: req.headers['user-agent'] }),
      (err: Error) => {
        if (!res.headersSent) send(res, 500, status(500, 'InternalError', err.message));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  let paused = false;
  const url = `http://127.0.0.1:${addr.port}`;
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-fakekube-'));
  const kubeconfig = join(dir, 'kubeconfig');
  // Plain HTTP needs insecure-skip-tls-verify in @kubernetes/client-node 2.x; a real cluster is HTTPS.
  await writeFile(kubeconfig, yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'agent', user: { token } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'agent', namespace: 'default' } }],
    'current-context': 'fake',
  }));
  const find = (apiVersion: string, kind: string, namespace: string | undefined, name: string): Stored | undefined => store.get(`${apiVersion}/${kind}/${namespace ?? ''}/${name}`);
  return {
    url,
    token,
    kubeconfig,
    requests,
    get: (a, k, n, name) => find(a, k, n, name)?.obj,
    list: (kind) => [...store.values()].map((s) => s.obj).filter((o) => kind === undefined || o.kind === kind),
    owners: (a, k, n, name) => Object.fromEntries([...(find(a, k, n, name)?.owners ?? new Map<string, Set<string>>())].map(([m, s]) => [m, [...s].map(show).sort()])),
    failNext(n, code = 503) {
      failures = n;
      failStatus = code;
    },
    put(o) {
      const t = types.find((x) => gv(x) === o.apiVersion && x.kind === o.kind);
      if (t === undefined) throw new Error(`unknown kind ${o.apiVersion} ${o.kind}`);
      const key = keyOf(t, o.metadata.namespace, o.metadata.name);
      const live = store.get(key);
      const obj = structuredClone(o);
      obj.metadata.uid = live?.obj.metadata.uid ?? obj.metadata.uid ?? randomUUID();
      obj.metadata.creationTimestamp = live?.obj.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      obj.metadata.generation = live === undefined ? 1 : (live.obj.metadata.generation as number) + (specOf(obj) !== specOf(live.obj) ? 1 : 0);
      obj.metadata.resourceVersion = String(++rv);
      store.set(key, { obj, owners: live?.owners ?? new Map() });
      emit(live === undefined ? 'ADDED' : 'MODIFIED', obj, live?.obj);
      return structuredClone(obj);
    },
    remove(apiVersion, kind, namespace, name) {
      const key = `${apiVersion}/${kind}/${namespace ?? ''}/${name}`;
      const live = store.get(key);
      if (live === undefined) return false;
      store.delete(key);
      live.obj.metadata.resourceVersion = String(++rv);
      emit('DELETED', live.obj);
      return true;
    },
    compact() {
      compactedRv = rv;
      history.length = 0;
    },
    async pause() {
      if (paused) return;
      paused = true;
      for (const w of watchers) w.res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async resume() {
      if (!paused) return;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(addr.port, '127.0.0.1', () => resolve());
      });
      paused = false;
    },
    get openWatches() {
      return watchers.size;
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      for (const w of watchers) w.res.destroy();
      if (!paused) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
