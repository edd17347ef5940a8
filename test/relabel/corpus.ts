// The differential corpus: (rule set, input series) cases that the test runs
// through real Prometheus 2.42 as metric_relabel_configs and through our
// engine, requiring identical output. Every action and the tricky corners:
// empty labels, missing source labels, regex syntax and anchoring, `.` and
// newlines, unicode and case mapping, `__meta_`/`__tmp` labels, long values,
// Go's `$1x` expansion, hashmod buckets.
import type { RelabelConfigInput } from '../../relabel/index.js';

export interface RelabelCase {
  readonly name: string;
  readonly rules: readonly RelabelConfigInput[];
  /** Input series (unsorted name/value pairs); the base set when omitted. */
  readonly series?: readonly (readonly string[])[];
  /**
   * Rules remove `__name__`: Prometheus then fails the whole scrape
   * ("__name__ label is mandatory"), fleetscope drops the series with reason
   * relabel_empty_name. Such cases hold a single series.
   */
  readonly nameless?: boolean;
}

const LONG = 'x'.repeat(300);

export const BASE_SERIES: readonly (readonly string[])[] = [
  ['__name__', 'http_requests_total', 'method', 'GET', 'code', '200', 'path', '/api/v1/query'],
  ['__name__', 'http_requests_total', 'method', 'POST', 'code', '500', 'path', '/api/v1/write'],
  ['__name__', 'node_cpu_seconds_total', 'cpu', '0', 'mode', 'idle', '__meta_kubernetes_pod_name', 'coredns-5d78c9869d-abcde'],
  ['__name__', 'process_resident_memory_bytes'],
  ['__name__', 'kube_pod_info', 'namespace', 'kube-system', 'pod', 'etcd-master', 'node', 'Edge-Node-01', 'uid', '1b2c-3d4e', '__tmp_keep', 'yes'],
  ['__name__', 'weird_metric', 'unicode', 'Grüße 日本語 ÄÖÜ', 'quote', 'a"b\\c', 'nl', 'line1\nline2', 'dollar', '$1 ${x}', 'empty', ''],
  ['__name__', 'edge_site_info', 'site', 'CE-0042', 'tenant', 'acme', 'region', 'eu-west-1', 'long', LONG],
  ['__name__', 'eq_test', 'a', 'x', 'b', 'x'],
  ['__name__', 'eq_test', 'a', 'x', 'b', 'y', 'c', 'x;y'],
];

const CASE_SERIES: readonly (readonly string[])[] = [
  ['__name__', 'case_test', 'v', 'ß'],
  ['__name__', 'case_test', 'v', 'İstanbul'],
  ['__name__', 'case_test', 'v', 'ΣΊΣΥΦΟΣ σοφός'],
  ['__name__', 'case_test', 'v', 'ǅungla ǆ Ǆ'],
  ['__name__', 'case_test', 'v', 'ᾳ ᾀ ᾈ ῼ'],
  ['__name__', 'case_test', 'v', 'ﬁle ŉ ǰ'],
  ['__name__', 'case_test', 'v', 'MiXeD-Case_123 Ünïcödé'],
  ['__name__', 'case_test', 'v', 'ＦＵＬＬ ｗｉｄｔｈ'],
  ['__name__', 'case_test', 'v', 'kelvin K ſ'],
];

const cases: RelabelCase[] = [];
const add = (name: string, rules: RelabelConfigInput[], extra: Partial<RelabelCase> = {}): void => {
  cases.push({ name, rules, ...extra });
};

