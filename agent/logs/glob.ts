// Expands path globs (`*` and `?` within one path segment, `**` any number
// of segments) by walking only the directories a pattern can reach. Node 20
// has no fs.glob.
import { readdir } from 'node:fs/promises';
import { join, sep } from 'node:path';

function segmentRegex(seg: string): RegExp {
  const body = seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

const hasMagic = (s: string): boolean => /[*?]/.test(s);

/** Compiles a glob into a whole-path matcher. */
export function globMatcher(pattern: string): RegExp {
  const parts = pattern.split('/');
  const body = parts
    .map((p) => (p === '**' ? '(?:[^/]+/)*' : `${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}/`))
    .join('')
    .replace(/\/$/, '')
    .replace(/\(\?:\[\^\/\]\+\/\)\*$/, '.*');
  return new RegExp(`^${body}$`);
}

/** Files matching an absolute glob, sorted. Unreadable directories are skipped. */
export async function expandGlob(pattern: string): Promise<string[]> {
  const parts = pattern.split('/').filter((p, i) => p !== '' || i === 0);
  let base = '';
  let i = 0;
  while (i < parts.length && !hasMagic(parts[i] as string) && parts[i] !== '**') {
    base = i === 0 && parts[0] === '' ? '/' : join(base, parts[i] as string);
    i++;
  }
  const rest = parts.slice(i);
  const out: string[] = [];
  const walk = async (dir: string, segs: string[]): Promise<void> => {
    if (segs.length === 0) return;
    const [head, ...tail] = segs as [string, ...string[]];
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (head === '**') {
      await walk(dir, tail);
      for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name), segs);
      return;
    }
    const re = segmentRegex(head);
    for (const e of entries) {
      if (!re.test(e.name)) continue;
      const p = join(dir, e.name);
      if (tail.length === 0) {
        if (e.isFile()) out.push(p);
      } else if (e.isDirectory()) await walk(p, tail);
    }
  };
  if (rest.length === 0) {
    out.push(base);
    return out;
  }
  await walk(base || sep, rest);
  return [...new Set(out)].sort();
}
