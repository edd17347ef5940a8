// README.md's error table and the error registries of every folder say the
// same thing: every code is documented with its status, and nothing
// documented is missing from the code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { collectorErrors } from '../collector/index.js';
import { relabelErrors } from '../relabel/index.js';
import { wireErrors } from '../wire/index.js';

const registries: Record<string, { status: number }> = { ...relabelErrors, ...wireErrors, ...collectorErrors };

test('README error table matches the error registries', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const documented = new Map<string, number>();
  for (const m of readme.matchAll(/^\| `(FS_[A-Z0-9_]+)` \| (\d{3}) \|/gm)) documented.set(m[1] as string, Number(m[2]));
  for (const [code, def] of Object.entries(registries)) {
    assert.equal(documented.get(code), def.status, `${code} (status ${def.status}) is not in README's error table with that status`);
  }
  for (const code of documented.keys()) assert.ok(code in registries, `README documents ${code}, which no registry has`);
});
