// Kubernetes objects → Prometheus target groups, with exactly the
// `__meta_kubernetes_*` labels of Prometheus 2.42's kubernetes_sd_configs
// (discovery/kubernetes/pod.go and endpoints.go), so that relabel rules
// written for Prometheus work unchanged:
//   role pod: one target per container port (podIP:port), one per container
//     without ports (the pod IP alone, for relabeling to add a port), init
//     containers included with pod_container_init="true"; a pod without an IP
//     (starting, evicted) has none.
//   role service: one target per service port, at the service's DNS name
//     (<name>.<namespace>.svc:<port>), for blackbox-style probing;
//   role endpoints: one target per address × port of each subset (ready and
//     not-ready addresses, endpoint_ready true/false), with the Service's
//     labels and, when the address's targetRef is a Pod, the Pod's labels and
//     its container's for that port; then every container port of those
//     pods that no endpoint port covered gets a target of its own.
// Pure: objects in, groups out; the watch (kube-sd-watch.ts) keeps the stores.

/** The subset of the Kubernetes object shape read here (JSON field names). */
export interface KubeMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly { readonly kind?: string; readonly name?: string; readonly controller?: boolean }[];
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol?: string;
}

export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly ports?: readonly ContainerPort[];
}

export interface PodObject {
  readonly metadata: KubeMeta;
  readonly spec?: { readonly nodeName?: string; readonly containers?: readonly Container[]; readonly initContainers?: readonly Container[] };
  readonly status?: {
    readonly podIP?: string;
    readonly hostIP?: string;
    readonly phase?: string;
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
    readonly containerStatuses?: readonly { readonly name: string; readonly containerID?: string }[];
    readonly initContainerStatuses?: readonly { readonly name: string; readonly containerID?: string }[];
  };
}

export interface ServiceObject {
  readonly metadata: KubeMeta;
  readonly spec?: { readonly type?: string; readonly clusterIP?: string; readonly externalName?: string; readonly ports?: readonly { readonly name?: string; readonly port: number; readonly protocol?: string }[] };
}

export interface EndpointAddress {
  readonly ip: string;
  readonly hostname?: string;
  readonly nodeName?: string;
  readonly targetRef?: { readonly kind?: string; readonly name?: string; readonly namespace?: string };
}

export interface EndpointPort {
  readonly name?: string;
  readonly port: number;
  readonly protocol?: string;
}

export interface EndpointsObject {
  readonly metadata: KubeMeta;
  readonly subsets?: readonly { readonly addresses?: readonly EndpointAddress[]; readonly notReadyAddresses?: readonly EndpointAddress[]; readonly ports?: readonly EndpointPort[] }[];
}

export type LabelSet = Record<string, string>;

/** A target group as Prometheus's targetgroup.Group: shared labels, and each target's own. */
export interface TargetGroup {
  readonly source: string;
  readonly labels: LabelSet;
  readonly targets: readonly LabelSet[];
}

const META = '__meta_kubernetes_';

/** Prometheus's strutil.SanitizeLabelName. */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** net.JoinHostPort: IPv6 in brackets. */
function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function addMap(ls: LabelSet, prefix: string, m: Readonly<Record<string, string>> | undefined): void {
  if (m === undefined || m === null) return;
  for (const [k, v] of Object.entries(m)) {
    const ln = sanitizeLabelName(k);
    ls[`${META}${prefix}_${ln}`] = String(v);
    ls[`${META}${prefix}present_${ln}`] = 'true';
  }
}

function podReady(pod: PodObject): string {
  for (const c of pod.status?.conditions ?? []) if (c.type === 'Ready') return c.status.toLowerCase();
  return 'unknown';
}

