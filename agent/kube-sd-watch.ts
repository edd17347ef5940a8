// A list+watch of one resource (pods, services or endpoints, in one
// namespace or all), kept as a local store, the way client-go's reflector
// does (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes):
//   1. LIST (paged, limit 500 + continue) → the store, and the list's
//      resourceVersion;
//   2. WATCH from that resourceVersion with allowWatchBookmarks: ADDED and
//      MODIFIED put, DELETED removes, BOOKMARK only moves the
//      resourceVersion; a watch the server ends (timeoutSeconds) is resumed
//      from the last resourceVersion seen, without a new list;
//   3. 410 Gone (an ERROR event with a Status of code 410, or HTTP 410: the
//      resourceVersion is compacted away) → list again;
//   4. any other error (API server down, 5xx, network) → exponential backoff
//      with jitter, then resume; the store is kept meanwhile, so targets keep
//      being scraped while the API server is away.
// Pure of the Kubernetes client: it goes through the ListWatchClient interface.

export interface KubeObjectLike {
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly resourceVersion?: string };
}

export interface ResourceSpec {
  /** "pods", "services", "endpoints" (core/v1). */
  readonly plural: string;
  readonly kind: string;
  /** Undefined: all namespaces. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface ListPage {
  readonly items: readonly KubeObjectLike[];
  readonly resourceVersion: string;
  readonly continueToken?: string;
}

export type WatchEvent = { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; readonly object: KubeObjectLike } | { readonly type: 'ERROR'; readonly object: { readonly code?: number; readonly message?: string; readonly reason?: string } };

export interface ListWatchClient {
  list(spec: ResourceSpec, continueToken: string | undefined, signal: AbortSignal): Promise<ListPage>;
  /** Resolves when the server ends the watch; rejects on errors (with `statusCode`/`code` for HTTP ones). */
  watch(spec: ResourceSpec, resourceVersion: string, onEvent: (e: WatchEvent) => void, signal: AbortSignal): Promise<void>;
}

export interface WatchOptions {
  readonly onChange: () => void;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** Backoff after an error: from minMs doubling up to maxMs, full jitter (defaults 1 s, 30 s). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Counts by outcome: list, relist_gone, watch_error, list_error, event_<type>. */
  readonly count?: (what: string) => void;
}

class Gone extends Error {}

function httpCode(err: unknown): number | undefined {
  const e = err as { statusCode?: unknown; code?: unknown };
  if (typeof e?.statusCode === 'number') return e.statusCode;
  if (typeof e?.code === 'number') return e.code;
  return undefined;
}

export function describeResource(spec: ResourceSpec): string {
  return `${spec.plural}${spec.namespace === undefined ? '' : ` in ${spec.namespace}`}`;
}

export class ResourceWatch {
  /** namespace/name → object. */
  readonly store = new Map<string, KubeObjectLike>();
  /** True once a list has completed (the store reflects the API server at some point). */
  synced = false;
  private resourceVersion = '';
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private failures = 0;
  private wake: (() => void) | null = null;

  constructor(private readonly client: ListWatchClient, readonly spec: ResourceSpec, private readonly opts: WatchOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
  }

  private key(o: KubeObjectLike): string {
    return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private backoff(): number {
    const min = this.opts.minBackoffMs ?? 1000;
    const max = this.opts.maxBackoffMs ?? 30_000;
    const ceiling = Math.min(max, min * 2 ** Math.min(this.failures, 20));
    this.failures++;
    return min / 2 + Math.random() * (ceiling - min / 2);
  }

  private async list(): Promise<void> {
    const fresh = new Map<string, KubeObjectLike>();
    let token: string | undefined;
    let rv = '';
    do {
      const page = await this.client.list(this.spec, token, this.abort.signal);
      for (const o of page.items) fresh.set(this.key(o), o);
      rv = page.resourceVersion;
      token = page.continueToken || undefined;
    } while (token !== undefined);
    this.store.clear();
    for (const [k, o] of fresh) this.store.set(k, o);
    this.resourceVersion = rv;
    this.synced = true;
    this.failures = 0;
    this.opts.count?.('list');
    this.opts.onChange();
  }

  private onEvent(e: WatchEvent): void {
    if (e.type === 'ERROR') {
      if (e.object.code === 410) throw new Gone(e.object.message ?? 'resourceVersion too old');
      throw Object.assign(new Error(`watch error: ${e.object.message ?? e.object.reason ?? 'unknown'}`), { statusCode: e.object.code });
    }
    this.failures = 0;
    this.opts.count?.(`event_${e.type.toLowerCase()}`);
    const rv = e.object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (e.type === 'BOOKMARK') return;
    if (e.type === 'DELETED') this.store.delete(this.key(e.object));
    else this.store.set(this.key(e.object), e.object);
    this.opts.onChange();
  }

  private async run(): Promise<void> {
    const what = describeResource(this.spec);
    let needList = true;
    while (!this.abort.signal.aborted) {
      try {
        if (needList) {
          await this.list();
          needList = false;
        }
        let failure: unknown;
        // One controller per watch: an ERROR event ends this watch (the client keeps reading otherwise).
        const watchAbort = new AbortController();
        const onStop = (): void => watchAbort.abort();
        this.abort.signal.addEventListener('abort', onStop, { once: true });
        try {
          await this.client.watch(this.spec, this.resourceVersion, (e) => {
            if (failure !== undefined) return;
            try {
              this.onEvent(e);
            } catch (err) {
              failure = err;
              watchAbort.abort();
            }
          }, watchAbort.signal);
        } finally {
          this.abort.signal.removeEventListener('abort', onStop);
        }
        if (failure !== undefined) throw failure;
        // The server ended the watch (its timeout): resume from where it was.
        this.failures = 0;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        if (err instanceof Gone || httpCode(err) === 410) {
          // Compacted: list again at once (client-go does the same).
          this.opts.count?.('relist_gone');
          this.opts.log?.('info', `kubernetes discovery: ${what}: ${(err as Error).message}; listing again`);
          needList = true;
          continue;
        }
        this.opts.count?.(needList ? 'list_error' : 'watch_error');
        const wait = this.backoff();
        if (this.failures === 1 || this.failures % 10 === 0) {
          this.opts.log?.('warn', `kubernetes discovery: ${what}: ${(err as Error).message ?? String(err)}; retrying in ${Math.round(wait)} ms (targets kept)`);
        }
        await this.sleep(wait);
        continue;
      }
    }
  }

  /** A successful list or watch resets the backoff. */
  get consecutiveFailures(): number {
    return this.failures;
  }
}
