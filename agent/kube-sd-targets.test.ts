// The meta labels of roles pod and endpoints, and target resolution, against
// what Prometheus 2.42 produces for the same objects (its pod_test.go and
// endpoints_test.go cases, reduced to what the agent reads).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Relabeler } from '../relabel/index.js';
import { type PodObject, buildEndpointsGroup, buildPodGroup, buildServiceGroup } from './kube-sd-targets.js';
import { formatPromDuration, parsePromDuration, resolveTarget } from './target-labels.js';

const pod: PodObject = {
  metadata: { name: 'testpod', namespace: 'default', uid: 'abc123', labels: { 'test/label': 'testvalue' }, annotations: { 'test/annotation': 'testannotationvalue' }, ownerReferences: [{ kind: 'testcontrollerkind', name: 'testcontrollername', controller: true }] },
  spec: {
    nodeName: 'testnode',
    containers: [
      { name: 'testcontainer', image: 'testcontainer:latest', ports: [{ name: 'testport', protocol: 'TCP', containerPort: 9000 }] },
      { name: 'noports', image: 'np:1' },
    ],
    initContainers: [{ name: 'initcontainer', image: 'init:1', ports: [{ name: 'initport', containerPort: 9111 }] }],
  },
  status: { podIP: '1.2.3.4', hostIP: '2.3.4.5', phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'testcontainer', containerID: 'docker://a1b2c3d4e5f6' }] },
};

test('role pod: group labels, one target per container port, a port-less target per container without ports, init containers marked', () => {
  const g = buildPodGroup(pod);
  assert.equal(g.source, 'pod/default/testpod');
  assert.deepEqual(g.labels, {
    __meta_kubernetes_namespace: 'default',
    __meta_kubernetes_pod_name: 'testpod',
    __meta_kubernetes_pod_ip: '1.2.3.4',
    __meta_kubernetes_pod_ready: 'true',
    __meta_kubernetes_pod_phase: 'Running',
    __meta_kubernetes_pod_node_name: 'testnode',
    __meta_kubernetes_pod_host_ip: '2.3.4.5',
    __meta_kubernetes_pod_uid: 'abc123',
    __meta_kubernetes_pod_controller_kind: 'testcontrollerkind',
    __meta_kubernetes_pod_controller_name: 'testcontrollername',
    __meta_kubernetes_pod_label_test_label: 'testvalue',
    __meta_kubernetes_pod_labelpresent_test_label: 'true',
    __meta_kubernetes_pod_annotation_test_annotation: 'testannotationvalue',
    __meta_kubernetes_pod_annotationpresent_test_annotation: 'true',
  });
  assert.deepEqual(g.targets, [
    { __address__: '1.2.3.4:9000', __meta_kubernetes_pod_container_name: 'testcontainer', __meta_kubernetes_pod_container_image: 'testcontainer:latest', __meta_kubernetes_pod_container_id: 'docker://a1b2c3d4e5f6', __meta_kubernetes_pod_container_init: 'false', __meta_kubernetes_pod_container_port_name: 'testport', __meta_kubernetes_pod_container_port_number: '9000', __meta_kubernetes_pod_container_port_protocol: 'TCP' },
    { __address__: '1.2.3.4', __meta_kubernetes_pod_container_name: 'noports', __meta_kubernetes_pod_container_image: 'np:1', __meta_kubernetes_pod_container_id: '', __meta_kubernetes_pod_container_init: 'false' },
    { __address__: '1.2.3.4:9111', __meta_kubernetes_pod_container_name: 'initcontainer', __meta_kubernetes_pod_container_image: 'init:1', __meta_kubernetes_pod_container_id: '', __meta_kubernetes_pod_container_init: 'true', __meta_kubernetes_pod_container_port_name: 'initport', __meta_kubernetes_pod_container_port_number: '9111', __meta_kubernetes_pod_container_port_protocol: 'TCP' },
  ]);
  assert.deepEqual(buildPodGroup({ ...pod, status: { phase: 'Pending' } }).targets, [], 'no IP, no targets');
  assert.equal(buildPodGroup({ ...pod, status: { podIP: 'fd00::1' } }).targets[0]?.__address__, '[fd00::1]:9000');
  assert.equal(buildPodGroup({ ...pod, status: { podIP: '1.2.3.4' } }).labels.__meta_kubernetes_pod_ready, 'unknown');
});

