// Whether an applied object is ready, by the rules of kstatus
// (sigs.k8s.io/cli-utils/pkg/kstatus/status, core.go), as one pure
// function: Current (ready), InProgress (wait), or Failed (stop waiting).
// Plus what the design asks beyond kstatus: a Job must be Complete, a CRD
// Established.

export type Readiness = { readonly state: 'current' } | { readonly state: 'in-progress'; readonly reason: string } | { readonly state: 'failed'; readonly reason: string };

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

type Obj = Record<string, unknown> & { kind?: string; metadata?: { generation?: number; deletionTimestamp?: string }; spec?: Record<string, unknown>; status?: Record<string, unknown> };

const CURRENT: Readiness = { state: 'current' };
const wait = (reason: string): Readiness => ({ state: 'in-progress', reason });
const failed = (reason: string): Readiness => ({ state: 'failed', reason });

function num(v: unknown, dflt = 0): number {
  return typeof v === 'number' ? v : dflt;
}

function condition(status: Record<string, unknown> | undefined, type: string): Condition | undefined {
  const list = status?.conditions;
  return Array.isArray(list) ? (list as Condition[]).find((c) => c.type === type) : undefined;
}

export function readiness(o: Obj): Readiness {
  if (o.metadata?.deletionTimestamp !== undefined) return wait('being deleted');
  const status = o.status;
  const spec = o.spec ?? {};
  const generation = o.metadata?.generation;
  const observed = status?.observedGeneration;
  if (typeof generation === 'number' && typeof observed === 'number' && observed < generation) return wait(`observedGeneration ${observed} < generation ${generation}`);
  switch (o.kind) {
    case 'Deployment': {
      if (status === undefined || typeof observed !== 'number') return wait('no status yet');
      const want = num(spec.replicas, 1);
      const progressing = condition(status, 'Progressing');
      if (progressing?.reason === 'ProgressDeadlineExceeded') return failed(`progress deadline exceeded: ${progressing.message ?? ''}`.trim());
      if (num(status.updatedReplicas) < want) return wait(`updated replicas ${num(status.updatedReplicas)}/${want}`);
      if (num(status.replicas) > num(status.updatedReplicas)) return wait(`${num(status.replicas) - num(status.updatedReplicas)} old replicas pending termination`);
      if (num(status.availableReplicas) < want) return wait(`available replicas ${num(status.availableReplicas)}/${want}`);
      if (num(status.readyReplicas) < want) return wait(`ready replicas ${num(status.readyReplicas)}/${want}`);
      return CURRENT;
    }
    case 'StatefulSet': {
      if (status === undefined || typeof observed !== 'number') return wait('no status yet');
      const want = num(spec.replicas, 1);
      if (num(status.readyReplicas) < want) return wait(`ready replicas ${num(status.readyReplicas)}/${want}`);
      if (num(status.updatedReplicas) < want && status.updateRevision !== status.currentRevision) return wait(`updated replicas ${num(status.updatedReplicas)}/${want}`);
      return CURRENT;
    }
    case 'DaemonSet': {
      if (status === undefined || typeof observed !== 'number') return wait('no status yet');
      const want = num(status.desiredNumberScheduled);
      if (num(status.updatedNumberScheduled) < want) return wait(`updated ${num(status.updatedNumberScheduled)}/${want}`);
      if (num(status.numberAvailable) < want) return wait(`available ${num(status.numberAvailable)}/${want}`);
      if (num(status.numberReady) < want) return wait(`ready ${num(status.numberReady)}/${want}`);
      return CURRENT;
    }
    case 'Job': {
      const complete = condition(status, 'Complete');
      const fail = condition(status, 'Failed');
      if (fail?.status === 'True') return failed(`job failed: ${fail.reason ?? ''} ${fail.message ?? ''}`.trim());
      if (complete?.status === 'True') return CURRENT;
      return wait('job not Complete');
    }
    case 'CustomResourceDefinition': {
      const names = condition(status, 'NamesAccepted');
      if (names?.status === 'False') return failed(`CRD names not accepted: ${names.message ?? names.reason ?? ''}`.trim());
      return condition(status, 'Established')?.status === 'True' ? CURRENT : wait('CRD not Established');
    }
    case 'Pod': {
      const phase = status?.phase;
      if (phase === 'Succeeded') return CURRENT;
      if (phase === 'Failed') return failed('pod failed');
      return condition(status, 'Ready')?.status === 'True' ? CURRENT : wait('pod not Ready');
    }
    case 'PersistentVolumeClaim':
      return status?.phase === 'Bound' ? CURRENT : wait('claim not Bound');
    case 'Service': {
      if (spec.type !== 'LoadBalancer') return CURRENT;
      const ingress = (status?.loadBalancer as { ingress?: unknown[] } | undefined)?.ingress;
      return Array.isArray(ingress) && ingress.length > 0 ? CURRENT : wait('no load balancer ingress');
    }
    default: {
      // kstatus's generic rules: a Ready/Stalled/Reconciling condition decides; none means current.
      const stalled = condition(status, 'Stalled');
      if (stalled?.status === 'True') return failed(`stalled: ${stalled.message ?? stalled.reason ?? ''}`.trim());
      const reconciling = condition(status, 'Reconciling');
      if (reconciling?.status === 'True') return wait(`reconciling: ${reconciling.reason ?? ''}`.trim());
      const ready = condition(status, 'Ready');
      if (ready !== undefined && ready.status !== 'True') return wait(`Ready is ${ready.status ?? 'unknown'}`);
      return CURRENT;
    }
  }
}
