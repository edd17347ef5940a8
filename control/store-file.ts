// The embedded state store: the whole keyspace in memory, every write appended
// as one JSON line to a log and fsync'd before it is acknowledged. Writes that
// arrive while a flush is in progress share the next fsync (group commit), so
// thousands of registrations do not cost thousands of fsyncs. On open the log
// is replayed; a torn last line (a crash mid-write) is cut off, and nothing
// acknowledged is in it. The log is compacted (a snapshot written to a
// temporary file, fsync'd, renamed) when it grows past twice the live data.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, ftruncateSync, existsSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { ControlError } from './errors.js';
import { type DirLock, lockDir } from './store-lock.js';
import type { KeyValue, PutResult, StateStore, StoreEvent, StoreSnapshot, TxnOp, TxnResult } from './store.js';

interface Pending {
  readonly line: string;
  readonly done: () => void;
  readonly fail: (err: Error) => void;
}

export class FileStateStore implements StateStore {
  readonly kind = 'file' as const;
  private readonly data = new Map<string, KeyValue>();
  private rev = 0;
  private logBytes = 0;
  private liveBytes = 0;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private readonly watchers = new Set<{ prefix: string; listener: (ev: StoreEvent) => void }>();
  private closed = false;

  private constructor(private readonly dir: string, private fh: FileHandle, private readonly lock: DirLock) {}

