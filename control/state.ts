// An in-memory mirror of the state store, kept current by its watch, so reads
// are map lookups and every replica sees every replica's writes. Writes go to
// the store with compare-and-set (`update` retries on a lost race), and are
// applied to the mirror as soon as the store acknowledges them. Listeners
// hear every change, local or remote: long-polls and event streams use that.
import { ControlError } from './errors.js';
import type { StateStore, StoreEvent } from './store.js';

export interface Entry<T> {
  readonly value: T;
  readonly rev: number;
}

export type ChangeListener = (key: string, value: unknown) => void;

export class State {
  private readonly data = new Map<string, Entry<unknown>>();
  /** Revision of each deletion, so an older event cannot bring a key back. */
  private readonly tombstones = new Map<string, number>();
  private readonly listeners = new Set<ChangeListener>();
  private stopWatch: (() => void) | null = null;
  private closed = false;

  private constructor(readonly store: StateStore) {}

  static async open(store: StateStore): Promise<State> {
    const s = new State(store);
    const snap = await store.list('');
    for (const kv of snap.items) s.data.set(kv.key, { value: JSON.parse(kv.value), rev: kv.rev });
    s.stopWatch = await store.watch('', snap.rev, (ev) => s.onEvent(ev));
    return s;
  }

  close(): void {
    this.closed = true;
    this.stopWatch?.();
    this.stopWatch = null;
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  get<T>(key: string): Entry<T> | null {
    return (this.data.get(key) as Entry<T> | undefined) ?? null;
  }

  value<T>(key: string): T | null {
    return (this.data.get(key)?.value as T | undefined) ?? null;
  }

  /** Every entry whose key starts with `prefix` (scans the mirror). */
  *entries<T>(prefix: string): Generator<[string, Entry<T>]> {
    for (const [k, e] of this.data) if (k.startsWith(prefix)) yield [k, e as Entry<T>];
  }

  /** Creates `key` only if absent: false if it exists. */
  async create<T>(key: string, value: T): Promise<boolean> {
    const r = await this.store.put(key, JSON.stringify(value), 0);
    if (r.ok) this.apply(key, value, r.rev);
    else if (r.current) this.apply(r.current.key, JSON.parse(r.current.value), r.current.rev);
    return r.ok;
  }

  async put<T>(key: string, value: T): Promise<void> {
    const r = await this.store.put(key, JSON.stringify(value));
    if (r.ok) this.apply(key, value, r.rev);
  }

  /** Puts only if the key is still at `rev` (0: absent). */
  async putIf<T>(key: string, value: T, rev: number): Promise<boolean> {
    const r = await this.store.put(key, JSON.stringify(value), rev);
    if (r.ok) this.apply(key, value, r.rev);
    return r.ok;
  }

  async putMany(entries: readonly { key: string; value: unknown }[]): Promise<void> {
    await this.store.putMany(entries.map((e) => ({ key: e.key, value: JSON.stringify(e.value) })));
    // Revisions of a batch are not returned: the watch brings them; apply now with rev 0 so reads see them.
    for (const e of entries) {
      const cur = this.data.get(e.key);
      this.data.set(e.key, { value: e.value, rev: cur?.rev ?? 0 });
      this.tombstones.delete(e.key);
      this.emit(e.key, e.value);
    }
  }

  /**
   * All or nothing (one store transaction): each write with `ifRev` needs its
   * key at that revision (0: absent; take it from `get`). False when one did not hold.
   */
  async txn(ops: readonly { key: string; value: unknown; ifRev?: number }[]): Promise<boolean> {
    const r = await this.store.txn(ops.map((op) => ({ key: op.key, value: op.value === null ? null : JSON.stringify(op.value), ...(op.ifRev !== undefined ? { ifRev: op.ifRev } : {}) })));
    if (!r.ok) return false;
    for (const op of ops) {
      if (op.value === null) {
        this.tombstones.set(op.key, r.rev);
        if (this.data.delete(op.key)) this.emit(op.key, null);
      } else this.apply(op.key, op.value, r.rev);
    }
    return true;
  }

  async delete(key: string): Promise<void> {
    await this.store.delete(key);
    if (this.data.delete(key)) this.emit(key, null);
  }

  /**
   * Read-modify-write with compare-and-set: `fn` gets the current value (or
   * null) and returns the new one, `undefined` to leave it, or `null` to
   * delete it. Retried when another writer got there first.
   */
  async update<T>(key: string, fn: (cur: T | null) => T | null | undefined): Promise<T | null> {
    for (let attempt = 0; attempt < 50; attempt++) {
      let cur = this.get<T>(key);
      if (attempt > 0) {
        const fresh = await this.store.get(key);
        cur = fresh ? { value: JSON.parse(fresh.value) as T, rev: fresh.rev } : null;
      }
      const next = fn(cur?.value ?? null);
      if (next === undefined) return cur?.value ?? null;
      if (next === null) {
        if (!cur) return null;
        if (await this.store.delete(key, cur.rev)) {
          this.tombstones.set(key, cur.rev + 1);
          if (this.data.delete(key)) this.emit(key, null);
          return null;
        }
        continue;
      }
      const r = await this.store.put(key, JSON.stringify(next), cur?.rev ?? 0);
      if (r.ok) {
        this.apply(key, next, r.rev);
        return next;
      }
    }
    throw new ControlError('FS_CONTROL_STORE', [`${key}: too many concurrent writers`]);
  }

  /** Lists the store again and watches from there: after a lost watch. */
  private async resync(): Promise<void> {
    if (this.closed) return;
    this.stopWatch?.();
    const snap = await this.store.list('');
    const seen = new Set<string>();
    for (const kv of snap.items) {
      seen.add(kv.key);
      this.apply(kv.key, JSON.parse(kv.value), kv.rev);
    }
    for (const key of [...this.data.keys()]) {
      if (!seen.has(key)) {
        this.data.delete(key);
        this.emit(key, null);
      }
    }
    if (this.closed) return;
    this.stopWatch = await this.store.watch('', snap.rev, (ev) => this.onEvent(ev));
    this.resyncs++;
  }

  /** How many times the watch was lost and the mirror rebuilt. */
  resyncs = 0;

  private onEvent(ev: StoreEvent): void {
    if (ev.type === 'reset') {
      const retry = (): void => void this.resync().catch(() => {
        if (!this.closed) setTimeout(retry, 1000).unref();
      });
      retry();
      return;
    }
    if (ev.type === 'delete') {
      const cur = this.data.get(ev.key);
      if (cur && cur.rev > ev.rev && cur.rev !== 0) return;
      this.tombstones.set(ev.key, ev.rev);
      if (this.data.delete(ev.key)) this.emit(ev.key, null);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(ev.value as string);
    } catch {
      return;
    }
    this.apply(ev.key, value, ev.rev);
  }

  private apply(key: string, value: unknown, rev: number): void {
    const cur = this.data.get(key);
    if (cur && cur.rev >= rev && cur.rev !== 0) return;
    const dead = this.tombstones.get(key);
    if (dead !== undefined && dead >= rev) return;
    this.tombstones.delete(key);
    this.data.set(key, { value, rev });
    this.emit(key, value);
  }

  private emit(key: string, value: unknown): void {
    for (const l of this.listeners) {
      try {
        l(key, value);
      } catch {
        // a listener's failure is its own
      }
    }
  }
}
