import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricFilter } from './filters.js';
import { Relabeler } from './relabel.js';
import { RelabelError } from './errors.js';
import { sortLabels } from './labels.js';

const series: string[][] = [
  ['__name__', 'node_cpu_seconds_total', 'cpu', '0', 'pod', 'a', 'uid', 'u1'],
  ['__name__', 'node_memory_bytes', 'pod', 'b'],
  ['__name__', 'go_gc_duration_seconds', 'quantile', '0.5'],
  ['__name__', 'http_requests_total', 'code', '200', 'uid', 'u2'],
  ['__name__', 'kube_pod_info', 'pod', 'c', 'container_id', 'x'],
  ['__name__', 'apiserver_request_total', 'verb', 'GET'],
  ['__name__', 'node_weird\nname'],
].map(sortLabels);

const configs = [
  { allow: { names: ['http_requests_total'], prefixes: ['node_'], regexes: ['kube_.*_info'] } },
  { deny: { prefixes: ['go_'], names: ['kube_pod_info'] } },
  { allow: { prefixes: ['node_', 'http_'] }, deny: { regexes: ['.*_bytes'] }, label_deny: ['uid', 'container_id'] },
  { label_deny: ['pod'] },
  {},
];

for (const cfg of configs) {
  test(`filter fast path equals its relabel rules: ${JSON.stringify(cfg)}`, () => {
    const f = MetricFilter.compile(cfg);
    const r = Relabeler.compile(f.toRelabelConfigs());
    for (const s of series) assert.deepEqual(f.apply(s), r.process(s), JSON.stringify(s));
  });
}

test('filter keeps and drops by name', () => {
  const f = MetricFilter.compile(configs[0]);
  assert.equal(f.keepName('node_load1'), true);
  assert.equal(f.keepName('kube_node_info'), true);
  assert.equal(f.keepName('go_goroutines'), false);
  assert.equal(f.dropReason, 'not_in_allowlist');
  const d = MetricFilter.compile(configs[1]);
  assert.equal(d.keepName('go_goroutines'), false);
  assert.equal(d.dropReason, 'in_denylist');
});

test('filter config errors name the path', () => {
  assert.throws(() => MetricFilter.compile({ allow: { regexes: ['ok', '('] } }), (e: unknown) => e instanceof RelabelError && e.code === 'FS_RELABEL_INVALID_FILTER' && e.message.includes('allow.regexes.1'));
  assert.throws(() => MetricFilter.compile({ label_deny: ['__name__'] }), /__name__ cannot be denied/);
  assert.throws(() => MetricFilter.compile({ allow: { nmes: [] } }), (e: unknown) => e instanceof RelabelError && e.message.includes('allow'));
});
