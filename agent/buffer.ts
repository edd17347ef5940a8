// The agent's disk buffer: a bounded, fsync'd FIFO of remote-write bodies
// that holds what the collector has not yet acknowledged. (collector/queue.ts
// is the collector's; agent/ may not import collector/, and the agent needs
// less: one writer, one reader, each record sent whole.)
//
// Layout: <dir>/<20-digit number>.seg files, each a run of records
//   [u32 length of what follows the CRC][u32 CRC-32][f64 scrape time, ms][payload]
// little-endian, and <dir>/cursor ("segment offset"), how far the sender has
// been acknowledged. append() resolves once the record is written and
// fsync'd; appends that arrive together share one write and one fsync.
// Recovery keeps every record whose length and CRC are intact and truncates
// a torn tail (never acknowledged, by construction).
//
// The cursor is replaced with write+rename but not fsync'd: after a crash
// the sender may resend a few records it had already delivered. Resending
// is harmless to Prometheus and Cortex (an identical sample at the same
// timestamp is not an error) while losing one is not.
//
// Bound: past maxBytes, whole oldest segments are deleted, sent or not, and
// what that drops is counted (records and bytes): fresh data wins over the
// oldest backlog when the disk budget is spent.
import { type FileHandle, mkdir, open, readdir, rename, rm, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { AgentError } from './errors.js';

const HEADER = 8;
const TS_BYTES = 8;
const SEGMENT_FILE = /^(\d{20})\.seg$/;
const segmentName = (id: number): string => `${String(id).padStart(20, '0')}.seg`;

export interface BufferOptions {
  readonly dir: string;
  /** Bytes on disk before the oldest segments are dropped (default 512 MiB). */
  readonly maxBytes?: number;
  /** A new segment is started past this size (default 8 MiB). */
  readonly segmentBytes?: number;
  /** fsync before append() resolves (default true). */
  readonly fsync?: boolean;
}

export interface BufferRecord {
  readonly payload: Buffer;
  /** The scrape time the record was stamped with, ms since the epoch. */
  readonly timestampMs: number;
}

export interface BufferStats {
  /** Bytes on disk, across segments. */
  bytes: number;
  /** Records not yet acknowledged. */
  records: number;
  /** Records and bytes dropped because the buffer was full, since open. */
  droppedRecords: number;
  droppedBytes: number;
  /** Records found torn or corrupt at recovery, since open. */
  corruptRecords: number;
}

interface Segment {
  readonly id: number;
  size: number;
  handle: FileHandle | null;
}

interface Entry {
  readonly segment: number;
  readonly offset: number;
  /** Whole record length, header included. */
  readonly length: number;
  readonly timestampMs: number;
}

export class SegmentBuffer {
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly fsync: boolean;
  private segments: Segment[] = [];
  private writer: FileHandle | null = null;
  /** Unacknowledged records, oldest first, from `head`. */
  private entries: Entry[] = [];
  private head = 0;
  private pending: { buf: Buffer; entry: Omit<Entry, 'segment' | 'offset'>; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing: Promise<void> | null = null;
  private closed = false;
  private waiters: (() => void)[] = [];
  /** The entry peek() last returned: commit() acknowledges it only if it is still the oldest (the bound may have dropped it meanwhile). */
  private peeked: Entry | undefined;
  readonly stats: BufferStats = { bytes: 0, records: 0, droppedRecords: 0, droppedBytes: 0, corruptRecords: 0 };

  private constructor(opts: BufferOptions) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? 512 * 1024 ** 2;
    this.segmentBytes = opts.segmentBytes ?? 8 * 1024 ** 2;
    this.fsync = opts.fsync ?? true;
  }

  static async open(opts: BufferOptions): Promise<SegmentBuffer> {
    const b = new SegmentBuffer(opts);
    try {
      await mkdir(b.dir, { recursive: true, mode: 0o700 });
      await b.recover();
    } catch (err) {
      if (err instanceof AgentError) throw err;
      throw new AgentError('FS_AGENT_BUFFER_IO', [b.dir, (err as Error).message], { cause: err });
    }
    return b;
  }

  /** The oldest unacknowledged record's timestamp, or undefined when empty. */
  get oldestTimestampMs(): number | undefined {
    return this.entries[this.head]?.timestampMs;
  }

  /** Appends one record; resolves once it is on disk (fsync'd). */
  append(payload: Uint8Array, timestampMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new AgentError('FS_AGENT_BUFFER_CLOSED', [this.dir]));
    const length = HEADER + TS_BYTES + payload.length;
    if (length > this.segmentBytes) return Promise.reject(new AgentError('FS_AGENT_BUFFER_RECORD_TOO_LARGE', [length, this.segmentBytes]));
    const buf = Buffer.allocUnsafe(length);
    buf.writeDoubleLE(timestampMs, HEADER);
    buf.set(payload, HEADER + TS_BYTES);
    buf.writeUInt32LE(length - HEADER, 0);
    buf.writeUInt32LE(crc32(buf.subarray(HEADER)), 4);
    return new Promise((resolve, reject) => {
      this.pending.push({ buf, entry: { length, timestampMs }, resolve, reject });
      if (this.flushing === null) this.flushing = this.flush();
    });
  }

  /** The oldest unacknowledged record, or null when there is none. */
  async peek(): Promise<BufferRecord | null> {
    const e = this.entries[this.head];
    this.peeked = e;
    if (e === undefined) return null;
    const seg = this.segments.find((s) => s.id === e.segment);
    if (seg === undefined) throw new AgentError('FS_AGENT_BUFFER_IO', [this.dir, `segment ${e.segment} is missing`]);
    if (seg.handle === null) seg.handle = await open(join(this.dir, segmentName(seg.id)), 'r');
    const buf = Buffer.allocUnsafe(e.length);
    const { bytesRead } = await seg.handle.read(buf, 0, e.length, e.offset);
    if (bytesRead !== e.length) throw new AgentError('FS_AGENT_BUFFER_IO', [this.dir, `short read in segment ${e.segment}`]);
    return { payload: buf.subarray(HEADER + TS_BYTES), timestampMs: e.timestampMs };
  }

  /** Acknowledges the record peek() returned; deletes segments wholly behind the cursor. */
  async commit(): Promise<void> {
    const e = this.entries[this.head];
    if (e === undefined || e !== this.peeked) return;
    this.peeked = undefined;
    this.head++;
    this.stats.records--;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    const tmp = join(this.dir, 'cursor.tmp');
    await writeFile(tmp, `${e.segment} ${e.offset + e.length}\n`);
    await rename(tmp, join(this.dir, 'cursor'));
    // Segments wholly behind the next unacknowledged record can go (never the one being written).
    const keepFrom = this.entries[this.head]?.segment ?? Infinity;
    while (this.segments.length > 1 && (this.segments[0] as Segment).id < keepFrom) await this.removeSegment(this.segments[0] as Segment);
  }

  /** Resolves when a record is appended (or at once if there is one), or after `ms`. */
  waitForData(ms: number): Promise<void> {
    if (this.head < this.entries.length || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const waiters = this.waiters;
      function done(): void {
        clearTimeout(t);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }
      waiters.push(done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w();
    while (this.flushing !== null) await this.flushing;
    await this.writer?.close();
    this.writer = null;
    for (const s of this.segments) {
      await s.handle?.close();
      s.handle = null;
    }
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0);
        try {
          await this.writeBatch(batch);
          for (const p of batch) p.resolve();
        } catch (err) {
          const e = err instanceof AgentError ? err : new AgentError('FS_AGENT_BUFFER_IO', [this.dir, (err as Error).message], { cause: err });
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.flushing = null;
    }
    for (const w of this.waiters.splice(0)) w();
  }

  private async writeBatch(batch: typeof this.pending): Promise<void> {
    let total = 0;
    for (const p of batch) total += p.buf.length;
    let seg = this.segments[this.segments.length - 1];
    if (seg === undefined || this.writer === null || (seg.size > 0 && seg.size + total > this.segmentBytes)) seg = await this.startSegment();
    const at = seg.size;
    await (this.writer as FileHandle).writev(batch.map((p) => p.buf), at);
    if (this.fsync) await (this.writer as FileHandle).datasync();
    let offset = at;
    for (const p of batch) {
      this.entries.push({ segment: seg.id, offset, length: p.entry.length, timestampMs: p.entry.timestampMs });
      offset += p.entry.length;
    }
    seg.size += total;
    this.stats.bytes += total;
    this.stats.records += batch.length;
    await this.enforceBound();
  }

  private async startSegment(): Promise<Segment> {
    await this.writer?.close();
    const last = this.segments[this.segments.length - 1];
    const seg: Segment = { id: (last?.id ?? 0) + 1, size: 0, handle: null };
    this.writer = await open(join(this.dir, segmentName(seg.id)), 'w');
    this.segments.push(seg);
    await this.syncDir();
    return seg;
  }

  private async enforceBound(): Promise<void> {
    while (this.stats.bytes > this.maxBytes && this.segments.length > 1) {
      const oldest = this.segments[0] as Segment;
      let n = 0;
      let bytes = 0;
      while (this.entries[this.head]?.segment === oldest.id) {
        bytes += (this.entries[this.head] as Entry).length;
        this.head++;
        n++;
      }
      this.stats.records -= n;
      this.stats.droppedRecords += n;
      this.stats.droppedBytes += bytes;
      await this.removeSegment(oldest);
    }
  }

  private async removeSegment(s: Segment): Promise<void> {
    await s.handle?.close();
    s.handle = null;
    this.segments = this.segments.filter((x) => x !== s);
    this.stats.bytes -= s.size;
    await rm(join(this.dir, segmentName(s.id)), { force: true });
  }

  private async syncDir(): Promise<void> {
    if (!this.fsync) return;
    const d = await open(this.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }

  private async recover(): Promise<void> {
    let cursorSeg = 0;
    let cursorOff = 0;
    try {
      const m = /^(\d+) (\d+)\s*$/.exec(await readFile(join(this.dir, 'cursor'), 'utf8'));
      if (m) {
        cursorSeg = Number(m[1]);
        cursorOff = Number(m[2]);
      }
    } catch {
      // no cursor yet: nothing acknowledged
    }
    const ids = (await readdir(this.dir))
      .map((f) => SEGMENT_FILE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    for (const id of ids) {
      const path = join(this.dir, segmentName(id));
      if (id < cursorSeg) {
        await rm(path, { force: true });
        continue;
      }
      const data = await readFile(path);
      let pos = 0;
      while (pos + HEADER + TS_BYTES <= data.length) {
        const len = data.readUInt32LE(pos);
        const end = pos + HEADER + len;
        if (len < TS_BYTES || end > data.length || crc32(data.subarray(pos + HEADER, end)) !== data.readUInt32LE(pos + 4)) break;
        if (id > cursorSeg || pos >= cursorOff) {
          this.entries.push({ segment: id, offset: pos, length: HEADER + len, timestampMs: data.readDoubleLE(pos + HEADER) });
        }
        pos = end;
      }
      if (pos < data.length) {
        this.stats.corruptRecords++;
        const h = await open(path, 'r+');
        await h.truncate(pos);
        await h.close();
      }
      this.segments.push({ id, size: pos, handle: null });
      this.stats.bytes += pos;
    }
    this.stats.records = this.entries.length;
    // Appends go to a fresh segment: a recovered one is never written again.
    this.writer = null;
  }
}
