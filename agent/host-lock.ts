// The reboot lock as the upgrader holds it around host-level steps: taken
// when a release's first host-level step is about to be applied, renewed
// every third of the lease while held, and released when the upgrade is
// over, whether it went healthy, failed, or rolled back (a rollback's own
// host-level steps run under the same hold). API errors while waiting are
// retried until the timeout (an API server outage is normal); a release that
// cannot reach the API server leaves the Lease to expire after its duration,
// which is also what frees it when the holder dies.
import type { AgentMetrics } from './metrics.js';
import { type LockOutcome, RebootLock } from './reboot-lock.js';
import type { KubeApi } from './kube.js';

export interface HostLockOptions {
  readonly api: () => Promise<KubeApi>;
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly leaseDurationMs: number;
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly signal: AbortSignal;
  readonly metrics: AgentMetrics;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

export class HostLock {
  private lock: RebootLock | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  held = false;

  constructor(private readonly opts: HostLockOptions) {}

  private async get(): Promise<RebootLock> {
    const o = this.opts;
    this.lock ??= new RebootLock(await o.api(), { namespace: o.namespace, name: o.name, holder: o.node, leaseDurationSeconds: Math.ceil(o.leaseDurationMs / 1000), pollMs: o.pollMs });
    return this.lock;
  }

  /** Holds the lock (at once when already held), waiting up to the timeout. */
  async ensure(): Promise<LockOutcome> {
    if (this.held) return { ok: true };
    const o = this.opts;
    const deadline = Date.now() + o.timeoutMs;
    const started = Date.now();
    const lock = await this.get();
    for (;;) {
      if (o.signal.aborted) return { ok: false, reason: 'aborted' };
      try {
        const got = await lock.acquire(Math.max(0, deadline - Date.now()), o.signal);
        if (!got.ok) {
          o.metrics.rebootLockAcquisitions.inc({ result: 'timeout' });
          return { ok: false, reason: `${got.reason} after ${Math.round((Date.now() - started) / 1000)} s (upgrades.reboot_lock.timeout)` };
        }
        break;
      } catch (err) {
        if (Date.now() >= deadline) {
          o.metrics.rebootLockAcquisitions.inc({ result: 'error' });
          return { ok: false, reason: `the reboot lock cannot be taken: ${(err as Error).message}` };
        }
        o.log('warn', `reboot lock: ${(err as Error).message}; retrying`);
        await new Promise((r) => setTimeout(r, Math.min(o.pollMs, Math.max(0, deadline - Date.now()))));
      }
    }
    this.held = true;
    o.metrics.rebootLockAcquisitions.inc({ result: 'acquired' });
    o.metrics.rebootLockHeld.set(1);
    o.log('info', `reboot lock ${o.namespace}/${o.name} taken by ${o.node} after ${Math.round((Date.now() - started) / 100) / 10} s`);
    this.renewTimer = setInterval(() => {
      lock.renew().then(
        (ok) => {
          if (!ok) o.log('error', `reboot lock ${o.namespace}/${o.name}: no longer held by ${o.node} (expired while the host-level step ran?)`);
        },
        (err: Error) => o.log('warn', `reboot lock renewal: ${err.message}`),
      );
    }, Math.max(1000, Math.floor(o.leaseDurationMs / 3)));
    this.renewTimer.unref();
    return { ok: true };
  }

  /** Frees the lock if held; an unreachable API server leaves it to expire. */
  async release(): Promise<void> {
    if (!this.held) return;
    if (this.renewTimer !== null) clearInterval(this.renewTimer);
    this.renewTimer = null;
    this.held = false;
    this.opts.metrics.rebootLockHeld.set(0);
    const lock = await this.get();
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await lock.release();
        this.opts.log('info', `reboot lock ${this.opts.namespace}/${this.opts.name} released by ${this.opts.node}`);
        return;
      } catch (err) {
        this.opts.log('warn', `reboot lock release: ${(err as Error).message}; retrying`);
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
    }
    this.opts.log('error', `reboot lock ${this.opts.namespace}/${this.opts.name} could not be released; it expires after ${Math.round(this.opts.leaseDurationMs / 1000)} s`);
  }
}
