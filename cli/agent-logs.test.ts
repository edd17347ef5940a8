// The agent's log hook wiring: an HTTP output without its own token ships
// with the site token the agent holds, starts only once the site has one,
// and switches to the new token after a re-registration.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { SiteIdentity } from '../agent/index.js';
import { fileLogShipper } from './agent-logs.js';

async function until(what: string, f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the file log shipper waits for the site identity, then ships with its token, and follows a new one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-logs-'));
  const seen: { auth: string | undefined; lines: string[] }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ auth: req.headers.authorization, lines: body.split('\n').filter((l) => l !== '') });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"accepted":1}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const file = join(dir, 'app.log');
  await writeFile(file, 'first line\n');
  let identity: SiteIdentity | null = null;
  const listeners = new Set<(id: SiteIdentity | null) => void>();
  const id = (token: string): SiteIdentity => ({ site_token: token } as unknown as SiteIdentity);
  const logs: string[] = [];
  const shipper = await fileLogShipper({
    config: {
      inputs: [{ paths: [file] }],
      positions_file: join(dir, 'positions.json'),
      spool: { dir: join(dir, 'spool') },
      output: { http: { url: `http://127.0.0.1:${port}/api/v1/logs` } },
      poll_interval: 50,
    },
    configFile: 'agent.yml',
    stateDir: dir,
    identity: () => identity,
    onIdentity: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    registry: new Registry(),
    log: (_level, msg) => logs.push(msg),
  });
  try {
    // Not registered: nothing is read or sent.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(seen.length, 0);
    identity = id('fst1.first-token');
    for (const l of listeners) l(identity);
    await until('the first line shipped', () => seen.some((s) => s.lines.some((l) => l.includes('first line'))));
    assert.ok(seen.every((s) => s.auth === 'Bearer fst1.first-token'), JSON.stringify(seen));
    // Re-registered (factory reset): the new token from then on.
    identity = id('fst1.second-token');
    for (const l of listeners) l(identity);
    await new Promise((r) => setTimeout(r, 300));
    await appendFile(file, 'second line\n');
    await until('the second line shipped', () => seen.some((s) => s.lines.some((l) => l.includes('second line')))).catch((err: Error) => { throw new Error(`${err.message}; hook log: ${logs.join(' | ')}; seen: ${JSON.stringify(seen)}`); });
    const second = seen.find((s) => s.lines.some((l) => l.includes('second line')));
    assert.equal(second?.auth, 'Bearer fst1.second-token');
    assert.deepEqual(logs, []);
  } finally {
    await shipper.stop();
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  }
});

test('an invalid logs: section is refused at start, naming the path, even before registration', async () => {
  await assert.rejects(
    fileLogShipper({
      config: { inputs: [], output: { http: { url: 'http://127.0.0.1:1/x' } } },
      configFile: 'agent.yml',
      stateDir: tmpdir(),
      identity: () => null,
      onIdentity: () => () => undefined,
      registry: new Registry(),
      log: () => undefined,
    }),
    /agent\.yml: logs\.inputs: /,
  );
});
