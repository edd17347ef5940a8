// The positions file: per tailed file (by device and inode, so a rename
// keeps its place) the byte offset up to which its lines are in the spool.
// Written atomically (temp file, fsync, rename) after each spool append, so
// a restart resumes exactly there.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FilePosition {
  path: string;
  offset: number;
}

export async function loadPositions(file: string): Promise<Map<string, FilePosition>> {
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as { files?: Record<string, FilePosition> };
    const m = new Map<string, FilePosition>();
    for (const [k, v] of Object.entries(doc.files ?? {})) if (typeof v?.path === 'string' && Number.isSafeInteger(v.offset)) m.set(k, { path: v.path, offset: v.offset });
    return m;
  } catch {
    return new Map();
  }
}

export async function savePositions(file: string, positions: ReadonlyMap<string, FilePosition>): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify({ version: 1, files: Object.fromEntries(positions) }));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
