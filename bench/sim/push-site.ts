// The series of one site in the collector's push bench (collector/push.bench.ts) and the
// wire decode micro-bench (bench/micro/wire-decode.bench.ts), so both read the same bodies:
// 16 Kubernetes-like labels per series (~380 bytes encoded), distinct per site.
export function pushSiteLabels(site: number, series: number): string[][] {
  const out: string[][] = [];
  const apps = ['coredns', 'kube-proxy', 'node-exporter', 'ingress', 'pos-api', 'inventory', 'card-reader', 'store-ui'];
  for (let i = 0; i < series; i++) {
    const app = apps[i % apps.length] as string;
    const pod = `${app}-${(site * 7919 + (i >> 4)).toString(36)}-${(i % 97).toString(36)}`;
    out.push([
      '__name__', `${app.replace('-', '_')}_metric_${i % 40}_total`,
      'app', app,
      'cluster', `ce-${site}`,
      'code', String(200 + (i % 5)),
      'container', app,
      'endpoint', 'http-metrics',
      'instance', `10.${site >> 8 & 255}.${site & 255}.${i % 120}:9100`,
      'job', app,
      'le', String(i % 14),
      'method', ['GET', 'POST', 'PUT'][i % 3] as string,
      'namespace', `ns-${i % 10}`,
      'node', `ce-${site}-node-${i % 3}`,
      'pod', pod,
      'service', `${app}-svc`,
      'uid', `${(site * 31 + i).toString(16).padStart(8, '0')}-4c1f-9a2e-${(i * 2654435761 >>> 0).toString(16).padStart(12, '0')}`,
      'zone', `ce-${site}-zone-a`,
    ]);
  }
  return out;
}
