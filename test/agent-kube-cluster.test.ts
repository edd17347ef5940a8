// The apply path against a real Kubernetes cluster: the one named by
// KUBECONFIG. No cluster can be installed on the build machine, so:
//   - KUBECONFIG unset: not applicable, and the test says so by name;
//   - KUBECONFIG set but the API server unreachable: a failure under CI=true
//     (a CI job that provides a cluster must not pass without it), otherwise
//     a skip that names the reason;
//   - reachable: server-side apply with the agent's field manager, readiness
//     (a CRD Established, a ConfigMap), prune, and cleanup, in a namespace of
//     its own.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Applier, FIELD_MANAGER, KubernetesDiscovery, MANAGED_LABEL, type KubeObject, type ResolvedTarget, httpListWatchClient, kubeApi, kubeConfigFor, kubeListWatchClient, loadClusterAccess } from '../agent/index.js';
import { Relabeler } from '../relabel/index.js';

const kubeconfig = process.env.KUBECONFIG?.split(':')[0];

if (kubeconfig === undefined || kubeconfig === '') {
  test('real cluster: not applicable (KUBECONFIG is unset; the in-test API server covers the apply path in agent-control.test.ts and discovery in agent-kube-sd.test.ts)', (t) => {
    t.diagnostic('set KUBECONFIG to run the apply path and service discovery against a real cluster');
  });
} else {
  for (const client of ['builtin', 'client-node'] as const)
  test(`real cluster (${kubeconfig}), ${client} client: server-side apply, readiness, prune`, async (t) => {
    const api = await kubeApi(kubeconfig, { client });
    try {
      await api.read({ apiVersion: 'v1', kind: 'Namespace', name: 'default' });
    } catch (err) {
      const why = `KUBECONFIG=${kubeconfig} is set but its API server is unreachable: ${(err as Error).message}`;
      if (process.env.CI === 'true') assert.fail(why);
      t.skip(why);
      return;
    }
    const ns = `fleetscope-agent-test-${randomBytes(4).toString('hex')}`;
    const group = `t${randomBytes(3).toString('hex')}.fleetscope.io`;
    const objs = (version: string, withConfig: boolean): KubeObject[] => [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, annotations: { 'fleetscope.io/version': version } } },
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `widgets.${group}` },
        spec: { group, scope: 'Namespaced', names: { plural: 'widgets', singular: 'widget', kind: 'Widget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
      },
      { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w', namespace: ns, annotations: { 'fleetscope.io/apply-mode': 'optimistic' } }, spec: { size: Number(version) } } as KubeObject,
      ...(withConfig ? [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: ns }, data: { version } } as KubeObject] : []),
    ];
    const applier = new Applier(api, { readyTimeoutMs: 60_000, retries: 4 });
    try {
      const v1 = await applier.apply(objs('1', true), []);
      assert.equal(v1.ok, true, JSON.stringify(v1));
      const cm = await api.read({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'c' });
      assert.equal(cm?.metadata.labels?.[MANAGED_LABEL], 'fleetscope-agent');
      const managers = ((cm?.metadata.managedFields ?? []) as { manager: string; operation: string }[]).map((m) => `${m.manager}/${m.operation}`);
      assert.ok(managers.includes(`${FIELD_MANAGER}/Apply`), managers.join(','));
      const v2 = await applier.apply(objs('2', false), v1.inventory);
      assert.equal(v2.ok, true, JSON.stringify(v2));
      assert.equal(v2.ok && v2.pruned, 1);
      assert.equal(await api.read({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'c' }), null);
    } finally {
      await api.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined);
      await api.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: `widgets.${group}` }).catch(() => undefined);
    }
  });

  for (const kind of ['builtin', 'client-node'] as const) test(`real cluster (${kubeconfig}): service discovery lists and watches pods and endpoints (${kind} client)`, async (t) => {
    let client;
    if (kind === 'builtin') {
      const access = loadClusterAccess(kubeconfig);
      if (access === null) {
        t.skip('this kubeconfig needs an exec / auth-provider plugin: only the client-node client can use it');
        return;
      }
      client = httpListWatchClient(access);
    } else client = await kubeListWatchClient(await kubeConfigFor(kubeconfig));
    const got = new Map<string, ReadonlyMap<string, ResolvedTarget>>();
    const errors: string[] = [];
    const keepAll = Relabeler.compile([{ source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' }, { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' }]);
    const defaults = { scheme: 'http', metricsPath: '/metrics', intervalMs: 15_000, timeoutMs: 10_000, params: {} };
    let d: KubernetesDiscovery;
    try {
      d = await KubernetesDiscovery.start([
        { name: 'pods', configs: [{ role: 'pod', namespaces: [], own_namespace: false, selectors: [] }], relabeler: keepAll, defaults: { ...defaults, job: 'pods' } },
        { name: 'endpoints', configs: [{ role: 'endpoints', namespaces: ['default'], own_namespace: false, selectors: [] }], relabeler: keepAll, defaults: { ...defaults, job: 'endpoints' } },
      ], { client, onTargets: (job, targets) => got.set(job, targets), log: (_l, msg) => errors.push(msg), minBackoffMs: 500 });
    } catch (err) {
      const why = `KUBECONFIG=${kubeconfig} is set but discovery cannot start: ${(err as Error).message}`;
      if (process.env.CI === 'true') assert.fail(why);
      t.skip(why);
      return;
    }
    try {
      const deadline = Date.now() + 20_000;
      while (!(got.has('pods') && got.has('endpoints')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(got.has('pods') && got.has('endpoints'), `no target sets after 20 s: ${errors.join('; ')}`);
      // Every cluster runs pods (the control plane's own, CoreDNS …), and default/kubernetes has endpoints.
      const pods = [...(got.get('pods')?.values() ?? [])];
      assert.ok(pods.length > 0 && pods.every((p) => p.labels.pod !== undefined && p.labels.namespace !== undefined), JSON.stringify(pods.slice(0, 3)));
      assert.ok((got.get('endpoints')?.size ?? 0) > 0, 'the default/kubernetes service has endpoints');
    } finally {
      await d.stop();
    }
  });
}