test('role endpoints: service and pod labels, ready and not-ready addresses, uncovered container ports', () => {
  const g = buildEndpointsGroup(
    {
      metadata: { name: 'testendpoints', namespace: 'default', labels: { 'app/name': 'test' } },
      subsets: [
        { addresses: [{ ip: '1.2.3.4', hostname: 'testendpoint1', nodeName: 'foobar', targetRef: { kind: 'Pod', name: 'testpod', namespace: 'default' } }], notReadyAddresses: [{ ip: '2.3.4.5' }], ports: [{ name: 'testport', port: 9000, protocol: 'TCP' }] },
      ],
    },
    { metadata: { name: 'testendpoints', namespace: 'default', labels: { 'app/name': 'svc' }, annotations: { 'prometheus.io/scrape': 'true' } } },
    (ns, name) => (ns === 'default' && name === 'testpod' ? pod : null),
  );
  assert.equal(g.source, 'endpoints/default/testendpoints');
  assert.deepEqual(g.labels, {
    __meta_kubernetes_namespace: 'default',
    __meta_kubernetes_endpoints_name: 'testendpoints',
    __meta_kubernetes_endpoints_label_app_name: 'test',
    __meta_kubernetes_endpoints_labelpresent_app_name: 'true',
    __meta_kubernetes_service_name: 'testendpoints',
    __meta_kubernetes_service_label_app_name: 'svc',
    __meta_kubernetes_service_labelpresent_app_name: 'true',
    __meta_kubernetes_service_annotation_prometheus_io_scrape: 'true',
    __meta_kubernetes_service_annotationpresent_prometheus_io_scrape: 'true',
  });
  assert.equal(g.targets.length, 3);
  const [ready, notReady, uncovered] = g.targets as Record<string, string>[];
  assert.equal(ready?.__address__, '1.2.3.4:9000');
  assert.equal(ready?.__meta_kubernetes_endpoint_ready, 'true');
  assert.equal(ready?.__meta_kubernetes_endpoint_hostname, 'testendpoint1');
  assert.equal(ready?.__meta_kubernetes_endpoint_node_name, 'foobar');
  assert.equal(ready?.__meta_kubernetes_endpoint_address_target_kind, 'Pod');
  assert.equal(ready?.__meta_kubernetes_endpoint_address_target_name, 'testpod');
  assert.equal(ready?.__meta_kubernetes_endpoint_port_name, 'testport');
  assert.equal(ready?.__meta_kubernetes_pod_name, 'testpod');
  assert.equal(ready?.__meta_kubernetes_pod_container_name, 'testcontainer');
  assert.equal(ready?.__meta_kubernetes_pod_container_port_number, '9000');
  assert.deepEqual(notReady, { __address__: '2.3.4.5:9000', __meta_kubernetes_endpoint_port_name: 'testport', __meta_kubernetes_endpoint_port_protocol: 'TCP', __meta_kubernetes_endpoint_ready: 'false' });
  // The init container's port 9111 is not behind the service: a target of its own, pod labels, no endpoint labels.
  assert.equal(uncovered?.__address__, '1.2.3.4:9111');
  assert.equal(uncovered?.__meta_kubernetes_pod_container_init, 'true');
  assert.equal(uncovered?.__meta_kubernetes_endpoint_ready, undefined);
});

const D = { job: 'j', scheme: 'http', metricsPath: '/metrics', intervalMs: 15_000, timeoutMs: 10_000, params: {} };