/** Labels of a pod shared by all its targets (pod.go podLabels). */
export function podLabels(pod: PodObject): LabelSet {
  const ls: LabelSet = {
    [`${META}pod_name`]: pod.metadata.name,
    [`${META}pod_ip`]: pod.status?.podIP ?? '',
    [`${META}pod_ready`]: podReady(pod),
    [`${META}pod_phase`]: pod.status?.phase ?? '',
    [`${META}pod_node_name`]: pod.spec?.nodeName ?? '',
    [`${META}pod_host_ip`]: pod.status?.hostIP ?? '',
    [`${META}pod_uid`]: pod.metadata.uid ?? '',
  };
  const controller = pod.metadata.ownerReferences?.find((r) => r.controller === true);
  if (controller !== undefined) {
    if (controller.kind) ls[`${META}pod_controller_kind`] = controller.kind;
    if (controller.name) ls[`${META}pod_controller_name`] = controller.name;
  }
  for (const [k, v] of Object.entries(pod.metadata.labels ?? {})) {
    const ln = sanitizeLabelName(k);
    ls[`${META}pod_label_${ln}`] = String(v);
    ls[`${META}pod_labelpresent_${ln}`] = 'true';
  }
  addMap(ls, 'pod_annotation', pod.metadata.annotations);
  return ls;
}

/** Containers then init containers, each with whether it is an init container. */
function containersOf(pod: PodObject): { c: Container; init: boolean }[] {
  return [...(pod.spec?.containers ?? []).map((c) => ({ c, init: false })), ...(pod.spec?.initContainers ?? []).map((c) => ({ c, init: true }))];
}

function containerId(pod: PodObject, name: string, init: boolean): string {
  const statuses = init ? pod.status?.initContainerStatuses : pod.status?.containerStatuses;
  return statuses?.find((s) => s.name === name)?.containerID ?? '';
}

function containerLabels(pod: PodObject, c: Container, init: boolean, port: ContainerPort | undefined): LabelSet {
  const ls: LabelSet = {
    [`${META}pod_container_name`]: c.name,
    [`${META}pod_container_image`]: c.image ?? '',
    [`${META}pod_container_id`]: containerId(pod, c.name, init),
    [`${META}pod_container_init`]: String(init),
  };
  if (port !== undefined) {
    ls[`${META}pod_container_port_name`] = port.name ?? '';
    ls[`${META}pod_container_port_number`] = String(port.containerPort);
    ls[`${META}pod_container_port_protocol`] = port.protocol ?? 'TCP';
  }
  return ls;
}

export function podSource(namespace: string, name: string): string {
  return `pod/${namespace}/${name}`;
}

/** Role pod: the group of one pod (pod.go buildPod). */
export function buildPodGroup(pod: PodObject): TargetGroup {
  const ns = pod.metadata.namespace ?? '';
  const source = podSource(ns, pod.metadata.name);
  const ip = pod.status?.podIP ?? '';
  if (ip === '') return { source, labels: {}, targets: [] };
  const labels = podLabels(pod);
  labels[`${META}namespace`] = ns;
  const targets: LabelSet[] = [];
  for (const { c, init } of containersOf(pod)) {
    if (c.ports === undefined || c.ports.length === 0) {
      targets.push({ __address__: ip, ...containerLabels(pod, c, init, undefined) });
      continue;
    }
    for (const p of c.ports) targets.push({ __address__: joinHostPort(ip, p.containerPort), ...containerLabels(pod, c, init, p) });
  }
  return { source, labels, targets };
}

/** The Service's labels (service.go serviceLabels, without the role's own). */
export function serviceLabels(svc: ServiceObject): LabelSet {
  const ls: LabelSet = { [`${META}service_name`]: svc.metadata.name };
  addMap(ls, 'service_label', svc.metadata.labels);
  addMap(ls, 'service_annotation', svc.metadata.annotations);
  return ls;
}

export function endpointsSource(namespace: string, name: string): string {
  return `endpoints/${namespace}/${name}`;
}

/**
 * Role endpoints: the group of one Endpoints object (endpoints.go
 * buildEndpoints). `service` and `pod` look up the stores (null when absent).
 */
