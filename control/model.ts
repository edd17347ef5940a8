// The git model: what a commit of the fleet repository declares, validated
// with zod file by file (errors name the file, the path inside it and the
// reason), then cross-checked, then compiled. Layout (all YAML):
//   fleet.yml                                   release?, params (the defaults), channels
//   tenants/<tenant>.yml                        channel, components, params
//   groups/<tenant>/<group>.yml                 channel?, components?, params, labels
//   sites/<tenant>/<any>.yml                    sites: [{name, group, labels, params, channel?}]
//   components/<name>/<version>/component.yml   apply_mode, prepull_images, params
//   components/<name>/<version>/*.yaml          manifest templates (template.ts)
// Parameters merge with this precedence, later wins, maps merged key by key,
// anything else replaced: component defaults < fleet defaults < tenant < group < site.
import yaml from 'js-yaml';
import { z } from 'zod';
import { ControlError } from './errors.js';
import type { GitFile } from './git.js';
import { type CompiledTemplate, compileTemplate } from './template.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const name = z.string().regex(NAME, 'a name is 1-63 of A-Z a-z 0-9 . _ -, starting alphanumeric');
const params = z.record(z.string(), z.unknown()).default({});
const labels = z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/, 'a label key is 1-63 of A-Z a-z 0-9 . _ / -'), z.string().max(253)).default({});

const fleetSchema = z.object({
  /** The version name of what this commit renders; default `g` + the first 12 hex digits of the commit. */
  release: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a release is 1-64 of A-Z a-z 0-9 . _ -').optional(),
  params,
  /** Release channels: channel → component → version. */
  channels: z.record(name, z.record(name, name)).refine((c) => Object.keys(c).length > 0, 'at least one channel is needed'),
}).strict();

const tenantSchema = z.object({
  channel: name,
  components: z.array(name).default([]),
  params,
}).strict();

const groupSchema = z.object({
  channel: name.optional(),
  /** Replaces the tenant's component list when given. */
  components: z.array(name).optional(),
  params,
  labels,
}).strict();

const siteSchema = z.object({
  name,
  group: name,
  channel: name.optional(),
  labels,
  params,
}).strict();
const sitesFileSchema = z.object({ sites: z.array(siteSchema).max(100_000) }).strict();

const componentSchema = z.object({
  apply_mode: z.enum(['optimistic', 'pessimistic']).default('pessimistic'),
  prepull_images: z.array(z.string().min(1).max(512)).default([]),
  params,
}).strict();

export interface ComponentVersion {
  readonly name: string;
  readonly version: string;
  readonly applyMode: 'optimistic' | 'pessimistic';
  readonly prepullImages: readonly string[];
  readonly params: Record<string, unknown>;
  readonly templates: readonly CompiledTemplate[];
  /** Blob ids of every file of this component version: its content identity. */
  readonly contentId: string;
}

export interface ModelSite {
  readonly name: string;
  readonly tenant: string;
  readonly group: string;
  readonly channel?: string;
  readonly labels: Record<string, string>;
  readonly params: Record<string, unknown>;
  readonly file: string;
}

export interface Model {
  readonly commit: string;
  /** The version name sites get from this commit. */
  readonly release: string;
  readonly params: Record<string, unknown>;
  readonly channels: Record<string, Record<string, string>>;
  readonly tenants: ReadonlyMap<string, z.output<typeof tenantSchema>>;
  /** Keyed `<tenant>/<group>`. */
  readonly groups: ReadonlyMap<string, z.output<typeof groupSchema>>;
  readonly sites: ReadonlyMap<string, ModelSite>;
  /** Keyed `<name>@<version>`. */
  readonly components: ReadonlyMap<string, ComponentVersion>;
  readonly files: number;
}

function invalid(commit: string, file: string, path: readonly PropertyKey[] | string, reason: string): ControlError {
  const p = typeof path === 'string' ? path : path.map(String).join('.') || '(root)';
  return new ControlError('FS_CONTROL_MODEL_INVALID', [commit.slice(0, 12), file, p, reason]);
}

