// Durable state: a checkpoint (engine windows, terms seen, pending records,
// silences, firing alerts, aggregation buffers) written atomically
// (temporary file, fsync, rename), and a write-ahead log of the records
// accepted since, fsync'd before a POST is answered. A restart restores the
// checkpoint and replays the log, so nothing acknowledged is lost and no
// window starts empty.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { AlertingError } from './errors.js';

export interface Checkpoint {
  readonly version: 1;
  readonly savedAt: number;
  readonly engine: unknown;
  readonly notifier: unknown;
}

export class StateStore {
  private readonly checkpointFile: string;
  private readonly walFile: string;
  private wal: number;

  constructor(readonly dir: string) {
    try {
      mkdirSync(dir, { recursive: true });
      this.checkpointFile = join(dir, 'checkpoint.json');
      this.walFile = join(dir, 'records.wal');
      this.wal = openSync(this.walFile, 'a+');
    } catch (err) {
      throw new AlertingError('FS_ALERTING_STATE_IO', [dir, (err as Error).message], { cause: err });
    }
  }

  load(): { checkpoint: Checkpoint | null; records: unknown[] } {
    let checkpoint: Checkpoint | null = null;
    try {
      if (existsSync(this.checkpointFile)) checkpoint = JSON.parse(readFileSync(this.checkpointFile, 'utf8')) as Checkpoint;
    } catch (err) {
      throw new AlertingError('FS_ALERTING_STATE_IO', [this.checkpointFile, `unreadable checkpoint: ${(err as Error).message}`], { cause: err });
    }
    const records: unknown[] = [];
    const text = readFileSync(this.walFile, 'utf8');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        records.push(...(JSON.parse(line) as unknown[]));
      } catch {
        // A torn last line (crash while appending): its POST was never answered.
      }
    }
    return { checkpoint, records };
  }

  /** Appends accepted records; with `sync` they are on disk when this returns. */
  append(records: readonly unknown[], sync: boolean): void {
    if (records.length === 0) return;
    try {
      writeSync(this.wal, `${JSON.stringify(records)}\n`);
      if (sync) fsyncSync(this.wal);
    } catch (err) {
      throw new AlertingError('FS_ALERTING_STATE_IO', [this.walFile, (err as Error).message], { cause: err });
    }
  }

  /** Writes a checkpoint and empties the log, synchronously (nothing interleaves). */
  save(cp: Checkpoint): void {
    const tmp = `${this.checkpointFile}.tmp`;
    try {
      const fd = openSync(tmp, 'w');
      try {
        writeSync(fd, JSON.stringify(cp));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.checkpointFile);
      const dfd = openSync(this.dir, 'r');
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
      ftruncateSync(this.wal, 0);
      fsyncSync(this.wal);
    } catch (err) {
      throw new AlertingError('FS_ALERTING_STATE_IO', [this.checkpointFile, (err as Error).message], { cause: err });
    }
  }

  close(): void {
    try {
      closeSync(this.wal);
    } catch {
      // already closed
    }
  }
}
