// Tails the files the inputs' globs match. Files are tracked by device and
// inode, with an open handle: a file renamed away (rotation by rename) is
// read to its end through that handle before it is let go, and the new file
// at the path starts at offset 0; a file that shrinks (rotation by
// truncate, copytruncate) starts again at 0. Lines (or multiline records,
// joined by a start pattern) go to the sink with their byte offset.
import { type FileHandle, open, stat } from 'node:fs/promises';
import type { LogInput } from './config.js';
import { expandGlob, globMatcher } from './glob.js';
import type { FilePosition } from './positions.js';

export type RecordSink = (input: number, path: string, offset: number, text: string) => void;
/** Single lines (no multiline) as raw bytes `src[start, end)`, never decoded. */
export type RawLineSink = (input: number, path: string, offset: number, src: Buffer, start: number, end: number) => void;

interface Pending {
  offset: number;
  lines: string[];
  at: number;
}

interface Tracked {
  readonly key: string;
  readonly input: number;
  path: string;
  fh: FileHandle;
  offset: number;
  pending: Pending | null;
  /** Seen by the last discovery (false: renamed away or deleted; drain, then close). */
  present: boolean;
}

interface CompiledInput {
  readonly cfg: LogInput;
  readonly exclude: readonly RegExp[];
  readonly start: RegExp | undefined;
}

export class FileTailer {
  private readonly tracked = new Map<string, Tracked>();
  private readonly inputs: CompiledInput[];
  private readonly scratch: Buffer;

  constructor(
    inputs: readonly LogInput[],
    private readonly positions: Map<string, FilePosition>,
    private readonly sink: RecordSink,
    private readonly rawSink: RawLineSink,
    /** Bytes read per file per poll. */
    private readonly readBytes: number,
  ) {
    this.inputs = inputs.map((cfg) => ({ cfg, exclude: cfg.exclude.map(globMatcher), start: cfg.multiline ? new RegExp(cfg.multiline.start) : undefined }));
    this.scratch = Buffer.allocUnsafe(readBytes);
  }

  /** Finds new, rotated and vanished files. */
  async discover(): Promise<void> {
    for (const t of this.tracked.values()) t.present = false;
    for (let i = 0; i < this.inputs.length; i++) {
      const input = this.inputs[i] as CompiledInput;
      for (const pattern of input.cfg.paths) {
        for (const path of await expandGlob(pattern)) {
          if (input.exclude.some((re) => re.test(path))) continue;
          let st;
          try {
            st = await stat(path);
          } catch {
            continue;
          }
          if (!st.isFile()) continue;
          const key = `${st.dev}:${st.ino}`;
          const known = this.tracked.get(key);
          if (known) {
            known.present = true;
            known.path = path;
            continue;
          }
          let fh: FileHandle;
          try {
            fh = await open(path, 'r');
          } catch {
            continue;
          }
          const saved = this.positions.get(key);
          let offset = saved ? saved.offset : input.cfg.start_at === 'end' ? st.size : 0;
          if (offset > st.size) offset = 0; // truncated while we were away
          this.tracked.set(key, { key, input: i, path, fh, offset, pending: null, present: true });
        }
      }
    }
  }

  /**
   * Reads what is new in every tracked file, up to `budget` bytes in all.
   * Returns the bytes read (0: nothing new anywhere).
   */
  async read(budget: number, now: number): Promise<number> {
    let total = 0;
    for (const t of [...this.tracked.values()]) {
      if (total >= budget) break;
      const size = (await t.fh.stat()).size;
      if (size < t.offset) {
        // Truncated in place: what is pending was from before; start again at 0.
        this.flushPending(t);
        t.offset = 0;
      }
      let n = 0;
      if (size > t.offset) n = await this.readFile(t, Math.min(budget - total, this.readBytes), now);
      total += n;
      this.flushStale(t, now);
      if (!t.present && n === 0 && (await t.fh.stat()).size <= t.offset) {
        // Renamed away or deleted, and read to the end.
        this.flushPending(t);
        await t.fh.close();
        this.tracked.delete(t.key);
        this.positions.delete(t.key);
      }
    }
    return total;
  }

  private async readFile(t: Tracked, max: number, now: number): Promise<number> {
    const buf = this.scratch;
    const { bytesRead } = await t.fh.read(buf, 0, Math.min(max, buf.length), t.offset);
    if (bytesRead === 0) return 0;
    let last = buf.lastIndexOf(10, bytesRead - 1);
    if (last < 0) {
      if (bytesRead < buf.length) return 0; // a partial line: wait for its end
      last = bytesRead - 1; // a line longer than the read buffer: emitted in pieces
    }
    const multiline = (this.inputs[t.input] as CompiledInput).start !== undefined;
    let at = 0;
    while (at <= last) {
      let end = buf.indexOf(10, at);
      if (end < 0 || end > last) end = last + 1;
      let stop = end;
      if (stop > at && buf[stop - 1] === 13) stop--;
      if (multiline) this.line(t, t.offset + at, buf.toString('utf8', at, stop), now);
      else this.rawSink(t.input, t.path, t.offset + at, buf, at, stop);
      at = end + 1;
    }
    t.offset += last + 1;
    return last + 1;
  }

  private line(t: Tracked, offset: number, text: string, now: number): void {
    const input = this.inputs[t.input] as CompiledInput;
    if (!input.start) {
      this.sink(t.input, t.path, offset, text);
      return;
    }
    const p = t.pending;
    if (input.start.test(text) || !p) {
      this.flushPending(t);
      t.pending = { offset, lines: [text], at: now };
      return;
    }
    p.lines.push(text);
    p.at = now;
    if (p.lines.length >= (input.cfg.multiline?.max_lines ?? 500)) this.flushPending(t);
  }

  private flushStale(t: Tracked, now: number): void {
    const ml = this.inputs[t.input]?.cfg.multiline;
    if (t.pending && ml && now - t.pending.at >= ml.timeout) this.flushPending(t);
  }

  private flushPending(t: Tracked): void {
    const p = t.pending;
    if (!p) return;
    t.pending = null;
    this.sink(t.input, t.path, p.offset, p.lines.join('\n'));
  }

  /** Positions to save: each file's offset, or the start of its unfinished multiline record. */
  snapshot(): Map<string, FilePosition> {
    for (const t of this.tracked.values()) this.positions.set(t.key, { path: t.path, offset: t.pending ? t.pending.offset : t.offset });
    return this.positions;
  }

  async close(): Promise<void> {
    for (const t of this.tracked.values()) await t.fh.close();
    this.tracked.clear();
  }
}
