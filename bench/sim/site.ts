// One simulated edge site's metrics, shaped like what the write-up's CEs
// exposed: ~50,000 series of ~15 labels from node, kubelet/cAdvisor,
// kube-state-metrics, the API server, etcd, CoreDNS, ingress and apps; a mix
// of counters, gauges, classic histograms (12+ `le` buckets) and summaries.
// Deterministic from a seed.
import { sortLabels } from '../../relabel/index.js';
import { Random } from './random.js';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

export interface SiteOptions {
  /** Site name (becomes the `site` label value where a source carries it). */
  site: string;
  seed: number;
  /** Approximate number of series to produce. */
  series: number;
  /** Share of series that belong to histograms, 0..1. */
  histogramShare: number;
}

export const DEFAULT_SITE: SiteOptions = { site: 'ce-0001', seed: 1, series: 50_000, histogramShare: 0.35 };

export interface SimSeries {
  /** Flat, sorted labels including `__name__`. */
  readonly labels: readonly string[];
  readonly type: MetricType;
  /** The family name (for histograms, without `_bucket`/`_sum`/`_count`). */
  readonly family: string;
  value: number;
}

export interface SimFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
}

const COUNTER_FAMILIES = [
  'node_cpu_seconds_total', 'node_network_receive_bytes_total', 'node_network_transmit_bytes_total',
  'node_disk_read_bytes_total', 'node_disk_written_bytes_total', 'container_cpu_usage_seconds_total',
  'container_network_receive_bytes_total', 'container_network_transmit_bytes_total', 'container_fs_reads_bytes_total',
  'container_fs_writes_bytes_total', 'kube_pod_container_status_restarts_total', 'apiserver_request_total',
  'etcd_server_proposals_committed_total', 'coredns_dns_requests_total', 'coredns_dns_responses_total',
  'nginx_ingress_controller_requests', 'http_requests_total', 'grpc_server_handled_total',
  'envoy_cluster_upstream_rq_total', 'process_cpu_seconds_total', 'go_gc_cycles_total', 'kubelet_runtime_operations_total',
];
const GAUGE_FAMILIES = [
  'node_memory_MemAvailable_bytes', 'node_filesystem_avail_bytes', 'node_load1', 'container_memory_working_set_bytes',
  'container_memory_rss', 'container_spec_cpu_quota', 'kube_pod_status_phase', 'kube_pod_container_status_ready',
  'kube_deployment_status_replicas_available', 'kube_node_status_condition', 'kube_pod_info', 'kube_pod_labels',
  'process_resident_memory_bytes', 'go_goroutines', 'go_memstats_heap_inuse_bytes', 'up_site_tunnel_state',
  'etcd_mvcc_db_total_size_in_bytes', 'kubelet_running_pods', 'container_threads', 'node_hwmon_temp_celsius',
];
const HISTOGRAM_FAMILIES = [
  'apiserver_request_duration_seconds', 'etcd_disk_wal_fsync_duration_seconds', 'coredns_dns_request_duration_seconds',
  'nginx_ingress_controller_request_duration_seconds', 'http_request_duration_seconds', 'grpc_server_handling_seconds',
  'kubelet_pod_start_duration_seconds', 'workqueue_queue_duration_seconds', 'rest_client_request_duration_seconds',
];
const SUMMARY_FAMILIES = ['go_gc_duration_seconds', 'prometheus_engine_query_duration_seconds', 'envoy_http_downstream_rq_time'];

const BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30', '60', '+Inf'];
const QUANTILES = ['0', '0.25', '0.5', '0.75', '0.99', '1'];