// --- replace: defaults, separators, templates ---------------------------------
add('replace default copies a label', [{ source_labels: ['method'], target_label: 'm' }]);
add('replace joins sources with ;', [{ source_labels: ['method', 'code'], target_label: 'mc' }]);
add('replace custom separator', [{ source_labels: ['method', 'code', 'path'], separator: '-', target_label: 'mc' }]);
add('replace empty separator', [{ source_labels: ['method', 'code'], separator: '', target_label: 'mc' }]);
add('replace unicode separator', [{ source_labels: ['method', 'code'], separator: '→', target_label: 'mc' }]);
add('replace swaps groups', [{ source_labels: ['method', 'code'], regex: '(.+);(.+)', replacement: '$2/$1', target_label: 'r' }]);
add('replace ${1}x is group 1 then x', [{ source_labels: ['method'], regex: '(G)ET', replacement: '${1}x', target_label: 'r' }]);
add('replace $1x names group "1x": empty deletes target', [{ source_labels: ['method'], regex: '(G)ET', replacement: '$1x', target_label: 'method' }]);
add('replace $1_x names group "1_x"', [{ source_labels: ['code'], regex: '(.*)', replacement: '$1_x', target_label: 'code' }]);
add('replace $1-x is group 1 then -x', [{ source_labels: ['code'], regex: '(.*)', replacement: '$1-x', target_label: 'r' }]);
add('replace named group ${name}', [{ source_labels: ['method'], regex: '(?P<verb>[A-Z]+)', replacement: 'v=${verb}', target_label: 'r' }]);
add('replace named group $name', [{ source_labels: ['method'], regex: '(?P<verb>[A-Z]+)', replacement: '$verb', target_label: 'r' }]);
add('replace named group $name followed by letters', [{ source_labels: ['method'], regex: '(?P<verb>[A-Z]+)', replacement: '$verbX', target_label: 'r' }]);
add('replace unknown named group is empty', [{ source_labels: ['method'], regex: '(?P<verb>[A-Z]+)', replacement: 'a${nope}b', target_label: 'r' }]);
add('replace $$ is a dollar', [{ source_labels: ['method'], replacement: '$$1', target_label: 'r' }]);
add('replace lone $ at end', [{ source_labels: ['method'], replacement: 'cost$', target_label: 'r' }]);
add('replace unclosed ${ stays literal', [{ source_labels: ['method'], replacement: 'a${1', target_label: 'r' }]);
add('replace $ before punctuation stays literal', [{ source_labels: ['method'], replacement: '$-$.$1', target_label: 'r' }]);
add('replace $01 is not group 1', [{ source_labels: ['method'], replacement: 'x$01', target_label: 'r' }]);
add('replace $0 is the whole match', [{ source_labels: ['path'], regex: '/api/(.*)', replacement: '$0|$1', target_label: 'r' }]);
add('replace missing group is empty', [{ source_labels: ['method'], regex: '(.*)', replacement: '$2', target_label: 'method' }]);
add('replace ${99}', [{ source_labels: ['method'], regex: '(.*)', replacement: '<${99}>', target_label: 'r' }]);
add('replace target with $1', [{ source_labels: ['method'], regex: '(.*)', target_label: 'lbl_$1' }]);
add('replace target ${1}_suffix', [{ source_labels: ['mode'], regex: '(.+)', target_label: '${1}_mode', replacement: 'yes' }]);
add('replace invalid expanded target is a no-op', [{ source_labels: ['path'], regex: '(.*)', target_label: '$1' }]);
add('replace target expanding to a digit-led name is a no-op', [{ source_labels: ['code'], regex: '(.*)', target_label: '$1', replacement: 'v' }]);
add('replace missing source deletes target', [{ source_labels: ['nope'], target_label: 'method' }]);
add('replace missing source sets constant', [{ source_labels: ['nope'], target_label: 'c', replacement: 'const' }]);
add('replace no source labels sets constant', [{ target_label: 'env', replacement: 'prod' }]);
add('replace literal regex matches exactly', [{ source_labels: ['method'], regex: 'GET', target_label: 'r', replacement: 'matched' }]);
add('replace regex is anchored at both ends', [{ source_labels: ['method'], regex: 'GE', target_label: 'r', replacement: 'matched' }]);
add('replace anchored suffix', [{ source_labels: ['path'], regex: '.*query', target_label: 'r', replacement: 'q' }]);
add('replace two groups', [{ source_labels: ['path'], regex: '/api/(v[0-9])/(.*)', replacement: '$1-$2', target_label: 'r' }]);
add('replace (?i) flag', [{ source_labels: ['method'], regex: '(?i)get', target_label: 'r', replacement: 'ci' }]);
add('replace POSIX class', [{ source_labels: ['method'], regex: '[[:upper:]]+', target_label: 'r', replacement: 'upper' }]);
add('replace \\d+', [{ source_labels: ['code'], regex: '(\\d)\\d+', target_label: 'r', replacement: '${1}xx' }]);
add('replace \\w+', [{ source_labels: ['namespace'], regex: '(\\w+)-(\\w+)', target_label: 'r', replacement: '$2.$1' }]);
add('replace (.*) does not match a newline', [{ source_labels: ['nl'], regex: '(.*)', target_label: 'r', replacement: 'matched' }]);
add('replace (?s) lets . match a newline', [{ source_labels: ['nl'], regex: '(?s)(.*)', target_label: 'r', replacement: 'matched:$1' }]);
add('replace \\n in regex', [{ source_labels: ['nl'], regex: 'line1\\nline2', target_label: 'r', replacement: 'nl' }]);
add('replace (?m) line anchors', [{ source_labels: ['nl'], regex: '(?m)line1$\\n^line2', target_label: 'r', replacement: 'm' }]);
add('replace [\\s\\S]* spans newline', [{ source_labels: ['nl'], regex: '([\\s\\S]*)', target_label: 'r', replacement: '<$1>' }]);
add('replace \\S+ stops at space', [{ source_labels: ['unicode'], regex: '(\\S+) (.*)', target_label: 'r', replacement: '$1' }]);
add('replace \\s matches ASCII space', [{ source_labels: ['unicode'], regex: '.*\\s(\\p{Han}+)\\s.*', target_label: 'r', replacement: '$1' }]);
add('replace unicode dot', [{ source_labels: ['unicode'], regex: 'Gr(.)(.)e.*', target_label: 'r', replacement: '$1$2' }]);
add('replace \\p{Lu}', [{ source_labels: ['unicode'], regex: '.*?(\\p{Lu}+)$', target_label: 'r', replacement: '$1' }]);
add('replace \\pL', [{ source_labels: ['region'], regex: '(\\pL+)-.*', target_label: 'r', replacement: '$1' }]);
add('replace negated class', [{ source_labels: ['path'], regex: '/([^/]+)/.*', target_label: 'r', replacement: '$1' }]);
add('replace [^/]+ is anchored', [{ source_labels: ['path'], regex: '[^/]+', target_label: 'r', replacement: 'x' }]);
add('replace lazy quantifier', [{ source_labels: ['code'], regex: '(.*?)(\\d*)', target_label: 'r', replacement: '[$1|$2]' }]);
add('replace greedy quantifier', [{ source_labels: ['code'], regex: '(.*)(\\d*)', target_label: 'r', replacement: '[$1|$2]' }]);
add('replace escaped quote and backslash', [{ source_labels: ['quote'], regex: 'a"b\\\\(.)', target_label: 'r', replacement: '$1' }]);
add('replace dollar signs in value', [{ source_labels: ['dollar'], regex: '\\$1 \\$\\{x\\}', target_label: 'r', replacement: 'literal' }]);
add('replace value with dollars is not re-expanded', [{ source_labels: ['dollar'], target_label: 'r' }]);
add('replace x{300}', [{ source_labels: ['long'], regex: 'x{300}', target_label: 'r', replacement: '300' }]);
add('replace x{3,} copies a long value', [{ source_labels: ['long'], regex: '(x{3,})', target_label: 'copy' }]);
add('replace x{2,4} on long value fails', [{ source_labels: ['long'], regex: 'x{2,4}', target_label: 'r', replacement: 'no' }]);
add('replace renames every metric', [{ source_labels: ['__name__'], target_label: '__name__', replacement: 'renamed_$1' }]);
add('replace renames matching metrics', [{ source_labels: ['__name__'], regex: 'http_(.*)', target_label: '__name__', replacement: '$1' }]);
add('replace action is case-insensitive', [{ source_labels: ['method'], target_label: 'm', action: 'Replace' }]);
add('replace empty replacement deletes target', [{ source_labels: ['method'], regex: 'GET', target_label: 'code', replacement: '' }]);
add('replace from __meta_ label', [{ source_labels: ['__meta_kubernetes_pod_name'], regex: '(.+)-[a-z0-9]+-[a-z0-9]+', target_label: 'deployment' }]);
add('replace from __tmp label', [{ source_labels: ['__tmp_keep'], target_label: 'kept' }]);
add('replace into __tmp label', [{ source_labels: ['node'], target_label: '__tmp_node' }]);
add('replace empty regex matches only empty', [{ source_labels: ['nope'], regex: '', target_label: 'r', replacement: 'empty' }]);
add('replace empty alternative', [{ source_labels: ['method'], regex: 'GET|', target_label: 'r', replacement: 'x' }]);
add('replace \\Q..\\E literal', [{ source_labels: ['path'], regex: '\\Q/api/v1/\\E(.*)', target_label: 'r' }]);
add('replace \\x hex escape', [{ source_labels: ['path'], regex: '\\x2fapi\\x2F(.*)', target_label: 'r' }]);
add('replace \\x{...} escape', [{ source_labels: ['unicode'], regex: '.*\\x{65e5}\\x{672C}.*', target_label: 'r', replacement: 'jp' }]);
add('replace octal escape', [{ source_labels: ['path'], regex: '\\057api.*', target_label: 'r', replacement: 'oct' }]);
add('replace non-capturing alternation', [{ source_labels: ['method'], regex: '(?:GET|POST)', target_label: 'verb', replacement: 'yes' }]);
add('replace escaped dot', [{ source_labels: ['region'], regex: 'eu\\.west.*', target_label: 'r', replacement: 'dot' }]);
add('replace literal { is not a repeat', [{ source_labels: ['dollar'], regex: '.*{x}', target_label: 'r', replacement: 'brace' }]);
add('replace explicit anchors', [{ source_labels: ['method'], regex: '^GET$', target_label: 'r', replacement: 'anch' }]);
add('replace \\A and \\z', [{ source_labels: ['method'], regex: '\\AGET\\z', target_label: 'r', replacement: 'az' }]);
add('replace word boundary', [{ source_labels: ['unicode'], regex: '.*\\bÄÖÜ', target_label: 'r', replacement: 'b' }]);
add('replace escaped punctuation', [{ source_labels: ['region'], regex: 'eu\\-west\\-1', target_label: 'r', replacement: 'p' }]);
add('replace class with escapes', [{ source_labels: ['path'], regex: '[\\/a-z0-9]+', target_label: 'r', replacement: 'c' }]);
add('replace class with ] first', [{ source_labels: ['quote'], regex: '[]a"b\\\\c]+', target_label: 'r', replacement: 'c' }]);
add('replace \\p{Greek}', [{ source_labels: ['v'], regex: '(\\p{Greek}+) .*', target_label: 'r' }], { series: CASE_SERIES });
add('replace overwrites existing label', [{ source_labels: ['code'], target_label: 'method' }]);
add('replace sets job and instance', [{ source_labels: ['job'], regex: 'case_(.*)', target_label: 'instance', replacement: 'i-$1' }]);
add('replace with $ in target and missing group', [{ source_labels: ['method'], regex: '(G)ET', target_label: 'x_$2' }]);

