// A durable, bounded, single-consumer FIFO of byte records on local disk:
// what stands between "accepted" and "delivered", so that nothing
// acknowledged is lost to a crash of this process or an outage downstream.
//
// Layout: <dir>/<20-digit segment number>.seg files, each a run of records
// [u32 payload length][u32 CRC-32 of payload][payload], little-endian; and
// <dir>/cursor.bin, the position up to which the consumer has committed
// (cursor-file.ts; a queue's older JSON <dir>/cursor is still read).
// append() resolves only after the record is on disk (O_DSYNC); concurrent
// appends share one write and one fsync (group commit). After a crash the
// tail of the last segment may be torn: recovery keeps every record whose
// length and checksum are intact and truncates the rest, which by
// construction was never acknowledged. When the queue outgrows maxBytes the
// oldest segments are deleted, committed or not, and what that drops is
// counted: bounded memory and disk beat an unbounded outage.
//
// The newest records also stay in memory (up to memoryBytes, 16 MiB) until they are
// committed: a consumer that keeps up reads them from there, without
// reading back from disk what it wrote a moment ago. The disk is still the
// record of truth: memory only ever holds records already on disk, and a
// consumer that falls behind (or a restart) reads from the segments.
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { CursorFile, type CursorPosition } from './cursor-file.js';
import { CollectorError } from './errors.js';

const HEADER = 8;
const SEGMENT_FILE = /^(\d{20})\.seg$/;

export interface QueueOptions {
  /** Directory of the queue; created when missing. */
  readonly dir: string;
  /** Total bytes on disk before the oldest segments are dropped (default 1 GiB). */
  readonly maxBytes?: number;
  /** A segment is closed and a new one started past this size (default 64 MiB). */
  readonly segmentBytes?: number;
  /** fsync before acknowledging (default true; false only for tests of other things). */
  readonly fsync?: boolean;
  /** Bytes of the newest uncommitted records also kept in memory for read() (default 16 MiB; 0: none). */
  readonly memoryBytes?: number;
}

/** A point in the queue: a segment, a byte offset and a record index in it (what cursor.bin holds). */
export type QueuePosition = CursorPosition;

export interface QueueStats {
  /** Bytes on disk across segments. */
  bytes: number;
  /** Records appended and not yet committed. */
  pending: number;
  /** Records dropped because the queue was full, since open. */
  droppedRecords: number;
  droppedBytes: number;
  /** Records found torn or corrupt at recovery, since open. */
  corruptRecords: number;
}

interface Segment {
  readonly id: number;
  size: number;
  records: number;
}

const segmentName = (id: number): string => `${String(id).padStart(20, '0')}.seg`;

/** A record kept in memory: where it starts in the queue, where the next one starts, its payload. */
interface MemoryRecord {
  readonly at: QueuePosition;
  readonly next: QueuePosition;
  readonly payload: Uint8Array;
}

const before = (a: QueuePosition, b: QueuePosition): boolean => a.segment < b.segment || (a.segment === b.segment && a.offset < b.offset);

export class DurableQueue {
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly fsync: boolean;
  private segments: Segment[] = [];
  private writer: FileHandle | null = null;
  private cursorFile: CursorFile | null = null;
  private cursor: QueuePosition = { segment: 0, offset: 0, index: 0 };
  private pendingWrites: { header: Buffer; payload: Uint8Array; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private readonly memoryBytes: number;
  /** The newest records, in queue order, oldest first (from memoryStart on; the slots before it are emptied). */
  private memory: (MemoryRecord | undefined)[] = [];
  private memoryStart = 0;
  private memoryUsed = 0;
  private flushing: Promise<void> | null = null;
  private closed = false;
  readonly stats: QueueStats = { bytes: 0, pending: 0, droppedRecords: 0, droppedBytes: 0, corruptRecords: 0 };

  private constructor(opts: QueueOptions) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? 1024 ** 3;
    this.segmentBytes = opts.segmentBytes ?? 64 * 1024 ** 2;
    this.fsync = opts.fsync ?? true;
    this.memoryBytes = opts.memoryBytes ?? 16 * 1024 ** 2;
  }

