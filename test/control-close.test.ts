// A replica that is stopped while agents hold connections to it (a long-poll
// of the desired version, a site's event stream, the fleet page's stream)
// ends those connections and closes at once, instead of waiting for the
// agents to hang up. Before this, app.close() waited as long as an event
// stream stayed open: a stopping replica hung, and so did a failed test.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateTokenKeys, tokenPrivateKey } from '../wire/index.js';
import { ControlPlane, buildServer, commitModel, createCsr, createRegistrationToken, exampleModelFiles, initRepo, parseControlConfig } from '../control/index.js';

test('closing the server ends long-polls and event streams', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-control-close-'));
  const repo = join(dir, 'model');
  initRepo(repo);
  commitModel(repo, exampleModelFiles(), 'v1');
  const keys = generateTokenKeys();
  await writeFile(join(dir, 'token.key'), keys.privateKeyPem);
  const VIEW = 'viewer-token-0123456789ab';
  const config = parseControlConfig({ store: 'state', artifacts: { dir: 'artifacts' }, git: { repo, ref: 'main', cache_dir: 'git' }, keys: { token_private_key: 'token.key' }, operators: [{ name: 'o', token: 'operator-token-0123456789', role: 'operator' }, { name: 'v', token: VIEW, role: 'viewer' }] }, 'close.yml', dir);
  const cp = await ControlPlane.open(config);
  cp.start();
  const app = await buildServer(cp);
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const auth = { authorization: `Bearer ${VIEW}` };
    const op = { authorization: 'Bearer operator-token-0123456789', 'content-type': 'application/json' };
    const load = await fetch(`${base}/api/v1/model/load`, { method: 'POST', headers: op, body: '{}' });
    assert.equal(load.status, 200);
    const site = 'acme-s0';
    const { csrPem } = await createCsr(site);
    const reg = await fetch(`${base}/api/v1/register`, { method: 'POST', headers: { authorization: `Bearer ${createRegistrationToken(tokenPrivateKey(keys.privateKeyPem), 'acme', { ttlMs: 60_000 })}`, 'content-type': 'application/json' }, body: JSON.stringify({ csr: csrPem, facts: { machine_id: 'm-1' } }) });
    assert.equal(reg.status, 202);
    const id = ((await reg.json()) as { registration_id: string }).registration_id;
    const approve = await fetch(`${base}/api/v1/registrations/${id}/approve`, { method: 'POST', headers: op, body: JSON.stringify({ site, group: 'stores' }) });
    assert.equal(approve.status, 200, await approve.text());
    const first = await fetch(`${base}/api/v1/sites/${site}/desired`, { headers: auth });
    assert.equal(first.status, 200, 'an approved site has its desired version');
    const etag = first.headers.get('etag') as string;

    const longPoll = fetch(`${base}/api/v1/sites/${site}/desired?wait=100`, { headers: { ...auth, 'if-none-match': etag } });
    const drain = async (path: string): Promise<string> => {
      const res = await fetch(base + path, { headers: auth });
      assert.equal(res.headers.get('content-type'), 'text/event-stream');
      let text = '';
      for await (const chunk of res.body as ReadableStream<Uint8Array>) text += Buffer.from(chunk).toString();
      return text;
    };
    const siteStream = drain(`/api/v1/sites/${site}/events`);
    const fleetStream = drain('/api/v1/fleet/events');
    // Every connection is open and waiting before the close.
    const until = async (ok: () => Promise<boolean>): Promise<void> => {
      const end = Date.now() + 20_000;
      while (!(await ok())) {
        if (Date.now() > end) throw new Error('the streams never opened');
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const gauge = async (name: string): Promise<number> => {
      const line = (await (await fetch(`${base}/metrics`)).text()).split('\n').find((l) => l.startsWith(`${name} `));
      return Number(line?.split(' ')[1]);
    };
    await until(async () => (await gauge('fleetscope_control_event_streams')) === 2 && (await gauge('fleetscope_control_long_polls')) === 1);

    await app.close();
    const answered = await longPoll;
    assert.equal(answered.status, 304, 'the long-poll is answered "not modified", so the agent polls again elsewhere');
    assert.match(await siteStream, /event: desired/, 'the site stream had its first event, then ended');
    assert.match(await fleetStream, /: connected/, 'the fleet stream ended');
  } finally {
    await app.close();
    await cp.close();
    await rm(dir, { recursive: true, force: true });
  }
});