function parseYaml(commit: string, f: GitFile): unknown {
  try {
    return yaml.load(f.text, { schema: yaml.CORE_SCHEMA, filename: f.path });
  } catch (err) {
    throw invalid(commit, f.path, '(document)', `not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

function validate<S extends z.ZodType>(commit: string, f: GitFile, schema: S): z.output<S> {
  const r = schema.safeParse(parseYaml(commit, f) ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    throw invalid(commit, f.path, issue?.path ?? [], issue?.message ?? 'invalid');
  }
  return r.data;
}

const isYaml = (p: string): boolean => p.endsWith('.yml') || p.endsWith('.yaml');

/** Which files of the tree belong to the model (under `root`, a subdirectory or ''). */
export function isModelFile(path: string, root = ''): boolean {
  if (!path.startsWith(root) || !isYaml(path)) return false;
  const rel = path.slice(root.length);
  return rel === 'fleet.yml' || /^(tenants|groups|sites|components)\//.test(rel);
}

/** Parses, validates and compiles the model files of `commit`. Throws a ControlError naming the first problem. */
export function buildModel(commit: string, files: readonly GitFile[], root = ''): Model {
  const rel = (f: GitFile): string => f.path.slice(root.length);
  const fleetFile = files.find((f) => rel(f) === 'fleet.yml');
  if (!fleetFile) throw invalid(commit, `${root}fleet.yml`, '(file)', 'the model needs a fleet.yml');
  const fleet = validate(commit, fleetFile, fleetSchema);
  const tenants = new Map<string, z.output<typeof tenantSchema>>();
  const tenantFile = new Map<string, string>();
  const groups = new Map<string, z.output<typeof groupSchema>>();
  const groupFile = new Map<string, string>();
  const sites = new Map<string, ModelSite>();
  const componentMeta = new Map<string, { file: string; meta: z.output<typeof componentSchema> }>();
  const componentTemplates = new Map<string, GitFile[]>();
  for (const f of files) {
    const p = rel(f).split('/');
    const top = p[0];
    const base = (s: string): string => s.replace(/\.ya?ml$/, '');
    if (top === 'tenants') {
      if (p.length !== 2 || !NAME.test(base(p[1] as string))) throw invalid(commit, f.path, '(file)', 'tenant files are tenants/<tenant>.yml');
      tenants.set(base(p[1] as string), validate(commit, f, tenantSchema));
      tenantFile.set(base(p[1] as string), f.path);
    } else if (top === 'groups') {
      if (p.length !== 3 || !NAME.test(p[1] as string) || !NAME.test(base(p[2] as string))) throw invalid(commit, f.path, '(file)', 'group files are groups/<tenant>/<group>.yml');
      groups.set(`${p[1]}/${base(p[2] as string)}`, validate(commit, f, groupSchema));
      groupFile.set(`${p[1]}/${base(p[2] as string)}`, f.path);
    } else if (top === 'sites') {
      if (p.length !== 3 || !NAME.test(p[1] as string)) throw invalid(commit, f.path, '(file)', 'site files are sites/<tenant>/<file>.yml');
      const tenant = p[1] as string;
      validate(commit, f, sitesFileSchema).sites.forEach((s, i) => {
        const other = sites.get(s.name);
        if (other) throw invalid(commit, f.path, ['sites', i, 'name'], `site ${s.name} is already declared in ${other.file}`);
        sites.set(s.name, { ...s, tenant, file: f.path });
      });
    } else if (top === 'components') {
      if (p.length < 4 || !NAME.test(p[1] as string) || !NAME.test(p[2] as string)) throw invalid(commit, f.path, '(file)', 'component files are components/<name>/<version>/...');
      const key = `${p[1]}@${p[2]}`;
      if (p.length === 4 && p[3] === 'component.yml') componentMeta.set(key, { file: f.path, meta: validate(commit, f, componentSchema) });
      else {
        const list = componentTemplates.get(key) ?? [];
        list.push(f);
        componentTemplates.set(key, list);
      }
    }
  }
  // Cross-references.
  for (const [ch, comps] of Object.entries(fleet.channels)) {
    for (const [c, v] of Object.entries(comps)) {
      if (!componentMeta.has(`${c}@${v}`)) throw invalid(commit, fleetFile.path, ['channels', ch, c], `component ${c} version ${v} has no components/${c}/${v}/component.yml`);
    }
  }
  const checkChannel = (file: string, path: string, channel: string, comps: readonly string[]): void => {
    const chan = fleet.channels[channel];
    if (!chan) throw invalid(commit, file, path, `channel ${channel} is not in fleet.yml (have: ${Object.keys(fleet.channels).join(', ')})`);
    for (const c of comps) if (!(c in chan)) throw invalid(commit, file, path, `component ${c} is not in channel ${channel}`);
  };
  for (const [t, tn] of tenants) checkChannel(tenantFile.get(t) as string, 'channel', tn.channel, tn.components);
  for (const [k, g] of groups) {
    const tenant = k.split('/')[0] as string;
    const tn = tenants.get(tenant);
    if (!tn) throw invalid(commit, groupFile.get(k) as string, '(file)', `tenant ${tenant} has no tenants/${tenant}.yml`);
    checkChannel(groupFile.get(k) as string, g.channel !== undefined ? 'channel' : 'components', g.channel ?? tn.channel, g.components ?? tn.components);
  }
  for (const s of sites.values()) {
    const tn = tenants.get(s.tenant);
    if (!tn) throw invalid(commit, s.file, s.name, `tenant ${s.tenant} has no tenants/${s.tenant}.yml`);
    const g = groups.get(`${s.tenant}/${s.group}`);
    if (!g) throw invalid(commit, s.file, s.name, `group ${s.group} has no groups/${s.tenant}/${s.group}.yml`);
    checkChannel(s.file, `${s.name}.channel`, s.channel ?? g.channel ?? tn.channel, g.components ?? tn.components);
  }
  // Compile every component version that a channel uses.
  const components = new Map<string, ComponentVersion>();
  for (const [key, { file, meta }] of componentMeta) {
    const [cname, version] = key.split('@') as [string, string];
    const tfiles = (componentTemplates.get(key) ?? []).sort((a, b) => (a.path < b.path ? -1 : 1));
    if (tfiles.length === 0) throw invalid(commit, file, '(file)', `component ${cname} ${version} has no manifest templates beside its component.yml`);
    const templates = tfiles.map((t) => compileTemplate(t.path, t.text, meta.apply_mode));
    const fileOid = files.find((f) => f.path === file)?.oid ?? '';
    components.set(key, {
      name: cname,
      version,
      applyMode: meta.apply_mode,
      prepullImages: meta.prepull_images,
      params: meta.params,
      templates,
      contentId: [fileOid, ...tfiles.map((t) => t.oid)].join(','),
    });
  }
  return {
    commit,
    release: fleet.release ?? `g${commit.slice(0, 12)}`,
    params: fleet.params,
    channels: fleet.channels,
    tenants,
    groups,
    sites,
    components,
    files: files.length,
  };
}

/** Deep merge of parameter maps, later wins; maps merge key by key, anything else is replaced. */
export function mergeParams(...layers: readonly Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      const prev = out[k];
      if (isMap(prev) && isMap(v)) out[k] = mergeParams(prev, v);
      else out[k] = v;
    }
  }
  return out;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
