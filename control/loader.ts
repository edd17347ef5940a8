// Loading the git model at a commit and rendering it for every site: what CI
// calls after a merge (`control load`) and what the control plane's poller
// calls. The whole commit is validated and every site's references checked
// before anything is stored; an invalid commit is refused whole, and the
// last good model (model/current) keeps serving. Only sites whose inputs
// hash moved are rendered; the others keep the version they have.
import { ControlError } from './errors.js';
import { artifactKey, type ArtifactStore } from './artifacts.js';
import { localRepo, readTree, resolveCommit } from './git.js';
import { type Model, buildModel, isModelFile } from './model.js';
import type { ModelRecord, RenderEntry, RenderIndex, SiteRecord } from './records.js';
import { type SiteIdentity, type SitePlan, checkPlan, planSite, renderPlan } from './render.js';
import type { State } from './state.js';

export interface LoadOutcome {
  readonly release: string;
  readonly commit: string;
  readonly sites: number;
  readonly rendered: number;
  readonly unchanged: number;
  /** True when this release was already the current one (nothing to do). */
  readonly already_current: boolean;
}

export interface LoaderOptions {
  readonly cacheDir: string;
  /** Subdirectory of the repository holding the model ('' or ending in '/'). */
  readonly root: string;
  /** Renders written at once. */
  readonly concurrency?: number;
  readonly keepVersions?: number;
}

export async function readModel(repo: string, ref: string, opts: LoaderOptions): Promise<Model> {
  const gitDir = await localRepo(repo, opts.cacheDir);
  const commit = await resolveCommit(gitDir, ref);
  const files = await readTree(gitDir, commit, (p) => isModelFile(p, opts.root));
  return buildModel(commit, files, opts.root);
}

/** Every site to render: the registered ones, then those only declared in the model. */
export function siteIdentities(state: State, model: Model): SiteIdentity[] {
  const out: SiteIdentity[] = [];
  const seen = new Set<string>();
  for (const [, e] of state.entries<SiteRecord>('sites/')) {
    const s = e.value;
    out.push({ name: s.site, tenant: s.tenant, group: s.group, labels: s.labels });
    seen.add(s.site);
  }
  for (const s of model.sites.values()) if (!seen.has(s.name)) out.push({ name: s.name, tenant: s.tenant, group: s.group, labels: s.labels });
  return out;
}

async function inParallel<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

export class ModelLoader {
  private current: Model | null = null;
  private refused: { repo: string; commit: string; err: unknown } | null = null;

  constructor(private readonly state: State, private readonly artifacts: ArtifactStore, private readonly opts: LoaderOptions) {}

  /** The last good model this process holds (loaded here, or read back for model/current). */
  async model(): Promise<Model | null> {
    const rec = this.state.value<ModelRecord>('model/current');
    if (!rec) return null;
    if (this.current?.commit !== rec.commit) this.current = await readModel(rec.repo, rec.commit, this.opts);
    return this.current;
  }

  async load(repo: string, ref: string): Promise<LoadOutcome> {
    let model: Model;
    try {
      // The poller calls this often: an unchanged commit costs two git calls, nothing more.
      const cur = this.state.value<ModelRecord>('model/current');
      const commit = await resolveCommit(await localRepo(repo, this.opts.cacheDir), ref);
      if (cur && cur.repo === repo && commit === cur.commit) return { release: cur.release, commit, sites: cur.sites, rendered: 0, unchanged: cur.sites, already_current: true };
      // A commit refused once is refused again without reading it again.
      if (this.refused?.repo === repo && this.refused.commit === commit) throw this.refused.err;
      try {
        model = await readModel(repo, commit, this.opts);
      } catch (err) {
        this.refused = { repo, commit, err };
        throw err;
      }
    } catch (err) {
      await this.recordError(repo, ref, err);
      throw err;
    }
    try {
      return await this.apply(repo, model);
    } catch (err) {
      await this.recordError(repo, ref, err);
      throw err;
    }
  }

  private async recordError(repo: string, ref: string, err: unknown): Promise<void> {
    await this.state.put('model/last_error', { repo, ref, error: (err as Error).message, code: (err as ControlError).code ?? 'unknown', at: new Date().toISOString() }).catch(() => undefined);
  }

