// Applying one release to the cluster: CRDs first (waited for until
// Established, whatever the mode, since what follows may be of their kinds),
// then Namespaces, then the rest in rendered order, each by server-side
// apply. Then objects annotated pessimistic (the default) are waited for
// until ready by kstatus rules (readiness.ts); optimistic ones are not. Last,
// what the previous release had and this one has not is pruned, and only
// when it carries the agent's managed-by label. Each API call is retried on
// transient errors with backoff; a permanent error, a Failed readiness or
// the timeout fails the apply (the caller rolls back).
import { type KubeApi, classifyApiError } from './kube.js';
import { type KubeObject, MANAGED_LABEL, MANAGED_VALUE, type ObjectRef, applyModeOf, applyOrder, refKey, refOf } from './manifests.js';
import { readiness } from './readiness.js';

export interface ApplyOptions {
  readonly readyTimeoutMs: number;
  /** Attempts after the first for a transient API error. */
  readonly retries: number;
  /** Backoff base between attempts (default 500 ms, doubling, capped at 10 s). */
  readonly backoffMs?: number;
  /** Poll period while waiting for readiness (default 1 s). */
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

export type ApplyResult = { readonly ok: true; readonly inventory: readonly ObjectRef[]; readonly pruned: number } | { readonly ok: false; readonly reason: string; readonly inventory: readonly ObjectRef[] };

export class ApplyFailure extends Error {}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ApplyFailure('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new ApplyFailure('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function describe(r: ObjectRef): string {
  return `${r.kind} ${r.namespace === undefined ? '' : `${r.namespace}/`}${r.name}`;
}

export class Applier {
  constructor(private readonly api: KubeApi, private readonly opts: ApplyOptions) {}

  /** Calls the API, retrying transient errors; throws ApplyFailure on a permanent one or when retries run out. */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const base = this.opts.backoffMs ?? 500;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const c = classifyApiError(err);
        if (c.kind === 'permanent') throw new ApplyFailure(`${what}: ${c.reason}`);
        if (attempt >= this.opts.retries) throw new ApplyFailure(`${what}: ${c.reason} (after ${attempt + 1} attempts)`);
        this.opts.log?.('warn', `${what}: ${c.reason}; retrying`);
        await sleep(Math.min(10_000, base * 2 ** attempt) * (0.5 + Math.random() / 2), this.opts.signal);
      }
    }
  }

  /** Applies `objects`, waits, prunes what `previous` had and they have not; `waitAll`: wait for every object, optimistic ones too (host-level steps). */
  async apply(objects: readonly KubeObject[], previous: readonly ObjectRef[], opts: { readonly waitAll?: boolean } = {}): Promise<ApplyResult> {
    const inventory = objects.map(refOf);
    try {
      const { crds, namespaces, rest } = applyOrder(objects);
      for (const o of crds) await this.call(`apply ${describe(refOf(o))}`, () => this.api.apply(o));
      await this.waitReady(crds.map(refOf));
      for (const o of namespaces) await this.call(`apply ${describe(refOf(o))}`, () => this.api.apply(o));
      for (const o of rest) await this.call(`apply ${describe(refOf(o))}`, () => this.api.apply(o));
      await this.waitReady(objects.filter((o) => o.kind !== 'CustomResourceDefinition' && (opts.waitAll === true || applyModeOf(o) === 'pessimistic')).map(refOf));
      const pruned = await this.prune(previous, inventory);
      return { ok: true, inventory, pruned };
    } catch (err) {
      if (err instanceof ApplyFailure) return { ok: false, reason: err.message, inventory };
      throw err;
    }
  }

  /** As prune(), with a failure as data. */
  async pruneResult(previous: readonly ObjectRef[], keep: readonly ObjectRef[]): Promise<ApplyResult> {
    try {
      return { ok: true, inventory: keep, pruned: await this.prune(previous, keep) };
    } catch (err) {
      if (err instanceof ApplyFailure) return { ok: false, reason: err.message, inventory: keep };
      throw err;
    }
  }

  /** Deletes what `previous` has and `keep` has not, if the agent manages it. */
  async prune(previous: readonly ObjectRef[], keep: readonly ObjectRef[]): Promise<number> {
    const keys = new Set(keep.map(refKey));
    // Reverse order: dependents (Deployments) before what they live in (Namespaces, CRDs).
    const gone = previous.filter((r) => !keys.has(refKey(r))).reverse();
    let n = 0;
    for (const ref of gone) {
      const live = await this.call(`read ${describe(ref)}`, () => this.api.read(ref));
      if (live === null) continue;
      if (live.metadata.labels?.[MANAGED_LABEL] !== MANAGED_VALUE) {
        this.opts.log?.('warn', `prune: ${describe(ref)} is not labelled ${MANAGED_LABEL}=${MANAGED_VALUE}; left alone`);
        continue;
      }
      await this.call(`delete ${describe(ref)}`, () => this.api.delete(ref));
      n++;
    }
    return n;
  }

  private async waitReady(refs: readonly ObjectRef[]): Promise<void> {
    if (refs.length === 0) return;
    const deadline = Date.now() + this.opts.readyTimeoutMs;
    let waiting = [...refs];
    let last = '';
    for (;;) {
      const still: ObjectRef[] = [];
      for (const ref of waiting) {
        const live = await this.call(`read ${describe(ref)}`, () => this.api.read(ref));
        if (live === null) {
          still.push(ref);
          last = `${describe(ref)}: not found`;
          continue;
        }
        const r = readiness(live as never);
        if (r.state === 'failed') throw new ApplyFailure(`${describe(ref)}: ${r.reason}`);
        if (r.state === 'in-progress') {
          still.push(ref);
          last = `${describe(ref)}: ${r.reason}`;
        }
      }
      waiting = still;
      if (waiting.length === 0) return;
      if (Date.now() >= deadline) throw new ApplyFailure(`not ready after ${Math.round(this.opts.readyTimeoutMs / 1000)} s: ${last}${waiting.length > 1 ? ` (and ${waiting.length - 1} more)` : ''}`);
      await sleep(this.opts.pollMs ?? 1000, this.opts.signal);
    }
  }
}
