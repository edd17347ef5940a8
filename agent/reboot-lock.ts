// A node-at-a-time lock for host-level upgrades on multi-node sites: a
// coordination.k8s.io/v1 Lease, the same primitive Kubernetes' own leader
// election and kured use. Mutual exclusion comes from the API server:
//   - creating: each node applies the Lease as its own field manager
//     (fleetscope-lock-<node>) without force, so a second node that races to
//     set spec.holderIdentity gets 409 Conflict (the field is another
//     manager's) and waits;
//   - taking over a free or expired Lease (renewTime + leaseDurationSeconds
//     in the past): a forced apply at the resourceVersion just read, so of
//     two nodes taking over at once, one gets 409 (the object changed);
//   - releasing: holderIdentity "" at the resourceVersion read.
// The holder renews while it works (renew()); a holder that dies frees the
// lock after leaseDurationSeconds.
import type { KubeApi } from './kube.js';
import type { KubeObject, ObjectRef } from './manifests.js';

export interface RebootLockOptions {
  readonly namespace: string;
  /** Default fleetscope-reboot-lock. */
  readonly name?: string;
  /** This node's name. */
  readonly holder: string;
  /** Default 900 s: a holder that stops renewing loses the lock after this. */
  readonly leaseDurationSeconds?: number;
  /** How often a waiting node looks again (default 2 s). */
  readonly pollMs?: number;
  readonly now?: () => number;
}

export type LockOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function isConflict(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 409;
}

export class RebootLock {
  private readonly ref: ObjectRef;
  private readonly duration: number;
  private readonly manager: string;
  private readonly now: () => number;

  constructor(private readonly api: KubeApi, private readonly opts: RebootLockOptions) {
    this.ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: opts.namespace, name: opts.name ?? 'fleetscope-reboot-lock' };
    this.duration = opts.leaseDurationSeconds ?? 900;
    this.manager = `fleetscope-lock-${opts.holder}`.slice(0, 128);
    this.now = opts.now ?? Date.now;
  }

  private lease(spec: LeaseSpec): KubeObject {
    return { apiVersion: this.ref.apiVersion, kind: 'Lease', metadata: { name: this.ref.name, namespace: this.ref.namespace as string }, spec };
  }

  private held(spec: LeaseSpec | undefined): { by: string; expired: boolean } {
    const by = spec?.holderIdentity ?? '';
    const renewed = Date.parse(spec?.renewTime ?? spec?.acquireTime ?? '');
    const expired = Number.isNaN(renewed) || renewed + (spec?.leaseDurationSeconds ?? this.duration) * 1000 < this.now();
    return { by, expired };
  }

  /** One attempt: true when this node holds the lock afterwards. */
  async tryAcquire(): Promise<boolean> {
    const live = await this.api.read(this.ref);
    const now = microTime(this.now());
    const mine: LeaseSpec = { holderIdentity: this.opts.holder, leaseDurationSeconds: this.duration, acquireTime: now, renewTime: now };
    try {
      if (live === null) {
        await this.api.applyWith(this.lease({ ...mine, leaseTransitions: 0 }), { fieldManager: this.manager, force: false });
        return true;
      }
      const spec = live.spec as LeaseSpec | undefined;
      const { by, expired } = this.held(spec);
      if (by === this.opts.holder) return this.renew();
      if (by !== '' && !expired) return false;
      await this.api.applyWith(this.lease({ ...mine, leaseTransitions: (spec?.leaseTransitions ?? 0) + 1 }), { fieldManager: this.manager, force: true, resourceVersion: live.metadata.resourceVersion as string });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  /** Waits for the lock up to timeoutMs. */
  async acquire(timeoutMs: number, signal?: AbortSignal): Promise<LockOutcome> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await this.tryAcquire()) return { ok: true };
      if (signal?.aborted) return { ok: false, reason: 'aborted' };
      if (Date.now() >= deadline) {
        const live = await this.api.read(this.ref);
        return { ok: false, reason: `the reboot lock is held by ${(live?.spec as LeaseSpec | undefined)?.holderIdentity ?? 'nobody'}` };
      }
      await new Promise((r) => setTimeout(r, Math.min(this.opts.pollMs ?? 2000, Math.max(0, deadline - Date.now()))));
    }
  }

  /** Extends the lease; false when this node no longer holds it. */
  async renew(): Promise<boolean> {
    const live = await this.api.read(this.ref);
    const spec = live?.spec as LeaseSpec | undefined;
    if (live === null || spec?.holderIdentity !== this.opts.holder) return false;
    try {
      await this.api.applyWith(this.lease({ ...spec, renewTime: microTime(this.now()) }), { fieldManager: this.manager, force: true, resourceVersion: live.metadata.resourceVersion as string });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  /** Frees the lock if this node holds it. */
  async release(): Promise<void> {
    const live = await this.api.read(this.ref);
    const spec = live?.spec as LeaseSpec | undefined;
    if (live === null || spec?.holderIdentity !== this.opts.holder) return;
    try {
      await this.api.applyWith(this.lease({ ...spec, holderIdentity: '' }), { fieldManager: this.manager, force: true, resourceVersion: live.metadata.resourceVersion as string });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
}