// --- keep / drop ---------------------------------------------------------------
add('keep by name prefix', [{ source_labels: ['__name__'], regex: 'http_.*', action: 'keep' }]);
add('drop by name prefix', [{ source_labels: ['__name__'], regex: 'http_.*', action: 'drop' }]);
add('keep alternation', [{ source_labels: ['__name__'], regex: 'http_requests_total|process_.*|eq_test', action: 'keep' }]);
add('keep method GET drops series without method', [{ source_labels: ['method'], regex: 'GET', action: 'keep' }]);
add('drop two sources', [{ source_labels: ['method', 'code'], regex: 'POST;5..', action: 'drop' }]);
add('keep (?i)', [{ source_labels: ['__name__'], regex: '(?i)HTTP.*|KUBE.*', action: 'keep' }]);
add('drop __tmp label value', [{ source_labels: ['__tmp_keep'], regex: 'yes', action: 'drop' }]);
add('keep unicode', [{ source_labels: ['unicode'], regex: '.*日本.*', action: 'keep' }]);
add('keep .* drops newline values', [{ source_labels: ['nl'], regex: '.*', action: 'keep' }]);
add('drop line1.line2 (dot is not newline)', [{ source_labels: ['nl'], regex: 'line1.line2', action: 'drop' }]);
add('keep missing label with .*', [{ source_labels: ['nope'], regex: '.*', action: 'keep' }]);
add('keep missing label with .+', [{ source_labels: ['__meta_kubernetes_pod_name'], regex: '.+', action: 'keep' }]);
add('drop empty value label', [{ source_labels: ['empty'], regex: '', action: 'drop' }]);
add('keep empty value label is absent', [{ source_labels: ['empty', 'nl'], regex: ';.*', action: 'keep' }]);
add('keep separator matters', [{ source_labels: ['a', 'b'], separator: '|', regex: 'x\\|x', action: 'keep' }]);
add('drop default regex drops all without newline', [{ source_labels: ['nl'], action: 'drop' }]);
add('keep action uppercase', [{ source_labels: ['__name__'], regex: 'eq_test', action: 'KEEP' }]);
add('drop on long value', [{ source_labels: ['long'], regex: 'x+', action: 'drop' }]);
add('keep on instance', [{ source_labels: ['instance'], regex: '127\\.0\\.0\\.1:\\d+', action: 'keep' }]);
add('drop on job', [{ source_labels: ['job'], regex: 'case_.*', action: 'drop' }]);
add('keep by class', [{ source_labels: ['code'], regex: '[2-4]\\d\\d', action: 'keep' }]);
add('drop quote value', [{ source_labels: ['quote'], regex: 'a"b\\\\c', action: 'drop' }]);
add('keep dollar value', [{ source_labels: ['dollar'], regex: '\\$1.*', action: 'keep' }]);
add('keep \\S on value with spaces', [{ source_labels: ['unicode'], regex: '\\S*', action: 'keep' }]);
add('drop __name__ with $', [{ source_labels: ['__name__'], regex: '.*_total$', action: 'drop' }]);

