#!/usr/bin/env node
// Runs every compiled *.test.js under dist/ with node's test runner. An
// explicit file list, because `node --test dist/` would also treat every
// helper module under a test/ folder as a test file.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) find(p, out);
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const only = process.argv.slice(2);
const files = find('dist').filter((f) => only.length === 0 || only.some((o) => f.includes(o))).sort();
if (files.length === 0) {
  console.error('run-tests: no test files found under dist/ (did the build run?)');
  process.exit(1);
}
// A test or hook without a timeout of its own fails after 10 minutes rather
// than holding the whole run until CI's limit (the longest test takes about
// 30 s), so a hang is reported by name and the other files still run.
const child = spawn(process.execPath, ['--test', '--test-timeout=600000', ...files], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
