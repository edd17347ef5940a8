// Every error code of every folder's registry is documented, once, with its
// status, in an error table of the README beside its code (`| \`FS_…\` | 400 |`),
// and nothing documented is missing from the code. The top README links
// those tables.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { agentErrors } from '../agent/index.js';
import { alertingErrors } from '../alerting/index.js';
import { collectorErrors, faroErrors, logsErrors } from '../collector/index.js';
import { controlErrors, pageErrors } from '../control/index.js';
import { relabelErrors } from '../relabel/index.js';
import { wireErrors } from '../wire/index.js';

const registries: Record<string, { status: number }> = { ...relabelErrors, ...wireErrors, ...collectorErrors, ...logsErrors, ...faroErrors, ...alertingErrors, ...agentErrors, ...controlErrors, ...pageErrors };

const READMES = ['README.md', 'relabel/README.md', 'wire/README.md', 'collector/README.md', 'collector/logs/README.md', 'collector/faro/README.md', 'alerting/README.md', 'agent/README.md', 'control/README.md', 'control/page/README.md', 'dashboards/README.md', 'bench/README.md'];

test('the README error tables match the error registries', () => {
  const documented = new Map<string, { status: number; file: string }>();
  for (const file of READMES) {
    const url = new URL(`../../${file}`, import.meta.url);
    if (!existsSync(url)) continue;
    for (const m of readFileSync(url, 'utf8').matchAll(/^\| `(FS_[A-Z0-9_]+)` \| (\d{3}) \|/gm)) {
      const code = m[1] as string;
      const seen = documented.get(code);
      assert.equal(seen, undefined, `${code} is documented twice: ${seen?.file} and ${file}`);
      documented.set(code, { status: Number(m[2]), file });
    }
  }
  for (const [code, def] of Object.entries(registries)) {
    assert.equal(documented.get(code)?.status, def.status, `${code} (status ${def.status}) is not in an error table with that status`);
  }
  for (const [code, { file }] of documented) assert.ok(code in registries, `${file} documents ${code}, which no registry has`);
});