// --- keepequal / dropequal -----------------------------------------------------
add('keepequal same label', [{ source_labels: ['a'], target_label: 'b', action: 'keepequal' }]);
add('dropequal same label', [{ source_labels: ['a'], target_label: 'b', action: 'dropequal' }]);
add('keepequal two sources joined', [{ source_labels: ['a', 'b'], target_label: 'c', action: 'keepequal' }]);
add('dropequal missing both is equal', [{ source_labels: ['nope'], target_label: 'nope2', action: 'dropequal' }]);
add('keepequal missing both keeps all', [{ source_labels: ['nope'], target_label: 'nope2', action: 'keepequal' }]);
add('keepequal against itself', [{ source_labels: ['method'], target_label: 'method', action: 'keepequal' }]);
add('dropequal against empty label', [{ source_labels: ['empty'], target_label: 'nope', action: 'dropequal' }]);
add('keepequal action mixed case', [{ source_labels: ['a'], target_label: 'b', action: 'KeepEqual' }]);

// --- hashmod -------------------------------------------------------------------
const moduli = [1, 2, 3, 7, 10, 16, 100, 1000, 65536, 4294967311, 1099511627779, 9007199254740991];
moduli.forEach((m) => add(`hashmod name mod ${m}`, [{ source_labels: ['__name__'], modulus: m, target_label: 'shard', action: 'hashmod' }]));
add('hashmod two sources', [{ source_labels: ['method', 'code'], modulus: 8, target_label: 'shard', action: 'hashmod' }]);
add('hashmod unicode', [{ source_labels: ['unicode'], modulus: 97, target_label: 'shard', action: 'hashmod' }]);
add('hashmod missing source', [{ source_labels: ['nope'], modulus: 13, target_label: 'shard', action: 'hashmod' }]);
add('hashmod long value', [{ source_labels: ['long'], modulus: 1000003, target_label: 'shard', action: 'hashmod' }]);
add('hashmod instance then keep shard', [
  { source_labels: ['__name__', 'method'], modulus: 4, target_label: '__tmp_shard', action: 'hashmod' },
  { source_labels: ['__tmp_shard'], regex: '1|3', action: 'keep' },
]);
add('hashmod overwrites label', [{ source_labels: ['path'], modulus: 5, target_label: 'method', action: 'hashmod' }]);
add('hashmod separator', [{ source_labels: ['a', 'b'], separator: '', modulus: 1000, target_label: 'shard', action: 'hashmod' }]);

