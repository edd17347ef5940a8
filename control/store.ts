// The state store: a small key-value interface with revisions, compare-and-set
// and a watch, which both the embedded file store and etcd provide with the
// same meaning (revisions grow with every write; a put with `ifRev` succeeds
// only if the key's current revision is that one, 0 meaning "absent").
// Several control replicas over one etcd stay consistent through it: every
// replica mirrors the keyspace through the watch and writes with CAS.

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** The revision of the key's last write. */
  readonly rev: number;
}

export interface StoreEvent {
  /** `reset`: the watch was lost (etcd compacted past it, or cancelled it): list again and watch anew. */
  readonly type: 'put' | 'delete' | 'reset';
  readonly key: string;
  readonly value?: string;
  readonly rev: number;
}

export type PutResult = { readonly ok: true; readonly rev: number } | { readonly ok: false; readonly current: KeyValue | null };

export interface StoreSnapshot {
  readonly items: readonly KeyValue[];
  /** The store's revision when the snapshot was taken: watch from just after it. */
  readonly rev: number;
}

/** One write of a transaction: `value` null deletes; with `ifRev`, the key must be at that revision (0: absent). */
export interface TxnOp {
  readonly key: string;
  readonly value: string | null;
  readonly ifRev?: number;
}

export type TxnResult = { readonly ok: true; readonly rev: number } | { readonly ok: false };

export interface StateStore {
  readonly kind: 'file' | 'etcd';
  get(key: string): Promise<KeyValue | null>;
  /** Every key under `prefix`, with the store's revision at that moment. */
  list(prefix: string): Promise<StoreSnapshot>;
  put(key: string, value: string, ifRev?: number): Promise<PutResult>;
  /** Unconditional puts; durable once resolved (not atomic as a whole). */
  putMany(entries: readonly { readonly key: string; readonly value: string }[]): Promise<void>;
  /** All or nothing: if every `ifRev` holds, every write is made at one new revision, durable together. */
  txn(ops: readonly TxnOp[]): Promise<TxnResult>;
  /** With `ifRev`, deletes only at that revision. Resolves whether something was deleted. */
  delete(key: string, ifRev?: number): Promise<boolean>;
  /** Events under `prefix` with revision > `afterRev`, in order. Returns the stop function. */
  watch(prefix: string, afterRev: number, listener: (ev: StoreEvent) => void): Promise<() => void>;
  close(): Promise<void>;
}
