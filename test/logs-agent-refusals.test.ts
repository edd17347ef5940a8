// The agent's HTTP output when the collector refuses part of a batch: a
// line over the collector's max_line_bytes (413, against the real
// collector) is dropped alone, the rest of its batch delivered and the
// spool moves on; a 400 naming a line drops that line; 401 and 503 keep the
// batch and retry it until accepted (a stand-in answers those: the real
// collector has no reason to refuse a valid site's valid JSON line).
// Drops are counted by reason in fleetscope_agent_logs_dropped_total.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { agentLogsConfigSchema, startLogShipper } from '../agent/index.js';
import { SITE_TOKEN, startLogsHarness, storedSources, waitFor } from './logs-harness.js';

const logger = pino({ level: 'silent' });

async function shipperFor(dir: string, url: string, registry: Registry): Promise<Awaited<ReturnType<typeof startLogShipper>>> {
  return startLogShipper(agentLogsConfigSchema.parse({
    inputs: [{ paths: [join(dir, 'in', '*.log')] }],
    positions_file: join(dir, 'positions.json'),
    spool: { dir: join(dir, 'spool') },
    output: { http: { url, token: SITE_TOKEN, timeout: '5s' } },
    poll_interval: '50ms',
    min_backoff: '20ms',
    max_backoff: '100ms',
  }), { logger, registry });
}

test('a line over the collector\'s limit is dropped alone (413, split); the rest arrives and the spool moves on', { timeout: 60_000 }, async () => {
  const h = await startLogsHarness({}, { http: { max_body_bytes: 1024 * 1024, max_lines: 100_000, max_line_bytes: 4096 } });
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-refusals-'));
  try {
    await mkdir(join(dir, 'in'));
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) lines.push(i === 17 ? `huge ${'x'.repeat(6000)}` : `line ${i}`);
    await writeFile(join(dir, 'in', 'a.log'), `${lines.join('\n')}\n`);
    const registry = new Registry();
    const shipper = await shipperFor(dir, `${h.collector.url}/api/v1/logs`, registry);
    try {
      await waitFor('39 lines stored', () => storedSources(h.es).length >= 39);
      await waitFor('the batch committed', () => shipper.stats.batchesSent >= 1);
      // The spool is not blocked: lines written afterwards arrive too.
      await writeFile(join(dir, 'in', 'b.log'), 'after 1\nafter 2\n');
      await waitFor('later lines', () => storedSources(h.es).some((d) => d.message === 'after 2'));
      await new Promise((r) => setTimeout(r, 200));
      const messages = storedSources(h.es).map((d) => d.message as string);
      assert.equal(messages.length, 41, 'each of the other lines once (the split parts have their own ids, no duplicates)');
      assert.equal(messages.some((m) => m.startsWith('huge')), false);
      assert.equal(shipper.stats.recordsRefused, 1);
      assert.match(await registry.metrics(), /fleetscope_agent_logs_dropped_total\{reason="too_large"\} 1/);
    } finally {
      await shipper.stop();
    }
  } finally {
    await h.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('400 naming a line drops that line; 401 and 503 are retried, nothing dropped', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-refusals-'));
  // A stand-in for the collector's JSON-lines endpoint: all or nothing, as the collector is.
  const taken: string[] = [];
  const seenIds: string[] = [];
  const answers = ['401', '503']; // first two requests refused as retryable
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seenIds.push(String(req.headers['x-fleetscope-batch-id']));
      const next = answers.shift();
      if (next !== undefined) {
        res.writeHead(Number(next), { 'content-type': 'application/json' });
        return res.end('{"code":"X","message":"not now"}');
      }
      const lines = body.split('\n').filter((l) => l !== '');
      const bad = lines.findIndex((l) => (JSON.parse(l) as { message: string }).message.startsWith('poison'));
      if (bad >= 0) {
        res.writeHead(400, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ code: 'FS_COLLECTOR_LOGS_JSON_LINES_SYNTAX', message: `line ${bad + 1}: refused` }));
      }
      for (const l of lines) taken.push((JSON.parse(l) as { message: string }).message);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ accepted: lines.length, dropped: 0 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    await mkdir(join(dir, 'in'));
    await writeFile(join(dir, 'in', 'a.log'), 'one\ntwo\npoison three\nfour\npoison five\nsix\n');
    const registry = new Registry();
    const shipper = await shipperFor(dir, `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/logs`, registry);
    try {
      await waitFor('the batch delivered', () => shipper.stats.batchesSent >= 1);
      assert.deepEqual(taken, ['one', 'two', 'four', 'six']);
      assert.ok(shipper.stats.sendFailures >= 2, '401 and 503 were retried');
      assert.equal(shipper.stats.recordsRefused, 2);
      assert.equal(shipper.stats.recordsSent, 4);
      assert.equal(seenIds[0], seenIds[1], 'a retry carries the same batch id');
      assert.ok(seenIds.slice(3).every((id) => id.startsWith(`${seenIds[0]}:`)), 'each part has its own id, derived from the batch\'s');
      assert.match(await registry.metrics(), /fleetscope_agent_logs_dropped_total\{reason="rejected"\} 2/);
    } finally {
      await shipper.stop();
    }
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  }
});
