// collector/logs/README.md's error table and logsErrors say the same thing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { logsErrors } from './errors.js';

test('the README error table matches logsErrors', () => {
  const readme = readFileSync(new URL('../../../collector/logs/README.md', import.meta.url), 'utf8');
  const documented = new Map<string, number>();
  for (const m of readme.matchAll(/^\| `(FS_[A-Z0-9_]+)` \| (\d{3}) \|/gm)) documented.set(m[1] as string, Number(m[2]));
  for (const [code, def] of Object.entries(logsErrors)) assert.equal(documented.get(code), def.status, `${code} (${def.status}) is not in the README table with that status`);
  for (const code of documented.keys()) assert.ok(code in logsErrors, `the README documents ${code}, which logsErrors does not have`);
});