  private async apply(repo: string, model: Model): Promise<LoadOutcome> {
    const cur = this.state.value<ModelRecord>('model/current');
    const known = this.state.value<ModelRecord>(`model/release/${model.release}`);
    if (known && known.commit !== model.commit) {
      throw new ControlError('FS_CONTROL_MODEL_INVALID', [model.commit.slice(0, 12), 'fleet.yml', 'release', `release ${model.release} was already loaded from commit ${known.commit.slice(0, 12)}: name a new release`]);
    }
    const seq = known?.seq ?? (cur?.seq ?? 0) + 1;
    // Plan and check every site first: nothing is written for an invalid commit.
    const plans: SitePlan[] = [];
    for (const id of siteIdentities(this.state, model)) {
      const plan = planSite(model, id);
      checkPlan(plan);
      plans.push(plan);
    }
    const changed: SitePlan[] = [];
    for (const plan of plans) {
      const idx = this.state.value<RenderIndex>(`renders/${plan.site.name}`);
      const same = idx?.versions.find((v) => v.version === model.release);
      if (same) {
        if (same.inputs !== plan.inputsHash) throw new ControlError('FS_CONTROL_MODEL_INVALID', [model.commit.slice(0, 12), 'fleet.yml', 'release', `release ${model.release} already names other content for site ${plan.site.name}: name a new release`]);
        continue;
      }
      const last = idx?.versions[idx.versions.length - 1];
      if (last && last.inputs === plan.inputsHash) continue;
      changed.push(plan);
    }
    const entries: { key: string; value: RenderIndex }[] = [];
    await inParallel(changed, this.opts.concurrency ?? 16, async (plan) => {
      entries.push({ key: `renders/${plan.site.name}`, value: this.appendEntry(plan.site.tenant, plan.site.name, await this.renderAndStore(plan, model.release, seq, true)) });
    });
    // Artifacts are durable before anything refers to them.
    if (changed.length > 0) await this.artifacts.flush();
    if (entries.length > 0) await this.state.putMany(entries);
    const record: ModelRecord = { release: model.release, commit: model.commit, seq, loaded_at: new Date().toISOString(), repo, sites: plans.length, rendered: changed.length };
    const alreadyCurrent = cur?.commit === model.commit && changed.length === 0;
    if (!known) await this.state.put(`model/release/${model.release}`, record);
    if (!alreadyCurrent) await this.state.put('model/current', record);
    this.current = model;
    return { release: model.release, commit: model.commit, sites: plans.length, rendered: changed.length, unchanged: plans.length - changed.length, already_current: alreadyCurrent };
  }

  private async renderAndStore(plan: SitePlan, release: string, seq: number, batch = false): Promise<RenderEntry> {
    const r = renderPlan(plan, release);
    const artifact = artifactKey(plan.site.tenant, plan.site.name, release);
    await this.artifacts.put(artifact, r.text, batch);
    return { version: release, seq, inputs: plan.inputsHash, checksum: r.checksum, artifact, mode_summary: r.modeSummary };
  }

  private appendEntry(tenant: string, site: string, entry: RenderEntry): RenderIndex {
    const idx = this.state.value<RenderIndex>(`renders/${site}`);
    const versions = [...(idx?.tenant === tenant ? idx.versions : []), entry].slice(-(this.opts.keepVersions ?? 20));
    return { tenant, versions };
  }

  /**
   * Renders one (newly approved) site with the current model if its inputs
   * changed: the artifact is durable when this resolves, and `index` is the
   * site's render index to store (null when its newest render already had
   * these inputs). Null without a model.
   */
  async renderSiteArtifact(id: SiteIdentity): Promise<{ entry: RenderEntry; index: RenderIndex | null } | null> {
    const model = await this.model();
    const rec = this.state.value<ModelRecord>('model/current');
    if (!model || !rec) return null;
    const plan = planSite(model, id);
    checkPlan(plan);
    const idx = this.state.value<RenderIndex>(`renders/${id.name}`);
    const last = idx?.tenant === id.tenant ? idx.versions[idx.versions.length - 1] : undefined;
    if (last && last.inputs === plan.inputsHash) return { entry: last, index: null };
    const entry = await this.renderAndStore(plan, rec.release, rec.seq);
    return { entry, index: this.appendEntry(id.tenant, id.name, entry) };
  }

  /** renderSiteArtifact, and the render index stored. */
  async renderSite(id: SiteIdentity): Promise<RenderEntry | null> {
    const r = await this.renderSiteArtifact(id);
    if (r?.index) await this.state.put(`renders/${id.name}`, r.index);
    return r?.entry ?? null;
  }

  /** What `site` renders to at `repo`@`ref` without storing anything (for review). */
  static async preview(repo: string, ref: string, id: SiteIdentity | string, opts: LoaderOptions): Promise<{ text: string; checksum: string; release: string }> {
    const model = await readModel(repo, ref, opts);
    let identity: SiteIdentity;
    if (typeof id === 'string') {
      const declared = model.sites.get(id);
      if (!declared) throw new ControlError('FS_CONTROL_NOT_FOUND', [`site ${id} is not declared in the model at ${model.commit.slice(0, 12)} (give --config to look it up in the registry)`]);
      identity = { name: declared.name, tenant: declared.tenant, group: declared.group, labels: declared.labels };
    } else identity = id;
    const plan = planSite(model, identity);
    checkPlan(plan);
    const r = renderPlan(plan, model.release);
    return { text: r.text, checksum: r.checksum, release: model.release };
  }
}

/** The site's own version of `release`: its newest render at or before that release. */
export function resolveRelease(state: State, site: string, release: string): RenderEntry | null {
  const rel = state.value<ModelRecord>(`model/release/${release}`);
  const idx = state.value<RenderIndex>(`renders/${site}`);
  if (!idx) return null;
  const direct = idx.versions.find((v) => v.version === release);
  if (direct) return direct;
  if (!rel) return null;
  let best: RenderEntry | null = null;
  for (const v of idx.versions) if (v.seq <= rel.seq && (!best || v.seq > best.seq)) best = v;
  return best;
}