test('resolveTarget: defaults, relabeling, default ports, meta labels gone, params', () => {
  const none = Relabeler.compile([]);
  const t = resolveTarget({ __meta_kubernetes_namespace: 'x' }, { __address__: '10.0.0.1:9100' }, D, none);
  assert.equal(t.kind, 'target');
  if (t.kind !== 'target') return;
  assert.equal(t.target.url, 'http://10.0.0.1:9100/metrics');
  assert.equal(t.target.job, 'j');
  assert.equal(t.target.instance, '10.0.0.1:9100');
  assert.deepEqual(t.target.labels, {});
  const p = resolveTarget({}, { __address__: '10.0.0.1' }, { ...D, scheme: 'https', params: { module: ['a', 'b'] } }, Relabeler.compile([{ target_label: '__param_module', replacement: 'c' }]));
  assert.equal(p.kind === 'target' && p.target.url, 'https://10.0.0.1:443/metrics?module=c');
  assert.equal(resolveTarget({}, { __address__: '10.0.0.1' }, D, Relabeler.compile([{ action: 'drop', source_labels: ['__address__'], regex: '10.*' }])).kind, 'dropped');
  assert.equal(resolveTarget({}, {}, D, none).kind, 'dropped');
  const bad = resolveTarget({}, { __address__: 'a/b' }, D, none);
  assert.equal(bad.kind, 'invalid');
  const iv = resolveTarget({}, { __address__: 'a:1' }, D, Relabeler.compile([{ target_label: '__scrape_timeout__', replacement: '1m' }]));
  assert.equal(iv.kind === 'invalid' && /greater than scrape interval/.test(iv.reason), true);
  const custom = resolveTarget({}, { __address__: 'a:1' }, D, Relabeler.compile([{ target_label: '__scrape_interval__', replacement: '1m30s' }, { target_label: 'instance', replacement: 'mine' }]));
  assert.equal(custom.kind === 'target' && custom.target.intervalMs, 90_000);
  assert.equal(custom.kind === 'target' && custom.target.instance, 'mine');
});

test('Prometheus durations', () => {
  for (const [s, ms] of [['15s', 15_000], ['1m', 60_000], ['1m30s', 90_000], ['500ms', 500], ['1h', 3_600_000]] as const) {
    assert.equal(parsePromDuration(s), ms);
    assert.equal(formatPromDuration(ms), s);
  }
  assert.ok(Number.isNaN(parsePromDuration('15')));
  assert.ok(Number.isNaN(parsePromDuration('')));
});

test('role service: one target per port at the service DNS name', () => {
  const g = buildServiceGroup({ metadata: { name: 'testservice', namespace: 'default', labels: { 'app/name': 'test' } }, spec: { type: 'ClusterIP', clusterIP: '10.0.0.1', ports: [{ name: 'testport', port: 30900, protocol: 'TCP' }, { name: 'testport1', port: 30901, protocol: 'UDP' }] } });
  assert.equal(g.source, 'svc/default/testservice');
  assert.deepEqual(g.labels, { __meta_kubernetes_namespace: 'default', __meta_kubernetes_service_name: 'testservice', __meta_kubernetes_service_label_app_name: 'test', __meta_kubernetes_service_labelpresent_app_name: 'true' });
  assert.deepEqual(g.targets, [
    { __address__: 'testservice.default.svc:30900', __meta_kubernetes_service_port_name: 'testport', __meta_kubernetes_service_port_number: '30900', __meta_kubernetes_service_port_protocol: 'TCP', __meta_kubernetes_service_type: 'ClusterIP', __meta_kubernetes_service_cluster_ip: '10.0.0.1' },
    { __address__: 'testservice.default.svc:30901', __meta_kubernetes_service_port_name: 'testport1', __meta_kubernetes_service_port_number: '30901', __meta_kubernetes_service_port_protocol: 'UDP', __meta_kubernetes_service_type: 'ClusterIP', __meta_kubernetes_service_cluster_ip: '10.0.0.1' },
  ]);
  const ext = buildServiceGroup({ metadata: { name: 'ext', namespace: 'n' }, spec: { type: 'ExternalName', externalName: 'db.example.com', ports: [{ port: 5432 }] } });
  assert.equal(ext.targets[0]?.__meta_kubernetes_service_external_name, 'db.example.com');
  assert.equal(ext.targets[0]?.__meta_kubernetes_service_cluster_ip, undefined);
});
