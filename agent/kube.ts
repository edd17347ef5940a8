// What the agent uses of the Kubernetes API: server-side apply (PATCH, Content-Type application/apply-patch+yaml, one
// fixed fieldManager, force), GET and DELETE. Errors are classified once:
// 429, 5xx and network errors are transient (an API server outage is normal
// at the edge, e.g. during a control-plane node's own upgrade) and retried;
// other 4xx are not.
// Two clients: the built-in one on node:https (kube-api-http.ts, the
// default) and @kubernetes/client-node (`upgrades.client: client-node`, or a
// kubeconfig needing an exec / auth-provider plugin), which costs ~85 MB of
// resident memory once loaded. Types only here: the official client (and
// undici) is loaded on first use, so an agent that never needs it never
// carries it.
import type * as KubeClient from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { type KubeObject, MANAGED_LABEL, MANAGED_VALUE, type ObjectRef } from './manifests.js';

/** The one field manager of everything the agent applies. */
export const FIELD_MANAGER = 'fleetscope-agent';

export interface KubeApi {
  /** Server-side apply with force as FIELD_MANAGER (see README "Force conflicts"). */
  apply(o: KubeObject): Promise<KubeObject>;
  /** Server-side apply as another field manager, with or without force, optionally only at a resourceVersion (a precondition: 409 otherwise). */
  applyWith(o: KubeObject, opts: { readonly fieldManager: string; readonly force: boolean; readonly resourceVersion?: string }): Promise<KubeObject>;
  /** The live object, or null when it does not exist. */
  read(ref: ObjectRef): Promise<KubeObject | null>;
  /** Deletes (background propagation); a missing object is not an error. */
  delete(ref: ObjectRef): Promise<void>;
}

export type ApiOutcome = { readonly kind: 'transient'; readonly reason: string } | { readonly kind: 'permanent'; readonly reason: string };

/** An answer of the API server, by shape: the official client's ApiException, or the built-in client's KubeHttpError ({code, body}). */
function apiException(err: unknown): { code: number; body: unknown } | null {
  if (err instanceof Error && typeof (err as { code?: unknown }).code === 'number' && 'body' in err) return err as unknown as { code: number; body: unknown };
  return null;
}

/** Whether an error from either client is worth retrying. */
export function classifyApiError(err: unknown): ApiOutcome {
  const ex = apiException(err);
  if (ex !== null) {
    const err = ex;
    const code = err.code;
    const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body ?? '');
    const reason = `HTTP ${code}: ${body.slice(0, 300)}`;
    if (code === 429 || code >= 500) return { kind: 'transient', reason };
    return { kind: 'permanent', reason };
  }
  const msg = (err as Error)?.message ?? String(err);
  // Discovery cannot find a kind whose CRD is not served yet: worth retrying.
  return { kind: 'transient', reason: msg };
}

function notFound(err: unknown): boolean {
  return apiException(err)?.code === 404;
}

type ClientModule = typeof KubeClient;
let clientModule: Promise<ClientModule> | undefined;

/** Loads @kubernetes/client-node (after the Node 20 shims). */
export function loadKubeClient(): Promise<ClientModule> {
  clientModule ??= import('./node20-shims.js').then(() => import('@kubernetes/client-node'));
  return clientModule;
}

export type KubeClientKind = 'builtin' | 'client-node';

export interface KubeApiOptions {
  /** `builtin` (default): node:https, unless the kubeconfig needs a plugin; `client-node`: @kubernetes/client-node. */
  readonly client?: KubeClientKind;
  /** For the in-cluster lookup (KUBERNETES_SERVICE_HOST) and KUBECONFIG; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/** What an apply sends: the managed label, no managedFields, resourceVersion only as the caller's precondition. */
export function applyBody(o: KubeObject, resourceVersion: string | undefined): KubeObject {
  const spec = structuredClone(o);
  spec.metadata.labels = { ...(spec.metadata.labels ?? {}), [MANAGED_LABEL]: MANAGED_VALUE };
  // managedFields must not be sent in an apply; a resourceVersion turns it into a precondition.
  delete spec.metadata.managedFields;
  delete spec.metadata.resourceVersion;
  if (resourceVersion !== undefined) spec.metadata.resourceVersion = resourceVersion;
  return spec;
}

/**
 * A KubeApi over a kubeconfig file; without one, the in-cluster service
 * account in a pod (KUBERNETES_SERVICE_HOST set), else KUBECONFIG /
 * ~/.kube/config for the built-in client (the official one: in-cluster only).
 */
export async function kubeApi(kubeconfig?: string, opts: KubeApiOptions = {}): Promise<KubeApi> {
  if ((opts.client ?? 'builtin') === 'builtin') {
    const [{ loadClusterAccess }, { httpKubeApi }] = await Promise.all([import('./kube-sd-http.js'), import('./kube-api-http.js')]);
    const access = loadClusterAccess(kubeconfig, opts.env ?? process.env);
    if (access !== null) return httpKubeApi(access, { prepare: applyBody, fieldManager: FIELD_MANAGER });
    // Exec / auth-provider plugins or basic auth: only the official client can authenticate.
  }
  const k = await loadKubeClient();
  const kc = new k.KubeConfig();
  if (kubeconfig !== undefined) kc.loadFromFile(kubeconfig);
  else kc.loadFromCluster();
  return kubeApiFrom(k, kc);
}

export function kubeApiFrom(k: ClientModule, kc: KubeConfig): KubeApi {
  const client = k.KubernetesObjectApi.makeApiClient(kc);
  const { PatchStrategy } = k;
  const header = (ref: ObjectRef): KubeObject => ({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: ref.namespace === undefined ? { name: ref.name } : { name: ref.name, namespace: ref.namespace } });
  const applyWith: KubeApi['applyWith'] = async (o, opts) => {
    const spec = applyBody(o, opts.resourceVersion);
    return (await client.patch(spec, undefined, undefined, opts.fieldManager, opts.force, PatchStrategy.ServerSideApply)) as unknown as KubeObject;
  };
  return {
    apply: (o) => applyWith(o, { fieldManager: FIELD_MANAGER, force: true }),
    applyWith,
    async read(ref) {
      try {
        return (await client.read(header(ref) as never)) as unknown as KubeObject;
      } catch (err) {
        if (notFound(err)) return null;
        throw err;
      }
    },
    async delete(ref) {
      try {
        await client.delete(header(ref), undefined, undefined, undefined, undefined, 'Background');
      } catch (err) {
        if (!notFound(err)) throw err;
      }
    },
  };
}
