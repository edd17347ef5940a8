// Per-site rendering: the site's components from its release channel, its
// parameters merged (component defaults < fleet < tenant < group < site),
// every template filled, every object annotated (the top README's contract §3), and the
// checksum of the whole text written in. `planSite` is cheap and yields the
// content hash of the site's inputs: equal hashes render equal manifests, so
// a load re-renders only the sites whose hash moved.
import { createHash } from 'node:crypto';
import { fillChecksum, manifestChecksum } from './checksum.js';
import { ControlError } from './errors.js';
import { type ComponentVersion, type Model, mergeParams } from './model.js';
import { type RenderContext, checkReferences, renderTemplate } from './template.js';

export interface SiteIdentity {
  readonly name: string;
  readonly tenant: string;
  readonly group: string;
  readonly labels: Record<string, string>;
}

export interface ModeSummary {
  /** `mixed` when components differ. */
  readonly apply_mode: 'optimistic' | 'pessimistic' | 'mixed';
  readonly objects: number;
  readonly prepull_images: readonly string[];
}

export interface SitePlan {
  readonly site: SiteIdentity;
  readonly components: readonly ComponentVersion[];
  readonly contexts: readonly RenderContext[];
  /** sha256 of everything the rendered text depends on, except the version name. */
  readonly inputsHash: string;
  readonly modeSummary: ModeSummary;
}

export interface RenderedSite {
  readonly text: string;
  readonly checksum: string;
  readonly modeSummary: ModeSummary;
}

/** What the site gets from `model`: throws FS_CONTROL_MODEL_INVALID if its tenant or group is not in the model. */
export function planSite(model: Model, identity: SiteIdentity): SitePlan {
  const declared = model.sites.get(identity.name);
  const own = declared && declared.tenant === identity.tenant ? declared : undefined;
  const group = own?.group ?? identity.group;
  const tenant = model.tenants.get(identity.tenant);
  if (!tenant) throw new ControlError('FS_CONTROL_MODEL_INVALID', [model.commit.slice(0, 12), `tenants/${identity.tenant}.yml`, identity.name, `site ${identity.name}'s tenant ${identity.tenant} is not in the model`]);
  const g = model.groups.get(`${identity.tenant}/${group}`);
  if (!g) throw new ControlError('FS_CONTROL_MODEL_INVALID', [model.commit.slice(0, 12), `groups/${identity.tenant}/${group}.yml`, identity.name, `site ${identity.name}'s group ${group} is not in the model`]);
  const labels = { ...g.labels, ...identity.labels, ...(own?.labels ?? {}) };
  const site: SiteIdentity = { name: identity.name, tenant: identity.tenant, group, labels };
  const channelName = own?.channel ?? g.channel ?? tenant.channel;
  const channel = model.channels[channelName] ?? {};
  const names = g.components ?? tenant.components;
  const base = mergeParams(model.params, tenant.params, g.params, own?.params ?? {});
  const components: ComponentVersion[] = [];
  const contexts: RenderContext[] = [];
  const hash = createHash('sha256');
  const sortedLabels = Object.keys(labels).sort().map((k) => [k, labels[k]]);
  hash.update(JSON.stringify([site.name, site.tenant, site.group, sortedLabels, base]));
  let optimistic = 0;
  let pessimistic = 0;
  const images = new Set<string>();
  for (const n of names) {
    const c = model.components.get(`${n}@${channel[n]}`) as ComponentVersion;
    components.push(c);
    hash.update(`\0${c.name}@${c.version}:${c.contentId}`);
    contexts.push({ params: mergeParams(c.params, base), site, component: { name: c.name, version: c.version } });
    const objects = c.templates.reduce((sum, t) => sum + t.documents, 0);
    if (c.applyMode === 'optimistic') optimistic += objects;
    else pessimistic += objects;
    for (const i of c.prepullImages) images.add(i);
  }
  const mode = optimistic > 0 && pessimistic > 0 ? 'mixed' : optimistic > 0 ? 'optimistic' : 'pessimistic';
  return {
    site,
    components,
    contexts,
    inputsHash: hash.digest('hex'),
    modeSummary: { apply_mode: mode, objects: optimistic + pessimistic, prepull_images: [...images].sort() },
  };
}

/** Throws FS_CONTROL_TEMPLATE if a template of the plan refers to something the site does not have. */
export function checkPlan(plan: SitePlan): void {
  plan.components.forEach((c, i) => {
    for (const t of c.templates) checkReferences(t, plan.contexts[i] as RenderContext);
  });
}

/** The final manifests.yaml of a plan at `version`, checksum included. */
export function renderPlan(plan: SitePlan, version: string): RenderedSite {
  let text = '';
  plan.components.forEach((c, i) => {
    const prepull = c.prepullImages.join(',');
    for (const t of c.templates) text += renderTemplate(t, plan.contexts[i] as RenderContext, version, prepull);
  });
  const checksum = manifestChecksum(text);
  return { text: fillChecksum(text, checksum), checksum, modeSummary: plan.modeSummary };
}
