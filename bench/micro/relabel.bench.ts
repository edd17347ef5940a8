// relabel/ micro-benchmarks on realistic edge series (~15 labels).
import { MetricFilter, Relabeler } from '../../relabel/index.js';
import { DEFAULT_SITE, generateSite } from '../sim/site.js';
import { measure, type BenchResult } from './measure.js';

/** A 10-rule chain of the kinds SREs run at the edge. */
export const TEN_RULE_CHAIN = [
  { source_labels: ['__name__'], regex: 'go_.*|promhttp_.*', action: 'drop' },
  { regex: 'uid|image|id', action: 'labeldrop' },
  { source_labels: ['namespace'], regex: 'kube-(.*)', target_label: 'system', replacement: '$1' },
  { source_labels: ['node'], target_label: 'node', action: 'lowercase' },
  { source_labels: ['code'], regex: '([0-9])..', target_label: 'code_class', replacement: '${1}xx' },
  { source_labels: ['pod'], regex: '(.+)-[a-z0-9]+-[a-z0-9]+', target_label: 'workload' },
  { regex: 'app_kubernetes_io_(.+)', replacement: 'app_$1', action: 'labelmap' },
  { regex: 'app_kubernetes_io_.+|endpoint', action: 'labeldrop' },
  { target_label: 'region', replacement: 'eu-west' },
  { source_labels: ['__name__', 'method'], regex: '.*;(DELETE|PATCH)', action: 'drop' },
];

export function benchRelabel(): BenchResult[] {
  const { series } = generateSite({ ...DEFAULT_SITE, series: 10_000 });
  const inputs = series.map((s) => s.labels);
  const avgLabels = inputs.reduce((n, l) => n + l.length / 2, 0) / inputs.length;
  const chain = Relabeler.compile(TEN_RULE_CHAIN);
  const filter = MetricFilter.compile({ allow: { prefixes: ['node_', 'kube_pod_'], names: ['apiserver_request_total'] }, label_deny: ['uid', 'image'] });
  const dropAll = MetricFilter.compile({ allow: { names: ['no_such_metric'] } });
  const note = `${inputs.length} series, ${avgLabels.toFixed(1)} labels avg`;
  return [
    measure('relabel: 10-rule chain', inputs.length, () => {
      let kept = 0;
      for (const l of inputs) if (chain.process(l) !== null) kept++;
      return kept;
    }, note),
    measure('relabel: allowlist + label denylist (fast path)', inputs.length, () => {
      let kept = 0;
      for (const l of inputs) if (filter.apply(l) !== null) kept++;
      return kept;
    }, note),
    measure('relabel: allowlist drop (name lookup only)', inputs.length, () => {
      let kept = 0;
      for (const l of inputs) if (dropAll.keepName(l[1] as string)) kept++;
      return kept;
    }, note),
  ];
}
