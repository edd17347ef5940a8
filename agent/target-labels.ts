// From a discovered target's labels to what is scraped, as Prometheus 2.42's
// scrape/target.go PopulateLabels: the job's defaults (`job`,
// `__scrape_interval__`, `__scrape_timeout__`, `__metrics_path__`,
// `__scheme__`, `__param_<name>` for each param) are added where the target
// lacks them, then the job's relabel_configs run over the group's and the
// target's labels; a target relabeled away, or without `__address__`, is
// dropped. A port-less address gets the scheme's default (80, 443), as
// 2.42 does; `__meta_*` labels go; `instance` defaults to `__address__`.
// The scrape URL is `__scheme__://__address____metrics_path__?params`, each
// `__param_<name>` replacing that param's first value. Pure; outcomes as data.
import { LabelsBuilder, type Relabeler } from '../relabel/index.js';

export interface ScrapeJobDefaults {
  readonly job: string;
  readonly scheme: string;
  readonly metricsPath: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Query params (Prometheus's `params`: name → values). */
  readonly params: Readonly<Record<string, readonly string[]>>;
}

export interface ResolvedTarget {
  /** A stable identity: every label left after relabeling, `__` ones included (Prometheus's target hash). */
  readonly key: string;
  readonly url: string;
  readonly job: string;
  readonly instance: string;
  /** The target's visible labels other than job and instance. */
  readonly labels: Readonly<Record<string, string>>;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export type TargetOutcome = { readonly kind: 'target'; readonly target: ResolvedTarget } | { readonly kind: 'dropped' } | { readonly kind: 'invalid'; readonly reason: string };

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Prometheus's model.ParseDuration ("1m30s", "500ms"); NaN when invalid. */
export function parsePromDuration(s: string): number {
  const m = DURATION.exec(s);
  if (m === null || s === '') return Number.NaN;
  const order = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  let ms = 0;
  for (let i = 0; i < order.length; i++) if (m[i + 1] !== undefined) ms += Number(m[i + 1]) * (UNITS[order[i] as string] as number);
  return ms;
}

/** Prometheus's model.Duration.String(): "15s", "1m", "1m30s", "500ms". */
export function formatPromDuration(ms: number): string {
  if (ms === 0) return '0s';
  let out = '';
  let rest = ms;
  for (const u of ['y', 'w', 'd', 'h', 'm', 's', 'ms']) {
    const size = UNITS[u] as number;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${u}`;
      rest %= size;
    }
  }
  return out;
}

/** Whether a port-less host would become a valid host:port (net.SplitHostPort(s + ":1234")). */
function splitHostPort(s: string): { ok: boolean; hasPort: boolean } {
  const bracket = /^\[[^\]]*\](?::(\d*))?$/.exec(s);
  if (bracket !== null) return { ok: true, hasPort: bracket[1] !== undefined };
  const colons = s.split(':').length - 1;
  if (colons === 0) return { ok: true, hasPort: false };
  if (colons === 1) return { ok: true, hasPort: true };
  return { ok: false, hasPort: false }; // an IPv6 literal without brackets
}

const builder = new LabelsBuilder();

/** One discovered target (group labels merged under the target's own) → a scrape target, dropped, or invalid. */
export function resolveTarget(group: Readonly<Record<string, string>>, target: Readonly<Record<string, string>>, d: ScrapeJobDefaults, relabeler: Relabeler): TargetOutcome {
  const merged: Record<string, string> = { ...group, ...target };
  const defaults: Record<string, string> = {
    job: d.job,
    __scrape_interval__: formatPromDuration(d.intervalMs),
    __scrape_timeout__: formatPromDuration(d.timeoutMs),
    __metrics_path__: d.metricsPath,
    __scheme__: d.scheme,
  };
  for (const [k, v] of Object.entries(defaults)) if ((merged[k] ?? '') === '') merged[k] = v;
  for (const [k, v] of Object.entries(d.params)) if (v.length > 0) merged[`__param_${k}`] = v[0] as string;
  const b = builder.resetUnsorted(Object.entries(merged).flat());
  if (!relabeler.processBuilder(b)) return { kind: 'dropped' };
  let addr = b.get('__address__');
  if (addr === '') return { kind: 'dropped' };
  const scheme = b.get('__scheme__');
  const hp = splitHostPort(addr);
  if (hp.ok && !hp.hasPort) {
    if (scheme === 'http' || scheme === '') addr += ':80';
    else if (scheme === 'https') addr += ':443';
    else return { kind: 'invalid', reason: `invalid scheme: "${scheme}"` };
    b.set('__address__', addr);
  }
  if (addr.includes('/')) return { kind: 'invalid', reason: `"${addr}" is not a valid hostname` };
  if (scheme !== 'http' && scheme !== 'https') return { kind: 'invalid', reason: `invalid scheme: "${scheme}"` };
  const intervalMs = parsePromDuration(b.get('__scrape_interval__'));
  const timeoutMs = parsePromDuration(b.get('__scrape_timeout__'));
  if (Number.isNaN(intervalMs)) return { kind: 'invalid', reason: `error parsing scrape interval "${b.get('__scrape_interval__')}"` };
  if (Number.isNaN(timeoutMs)) return { kind: 'invalid', reason: `error parsing scrape timeout "${b.get('__scrape_timeout__')}"` };
  if (intervalMs === 0) return { kind: 'invalid', reason: 'scrape interval cannot be 0' };
  if (timeoutMs === 0) return { kind: 'invalid', reason: 'scrape timeout cannot be 0' };
  if (timeoutMs > intervalMs) return { kind: 'invalid', reason: `scrape timeout cannot be greater than scrape interval ("${b.get('__scrape_timeout__')}" > "${b.get('__scrape_interval__')}")` };
  b.retainNames((n) => !n.startsWith('__meta_'));
  if (b.get('instance') === '') b.set('instance', addr);
  const flat = b.labels();
  const visible: Record<string, string> = {};
  const params = new URLSearchParams();
  for (const [k, vs] of Object.entries(d.params)) for (const v of vs) params.append(k, v);
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i] as string;
    const value = flat[i + 1] as string;
    if (name.startsWith('__param_')) params.set(name.slice('__param_'.length), value);
    else if (!name.startsWith('__') && name !== 'job' && name !== 'instance') visible[name] = value;
  }
  const query = params.toString();
  const url = `${scheme}://${addr}${b.get('__metrics_path__')}${query === '' ? '' : `?${query}`}`;
  try {
    new URL(url);
  } catch {
    return { kind: 'invalid', reason: `"${url}" is not a valid URL` };
  }
  return { kind: 'target', target: { key: JSON.stringify(flat), url, job: b.get('job'), instance: b.get('instance'), labels: visible, intervalMs, timeoutMs } };
}
