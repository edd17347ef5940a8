import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { findRegistrationToken, register } from './registration.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-reg-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const TOKEN = 'fst1.eyJraW5kIjoicmVnaXN0cmF0aW9uIn0.c2ln';

test('the token is looked for in the file, then the environment, then cloud-init user data', async () => {
  const file = join(dir, 'token');
  const ud = join(dir, 'user-data');
  const src = { tokenFile: file, tokenEnv: 'TOK', cloudInitUserData: ud };
  assert.equal(await findRegistrationToken({ ...src, env: {} }), null);
  await writeFile(ud, '#!/bin/sh\nexport FLEETSCOPE_REGISTRATION_TOKEN="fst1.shell.sig"\n');
  assert.deepEqual(await findRegistrationToken({ ...src, env: {} }), { token: 'fst1.shell.sig', from: ud });
  await writeFile(ud, `#cloud-config\nfleetscope:\n  registration_token: ${TOKEN}\n`);
  assert.deepEqual(await findRegistrationToken({ ...src, env: {} }), { token: TOKEN, from: ud });
  await writeFile(ud, `#cloud-config\nfleetscope_registration_token: flat-token\n`);
  assert.equal((await findRegistrationToken({ ...src, env: {} }))?.token, 'flat-token');
  await writeFile(ud, `Content-Type: multipart/mixed\n\nsomething ${TOKEN} else\n`);
  assert.equal((await findRegistrationToken({ ...src, env: {} }))?.token, TOKEN, 'a bare token anywhere in the text');
  assert.deepEqual(await findRegistrationToken({ ...src, env: { TOK: ' from-env \n' } }), { token: 'from-env', from: '$TOK' });
  await writeFile(file, 'from-file\n');
  assert.deepEqual(await findRegistrationToken({ ...src, env: { TOK: 'from-env' } }), { token: 'from-file', from: file });
});

test('no token, a rejection and a refused token are errors with their codes; 5xx is retried', async () => {
  await assert.rejects(register({ controlUrl: 'http://127.0.0.1:1', stateDir: join(dir, 's'), tokenEnv: 'NONE', cloudInitUserData: join(dir, 'none'), env: {}, facts: {}, machineIdFile: join(dir, 'none'), pollIntervalMs: 10 }), { code: 'FS_AGENT_NO_REGISTRATION_TOKEN' });
  let calls = 0;
  let mode: 'reject' | 'refuse' = 'reject';
  const server = createServer((req, res) => {
    calls++;
    if (req.url === '/api/v1/register') {
      if (mode === 'refuse') return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"FS_CONTROL_UNAUTHORIZED","message":"expired"}');
      if (calls === 1) return void res.writeHead(503).end();
      return void res.writeHead(202, { 'content-type': 'application/json' }).end('{"registration_id":"r1","state":"pending","poll_after_s":0.01}');
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"state":"rejected","reason":"unknown machine"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const opts = { controlUrl: url, stateDir: join(dir, 's'), tokenEnv: 'TOK', cloudInitUserData: join(dir, 'none'), env: { TOK: TOKEN }, facts: {}, machineIdFile: join(dir, 'none'), pollIntervalMs: 10 };
    await assert.rejects(register(opts), (e: Error & { code?: string }) => e.code === 'FS_AGENT_REGISTRATION_REJECTED' && /unknown machine/.test(e.message));
    assert.ok(calls >= 3, 'the 503 was retried');
    mode = 'refuse';
    await assert.rejects(register({ ...opts, stateDir: join(dir, 's2') }), (e: Error & { code?: string }) => e.code === 'FS_AGENT_REGISTRATION_FAILED' && /401: FS_CONTROL_UNAUTHORIZED expired/.test(e.message));
  } finally {
    server.close();
  }
});
