// Kubernetes service discovery for scrape jobs (Prometheus's
// kubernetes_sd_configs, roles pod and endpoints): the resources each role
// needs are listed and watched (kube-sd-watch.ts; one watch per distinct
// resource, namespace and selector, shared by the jobs that need it), and
// on every change each job's targets are rebuilt from the stores
// (kube-sd-targets.ts), relabeled (target-labels.ts) and handed to the
// daemon, which starts and stops scrape loops by difference. Loaded only
// when a job has kubernetes_sd (the client costs memory an agent with
// static targets does not spend).
import { readFile } from 'node:fs/promises';
import type { Relabeler } from '../relabel/index.js';
import { type EndpointsObject, type PodObject, type ServiceObject, type TargetGroup, buildEndpointsGroup, buildPodGroup, buildServiceGroup } from './kube-sd-targets.js';
import { type KubeObjectLike, type ListWatchClient, type ResourceSpec, ResourceWatch } from './kube-sd-watch.js';
import { type ResolvedTarget, type ScrapeJobDefaults, resolveTarget } from './target-labels.js';

export type SdRole = 'pod' | 'service' | 'endpoints';

export interface SdSelector {
  readonly role: 'pod' | 'service' | 'endpoints';
  readonly label?: string;
  readonly field?: string;
}

export interface KubernetesSdConfig {
  readonly role: SdRole;
  /** Namespaces to watch; empty: all (unless own_namespace). */
  readonly namespaces: readonly string[];
  readonly own_namespace: boolean;
  readonly selectors: readonly SdSelector[];
}

export interface SdJob {
  readonly name: string;
  readonly configs: readonly KubernetesSdConfig[];
  readonly relabeler: Relabeler;
  readonly defaults: ScrapeJobDefaults;
}

export interface DiscoveryOptions {
  readonly client: ListWatchClient;
  /** Called with a job's whole target set whenever it may have changed. */
  readonly onTargets: (job: string, targets: ReadonlyMap<string, ResolvedTarget>) => void;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Counts list/watch outcomes by resource and what (list, relist_gone, watch_error, list_error, event_added, …). */
  readonly count?: (resource: string, what: string) => void;
  /** Counts targets refused after relabeling (bad address, scheme, interval), by job. */
  readonly invalid?: (job: string) => void;
  /** Where own_namespace is read (default the service account's namespace file). */
  readonly namespaceFile?: string;
}

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

interface Resolved {
  readonly job: SdJob;
  readonly config: KubernetesSdConfig;
  /** Per namespace ("" = all): the watches this config reads. */
  readonly perNamespace: readonly { pods?: ResourceWatch; services?: ResourceWatch; endpoints?: ResourceWatch }[];
}

export class KubernetesDiscovery {
  private readonly watches = new Map<string, ResourceWatch>();
  private readonly resolved: Resolved[] = [];
  private pending: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly invalidSeen = new Set<string>();

  private constructor(private readonly opts: DiscoveryOptions) {}

  static async start(jobs: readonly SdJob[], opts: DiscoveryOptions): Promise<KubernetesDiscovery> {
    const d = new KubernetesDiscovery(opts);
    let own: string | undefined;
    for (const job of jobs) {
      for (const config of job.configs) {
        let namespaces = [...config.namespaces];
        if (config.own_namespace) {
          own ??= (await readFile(opts.namespaceFile ?? SA_NAMESPACE, 'utf8')).trim();
          namespaces.push(own);
        }
        if (namespaces.length === 0) namespaces = [''];
        const sel = (role: SdSelector['role']): { labelSelector?: string; fieldSelector?: string } => {
          const s = config.selectors.find((x) => x.role === role);
          return { ...(s?.label ? { labelSelector: s.label } : {}), ...(s?.field ? { fieldSelector: s.field } : {}) };
        };
        const perNamespace = [...new Set(namespaces)].map((ns) => {
          const base = ns === '' ? {} : { namespace: ns };
          if (config.role === 'pod') return { pods: d.watch({ plural: 'pods', kind: 'Pod', ...base, ...sel('pod') }) };
          if (config.role === 'service') return { services: d.watch({ plural: 'services', kind: 'Service', ...base, ...sel('service') }) };
          return {
            endpoints: d.watch({ plural: 'endpoints', kind: 'Endpoints', ...base, ...sel('endpoints') }),
            services: d.watch({ plural: 'services', kind: 'Service', ...base, ...sel('service') }),
            pods: d.watch({ plural: 'pods', kind: 'Pod', ...base, ...sel('pod') }),
          };
        });
        d.resolved.push({ job, config, perNamespace });
      }
    }
    for (const w of d.watches.values()) w.start();
    return d;
  }