// --- labelmap ------------------------------------------------------------------
add('labelmap __meta_kubernetes_', [{ regex: '__meta_kubernetes_(.+)', replacement: 'k8s_$1', action: 'labelmap' }]);
add('labelmap __tmp_ default replacement', [{ regex: '__tmp_(.*)', action: 'labelmap' }]);
add('labelmap copies everything', [{ regex: '(.*)', replacement: 'copy_$1', action: 'labelmap' }]);
add('labelmap collision: last in sorted order wins', [{ regex: '(method|code)', replacement: 'both', action: 'labelmap' }]);
add('labelmap overwrites existing', [{ regex: 'code', replacement: 'method', action: 'labelmap' }]);
add('labelmap swap parts', [{ regex: '(.*)_(.*)', replacement: '${2}_$1', action: 'labelmap' }]);
add('labelmap $1x is empty name', [{ regex: '(a|b)', replacement: 'm_${1}x', action: 'labelmap' }]);
add('labelmap named group', [{ regex: '(?P<l>[ab])', replacement: 'lbl_${l}', action: 'labelmap' }]);
add('labelmap no match', [{ regex: 'nothing_(.*)', replacement: '$1', action: 'labelmap' }]);
add('labelmap (?i)', [{ regex: '(?i)(METHOD)', replacement: 'up_$1', action: 'labelmap' }]);
add('labelmap then labeldrop meta', [
  { regex: '__meta_kubernetes_pod_(.+)', replacement: 'pod_$1', action: 'labelmap' },
  { regex: '__meta_.*', action: 'labeldrop' },
]);
add('labelmap __name__ copy', [{ regex: '__name__', replacement: 'metric', action: 'labelmap' }]);

