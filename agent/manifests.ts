// A release's rendered manifests: multi-document YAML, each object carrying
// the fleetscope.io/ annotations of the top README's contract §3. The checksum is
// sha256 of the whole manifests.yaml with the checksum annotation's value
// set to the empty string. How the empty string is written is the
// renderer's (YAML `''`, `""`, or nothing after the colon); all three
// spellings are tried, and the text must match one exactly: this is an
// integrity check of the bytes served, not a signature.
import { createHash } from 'node:crypto';
import yaml from 'js-yaml';
import { AgentError } from './errors.js';

export const ANNOTATION_PREFIX = 'fleetscope.io/';
export const ANN_VERSION = 'fleetscope.io/version';
export const ANN_CHECKSUM = 'fleetscope.io/checksum';
export const ANN_APPLY_MODE = 'fleetscope.io/apply-mode';
export const ANN_PREPULL = 'fleetscope.io/prepull-images';
/**
 * `"true"`: a host-level step (an OS update, a kernel, anything that may
 * reboot the node). Applied after the rest of the release, by each node's
 * agent for its own node, under the site's reboot lock (one node at a time),
 * always waited for until ready; `$(NODE_NAME)` in its strings becomes the
 * node's name, so one manifest yields one object per node.
 */
export const ANN_HOST_LEVEL = 'fleetscope.io/host-level';
/** Replaced by the agent's node name in host-level objects. */
export const NODE_NAME_PLACEHOLDER = '$(NODE_NAME)';
/** The label the agent puts on what it applies; prune deletes only objects that carry it. */
export const MANAGED_LABEL = 'fleetscope.io/managed-by';
export const MANAGED_VALUE = 'fleetscope-agent';

export type ApplyMode = 'optimistic' | 'pessimistic';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string | undefined;
  readonly name: string;
}

export interface Release {
  readonly version: string;
  readonly checksum: string;
  readonly objects: readonly KubeObject[];
  readonly prepullImages: readonly string[];
  readonly text: string;
}

const CHECKSUM_VALUE = /(fleetscope\.io\/checksum["']?[ \t]*:[ \t]*)(["']?)sha256:[0-9a-f]{64}\2/g;

export function refOf(o: KubeObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name };
}

export function refKey(r: ObjectRef): string {
  return `${r.apiVersion}/${r.kind}/${r.namespace ?? ''}/${r.name}`;
}

export function applyModeOf(o: KubeObject): ApplyMode {
  return o.metadata.annotations?.[ANN_APPLY_MODE] === 'optimistic' ? 'optimistic' : 'pessimistic';
}

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}

/** The checksums the text may carry: one per spelling of the emptied annotation. */
export function checksumCandidates(text: string): string[] {
  return ["''", '""', ''].map((empty) => sha256(text.replace(CHECKSUM_VALUE, (_m, key: string) => `${key}${empty}`)));
}

