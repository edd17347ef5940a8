// The ListWatchClient of kube-sd-watch.ts over @kubernetes/client-node:
// LIST through KubernetesObjectApi.list (paged), WATCH through the client's
// Watch (newline-delimited JSON events, allowWatchBookmarks, a server-side
// timeoutSeconds of 5-10 min as client-go picks, and an inactivity limit
// above it). Which cluster: a kubeconfig file when given; in a pod (the
// service account's token and CA under
// /var/run/secrets/kubernetes.io/serviceaccount, KUBERNETES_SERVICE_HOST
// set) the in-cluster config; otherwise KUBECONFIG / ~/.kube/config.
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeClient } from './kube.js';
import type { KubeObjectLike, ListPage, ListWatchClient, ResourceSpec, WatchEvent } from './kube-sd-watch.js';

const LIST_TIMEOUT_MS = 30_000;

export async function kubeConfigFor(kubeconfig: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<KubeConfig> {
  const k = await loadKubeClient();
  const kc = new k.KubeConfig();
  if (kubeconfig !== undefined) kc.loadFromFile(kubeconfig);
  else if (env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_HOST !== '') kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

function withTimeout<T>(p: Promise<T>, ms: number, signal: AbortSignal, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    const onAbort = (): void => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => {
      clearTimeout(t);
      signal.removeEventListener('abort', onAbort);
    });
  });
}

export async function kubeListWatchClient(kc: KubeConfig): Promise<ListWatchClient> {
  const k = await loadKubeClient();
  const objects = k.KubernetesObjectApi.makeApiClient(kc);
  return {
    async list(spec: ResourceSpec, continueToken: string | undefined, signal: AbortSignal): Promise<ListPage> {
      const res = await withTimeout(objects.list('v1', spec.kind, spec.namespace, undefined, undefined, undefined, spec.fieldSelector, spec.labelSelector, 500, continueToken), LIST_TIMEOUT_MS, signal, `list ${spec.plural}`);
      const meta = (res.metadata ?? {}) as { resourceVersion?: string; _continue?: string; continue?: string };
      const items = (res.items ?? []) as unknown as KubeObjectLike[];
      const token = meta._continue ?? meta.continue;
      return { items, resourceVersion: meta.resourceVersion ?? '', ...(token ? { continueToken: token } : {}) };
    },
    watch(spec: ResourceSpec, resourceVersion: string, onEvent: (e: WatchEvent) => void, signal: AbortSignal): Promise<void> {
      const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
      // One Watch per request: its inactivity limit (private, default 30 s) must outlast the server's timeout.
      const watcher = new k.Watch(kc);
      (watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = (timeoutSeconds + 60) * 1000;
      const path = spec.namespace === undefined ? `/api/v1/${spec.plural}` : `/api/v1/namespaces/${encodeURIComponent(spec.namespace)}/${spec.plural}`;
      const query: Record<string, string | number | boolean> = { resourceVersion, allowWatchBookmarks: true, timeoutSeconds };
      if (spec.labelSelector) query.labelSelector = spec.labelSelector;
      if (spec.fieldSelector) query.fieldSelector = spec.fieldSelector;
      return new Promise<void>((resolve, reject) => {
        let controller: AbortController | undefined;
        const onAbort = (): void => controller?.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        const done = (err: unknown): void => {
          signal.removeEventListener('abort', onAbort);
          if (err === null || err === undefined || signal.aborted) resolve();
          else reject(err);
        };
        watcher
          .watch(path, query, (type: string, object: unknown) => onEvent({ type, object } as WatchEvent), done)
          .then((c) => {
            controller = c;
            if (signal.aborted) c.abort();
          }, done);
      });
    },
  };
}