// --- labeldrop / labelkeep -----------------------------------------------------
add('labeldrop __meta_', [{ regex: '__meta_.*', action: 'labeldrop' }]);
add('labeldrop __tmp', [{ regex: '__tmp.*', action: 'labeldrop' }]);
add('labeldrop alternation', [{ regex: 'method|code', action: 'labeldrop' }]);
add('labeldrop job', [{ regex: 'job', action: 'labeldrop' }]);
add('labeldrop instance and job', [{ regex: 'instance|job', action: 'labeldrop' }]);
add('labeldrop (?i)', [{ regex: '(?i)METHOD|PATH', action: 'labeldrop' }]);
add('labeldrop class', [{ regex: '[a-c]', action: 'labeldrop' }]);
add('labeldrop nothing', [{ regex: 'nothing', action: 'labeldrop' }]);
add('labeldrop prefix', [{ regex: 'u.*', action: 'labeldrop' }]);
add('labelkeep standard', [{ regex: '__name__|job|instance|method', action: 'labelkeep' }]);
add('labelkeep with regex', [{ regex: '__name__|.*e', action: 'labelkeep' }]);
add('labelkeep keeps __meta', [{ regex: '__.*', action: 'labelkeep' }]);
add('labelkeep then replace', [
  { regex: '__name__|a|b', action: 'labelkeep' },
  { source_labels: ['a', 'b'], target_label: 'ab' },
]);

// --- lowercase / uppercase -----------------------------------------------------
add('lowercase ascii', [{ source_labels: ['node'], target_label: 'node_lc', action: 'lowercase' }]);
add('uppercase ascii', [{ source_labels: ['method', 'path'], target_label: 'up', action: 'uppercase' }]);
add('lowercase unicode', [{ source_labels: ['v'], target_label: 'lc', action: 'lowercase' }], { series: CASE_SERIES });
add('uppercase unicode', [{ source_labels: ['v'], target_label: 'uc', action: 'uppercase' }], { series: CASE_SERIES });
add('lowercase base unicode', [{ source_labels: ['unicode'], target_label: 'lc', action: 'lowercase' }]);
add('uppercase base unicode', [{ source_labels: ['unicode'], target_label: 'uc', action: 'uppercase' }]);
add('lowercase missing source deletes target', [{ source_labels: ['nope'], target_label: 'method', action: 'lowercase' }]);
add('uppercase __name__ renames metric', [{ source_labels: ['__name__'], target_label: '__name__', action: 'uppercase' }]);
add('lowercase overwrites itself', [{ source_labels: ['namespace'], target_label: 'namespace', action: 'lowercase' }]);
add('uppercase separator and newline', [{ source_labels: ['nl', 'quote'], separator: '~', target_label: 'uc', action: 'uppercase' }]);
add('lowercase action uppercase name', [{ source_labels: ['site'], target_label: 'site', action: 'LOWERCASE' }]);
add('uppercase __tmp', [{ source_labels: ['__tmp_keep'], target_label: '__tmp_keep', action: 'uppercase' }]);

