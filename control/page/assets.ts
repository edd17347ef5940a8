// The page's files, read once at start into memory with their type and
// ETag: the browser code in ui/ (plain ES modules, served as written) and
// the two libraries from node_modules (uPlot, the Faro web SDK's bundle).
// Only these names are served: no path from a request touches the disk.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PageError } from './errors.js';

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** control/page/ui in the source tree, found from this file's place (dist/control/page/ or control/page/). */
export function defaultUiDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'control', 'page', 'ui');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    if (existsSync(join(dir, 'ui', 'index.html')) && dir.endsWith(join('control', 'page'))) return join(dir, 'ui');
    dir = dirname(dir);
  }
  throw new PageError('FS_CONTROL_PAGE_ASSETS_MISSING', ['control/page/ui/index.html is not beside the program (set assetsDir)']);
}

function asset(path: string): Asset {
  const body = readFileSync(path);
  return { body, type: TYPES[extname(path)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

function packageDir(name: string): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch (err) {
    throw new PageError('FS_CONTROL_PAGE_ASSETS_MISSING', [`the package ${name} is not installed`], { cause: err });
  }
}

export interface PageAssets {
  /** index.html as written, with {{…}} placeholders. */
  readonly template: string;
  /** By name under /ui/, e.g. `app.js`, `vendor/uPlot.iife.min.js`. */
  readonly files: ReadonlyMap<string, Asset>;
}

export function loadAssets(uiDir = defaultUiDir()): PageAssets {
  const dir = resolve(uiDir);
  const files = new Map<string, Asset>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new PageError('FS_CONTROL_PAGE_ASSETS_MISSING', [`cannot read ${dir}: ${(err as Error).message}`], { cause: err });
  }
  for (const name of names) if (name.endsWith('.js') || name.endsWith('.css')) files.set(name, asset(join(dir, name)));
  const uplot = join(packageDir('uplot'), 'dist');
  files.set('vendor/uPlot.iife.min.js', asset(join(uplot, 'uPlot.iife.min.js')));
  files.set('vendor/uPlot.min.css', asset(join(uplot, 'uPlot.min.css')));
  files.set('vendor/faro-web-sdk.iife.js', asset(join(packageDir('@grafana/faro-web-sdk'), 'dist', 'bundle', 'faro-web-sdk.iife.js')));
  return { template: readFileSync(join(dir, 'index.html'), 'utf8'), files };
}
