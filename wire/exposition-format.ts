// Writing Prometheus text format 0.0.4: one series per line, labels sorted,
// values as Go's strconv.FormatFloat(v, 'g', -1, 64) writes them, which is
// what Prometheus's expfmt writes (`process_max_fds 1.048576e+06`).

/**
 * Go's FormatFloat(v, 'g', -1, 64) with Prometheus's spelling of the
 * specials (`NaN`, `+Inf`, `-Inf`): the shortest digits that read back as
 * `v`, in exponent form when the decimal exponent is below -4 or at least 6
 * (where JavaScript's String() switches at -7 and 21), with at least two
 * exponent digits (`1e+06`, `1.5e-07`).
 */
export function formatGoFloat(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const abs = v < 0 ? -v : v;
  // Here JavaScript's shortest form is Go's: plain decimal digits.
  if (abs >= 1e-4 && abs < 1e6) return String(v);
  // toExponential() without an argument gives the shortest digits too: "1.5e-7", "1e+21".
  const s = v.toExponential();
  const e = s.indexOf('e');
  const digits = s.length - e - 2;
  return digits >= 2 ? s : `${s.slice(0, e + 2)}0${s.slice(e + 2)}`;
}

/** Escapes a label value as the text format requires: `\` → `\\`, `"` → `\"`, line feed → `\n`. */
function escapeLabelValue(v: string): string {
  let out = '';
  let run = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 92 || c === 34 || c === 10) {
      out += `${v.slice(run, i)}\\${c === 10 ? 'n' : v[i]}`;
      run = i + 1;
    }
  }
  return run === 0 ? v : out + v.slice(run);
}

/**
 * One line of text format 0.0.4 for flat labels `[name0, value0, …]` that
 * include `__name__`: `name{a="b",c="d"} 1.5 1700000000000`, without the
 * line break. `__name__` is written as the metric name; the other labels
 * follow in braces, sorted by name (also when `labels` is not), and a series
 * with no other labels is `name 1.5`. `timestampMs` is written as given, so
 * it should be an integer.
 */
export function formatSeries(labels: readonly string[], value: number, timestampMs?: number): string {
  let pairs = labels;
  for (let i = 2; i < labels.length; i += 2) {
    if ((labels[i - 2] as string) > (labels[i] as string)) {
      pairs = sortPairs(labels);
      break;
    }
  }
  let name = '';
  let inner = '';
  for (let i = 0; i < pairs.length; i += 2) {
    const n = pairs[i] as string;
    const v = pairs[i + 1] as string;
    if (n === '__name__') name = v;
    else inner += `${inner === '' ? '' : ','}${n}="${escapeLabelValue(v)}"`;
  }
  const series = inner === '' ? name : `${name}{${inner}}`;
  return timestampMs === undefined ? `${series} ${formatGoFloat(value)}` : `${series} ${formatGoFloat(value)} ${timestampMs}`;
}

function sortPairs(labels: readonly string[]): string[] {
  const idx: number[] = [];
  for (let i = 0; i < labels.length; i += 2) idx.push(i);
  idx.sort((a, b) => ((labels[a] as string) < (labels[b] as string) ? -1 : (labels[a] as string) > (labels[b] as string) ? 1 : 0));
  const out: string[] = [];
  for (const i of idx) out.push(labels[i] as string, labels[i + 1] as string);
  return out;
}
