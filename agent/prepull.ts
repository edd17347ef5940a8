// Pre-pulling a release's images before anything of it is applied, so that
// an upgrade of the data plane cannot cut the site off before the new images
// are on its nodes. Pluggable: an ImagePuller is anything with prePull().
//
// The default (KubernetesPrePuller) applies a DaemonSet in its namespace
// whose pods have one init container per image (imagePullPolicy
// IfNotPresent, command `true`, resources tiny) and a pause container, waits
// until it is ready on every node (kstatus DaemonSet rules: every pod's init
// containers ran, so every image was pulled), then deletes it. An image
// without a `true` binary fails its init container after pulling; such
// images need a puller of their own (e.g. one that talks to the node's CRI).
import { Applier } from './apply.js';
import type { KubeApi } from './kube.js';
import type { KubeObject } from './manifests.js';

export type PullOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface ImagePuller {
  prePull(images: readonly string[], version: string, signal?: AbortSignal): Promise<PullOutcome>;
}

export const PREPULL_NAME = 'fleetscope-prepull';
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.9';

export function prePullDaemonSet(namespace: string, images: readonly string[], version: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: PREPULL_NAME, namespace, labels: { 'app.kubernetes.io/name': PREPULL_NAME }, annotations: { 'fleetscope.io/version': version } },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': PREPULL_NAME } },
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': PREPULL_NAME } },
        spec: {
          tolerations: [{ operator: 'Exists' }],
          terminationGracePeriodSeconds: 0,
          initContainers: images.map((image, i) => ({
            name: `pull-${i}`,
            image,
            imagePullPolicy: 'IfNotPresent',
            command: ['true'],
            resources: { requests: { cpu: '1m', memory: '4Mi' }, limits: { memory: '16Mi' } },
          })),
          containers: [{ name: 'pause', image: PAUSE_IMAGE, resources: { requests: { cpu: '1m', memory: '4Mi' }, limits: { memory: '16Mi' } } }],
        },
      },
    },
  };
}

export class KubernetesPrePuller implements ImagePuller {
  constructor(private readonly api: KubeApi, private readonly namespace: string, private readonly opts: { timeoutMs: number; retries: number; pollMs?: number; log?: (level: 'info' | 'warn' | 'error', msg: string) => void }) {}

  async prePull(images: readonly string[], version: string, signal?: AbortSignal): Promise<PullOutcome> {
    if (images.length === 0) return { ok: true };
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.namespace } };
    const ds = prePullDaemonSet(this.namespace, images, version);
    const applier = new Applier(this.api, { readyTimeoutMs: this.opts.timeoutMs, retries: this.opts.retries, pollMs: this.opts.pollMs ?? 2000, ...(signal ? { signal } : {}), ...(this.opts.log ? { log: this.opts.log } : {}) });
    // The Namespace is pessimistic by default but has no readiness rule beyond existing; the DaemonSet is waited for.
    const r = await applier.apply([ns, ds], []);
    // Whatever happened, the DaemonSet goes (the Namespace stays: it may hold other things).
    await applier.call(`delete DaemonSet ${this.namespace}/${PREPULL_NAME}`, () => this.api.delete({ apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: this.namespace, name: PREPULL_NAME })).catch(() => undefined);
    return r.ok ? { ok: true } : { ok: false, reason: `pre-pull: ${r.reason}` };
  }
}
