// The artifact store: rendered manifests under `<tenant>/<site>/<version>/manifests.yaml`.
// Embedded default: a directory, each file written to a temporary name,
// fsync'd (or, for a whole load, synced at once by `flush`) and renamed, so a
// reader sees a whole file or none.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ControlConfig } from './config.js';
import { ControlError } from './errors.js';

export interface ArtifactStore {
  /** Durable when resolved, unless `batch`: then durable once `flush()` resolves. */
  put(key: string, text: string, batch?: boolean): Promise<void>;
  /** Makes every batched put durable. */
  flush(): Promise<void>;
  /** null when there is no such artifact. */
  get(key: string): Promise<string | null>;
  /** Checks that the store can be used (S3: the bucket exists and the credentials may use it). */
  check(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The configured store: `artifacts.s3` or the directory. The S3 module (and
 * the AWS SDK with it) is loaded only when S3 is configured.
 */
export async function openArtifactStore(a: ControlConfig['artifacts'], opts: { check?: boolean } = {}): Promise<ArtifactStore> {
  if (a.s3) {
    const { S3ArtifactStore } = await import('./artifacts-s3.js');
    const s3 = a.s3;
    return S3ArtifactStore.open({ ...s3, timeout_ms: s3.timeout }, opts);
  }
  const store = new DirArtifactStore(a.dir);
  if (opts.check !== false) await store.check();
  return store;
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function artifactKey(tenant: string, site: string, version: string): string {
  for (const s of [tenant, site, version]) if (!SEGMENT.test(s)) throw new ControlError('FS_CONTROL_ARTIFACTS', [`"${s}" cannot be a path segment`]);
  return `${tenant}/${site}/${version}/manifests.yaml`;
}

export class DirArtifactStore implements ArtifactStore {
  private readonly madeDirs = new Set<string>();
  constructor(private readonly root: string) {}

  private path(key: string): string {
    const parts = key.split('/');
    if (parts.length !== 4 || !parts.slice(0, 3).every((p) => SEGMENT.test(p)) || parts[3] !== 'manifests.yaml') throw new ControlError('FS_CONTROL_ARTIFACTS', [`bad key ${key}`]);
    return join(this.root, ...parts);
  }

  async put(key: string, text: string, batch = false): Promise<void> {
    const file = this.path(key);
    const dir = dirname(file);
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      if (!this.madeDirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        this.madeDirs.add(dir);
      }
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(text);
        if (!batch) await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new ControlError('FS_CONTROL_ARTIFACTS', [`cannot write ${key}: ${(err as Error).message}`], { cause: err });
    }
  }

  /**
   * One syncfs(2) of the file system holding the store (`sync -f`, coreutils)
   * instead of an fsync per file: a load of 10,000 sites writes 10,000 files.
   */
  async flush(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const code = await new Promise<number | null>((resolve) => {
      const p = spawn('sync', ['-f', this.root], { stdio: 'ignore' });
      p.once('error', () => resolve(-1));
      p.once('exit', resolve);
    });
    if (code !== 0) throw new ControlError('FS_CONTROL_ARTIFACTS', [`sync -f ${this.root} failed (${code})`]);
  }

  async check(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
    } catch (err) {
      throw new ControlError('FS_CONTROL_ARTIFACTS', [`cannot create ${this.root}: ${(err as Error).message}`], { cause: err });
    }
  }

  async close(): Promise<void> {}

  async get(key: string): Promise<string | null> {
    try {
      return await readFile(this.path(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new ControlError('FS_CONTROL_ARTIFACTS', [`cannot read ${key}: ${(err as Error).message}`], { cause: err });
    }
  }
}
