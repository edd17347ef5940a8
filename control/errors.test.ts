// control/README.md's error table and the registry say the same thing (the
// top README gets this table when control/ is merged; cli/errors.test.ts then checks it there).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { controlErrors } from './errors.js';

test('control/README.md error table matches the registry', () => {
  const readme = readFileSync(new URL('../../control/README.md', import.meta.url), 'utf8');
  const documented = new Map<string, number>();
  for (const m of readme.matchAll(/^\| `(FS_[A-Z0-9_]+)` \| (\d{3}) \|/gm)) documented.set(m[1] as string, Number(m[2]));
  for (const [code, def] of Object.entries(controlErrors)) assert.equal(documented.get(code), def.status, `${code} (${def.status}) is not documented with that status`);
  for (const code of documented.keys()) assert.ok(code in controlErrors, `README documents ${code}, which the registry does not have`);
});
