// The queue's committed position, kept in one small file that stays open:
// two slots of [u32 magic][u32 CRC-32 of the rest][f64 generation][f64 segment][f64 offset][f64 index],
// at bytes 0 and 64, written in turn by one positional write each. Reading
// takes the intact slot of the highest generation, so a write torn by a
// crash leaves the previous position. When the queue syncs, the file is open
// O_DSYNC: a commit is on disk when its write returns, in one trip through
// libuv's pool. This replaced open + write + fsync + close + rename of a
// JSON file on every commit, five trips. (A cursor left behind would make
// the consumer send delivered records again after a power loss, and a
// receiver such as Prometheus refuses a whole batch that holds samples
// older than a series' newest, new ones included.)
import { constants } from 'node:fs';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/** A point in a queue: a segment, a byte offset and a record index in it (queue.ts calls it QueuePosition). */
export interface CursorPosition {
  readonly segment: number;
  readonly offset: number;
  readonly index: number;
}

const MAGIC = 0x43515346; // "FSQC"
const SLOT = 64;
const BYTES = 40;
export const CURSOR_FILE = 'cursor.bin';
/** The JSON cursor of queues written before cursor.bin; read when cursor.bin has no intact slot. */
const LEGACY_FILE = 'cursor';

const valid = (p: CursorPosition): boolean => [p.segment, p.offset, p.index].every((n) => Number.isSafeInteger(n) && n >= 0);

/** Decodes one slot; undefined when it is not an intact cursor. */
export function decodeCursorSlot(b: Uint8Array): { generation: number; position: CursorPosition } | undefined {
  if (b.length < BYTES) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, BYTES);
  if (v.getUint32(0, true) !== MAGIC || v.getUint32(4, true) !== crc32(b.subarray(8, BYTES))) return undefined;
  const position = { segment: v.getFloat64(16, true), offset: v.getFloat64(24, true), index: v.getFloat64(32, true) };
  const generation = v.getFloat64(8, true);
  return valid(position) && Number.isSafeInteger(generation) ? { generation, position } : undefined;
}

export class CursorFile {
  private readonly slot = Buffer.alloc(BYTES);
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly fh: FileHandle,
    private generation: number,
    /** The position read at open (null: none was ever committed). */
    readonly position: CursorPosition | null,
  ) {}

  /** Opens (or creates) `dir`/cursor.bin and reads the last intact position (or the old JSON cursor's); `sync`: every write is on disk when it returns. */
  static async open(dir: string, sync: boolean): Promise<CursorFile> {
    const fh = await open(join(dir, CURSOR_FILE), constants.O_RDWR | constants.O_CREAT | (sync ? constants.O_DSYNC : 0), 0o666);
    try {
      const buf = Buffer.alloc(2 * SLOT);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      const slots = [decodeCursorSlot(buf.subarray(0, Math.min(bytesRead, BYTES))), bytesRead > SLOT ? decodeCursorSlot(buf.subarray(SLOT, bytesRead)) : undefined];
      const best = slots.reduce<ReturnType<typeof decodeCursorSlot>>((a, s) => (s !== undefined && (a === undefined || s.generation > a.generation) ? s : a), undefined);
      if (best !== undefined) return new CursorFile(fh, best.generation, best.position);
      return new CursorFile(fh, 0, await readLegacy(dir));
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Writes `pos` into the slot after the last one written; resolves once the write is done (on disk, with `sync`). */
  write(pos: CursorPosition): Promise<void> {
    const run = async (): Promise<void> => {
      const g = this.generation + 1;
      const v = new DataView(this.slot.buffer, this.slot.byteOffset, BYTES);
      v.setUint32(0, MAGIC, true);
      v.setFloat64(8, g, true);
      v.setFloat64(16, pos.segment, true);
      v.setFloat64(24, pos.offset, true);
      v.setFloat64(32, pos.index, true);
      v.setUint32(4, crc32(this.slot.subarray(8, BYTES)), true);
      await this.fh.write(this.slot, 0, BYTES, (g % 2) * SLOT);
      this.generation = g;
    };
    // One write at a time: the slot buffer is shared and generations must land in order.
    const next = this.writing.then(run, run);
    this.writing = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.writing;
    await this.fh.close();
  }
}

async function readLegacy(dir: string): Promise<CursorPosition | null> {
  try {
    const saved = JSON.parse(await readFile(join(dir, LEGACY_FILE), 'utf8')) as CursorPosition;
    return valid(saved) ? { segment: saved.segment, offset: saved.offset, index: saved.index } : null;
  } catch {
    return null;
  }
}