  /** Opens (creating) the store in `dir`; one process at a time (FS_CONTROL_STORE_LOCKED names the holder). */
  static async open(dir: string): Promise<FileStateStore> {
    mkdirSync(dir, { recursive: true });
    const lock = await lockDir(dir);
    try {
      return await FileStateStore.openLocked(dir, lock);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  private static async openLocked(dir: string, lock: DirLock): Promise<FileStateStore> {
    const file = join(dir, 'state.jsonl');
    const data = new Map<string, KeyValue>();
    let rev = 0;
    let goodBytes = 0;
    if (existsSync(file)) {
      const buf = readFileSync(file);
      let pos = 0;
      while (pos < buf.length) {
        const nl = buf.indexOf(10, pos);
        if (nl < 0) break; // torn tail: never acknowledged
        let rec: { r: number; k: string; v?: string; d?: 1; t?: { k: string; v?: string; d?: 1 }[] };
        try {
          rec = JSON.parse(buf.toString('utf8', pos, nl)) as typeof rec;
        } catch {
          break;
        }
        // A transaction is one line: whole or (torn) not at all.
        for (const w of rec.t ?? [rec]) {
          if (w.d === 1) data.delete(w.k);
          else data.set(w.k, { key: w.k, value: w.v as string, rev: rec.r });
        }
        rev = Math.max(rev, rec.r);
        pos = nl + 1;
        goodBytes = pos;
      }
      if (goodBytes < buf.length) {
        const fd = openSync(file, 'r+');
        ftruncateSync(fd, goodBytes);
        fsyncSync(fd);
        closeSync(fd);
      }
    }
    const fh = await open(file, 'a');
    const store = new FileStateStore(dir, fh, lock);
    for (const [k, v] of data) store.data.set(k, v);
    store.rev = rev;
    store.logBytes = goodBytes;
    for (const v of data.values()) store.liveBytes += v.key.length + v.value.length + 32;
    return store;
  }

  async get(key: string): Promise<KeyValue | null> {
    return this.data.get(key) ?? null;
  }

  async list(prefix: string): Promise<StoreSnapshot> {
    const items: KeyValue[] = [];
    for (const v of this.data.values()) if (v.key.startsWith(prefix)) items.push(v);
    items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { items, rev: this.rev };
  }

  async put(key: string, value: string, ifRev?: number): Promise<PutResult> {
    this.assertOpen();
    const cur = this.data.get(key) ?? null;
    if (ifRev !== undefined && (cur?.rev ?? 0) !== ifRev) return { ok: false, current: cur };
    const rev = this.apply(key, value);
    await this.append(JSON.stringify({ r: rev, k: key, v: value }));
    return { ok: true, rev };
  }

  async putMany(entries: readonly { readonly key: string; readonly value: string }[]): Promise<void> {
    this.assertOpen();
    const lines: string[] = [];
    for (const e of entries) lines.push(JSON.stringify({ r: this.apply(e.key, e.value), k: e.key, v: e.value }));
    if (lines.length > 0) await this.append(lines.join('\n'));
  }

  async txn(ops: readonly TxnOp[]): Promise<TxnResult> {
    this.assertOpen();
    for (const op of ops) if (op.ifRev !== undefined && (this.data.get(op.key)?.rev ?? 0) !== op.ifRev) return { ok: false };
    const rev = ++this.rev;
    const writes: { k: string; v?: string; d?: 1 }[] = [];
    for (const op of ops) {
      const prev = this.data.get(op.key);
      if (prev) this.liveBytes -= prev.key.length + prev.value.length + 32;
      if (op.value === null) {
        this.data.delete(op.key);
        writes.push({ k: op.key, d: 1 });
      } else {
        this.data.set(op.key, { key: op.key, value: op.value, rev });
        this.liveBytes += op.key.length + op.value.length + 32;
        writes.push({ k: op.key, v: op.value });
      }
    }
    for (const op of ops) this.emit(op.value === null ? { type: 'delete', key: op.key, rev } : { type: 'put', key: op.key, value: op.value, rev });
    await this.append(JSON.stringify({ r: rev, t: writes }));
    return { ok: true, rev };
  }

  async delete(key: string, ifRev?: number): Promise<boolean> {
    this.assertOpen();
    const cur = this.data.get(key);
    if (!cur || (ifRev !== undefined && cur.rev !== ifRev)) return false;
    this.data.delete(key);
    this.liveBytes -= cur.key.length + cur.value.length + 32;
    const rev = ++this.rev;
    this.emit({ type: 'delete', key, rev });
    await this.append(JSON.stringify({ r: rev, k: key, d: 1 }));
    return true;
  }

  async watch(prefix: string, afterRev: number, listener: (ev: StoreEvent) => void): Promise<() => void> {
    // In one process nothing is missed between list() and watch(): replay what is newer.
    for (const v of this.data.values()) if (v.key.startsWith(prefix) && v.rev > afterRev) listener({ type: 'put', key: v.key, value: v.value, rev: v.rev });
    const w = { prefix, listener };
    this.watchers.add(w);
    return () => void this.watchers.delete(w);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushing) await this.flushing.catch(() => undefined);
    await this.fh.close();
    await this.lock.release();
  }

  private assertOpen(): void {
    if (this.closed) throw new ControlError('FS_CONTROL_STORE', ['closed']);
    // Without the lock another process may have opened the directory: writing now could interleave logs.
    if (!this.lock.held()) throw new ControlError('FS_CONTROL_STORE', [`${this.dir}: the lock holder process (flock) was killed; restart this control plane`]);
  }

  private apply(key: string, value: string): number {
    const prev = this.data.get(key);
    if (prev) this.liveBytes -= prev.key.length + prev.value.length + 32;
    const rev = ++this.rev;
    this.data.set(key, { key, value, rev });
    this.liveBytes += key.length + value.length + 32;
    this.emit({ type: 'put', key, value, rev });
    return rev;
  }

  private emit(ev: StoreEvent): void {
    for (const w of this.watchers) {
      if (!ev.key.startsWith(w.prefix)) continue;
      try {
        w.listener(ev);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  private append(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ line, done: resolve, fail: reject });
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const text = batch.map((p) => p.line).join('\n') + '\n';
      try {
        await this.fh.write(text);
        await this.fh.datasync();
        this.logBytes += Buffer.byteLength(text);
        for (const p of batch) p.done();
      } catch (err) {
        const e = new ControlError('FS_CONTROL_STORE', [`write failed: ${(err as Error).message}`], { cause: err });
        for (const p of batch) p.fail(e);
      }
      if (this.logBytes > 2 * this.liveBytes + 4 * 1024 * 1024 && this.queue.length === 0) await this.compact();
    }
    this.flushing = null;
  }

  /** Rewrites the log as a snapshot of the live data. */
  private async compact(): Promise<void> {
    const file = join(this.dir, 'state.jsonl');
    const tmp = `${file}.compact`;
    const fd = openSync(tmp, 'w');
    let bytes = 0;
    try {
      const chunk: string[] = [];
      for (const v of this.data.values()) {
        chunk.push(JSON.stringify({ r: v.rev, k: v.key, v: v.value }));
        if (chunk.length >= 1000) {
          const s = chunk.join('\n') + '\n';
          bytes += writeSync(fd, s);
          chunk.length = 0;
        }
      }
      // The current revision must survive compaction even if its key was deleted.
      chunk.push(JSON.stringify({ r: this.rev, k: '\0rev', d: 1 }));
      const s = chunk.join('\n') + '\n';
      bytes += writeSync(fd, s);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    await this.fh.close();
    renameSync(tmp, file);
    const dfd = openSync(this.dir, 'r');
    fsyncSync(dfd);
    closeSync(dfd);
    this.fh = await open(file, 'a');
    this.logBytes = bytes;
  }
}