export function buildEndpointsGroup(eps: EndpointsObject, service: ServiceObject | null, pod: (namespace: string, name: string) => PodObject | null): TargetGroup {
  const ns = eps.metadata.namespace ?? '';
  const labels: LabelSet = { [`${META}namespace`]: ns, [`${META}endpoints_name`]: eps.metadata.name };
  addMap(labels, 'endpoints_label', eps.metadata.labels);
  if (service !== null) Object.assign(labels, serviceLabels(service));
  const targets: LabelSet[] = [];
  const seenPods = new Map<string, { pod: PodObject; ports: number[] }>();
  const add = (addr: EndpointAddress, port: EndpointPort, ready: string): void => {
    const t: LabelSet = {
      __address__: joinHostPort(addr.ip, port.port),
      [`${META}endpoint_port_name`]: port.name ?? '',
      [`${META}endpoint_port_protocol`]: port.protocol ?? 'TCP',
      [`${META}endpoint_ready`]: ready,
    };
    if (addr.hostname) t[`${META}endpoint_hostname`] = addr.hostname;
    if (addr.nodeName) t[`${META}endpoint_node_name`] = addr.nodeName;
    const ref = addr.targetRef;
    if (ref !== undefined) {
      t[`${META}endpoint_address_target_kind`] = ref.kind ?? '';
      t[`${META}endpoint_address_target_name`] = ref.name ?? '';
    }
    const p = ref?.kind === 'Pod' && ref.name ? pod(ref.namespace ?? ns, ref.name) : null;
    if (p === null) {
      targets.push(t);
      return;
    }
    const key = `${p.metadata.namespace ?? ''}/${p.metadata.name}`;
    let seen = seenPods.get(key);
    if (seen === undefined) {
      seen = { pod: p, ports: [] };
      seenPods.set(key, seen);
    }
    Object.assign(t, podLabels(p));
    outer: for (const { c, init } of containersOf(p)) {
      for (const cp of c.ports ?? []) {
        if (cp.containerPort === port.port) {
          Object.assign(t, containerLabels(p, c, init, cp));
          break outer;
        }
      }
    }
    seen.ports.push(port.port);
    targets.push(t);
  };
  for (const ss of eps.subsets ?? []) {
    for (const port of ss.ports ?? []) {
      for (const a of ss.addresses ?? []) add(a, port, 'true');
      for (const a of ss.notReadyAddresses ?? []) add(a, port, 'false');
    }
  }
  // Container ports of those pods that no endpoint port covered.
  for (const { pod: p, ports } of seenPods.values()) {
    const ip = p.status?.podIP ?? '';
    if (ip === '') continue;
    for (const { c, init } of containersOf(p)) {
      for (const cp of c.ports ?? []) {
        if (ports.includes(cp.containerPort)) continue;
        targets.push({ __address__: joinHostPort(ip, cp.containerPort), ...podLabels(p), ...containerLabels(p, c, init, cp) });
      }
    }
  }
  return { source: endpointsSource(ns, eps.metadata.name), labels, targets };
}

export function serviceSource(namespace: string, name: string): string {
  return `svc/${namespace}/${name}`;
}

/** Role service: the group of one Service (service.go buildService). */
export function buildServiceGroup(svc: ServiceObject): TargetGroup {
  const ns = svc.metadata.namespace ?? '';
  const labels: LabelSet = { [`${META}namespace`]: ns, ...serviceLabels(svc) };
  const type = svc.spec?.type ?? 'ClusterIP';
  const targets: LabelSet[] = (svc.spec?.ports ?? []).map((p) => {
    const t: LabelSet = {
      __address__: joinHostPort(`${svc.metadata.name}.${ns}.svc`, p.port),
      [`${META}service_port_name`]: p.name ?? '',
      [`${META}service_port_number`]: String(p.port),
      [`${META}service_port_protocol`]: p.protocol ?? 'TCP',
      [`${META}service_type`]: type,
    };
    if (type === 'ExternalName') t[`${META}service_external_name`] = svc.spec?.externalName ?? '';
    else t[`${META}service_cluster_ip`] = svc.spec?.clusterIP ?? '';
    return t;
  });
  return { source: serviceSource(ns, svc.metadata.name), labels, targets };
}
