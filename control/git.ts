// Reads the git model with the real `git` binary: a ref resolved to a commit,
// the commit's tree listed with `ls-tree`, and every blob read in one
// `cat-file --batch` process (one fork for the whole model, not one per file).
// A URL is mirrored into a cache directory first and fetched on each load.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ControlError } from './errors.js';

export interface GitFile {
  readonly path: string;
  /** The blob id: equal ids mean equal content, which incremental rendering uses. */
  readonly oid: string;
  readonly text: string;
}

export interface GitLimits {
  /** Files in the tree (default 200,000). */
  readonly maxFiles: number;
  /** Total bytes of all blobs read (default 512 MiB). */
  readonly maxBytes: number;
}

export const DEFAULT_GIT_LIMITS: GitLimits = { maxFiles: 200_000, maxBytes: 512 * 1024 * 1024 };

interface RunResult { readonly code: number; readonly stdout: Buffer; readonly stderr: string }

function run(args: readonly string[], input?: string, maxBytes = 64 * 1024 * 1024): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } });
    const out: Buffer[] = [];
    let size = 0;
    let err = '';
    let over = false;
    child.stdout.on('data', (d: Buffer) => {
      size += d.length;
      if (size > maxBytes) {
        over = true;
        child.kill('SIGKILL');
        return;
      }
      out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 8192) err += d.toString();
    });
    child.once('error', (e) => reject(new ControlError('FS_CONTROL_GIT', [args[0] ?? '', `cannot run git: ${e.message}`], { cause: e })));
    child.once('close', (code) => {
      if (over) reject(new ControlError('FS_CONTROL_GIT', [args.join(' '), `output is over ${maxBytes} bytes`]));
      else resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: err.trim() });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

function isUrl(repo: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]+@[^/]+:/.test(repo);
}

/**
 * The local git directory to read `repo` from: the path itself (bare or with a
 * work tree), or for a URL a mirror under `cacheDir`, cloned or fetched now.
 */
export async function localRepo(repo: string, cacheDir: string): Promise<string> {
  if (!isUrl(repo)) {
    const r = await run(['-C', repo, 'rev-parse', '--git-dir']);
    if (r.code !== 0) throw new ControlError('FS_CONTROL_GIT', [`rev-parse ${repo}`, r.stderr || 'not a git repository']);
    return repo;
  }
  // Only transports that move data: never ext:: or fd:: (which run commands).
  if (!/^(https?|ssh|git|file):\/\//i.test(repo) && !/^[^/:]+@[^/:]+:/.test(repo)) throw new ControlError('FS_CONTROL_GIT', [`clone ${repo}`, 'only https, http, ssh, git and file URLs are accepted']);
  const dir = join(cacheDir, createHash('sha256').update(repo).digest('hex').slice(0, 16) + '.git');
  const exists = await stat(dir).then(() => true, () => false);
  if (!exists) {
    await mkdir(cacheDir, { recursive: true });
    const r = await run(['clone', '--mirror', '--quiet', '--', repo, dir]);
    if (r.code !== 0) throw new ControlError('FS_CONTROL_GIT', [`clone ${repo}`, r.stderr]);
  } else {
    const r = await run(['-C', dir, 'fetch', '--prune', '--quiet', 'origin']);
    if (r.code !== 0) throw new ControlError('FS_CONTROL_GIT', [`fetch ${repo}`, r.stderr]);
  }
  return dir;
}

/** The full commit id `ref` names in `gitDir`. */
export async function resolveCommit(gitDir: string, ref: string): Promise<string> {
  if (ref.startsWith('-') || ref.length > 256) throw new ControlError('FS_CONTROL_GIT', [`rev-parse ${ref}`, 'not a valid ref']);
  const r = await run(['-C', gitDir, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  const id = r.stdout.toString().trim();
  if (r.code !== 0 || !/^[0-9a-f]{40,64}$/.test(id)) throw new ControlError('FS_CONTROL_GIT', [`rev-parse ${ref}`, r.stderr || 'no such commit']);
  return id;
}

/** Every blob at `commit` whose path `accept`s, with its content. */
export async function readTree(gitDir: string, commit: string, accept: (path: string) => boolean, limits: GitLimits = DEFAULT_GIT_LIMITS): Promise<GitFile[]> {
  const ls = await run(['-C', gitDir, 'ls-tree', '-r', '-z', '--full-tree', commit]);
  if (ls.code !== 0) throw new ControlError('FS_CONTROL_GIT', [`ls-tree ${commit}`, ls.stderr]);
  const entries: { path: string; oid: string }[] = [];
  for (const rec of ls.stdout.toString('utf8').split('\0')) {
    if (rec === '') continue;
    // "<mode> SP <type> SP <oid> TAB <path>"
    const tab = rec.indexOf('\t');
    const [, type, oid] = rec.slice(0, tab).split(' ');
    const path = rec.slice(tab + 1);
    if (type !== 'blob' || oid === undefined || !accept(path)) continue;
    entries.push({ path, oid });
  }
  if (entries.length > limits.maxFiles) throw new ControlError('FS_CONTROL_GIT', [`ls-tree ${commit}`, `${entries.length} files, over the limit of ${limits.maxFiles}`]);
  if (entries.length === 0) return [];
  const cat = await run(['-C', gitDir, 'cat-file', '--batch'], entries.map((e) => e.oid).join('\n') + '\n', limits.maxBytes + entries.length * 64);
  if (cat.code !== 0) throw new ControlError('FS_CONTROL_GIT', [`cat-file ${commit}`, cat.stderr]);
  const buf = cat.stdout;
  const files: GitFile[] = [];
  let pos = 0;
  for (const e of entries) {
    const nl = buf.indexOf(10, pos);
    if (nl < 0) throw new ControlError('FS_CONTROL_GIT', [`cat-file ${commit}`, 'truncated output']);
    const header = buf.toString('utf8', pos, nl).split(' ');
    const size = Number(header[2]);
    if (header[0] !== e.oid || !Number.isInteger(size)) throw new ControlError('FS_CONTROL_GIT', [`cat-file ${commit}`, `unexpected header ${header.join(' ')}`]);
    files.push({ path: e.path, oid: e.oid, text: buf.toString('utf8', nl + 1, nl + 1 + size) });
    pos = nl + 1 + size + 1;
  }
  return files;
}