/** For renderers and tests: fills in the checksum of a text whose checksum annotations are `''`. */
export function stampChecksum(textWithEmpty: string): { text: string; checksum: string } {
  const checksum = sha256(textWithEmpty);
  return { text: textWithEmpty.replace(/(fleetscope\.io\/checksum["']?[ \t]*:[ \t]*)''/g, `$1${checksum}`), checksum };
}

/** Parses and verifies a release; throws FS_AGENT_CHECKSUM_MISMATCH or FS_AGENT_INVALID_MANIFESTS. */
export function parseRelease(text: string, version: string, expectedChecksum: string): Release {
  const candidates = checksumCandidates(text);
  if (!candidates.includes(expectedChecksum)) throw new AgentError('FS_AGENT_CHECKSUM_MISMATCH', [version, expectedChecksum, candidates[0] as string]);
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text);
  } catch (err) {
    throw new AgentError('FS_AGENT_INVALID_MANIFESTS', [version, (err as Error).message], { cause: err });
  }
  const objects: KubeObject[] = [];
  const images = new Set<string>();
  const seen = new Set<string>();
  docs.forEach((d, i) => {
    if (d === null || d === undefined) return;
    const o = d as KubeObject;
    if (typeof o !== 'object' || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string' || o.metadata.name === '') {
      throw new AgentError('FS_AGENT_INVALID_MANIFESTS', [version, `document ${i} is not a Kubernetes object with apiVersion, kind and metadata.name`]);
    }
    if (o.kind.endsWith('List')) throw new AgentError('FS_AGENT_INVALID_MANIFESTS', [version, `document ${i} is a ${o.kind}: list kinds are not applied`]);
    const ann = o.metadata.annotations ?? {};
    if (ann[ANN_VERSION] !== undefined && ann[ANN_VERSION] !== version) {
      throw new AgentError('FS_AGENT_INVALID_MANIFESTS', [version, `document ${i} (${o.kind} ${o.metadata.name}) is annotated with version ${ann[ANN_VERSION]}`]);
    }
    if (ann[ANN_CHECKSUM] !== undefined && ann[ANN_CHECKSUM] !== expectedChecksum) {
      throw new AgentError('FS_AGENT_INVALID_MANIFESTS', [version, `document ${i} (${o.kind} ${o.metadata.name}) carries checksum ${ann[ANN_CHECKSUM]}`]);
    }
    const mode = ann[ANN_APPLY_MODE];
    if (mode !== undefined && mode !== 'optimistic' && mode !== 'pessimistic') {
      throw new AgentError('FS_AGENT_INVALID_MANIFESTS', [version, `document ${i}: ${ANN_APPLY_MODE} must be optimistic or pessimistic, not ${JSON.stringify(mode)}`]);
    }
    const host = ann[ANN_HOST_LEVEL];
    if (host !== undefined && host !== 'true' && host !== 'false') {
      throw new AgentError('FS_AGENT_INVALID_MANIFESTS', [version, `document ${i}: ${ANN_HOST_LEVEL} must be "true" or "false", not ${JSON.stringify(host)}`]);
    }
    if (host === 'true' && (o.kind === 'CustomResourceDefinition' || o.kind === 'Namespace')) {
      throw new AgentError('FS_AGENT_INVALID_MANIFESTS', [version, `document ${i}: a ${o.kind} cannot be a host-level step`]);
    }
    for (const img of (ann[ANN_PREPULL] ?? '').split(',')) if (img.trim() !== '') images.add(img.trim());
    const key = refKey(refOf(o));
    if (seen.has(key)) throw new AgentError('FS_AGENT_INVALID_MANIFESTS', [version, `document ${i}: ${o.kind} ${o.metadata.name} appears twice`]);
    seen.add(key);
    objects.push(o);
  });
  if (objects.length === 0) throw new AgentError('FS_AGENT_INVALID_MANIFESTS', [version, 'no objects']);
  return { version, checksum: expectedChecksum, objects, prepullImages: [...images], text };
}

/** Apply order: CRDs, then Namespaces, then the rest as rendered. */
export function applyOrder(objects: readonly KubeObject[]): { crds: KubeObject[]; namespaces: KubeObject[]; rest: KubeObject[] } {
  const crds: KubeObject[] = [];
  const namespaces: KubeObject[] = [];
  const rest: KubeObject[] = [];
  for (const o of objects) {
    if (o.kind === 'CustomResourceDefinition' && o.apiVersion.startsWith('apiextensions.k8s.io/')) crds.push(o);
    else if (o.kind === 'Namespace' && o.apiVersion === 'v1') namespaces.push(o);
    else rest.push(o);
  }
  return { crds, namespaces, rest };
}

export function isHostLevel(o: KubeObject): boolean {
  return o.metadata.annotations?.[ANN_HOST_LEVEL] === 'true';
}

function substitute(v: unknown, node: string): unknown {
  if (typeof v === 'string') return v.split(NODE_NAME_PLACEHOLDER).join(node);
  if (Array.isArray(v)) return v.map((x) => substitute(x, node));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [substitute(k, node) as string, substitute(x, node)]));
  return v;
}

/** A release's objects split for one node: the rest, and the host-level steps with `$(NODE_NAME)` replaced. */
export function splitHostLevel(objects: readonly KubeObject[], node: string): { cluster: KubeObject[]; host: KubeObject[] } {
  const cluster: KubeObject[] = [];
  const host: KubeObject[] = [];
  for (const o of objects) {
    if (isHostLevel(o)) host.push(substitute(o, node) as KubeObject);
    else cluster.push(o);
  }
  return { cluster, host };
}
