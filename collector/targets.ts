// Scrape targets from target groups, as Prometheus builds them: each target
// gets `job`, `instance` (its address unless the group sets one) and the
// group's labels; labels starting with `__` are settings, not labels
// (`__scheme__`, `__metrics_path__`, `__param_<name>`, `__scrape_interval__`,
// `__scrape_timeout__`, and ours: `__tenant__`, `__site__`, `__group__`).
// Also the reading of file_sd files (JSON or YAML, Prometheus's format).
import { readFile, readdir } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import yaml from 'js-yaml';
import { type Labels, sortLabels } from '../relabel/index.js';
import type { Identity } from './pipeline.js';
import { type ScrapeJob, TENANT_NAME, type TargetGroup, fileTargetGroupsSchema } from './scrape-config.js';
import { duration } from './duration.js';

export interface ScrapeTarget {
  /** Unique per job settings, URL, identity and labels: an unchanged key keeps its scrape loop across reloads. */
  readonly key: string;
  readonly job: ScrapeJob;
  readonly url: string;
  readonly identity: Identity;
  /** job, instance and the group's labels, flat and sorted. */
  readonly labels: Labels;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export type TargetsOutcome = { readonly targets: ScrapeTarget[]; readonly errors: string[] };

function parseDurationLabel(value: string, what: string): number | string {
  const r = duration.safeParse(value);
  return r.success ? r.data : `${what} "${value}" is not a duration`;
}

/**
 * Targets of one group. `defaults` are the job's tenant; problems (no site,
 * an unknown tenant) come back as errors naming the target, and that target
 * is left out.
 */
export function targetsFromGroup(job: ScrapeJob, group: TargetGroup, tenants: ReadonlySet<string>): TargetsOutcome {
  const targets: ScrapeTarget[] = [];
  const errors: string[] = [];
  const meta = group.labels;
  for (const address of group.targets) {
    const where = `job "${job.job_name}" target ${address}`;
    const tenant = meta.__tenant__ ?? group.tenant ?? job.tenant;
    const site = meta.__site__ ?? group.site;
    const siteGroup = meta.__group__ ?? group.group;
    if (tenant === undefined || !TENANT_NAME.test(tenant)) {
      errors.push(`${where}: no valid tenant (set tenant on the job or the group, or __tenant__)`);
      continue;
    }
    if (!tenants.has(tenant)) {
      errors.push(`${where}: tenant "${tenant}" is not defined under tenants`);
      continue;
    }
    if (site === undefined || site === '' || site.length > 256) {
      errors.push(`${where}: no site (set site on the group, or __site__)`);
      continue;
    }
    const interval = meta.__scrape_interval__ === undefined ? job.scrape_interval : parseDurationLabel(meta.__scrape_interval__, '__scrape_interval__');
    const timeout = meta.__scrape_timeout__ === undefined ? job.scrape_timeout : parseDurationLabel(meta.__scrape_timeout__, '__scrape_timeout__');
    if (typeof interval === 'string' || typeof timeout === 'string') {
      errors.push(`${where}: ${typeof interval === 'string' ? interval : timeout}`);
      continue;
    }
    if (interval <= 0 || timeout <= 0 || timeout > interval) {
      errors.push(`${where}: scrape timeout (${timeout} ms) must be positive and at most the interval (${interval} ms)`);
      continue;
    }
    const scheme = meta.__scheme__ ?? job.scheme;
    const path = meta.__metrics_path__ ?? job.metrics_path;
    const query = new URLSearchParams();
    for (const [name, values] of Object.entries(job.params)) for (const v of values) query.append(name, v);
    for (const [name, value] of Object.entries(meta)) {
      if (!name.startsWith('__param_')) continue;
      query.delete(name.slice(8));
      query.append(name.slice(8), value);
    }
    const qs = query.toString();
    let url: string;
    try {
      url = new URL(`${scheme}://${address}${path}${qs === '' ? '' : `?${qs}`}`).toString();
    } catch {
      errors.push(`${where}: cannot make a URL of scheme "${scheme}", path "${path}"`);
      continue;
    }
    const flat: string[] = ['job', job.job_name, 'instance', meta.instance ?? address];
    for (const [name, value] of Object.entries(meta)) {
      if (name.startsWith('__') || name === 'instance' || name === 'job' || value === '') continue;
      flat.push(name, value);
    }
    if (meta.job !== undefined && meta.job !== '') flat[1] = meta.job;
    const labels = sortLabels(flat);
    const identity: Identity = { tenant, site, group: siteGroup };
    const { static_configs: _static, file_sd_configs: _files, ...settings } = job;
    const key = JSON.stringify([settings, url, identity, labels, interval, timeout]);
    targets.push({ key, job, url, identity, labels, intervalMs: interval, timeoutMs: timeout });
  }
  return { targets, errors };
}

/** Files matching a file_sd pattern: a path, or a `*` glob in its last component (as Prometheus allows). */
export async function expandFilePattern(pattern: string): Promise<string[]> {
  const name = basename(pattern);
  if (!name.includes('*')) return [pattern];
  const dir = dirname(pattern);
  const re = new RegExp(`^${name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  return entries.filter((e) => re.test(e)).sort().map((e) => `${dir}/${e}`);
}

/** Reads one file_sd file; an invalid file throws with the file and the reason. */
export async function readTargetsFile(file: string): Promise<{ targets: string[]; labels: Record<string, string> }[]> {
  const text = await readFile(file, 'utf8');
  let doc: unknown;
  const ext = extname(file).toLowerCase();
  if (ext === '.json') doc = JSON.parse(text);
  else if (ext === '.yml' || ext === '.yaml') doc = yaml.load(text, { filename: file });
  else throw new Error(`${file}: a targets file must end in .json, .yml or .yaml`);
  const parsed = fileTargetGroupsSchema.safeParse(doc ?? []);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue?.path.map(String).join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
