// Writing Prometheus text format 0.0.4: one series per line, labels sorted,
// values as Go's strconv.FormatFloat(v, 'g', -1, 64) writes them, which is
// what Prometheus's own expfmt does (`process_max_fds 1.048576e+06`).

const EXPONENTIAL = /^(-?)(\d(?:\.\d+)?)e([+-])(\d+)$/;

/**
 * Go's FormatFloat(v, 'g', -1, 64) with Prometheus's +Inf/-Inf/NaN: the
 * shortest digits that round-trip, in exponent form when the decimal
 * exponent is below -4 or at least 6 (two exponent digits at least).
 */
export function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const m = EXPONENTIAL.exec(v.toExponential()) as RegExpExecArray;
  const exp = Number(`${m[3]}${m[4]}`);
  // Between 1e-4 and 1e6 JavaScript's shortest form is the same plain decimal.
  if (exp >= -4 && exp < 6) return String(v);
  return `${m[1]}${m[2]}e${m[3]}${(m[4] as string).padStart(2, '0')}`;
}

function escapeLabelValue(v: string): string {
  if (!/[\\"\n]/.test(v)) return v;
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/**
 * One exposition line for flat, sorted labels: `name{a="b"} value [timestamp]`.
 * `__name__` is written as the metric name, never inside the braces.
 */
export function formatSeries(labels: readonly string[], value: number, timestampMs?: number): string {
  let name = '';
  let inner = '';
  for (let i = 0; i < labels.length; i += 2) {
    const n = labels[i] as string;
    const v = labels[i + 1] as string;
    if (n === '__name__') {
      name = v;
      continue;
    }
    inner += `${inner ? ',' : ''}${n}="${escapeLabelValue(v)}"`;
  }
  const series = inner ? `${name}{${inner}}` : name;
  return timestampMs === undefined ? `${series} ${formatGoFloat(value)}` : `${series} ${formatGoFloat(value)} ${timestampMs}`;
}
