import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readiness } from './readiness.js';

const cond = (type: string, status: string, reason?: string): object => ({ type, status, ...(reason ? { reason } : {}) });

test('readiness by kstatus rules, kind by kind', () => {
  const table: [string, object, string][] = [
    ['deployment without status', { kind: 'Deployment', metadata: { generation: 1 }, spec: { replicas: 2 } }, 'in-progress'],
    ['deployment old generation', { kind: 'Deployment', metadata: { generation: 2 }, spec: { replicas: 1 }, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1, readyReplicas: 1 } }, 'in-progress'],
    ['deployment partly updated', { kind: 'Deployment', metadata: { generation: 1 }, spec: { replicas: 2 }, status: { observedGeneration: 1, replicas: 2, updatedReplicas: 1, availableReplicas: 2, readyReplicas: 2 } }, 'in-progress'],
    ['deployment old replicas left', { kind: 'Deployment', metadata: { generation: 1 }, spec: { replicas: 2 }, status: { observedGeneration: 1, replicas: 3, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 } }, 'in-progress'],
    ['deployment unavailable', { kind: 'Deployment', metadata: { generation: 1 }, spec: { replicas: 2 }, status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 1, readyReplicas: 2 } }, 'in-progress'],
    ['deployment ready', { kind: 'Deployment', metadata: { generation: 1 }, spec: { replicas: 2 }, status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 } }, 'current'],
    ['deployment default replicas', { kind: 'Deployment', metadata: { generation: 1 }, spec: {}, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1, readyReplicas: 1 } }, 'current'],
    ['deployment deadline', { kind: 'Deployment', metadata: { generation: 1 }, spec: {}, status: { observedGeneration: 1, conditions: [cond('Progressing', 'False', 'ProgressDeadlineExceeded')] } }, 'failed'],
    ['job running', { kind: 'Job', status: { active: 1 } }, 'in-progress'],
    ['job complete', { kind: 'Job', status: { conditions: [cond('Complete', 'True')] } }, 'current'],
    ['job failed', { kind: 'Job', status: { conditions: [cond('Failed', 'True', 'BackoffLimitExceeded')] } }, 'failed'],
    ['crd not established', { kind: 'CustomResourceDefinition', status: { conditions: [cond('NamesAccepted', 'True')] } }, 'in-progress'],
    ['crd established', { kind: 'CustomResourceDefinition', status: { conditions: [cond('Established', 'True')] } }, 'current'],
    ['crd names refused', { kind: 'CustomResourceDefinition', status: { conditions: [cond('NamesAccepted', 'False')] } }, 'failed'],
    ['daemonset ready', { kind: 'DaemonSet', metadata: { generation: 1 }, status: { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3, numberReady: 3 } }, 'current'],
    ['daemonset rolling', { kind: 'DaemonSet', metadata: { generation: 1 }, status: { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 2, numberAvailable: 3, numberReady: 3 } }, 'in-progress'],
    ['statefulset ready', { kind: 'StatefulSet', metadata: { generation: 1 }, spec: { replicas: 2 }, status: { observedGeneration: 1, readyReplicas: 2, updatedReplicas: 2, currentRevision: 'a', updateRevision: 'a' } }, 'current'],
    ['pod ready', { kind: 'Pod', status: { phase: 'Running', conditions: [cond('Ready', 'True')] } }, 'current'],
    ['configmap', { kind: 'ConfigMap' }, 'current'],
    ['service clusterip', { kind: 'Service', spec: { type: 'ClusterIP' } }, 'current'],
    ['custom ready false', { kind: 'Widget', status: { conditions: [cond('Ready', 'False')] } }, 'in-progress'],
    ['custom stalled', { kind: 'Widget', status: { conditions: [cond('Stalled', 'True')] } }, 'failed'],
    ['being deleted', { kind: 'ConfigMap', metadata: { deletionTimestamp: 'x' } }, 'in-progress'],
  ];
  for (const [name, obj, want] of table) assert.equal(readiness(obj as never).state, want, name);
});