const NAMESPACES = ['kube-system', 'monitoring', 'ingress-nginx', 'edge-gateway', 'payments', 'pos-terminal', 'inventory', 'cert-manager', 'fleetscope', 'default'];
const APPS = ['coredns', 'kube-proxy', 'node-exporter', 'ingress-controller', 'edge-router', 'pos-api', 'inventory-sync', 'card-reader', 'metrics-agent', 'etcd', 'kube-apiserver', 'store-ui'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
const CODES = ['200', '201', '204', '301', '400', '401', '403', '404', '409', '429', '500', '502', '503'];
const MODES = ['idle', 'user', 'system', 'iowait', 'irq', 'softirq', 'steal', 'nice'];

/** Generates one site's series. Labels per series ≈ 15 (13 common + family-specific). */
export function generateSite(opts: SiteOptions): { series: SimSeries[]; families: SimFamily[] } {
  const rnd = new Random(opts.seed);
  const nodes = Array.from({ length: 3 }, (_, i) => `${opts.site}-node-${i + 1}`);
  const pods = Array.from({ length: 120 }, () => {
    const app = rnd.pick(APPS);
    return {
      app,
      namespace: rnd.pick(NAMESPACES),
      pod: `${app}-${rnd.token(10)}-${rnd.token(5)}`,
      node: rnd.pick(nodes),
      uid: `${rnd.token(8, '0123456789abcdef')}-${rnd.token(4, '0123456789abcdef')}-${rnd.token(4, '0123456789abcdef')}-${rnd.token(12, '0123456789abcdef')}`,
      image: `registry.example.com/edge/${app}:v${1 + rnd.int(3)}.${rnd.int(20)}.${rnd.int(10)}`,
      version: `v${1 + rnd.int(3)}.${rnd.int(20)}.${rnd.int(10)}`,
    };
  });
  const series: SimSeries[] = [];
  const families: SimFamily[] = [];
  const histogramBudget = Math.round(opts.series * opts.histogramShare);
  const plainBudget = opts.series - histogramBudget;

  const common = (p: (typeof pods)[number], i: number): string[] => [
    'instance', `10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}:9100`,
    'job', p.app,
    'namespace', p.namespace,
    'pod', p.pod,
    'container', p.app,
    'node', p.node,
    'service', `${p.app}-svc`,
    'endpoint', 'http-metrics',
    'image', p.image,
    'uid', p.uid,
    'app_kubernetes_io_version', p.version,
    'zone', `${opts.site}-zone-a`,
    'cluster', opts.site,
  ];

  const push = (name: string, family: string, type: MetricType, extra: readonly string[], p: (typeof pods)[number], i: number): void => {
    const flat = ['__name__', name, ...common(p, i), ...extra];
    series.push({ labels: sortLabels(flat), type, family, value: type === 'counter' ? rnd.int(1_000_000) : rnd.next() * 1000 });
  };

  const plainFamilies = [
    ...COUNTER_FAMILIES.map((n) => ({ n, t: 'counter' as const })),
    ...GAUGE_FAMILIES.map((n) => ({ n, t: 'gauge' as const })),
  ];
  for (const f of plainFamilies) families.push({ name: f.n, type: f.t, help: `${f.n.replace(/_/g, ' ')} of the site.` });
  for (let i = 0; series.length < plainBudget; i++) {
    const f = plainFamilies[i % plainFamilies.length] as (typeof plainFamilies)[number];
    const p = pods[Math.floor(i / plainFamilies.length) % pods.length] as (typeof pods)[number];
    const extra = f.n.startsWith('node_cpu') ? ['cpu', String(i % 8), 'mode', MODES[i % MODES.length] as string]
      : f.n.includes('request') || f.n.startsWith('http') ? ['code', CODES[i % CODES.length] as string, 'method', METHODS[i % METHODS.length] as string]
      : ['device', `eth${i % 4}`, 'id', `/kubepods/burstable/pod${p.uid}/${rnd.token(12, '0123456789abcdef')}`];
    push(f.n, f.n, f.t, extra, p, i);
  }

  for (const n of HISTOGRAM_FAMILIES) families.push({ name: n, type: 'histogram', help: `Latency of ${n.replace(/_/g, ' ')}.` });
  for (const n of SUMMARY_FAMILIES) families.push({ name: n, type: 'summary', help: `Quantiles of ${n.replace(/_/g, ' ')}.` });
  for (let i = 0; series.length < opts.series; i++) {
    const p = pods[i % pods.length] as (typeof pods)[number];
    const useSummary = i % 10 === 9;
    const extra = ['code', CODES[i % CODES.length] as string, 'method', METHODS[(i >> 3) % METHODS.length] as string];
    if (useSummary) {
      const fam = SUMMARY_FAMILIES[i % SUMMARY_FAMILIES.length] as string;
      for (const q of QUANTILES) push(fam, fam, 'summary', [...extra, 'quantile', q], p, i);
      push(`${fam}_sum`, fam, 'summary', extra, p, i);
      push(`${fam}_count`, fam, 'summary', extra, p, i);
      continue;
    }
    const fam = HISTOGRAM_FAMILIES[i % HISTOGRAM_FAMILIES.length] as string;
    let cumulative = 0;
    for (const le of BUCKETS) {
      cumulative += rnd.int(50);
      series.push({ labels: sortLabels(['__name__', `${fam}_bucket`, ...common(p, i), ...extra, 'le', le]), type: 'histogram', family: fam, value: cumulative });
    }
    push(`${fam}_sum`, fam, 'histogram', extra, p, i);
    series.push({ labels: sortLabels(['__name__', `${fam}_count`, ...common(p, i), ...extra]), type: 'histogram', family: fam, value: cumulative });
  }
  return { series, families };
}