// --- chains --------------------------------------------------------------------
add('chain: the 10-rule edge chain', [
  { source_labels: ['__name__'], regex: 'go_.*|promhttp_.*', action: 'drop' },
  { regex: '__meta_kubernetes_pod_(.+)', replacement: 'pod_$1', action: 'labelmap' },
  { regex: '__meta_.*|__tmp.*', action: 'labeldrop' },
  { source_labels: ['namespace'], regex: 'kube-(.*)', target_label: 'system', replacement: '$1' },
  { source_labels: ['node'], target_label: 'node', action: 'lowercase' },
  { source_labels: ['code'], regex: '([0-9])..', target_label: 'code_class', replacement: '${1}xx' },
  { regex: 'uid|long', action: 'labeldrop' },
  { source_labels: ['__name__', 'site'], separator: '@', modulus: 16, target_label: 'shard', action: 'hashmod' },
  { target_label: 'region', replacement: 'eu' },
  { source_labels: ['method'], regex: 'POST', action: 'drop' },
]);
add('chain: rename then keep renamed', [
  { source_labels: ['__name__'], regex: 'http_(.*)', target_label: '__name__', replacement: 'web_$1' },
  { source_labels: ['__name__'], regex: 'web_.*', action: 'keep' },
]);
add('chain: later rule sees earlier result', [
  { source_labels: ['method'], target_label: 'tmp' },
  { source_labels: ['tmp'], regex: 'GET', target_label: 'reader', replacement: 'yes' },
  { regex: 'tmp', action: 'labeldrop' },
]);
add('chain: drop then rule never runs', [
  { source_labels: ['__name__'], regex: 'eq_test', action: 'drop' },
  { target_label: 'after', replacement: 'x' },
]);
add('chain: keepequal after replace', [
  { source_labels: ['a'], target_label: 'copy' },
  { source_labels: ['a'], target_label: 'copy', action: 'keepequal' },
]);
add('chain: labelkeep removes job then replace re-adds', [
  { regex: '__name__|method', action: 'labelkeep' },
  { target_label: 'job', replacement: 'rewritten' },
]);
add('chain: deleting then copying', [
  { source_labels: ['nope'], target_label: 'method' },
  { source_labels: ['method'], target_label: 'was_method', replacement: 'had:$1' },
]);
add('chain: uppercase then keep', [
  { source_labels: ['method'], target_label: 'method', action: 'uppercase' },
  { source_labels: ['method'], regex: 'GET|POST', action: 'keep' },
]);
add('chain: hashmod then dropequal', [
  { source_labels: ['a'], modulus: 1, target_label: 'z', action: 'hashmod' },
  { source_labels: ['z'], target_label: 'zero', action: 'dropequal' },
]);
add('chain: __tmp scratch label', [
  { source_labels: ['path'], regex: '/api/(v\\d)/.*', target_label: '__tmp_ver' },
  { source_labels: ['__tmp_ver'], target_label: 'api_version' },
  { regex: '__tmp_ver', action: 'labeldrop' },
]);

// --- generated: regex × keep/drop on the metric name ---------------------------
const nameRegexes = ['.*_total', 'http_.+', 'kube_pod_info', '(?:eq|edge)_.*', '[a-z]+_[a-z]+', '.*(seconds|bytes).*', 'p.*s', '(?i)EQ_TEST', '.{8,12}', 'h.*|w.*'];
for (const re of nameRegexes) {
  add(`keep name ${re}`, [{ source_labels: ['__name__'], regex: re, action: 'keep' }]);
  add(`drop name ${re}`, [{ source_labels: ['__name__'], regex: re, action: 'drop' }]);
}

// --- series that lose __name__ ---------------------------------------------------
const one = [BASE_SERIES[0] as readonly string[]];
add('nameless: replace empties __name__', [{ target_label: '__name__', replacement: '' }], { series: one, nameless: true });
add('nameless: labeldrop __name__', [{ regex: '__name__', action: 'labeldrop' }], { series: one, nameless: true });
add('nameless: labelkeep without __name__', [{ regex: 'method|code', action: 'labelkeep' }], { series: one, nameless: true });
add('nameless: lowercase from missing label', [{ source_labels: ['nope'], target_label: '__name__', action: 'lowercase' }], { series: one, nameless: true });
add('nameless: $1x into __name__', [{ source_labels: ['__name__'], regex: '(.*)', target_label: '__name__', replacement: '$1x' }], { series: one, nameless: true });

export const CORPUS: readonly RelabelCase[] = cases;