  /** Opens (or creates) a queue, recovering from whatever a crash left. */
  static async open(opts: QueueOptions): Promise<DurableQueue> {
    const q = new DurableQueue(opts);
    await q.recover();
    return q;
  }

  /** Appends a copy of a record (the caller may reuse `record` as soon as this returns); resolves once it is durable. */
  append(record: Uint8Array): Promise<void> {
    // allocUnsafe: every byte is overwritten at once, no need to zero it first.
    const copy = Buffer.allocUnsafe(record.length);
    copy.set(record);
    return this.appendOwned(copy);
  }

  /**
   * Appends a record without copying it: the queue keeps `record` (written
   * later, and kept in memory for read()), so the caller must never change it.
   */
  appendOwned(record: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new CollectorError('FS_COLLECTOR_QUEUE_CLOSED', [this.dir]));
    if (record.length + HEADER > this.segmentBytes) {
      return Promise.reject(new CollectorError('FS_COLLECTOR_QUEUE_RECORD_TOO_LARGE', [record.length, this.segmentBytes]));
    }
    // The header on its own, written with the record by one writev.
    const header = Buffer.allocUnsafe(HEADER);
    header.writeUInt32LE(record.length, 0);
    header.writeUInt32LE(crc32(record), 4);
    return new Promise<void>((resolve, reject) => {
      this.pendingWrites.push({ header, payload: record, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /**
   * Reads up to `maxRecords` records (and about `maxBytes`) from `from`, or
   * from the committed cursor. Returns them and the position after them,
   * which the caller passes to commit() once they are delivered.
   */
  async read(maxRecords: number, maxBytes = 16 * 1024 ** 2, from: QueuePosition = this.cursor): Promise<{ records: Buffer[]; next: QueuePosition }> {
    const fromMemory = this.readMemory(maxRecords, maxBytes, this.normalize(this.clamp(from)));
    if (fromMemory !== undefined) return fromMemory;
    const records: Buffer[] = [];
    let pos = this.clamp(from);
    let bytes = 0;
    while (records.length < maxRecords && bytes < maxBytes) {
      const seg = this.segments.find((s) => s.id === pos.segment);
      if (!seg) break;
      if (pos.offset >= seg.size) {
        const next = this.segments.find((s) => s.id > pos.segment);
        if (!next) break;
        pos = { segment: next.id, offset: 0, index: 0 };
        continue;
      }
      const fh = await open(join(this.dir, segmentName(seg.id)), 'r');
      try {
        const want = Math.min(seg.size - pos.offset, Math.max(maxBytes - bytes, HEADER), 8 * 1024 ** 2);
        const chunk = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(chunk, 0, want, pos.offset);
        let at = 0;
        const before = records.length;
        while (at + HEADER <= bytesRead && records.length < maxRecords) {
          const len = chunk.readUInt32LE(at);
          if (at + HEADER + len > bytesRead) {
            if (at === 0) {
              // A record larger than the chunk: read it whole.
              const whole = Buffer.allocUnsafe(len);
              await fh.read(whole, 0, len, pos.offset + HEADER);
              records.push(whole);
              bytes += len;
              at = HEADER + len;
            }
            break;
          }
          records.push(Buffer.from(chunk.subarray(at + HEADER, at + HEADER + len)));
          bytes += len;
          at += HEADER + len;
        }
        pos = { segment: seg.id, offset: pos.offset + at, index: pos.index + records.length - before };
      } finally {
        await fh.close();
      }
    }
    return { records, next: pos };
  }

  /** Marks everything before `pos` delivered: persists the cursor and deletes finished segments. */
  async commit(pos: QueuePosition): Promise<void> {
    const to = this.clamp(pos);
    await (this.cursorFile as CursorFile).write(to);
    this.cursor = to;
    this.forgetBefore(this.normalize(to));
    const done = this.segments.filter((s) => s.id < to.segment);
    for (const s of done) await this.removeSegment(s);
    this.recount();
  }

  /** Flushes outstanding appends and closes the queue. */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.closed = true;
    await this.writer?.close();
    this.writer = null;
    await this.cursorFile?.close();
    this.cursorFile = null;
  }

  /** The same point, moved past the end of a finished segment to the start of the next one. */
  private normalize(pos: QueuePosition): QueuePosition {
    const seg = this.segments.find((s) => s.id === pos.segment);
    if (seg === undefined || pos.offset < seg.size) return pos;
    const next = this.segments.find((s) => s.id > pos.segment);
    return next === undefined ? pos : { segment: next.id, offset: 0, index: 0 };
  }

  /** Records from memory when `from` is the start of one kept there; undefined otherwise (read the disk). */
  private readMemory(maxRecords: number, maxBytes: number, from: QueuePosition): { records: Buffer[]; next: QueuePosition } | undefined {
    const mem = this.memory;
    let i = this.memoryStart;
    if (i >= mem.length) return undefined;
    const first = mem[i] as MemoryRecord;
    if (before(from, first.at)) return undefined;
    // Consumers read from the cursor, which is usually the first record kept.
    while (i < mem.length && before((mem[i] as MemoryRecord).at, from)) i++;
    const start = mem[i];
    if (start === undefined || start.at.segment !== from.segment || start.at.offset !== from.offset) return undefined;
    const records: Buffer[] = [];
    let bytes = 0;
    let next = from;
    for (; i < mem.length && records.length < maxRecords && bytes < maxBytes; i++) {
      const r = mem[i] as MemoryRecord;
      records.push(Buffer.isBuffer(r.payload) ? r.payload : Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength));
      bytes += r.payload.length;
      next = r.next;
    }
    return { records, next };
  }

  /** Lets go of records in memory before `pos` (committed, or dropped with their segment). */
  private forgetBefore(pos: QueuePosition): void {
    const mem = this.memory;
    let i = this.memoryStart;
    while (i < mem.length && before((mem[i] as MemoryRecord).at, pos)) {
      this.memoryUsed -= (mem[i] as MemoryRecord).payload.length;
      mem[i] = undefined; // let go of the record now, not when the array is next compacted
      i++;
    }
    this.memoryStart = i;
    this.compactMemory();
  }

  private remember(at: QueuePosition, next: QueuePosition, payload: Uint8Array): void {
    if (this.memoryBytes <= 0) return;
    this.memory.push({ at, next, payload });
    this.memoryUsed += payload.length;
    // Over the bound, the oldest go first: a consumer that far behind reads the disk anyway.
    while (this.memoryUsed > this.memoryBytes && this.memoryStart < this.memory.length) {
      this.memoryUsed -= (this.memory[this.memoryStart] as MemoryRecord).payload.length;
      this.memory[this.memoryStart] = undefined;
      this.memoryStart++;
    }
    this.compactMemory();
  }

  private compactMemory(): void {
    if (this.memoryStart > 64 && this.memoryStart * 2 > this.memory.length) {
      this.memory = this.memory.slice(this.memoryStart);
      this.memoryStart = 0;
    }
  }

  private clamp(pos: QueuePosition): QueuePosition {
    const first = this.segments[0];
    if (first && pos.segment < first.id) return { segment: first.id, offset: 0, index: 0 };
    return pos;
  }

  private async flush(): Promise<void> {
    try {
      while (this.pendingWrites.length > 0) {
        const batch = this.pendingWrites;
        this.pendingWrites = [];
        try {
          await this.writeBatch(batch);
          for (const p of batch) p.resolve();
        } catch (err) {
          const e = new CollectorError('FS_COLLECTOR_QUEUE_IO', [this.dir, (err as Error).message], { cause: err });
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  private async writeBatch(batch: readonly { header: Buffer; payload: Uint8Array }[]): Promise<void> {
    let i = 0;
    while (i < batch.length) {
      let current = this.segments[this.segments.length - 1];
      if (!current || !this.writer || current.size >= this.segmentBytes) {
        current = await this.startSegment();
      }
      // As many records as fit in this segment, in one write and one fsync.
      const chunk: Uint8Array[] = [];
      const first = i;
      let size = 0;
      while (i < batch.length) {
        const len = HEADER + (batch[i] as { payload: Uint8Array }).payload.length;
        if (chunk.length > 0 && current.size + size + len > this.segmentBytes) break;
        const w = batch[i] as { header: Buffer; payload: Uint8Array };
        chunk.push(w.header, w.payload);
        size += len;
        i++;
      }
      // With fsync the segment is open O_DSYNC: the write returns once its data is on disk, as
      // write + fdatasync would, in one trip through libuv's pool instead of two.
      const { bytesWritten } = await (this.writer as FileHandle).writev(chunk, current.size);
      if (bytesWritten !== size) throw new Error(`short write to ${segmentName(current.id)}: ${bytesWritten} of ${size} bytes`);
      let offset = current.size;
      let index = current.records;
      for (let k = first; k < i; k++) {
        const payload = (batch[k] as { payload: Uint8Array }).payload;
        const at = { segment: current.id, offset, index };
        offset += HEADER + payload.length;
        index++;
        this.remember(at, { segment: current.id, offset, index }, payload);
      }
      current.size += size;
      current.records += i - first;
      this.stats.bytes += size;
      this.stats.pending += i - first;
    }
    await this.enforceBound();
  }

  private async startSegment(): Promise<Segment> {
    await this.writer?.close();
    const last = this.segments[this.segments.length - 1];
    const seg: Segment = { id: last ? last.id + 1 : this.cursor.segment, size: 0, records: 0 };
    this.writer = await open(join(this.dir, segmentName(seg.id)), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (this.fsync ? constants.O_DSYNC : 0), 0o666);
    if (this.fsync) await this.syncDir();
    this.segments.push(seg);
    return seg;
  }

  private async enforceBound(): Promise<void> {
    while (this.stats.bytes > this.maxBytes && this.segments.length > 1) {
      const oldest = this.segments[0] as Segment;
      // Records of the oldest segment not yet committed are lost: count them.
      const undelivered = oldest.id === this.cursor.segment ? oldest.records - this.cursor.index : oldest.id > this.cursor.segment ? oldest.records : 0;
      this.stats.droppedRecords += undelivered;
      this.stats.droppedBytes += oldest.size;
      await this.removeSegment(oldest);
      if (this.cursor.segment <= oldest.id) this.cursor = { segment: (this.segments[0] as Segment).id, offset: 0, index: 0 };
      this.forgetBefore({ segment: (this.segments[0] as Segment).id, offset: 0, index: 0 });
      this.recount();
    }
  }

  private async removeSegment(s: Segment): Promise<void> {
    await rm(join(this.dir, segmentName(s.id)), { force: true });
    this.segments = this.segments.filter((x) => x !== s);
    this.stats.bytes -= s.size;
  }

  private recount(): void {
    const first = this.segments[0];
    const committed = first && first.id === this.cursor.segment ? this.cursor.index : 0;
    this.stats.pending = this.segments.reduce((n, s) => n + s.records, 0) - committed;
  }

  private async syncDir(): Promise<void> {
    const fh = await open(this.dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  private async recover(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.cursorFile = await CursorFile.open(this.dir, this.fsync);
    // None: a new queue, or one that never committed.
    if (this.cursorFile.position !== null) this.cursor = this.cursorFile.position;
    const ids = (await readdir(this.dir)).map((f) => SEGMENT_FILE.exec(f)?.[1]).filter((x): x is string => x !== undefined).map(Number).sort((a, b) => a - b);
    for (const id of ids) {
      const path = join(this.dir, segmentName(id));
      const { size: fileSize } = await stat(path);
      const fh = await open(path, 'r+');
      try {
        const data = Buffer.allocUnsafe(fileSize);
        await fh.read(data, 0, fileSize, 0);
        let at = 0;
        let records = 0;
        while (at + HEADER <= fileSize) {
          const len = data.readUInt32LE(at);
          if (at + HEADER + len > fileSize || crc32(data.subarray(at + HEADER, at + HEADER + len)) !== data.readUInt32LE(at + 4)) break;
          at += HEADER + len;
          records++;
        }
        if (at < fileSize) {
          // A torn or corrupt tail: never acknowledged (a torn last write) or unreadable. Cut it off.
          this.stats.corruptRecords++;
          await fh.truncate(at);
          await fh.sync();
        }
        this.segments.push({ id, size: at, records });
        this.stats.bytes += at;
      } finally {
        await fh.close();
      }
    }
    // Segments wholly before the cursor were delivered; a crash may have left them.
    for (const s of this.segments.filter((x) => x.id < this.cursor.segment)) await this.removeSegment(s);
    this.recount();
  }
}
