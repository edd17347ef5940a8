// The state store over a real etcd (v3 API through the etcd3 client, gRPC):
// every key under a prefix (default `/fleetscope/`), revisions are etcd's
// mod_revision, compare-and-set is an etcd transaction on it, lists are paged
// at one revision (so a snapshot is consistent), and the watch starts just
// after that revision so no change between list and watch is missed.
import { Etcd3, type IKeyValue } from 'etcd3';
import { ControlError } from './errors.js';
import type { KeyValue, PutResult, StateStore, StoreEvent, StoreSnapshot, TxnOp, TxnResult } from './store.js';

const PAGE = 500;
const PUT_MANY_CHUNK = 100;

/** `host:port[,host:port]` from `etcd://host:port[,host:port]`. */
export function etcdHosts(url: string): string[] {
  const m = /^etcd:\/\/(.+)$/.exec(url);
  if (!m) throw new ControlError('FS_CONTROL_STORE', [`${url} is not an etcd://host:port[,host:port] URL`]);
  return (m[1] as string).replace(/\/$/, '').split(',').map((h) => `http://${h}`);
}

function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

export class EtcdStateStore implements StateStore {
  readonly kind = 'etcd' as const;
  private readonly client: Etcd3;

  constructor(url: string, private readonly prefix = '/fleetscope/') {
    this.client = new Etcd3({ hosts: etcdHosts(url), dialTimeout: 5000 });
  }

  private toKv(kv: IKeyValue): KeyValue {
    return { key: kv.key.toString('utf8').slice(this.prefix.length), value: kv.value.toString('utf8'), rev: Number(kv.mod_revision) };
  }

  private wrap(op: string, err: unknown): ControlError {
    return new ControlError('FS_CONTROL_STORE', [`etcd ${op}: ${(err as Error).message}`], { cause: err });
  }

  async get(key: string): Promise<KeyValue | null> {
    try {
      const r = await this.client.kv.range({ key: Buffer.from(this.prefix + key) });
      const kv = r.kvs[0];
      return kv ? this.toKv(kv) : null;
    } catch (err) {
      throw this.wrap('get', err);
    }
  }

  async list(prefix: string): Promise<StoreSnapshot> {
    const start = Buffer.from(this.prefix + prefix);
    const end = prefixEnd(start);
    const items: KeyValue[] = [];
    let rev = 0;
    let key = start;
    try {
      for (;;) {
        const r = await this.client.kv.range({ key, range_end: end, limit: PAGE, ...(rev > 0 ? { revision: rev } : {}) });
        if (rev === 0) rev = Number(r.header.revision);
        for (const kv of r.kvs) items.push(this.toKv(kv));
        if (!r.more || r.kvs.length === 0) break;
        key = Buffer.concat([(r.kvs[r.kvs.length - 1] as IKeyValue).key, Buffer.from([0])]);
      }
    } catch (err) {
      throw this.wrap('list', err);
    }
    return { items, rev };
  }

  async put(key: string, value: string, ifRev?: number): Promise<PutResult> {
    const full = this.prefix + key;
    try {
      if (ifRev === undefined) {
        const r = await this.client.kv.put({ key: Buffer.from(full), value: Buffer.from(value) });
        return { ok: true, rev: Number(r.header.revision) };
      }
      const r = await this.client.kv.txn({
        compare: [{ key: Buffer.from(full), target: 'Mod', result: 'Equal', mod_revision: ifRev }],
        success: [{ request_put: { key: Buffer.from(full), value: Buffer.from(value) } }],
        failure: [{ request_range: { key: Buffer.from(full) } }],
      });
      if (r.succeeded) return { ok: true, rev: Number(r.header.revision) };
      const kv = r.responses[0]?.response_range?.kvs[0];
      return { ok: false, current: kv ? this.toKv(kv) : null };
    } catch (err) {
      throw this.wrap('put', err);
    }
  }

  async putMany(entries: readonly { readonly key: string; readonly value: string }[]): Promise<void> {
    try {
      for (let i = 0; i < entries.length; i += PUT_MANY_CHUNK) {
        await this.client.kv.txn({
          compare: [],
          success: entries.slice(i, i + PUT_MANY_CHUNK).map((e) => ({ request_put: { key: Buffer.from(this.prefix + e.key), value: Buffer.from(e.value) } })),
          failure: [],
        });
      }
    } catch (err) {
      throw this.wrap('put', err);
    }
  }

  async txn(ops: readonly TxnOp[]): Promise<TxnResult> {
    try {
      const r = await this.client.kv.txn({
        compare: ops.filter((op) => op.ifRev !== undefined).map((op) => ({ key: Buffer.from(this.prefix + op.key), target: 'Mod' as const, result: 'Equal' as const, mod_revision: op.ifRev as number })),
        success: ops.map((op) => (op.value === null ? { request_delete_range: { key: Buffer.from(this.prefix + op.key) } } : { request_put: { key: Buffer.from(this.prefix + op.key), value: Buffer.from(op.value) } })),
        failure: [],
      });
      return r.succeeded ? { ok: true, rev: Number(r.header.revision) } : { ok: false };
    } catch (err) {
      throw this.wrap('txn', err);
    }
  }

  async delete(key: string, ifRev?: number): Promise<boolean> {
    const full = Buffer.from(this.prefix + key);
    try {
      if (ifRev === undefined) {
        const r = await this.client.kv.deleteRange({ key: full });
        return Number(r.deleted) > 0;
      }
      const r = await this.client.kv.txn({
        compare: [{ key: full, target: 'Mod', result: 'Equal', mod_revision: ifRev }],
        success: [{ request_delete_range: { key: full } }],
        failure: [],
      });
      return r.succeeded;
    } catch (err) {
      throw this.wrap('delete', err);
    }
  }

  async watch(prefix: string, afterRev: number, listener: (ev: StoreEvent) => void): Promise<() => void> {
    try {
      const watcher = await this.client.watch().prefix(this.prefix + prefix).startRevision(String(afterRev + 1)).create();
      watcher.on('put', (kv) => listener({ type: 'put', ...this.toKv(kv) }));
      watcher.on('delete', (kv) => listener({ type: 'delete', key: kv.key.toString('utf8').slice(this.prefix.length), rev: Number(kv.mod_revision) }));
      // A cancelled watch (compaction past its revision) is gone for good: the mirror must re-list.
      watcher.on('error', (err) => listener({ type: 'reset', key: '', rev: 0, value: (err as Error).message }));
      return () => void watcher.cancel().catch(() => undefined);
    } catch (err) {
      throw this.wrap('watch', err);
    }
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