  private watch(spec: ResourceSpec): ResourceWatch {
    const key = JSON.stringify(spec);
    let w = this.watches.get(key);
    if (w === undefined) {
      w = new ResourceWatch(this.opts.client, spec, {
        onChange: () => this.schedule(),
        ...(this.opts.log ? { log: this.opts.log } : {}),
        ...(this.opts.minBackoffMs !== undefined ? { minBackoffMs: this.opts.minBackoffMs } : {}),
        ...(this.opts.maxBackoffMs !== undefined ? { maxBackoffMs: this.opts.maxBackoffMs } : {}),
        count: (what) => this.opts.count?.(spec.plural, what),
      });
      this.watches.set(key, w);
    }
    return w;
  }

  /** Changes arrive in bursts (a list, a rollout): rebuild once per burst. */
  private schedule(): void {
    if (this.pending !== null || this.stopped) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      this.rebuild();
    }, 20);
  }

  private groups(r: Resolved): TargetGroup[] {
    const out: TargetGroup[] = [];
    for (const w of r.perNamespace) {
      if (r.config.role === 'pod') {
        for (const o of w.pods?.store.values() ?? []) out.push(buildPodGroup(o as unknown as PodObject));
        continue;
      }
      if (r.config.role === 'service') {
        for (const o of w.services?.store.values() ?? []) out.push(buildServiceGroup(o as unknown as ServiceObject));
        continue;
      }
      const services = w.services?.store;
      const pods = w.pods?.store;
      const find = <T>(m: Map<string, KubeObjectLike> | undefined, ns: string, name: string): T | null => (m?.get(`${ns}/${name}`) as T | undefined) ?? null;
      for (const o of w.endpoints?.store.values() ?? []) {
        const eps = o as unknown as EndpointsObject;
        const ns = eps.metadata.namespace ?? '';
        out.push(buildEndpointsGroup(eps, find<ServiceObject>(services, ns, eps.metadata.name), (pns, name) => find<PodObject>(pods, pns, name)));
      }
    }
    return out;
  }

  private rebuild(): void {
    const byJob = new Map<string, Map<string, ResolvedTarget>>();
    for (const r of this.resolved) {
      // A job whose watches have never listed keeps what it had (nothing, at start).
      const ready = r.perNamespace.every((w) => [w.pods, w.services, w.endpoints].every((x) => x === undefined || x.synced));
      if (!ready) continue;
      let targets = byJob.get(r.job.name);
      if (targets === undefined) {
        targets = new Map();
        byJob.set(r.job.name, targets);
      }
      for (const g of this.groups(r)) {
        for (const t of g.targets) {
          const o = resolveTarget(g.labels, t, r.job.defaults, r.job.relabeler);
          if (o.kind === 'target') targets.set(o.target.key, o.target);
          else if (o.kind === 'invalid') {
            this.opts.invalid?.(r.job.name);
            const note = `${r.job.name}|${o.reason}`;
            if (!this.invalidSeen.has(note) && this.invalidSeen.size < 1000) {
              this.invalidSeen.add(note);
              this.opts.log?.('warn', `kubernetes discovery: job ${r.job.name}: target ${t.__address__ ?? '?'} of ${g.source} refused: ${o.reason}`);
            }
          }
        }
      }
    }
    for (const [job, targets] of byJob) this.opts.onTargets(job, targets);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pending !== null) clearTimeout(this.pending);
    await Promise.all([...this.watches.values()].map((w) => w.stop()));
  }
}
