// The agent's disk spool: a bounded FIFO of batches on local disk, so that
// what was read from the log files survives an unreachable region and a
// restart, and is sent in order when the region comes back. Segments of
// records [u32 length][u32 CRC-32][payload]; `cursor` holds the position up
// to which batches were acknowledged. append() resolves after fsync. Past
// max_bytes the oldest segment is dropped, and what it held is counted.
import { type FileHandle, mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

const HEADER = 8;
const SEGMENT = /^(\d{12})\.spool$/;
const name = (id: number): string => `${String(id).padStart(12, '0')}.spool`;

export interface SpoolPosition {
  readonly segment: number;
  readonly offset: number;
}

interface Segment {
  readonly id: number;
  size: number;
  records: number;
}

export class Spool {
  private segments: Segment[] = [];
  private writer: FileHandle | null = null;
  private cursor: SpoolPosition = { segment: 0, offset: 0 };
  private chain: Promise<void> = Promise.resolve();
  /** Batches dropped because the spool was full, since open. */
  dropped = 0;
  bytes = 0;

  private constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly segmentBytes: number,
  ) {}

  static async open(dir: string, maxBytes: number, segmentBytes = Math.min(16 * 1024 ** 2, Math.max(64 * 1024, Math.floor(maxBytes / 4)))): Promise<Spool> {
    const s = new Spool(dir, maxBytes, segmentBytes);
    await s.recover();
    return s;
  }

  /** Appends one batch; resolves once it is durable. */
  append(payload: Uint8Array): Promise<void> {
    const rec = Buffer.allocUnsafe(HEADER + payload.length);
    rec.writeUInt32LE(payload.length, 0);
    rec.writeUInt32LE(crc32(payload), 4);
    rec.set(payload, HEADER);
    const next = this.chain.then(() => this.write(rec));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async write(rec: Buffer): Promise<void> {
    let seg = this.segments[this.segments.length - 1];
    if (!seg || !this.writer || seg.size + rec.length > this.segmentBytes) {
      await this.writer?.close();
      seg = { id: seg ? seg.id + 1 : this.cursor.segment, size: 0, records: 0 };
      this.writer = await open(join(this.dir, name(seg.id)), 'w');
      this.segments.push(seg);
    }
    await this.writer.write(rec, 0, rec.length, seg.size);
    await this.writer.datasync();
    seg.size += rec.length;
    seg.records++;
    this.bytes += rec.length;
    while (this.bytes > this.maxBytes && this.segments.length > 1) {
      const oldest = this.segments.shift() as Segment;
      await rm(join(this.dir, name(oldest.id)), { force: true });
      this.bytes -= oldest.size;
      if (this.cursor.segment <= oldest.id) {
        this.dropped += oldest.records; // approximate for a partly sent segment: counted whole
        this.cursor = { segment: (this.segments[0] as Segment).id, offset: 0 };
      }
    }
  }

  /** The batch at `from` (default: the oldest unacknowledged) and the position after it, or null when there is none. */
  async peek(from?: SpoolPosition): Promise<{ payload: Buffer; next: SpoolPosition } | null> {
    let pos = from ?? this.cursor;
    const first = this.segments[0];
    if (first && pos.segment < first.id) pos = { segment: first.id, offset: 0 };
    for (;;) {
      const seg = this.segments.find((s) => s.id === pos.segment) ?? this.segments.find((s) => s.id > pos.segment);
      if (!seg) return null;
      if (seg.id !== pos.segment) pos = { segment: seg.id, offset: 0 };
      if (pos.offset >= seg.size) {
        const later = this.segments.find((s) => s.id > seg.id);
        if (!later) return null;
        pos = { segment: later.id, offset: 0 };
        continue;
      }
      const fh = await open(join(this.dir, name(seg.id)), 'r');
      try {
        const head = Buffer.allocUnsafe(HEADER);
        await fh.read(head, 0, HEADER, pos.offset);
        const len = head.readUInt32LE(0);
        const payload = Buffer.allocUnsafe(len);
        await fh.read(payload, 0, len, pos.offset + HEADER);
        return { payload, next: { segment: seg.id, offset: pos.offset + HEADER + len } };
      } finally {
        await fh.close();
      }
    }
  }

  /** Acknowledges everything before `pos`. */
  async commit(pos: SpoolPosition): Promise<void> {
    const tmp = join(this.dir, 'cursor.tmp');
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(pos));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, 'cursor'));
    this.cursor = pos;
    for (const s of this.segments.filter((x) => x.id < pos.segment)) {
      await rm(join(this.dir, name(s.id)), { force: true });
      this.bytes -= s.size;
    }
    this.segments = this.segments.filter((x) => x.id >= pos.segment);
  }

  /** Batches not yet acknowledged (approximate across a partly sent segment). */
  get pending(): number {
    return this.segments.reduce((n, s) => n + s.records, 0);
  }

  async close(): Promise<void> {
    await this.chain;
    await this.writer?.close();
    this.writer = null;
  }

  private async recover(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    try {
      const c = JSON.parse(await readFile(join(this.dir, 'cursor'), 'utf8')) as SpoolPosition;
      if (Number.isSafeInteger(c.segment) && Number.isSafeInteger(c.offset)) this.cursor = c;
    } catch {
      // a new spool
    }
    const ids = (await readdir(this.dir)).map((f) => SEGMENT.exec(f)?.[1]).filter((x): x is string => x !== undefined).map(Number).sort((a, b) => a - b);
    for (const id of ids) {
      const path = join(this.dir, name(id));
      if (id < this.cursor.segment) {
        await rm(path, { force: true });
        continue;
      }
      const { size } = await stat(path);
      const data = await readFile(path);
      let at = 0;
      let records = 0;
      while (at + HEADER <= size) {
        const len = data.readUInt32LE(at);
        if (at + HEADER + len > size || crc32(data.subarray(at + HEADER, at + HEADER + len)) !== data.readUInt32LE(at + 4)) break;
        at += HEADER + len;
        records++;
      }
      if (at < size) {
        // A torn tail: never acknowledged to the tailer (its positions were not saved past it).
        const fh = await open(path, 'r+');
        await fh.truncate(at);
        await fh.sync();
        await fh.close();
      }
      this.segments.push({ id, size: at, records });
      this.bytes += at;
    }
  }
}
