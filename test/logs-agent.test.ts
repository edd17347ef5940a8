// The agent's log shipper with real files against a real collector (its
// forward server, in process) and the Elasticsearch stand-in behind it:
// globs, rotation by rename (the old file drained through its open handle)
// and by truncate, multiline joining, and a restart that resumes exactly
// from the positions file; while the collector is unreachable batches wait
// in the spool and arrive, in order, once it is back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { type AgentLogsConfig, agentLogsConfigSchema, startLogShipper } from '../agent/index.js';
import { GLOBAL_KEY, SITE_TOKEN, startLogsHarness, storedSources, waitFor } from './logs-harness.js';
import { freePort } from './peers/prometheus.js';

const lines = (prefix: string, from: number, to: number): string => {
  let s = '';
  for (let i = from; i < to; i++) s += `${prefix} ${i}\n`;
  return s;
};

test('tail, rotate, truncate, multiline, restart and outage: every line once, in order', { timeout: 90_000 }, async () => {
  const h = await startLogsHarness();
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-logs-'));
  const seen: { file: string; offset: number; message: string }[] = [];
  h.collector.logs?.onLogRecords((batch) => {
    for (const r of batch) seen.push({ file: r.doc.file as string, offset: r.doc.offset as number, message: r.doc.message as string });
  });
  const cfg = (port: number): AgentLogsConfig =>
    agentLogsConfigSchema.parse({
      inputs: [
        { paths: [join(dir, 'logs', '*.log')], tag: 'app', fields: { app: 'shop' } },
        { paths: [join(dir, 'java', '**', '*.log')], tag: 'java', multiline: { start: '^\\d{4}-\\d{2}-\\d{2} ', timeout: '200ms' } },
      ],
      positions_file: join(dir, 'positions.json'),
      spool: { dir: join(dir, 'spool') },
      output: { forward: { host: '127.0.0.1', port, shared_key: GLOBAL_KEY, token: SITE_TOKEN, ack_timeout: '5s' } },
      poll_interval: '50ms',
      min_backoff: '20ms',
      max_backoff: '200ms',
      batch_max_records: 100,
    });
  const logger = pino({ level: 'silent' });
  try {
    await mkdir(join(dir, 'logs'));
    await mkdir(join(dir, 'java', 'svc'), { recursive: true });
    const app = join(dir, 'logs', 'app.log');
    await writeFile(app, lines('first', 0, 100));
    await writeFile(join(dir, 'logs', 'skip.txt'), 'not matched\n');
    let shipper = await startLogShipper(cfg(h.forward.port), { logger });
    await waitFor('100 lines', () => seen.length >= 100);

    // Rotation by rename: the writer still appends to the renamed file, then a new one appears.
    await rename(app, join(dir, 'logs', 'app.log.1'));
    await appendFile(join(dir, 'logs', 'app.log.1'), lines('late', 0, 10));
    await writeFile(app, lines('second', 0, 20));
    await waitFor('130 lines', () => seen.length >= 130);

    // Rotation by truncate (copytruncate).
    await truncate(app, 0);
    await appendFile(app, lines('third', 0, 5));
    await waitFor('135 lines', () => seen.length >= 135);

    // Multiline: a record starts with a date; stack lines continue it.
    await writeFile(join(dir, 'java', 'svc', 'svc.log'), '2026-12-01 08:00:00 ERROR boom\n  at a.b(C.java:1)\n  at d.e(F.java:2)\n2026-12-01 08:00:01 INFO fine\n');
    await waitFor('137 records', () => seen.length >= 137);

    // A restart resumes exactly; with the collector unreachable, batches wait in the spool.
    await shipper.stop();
    await appendFile(app, lines('while-stopped', 0, 50));
    shipper = await startLogShipper(cfg(await freePort()), { logger });
    await waitFor('spooled', () => shipper.stats.recordsSpooled >= 50);
    await appendFile(app, lines('during-outage', 0, 50));
    await waitFor('spooled more', () => shipper.stats.recordsSpooled >= 100);
    assert.equal(shipper.stats.recordsSent, 0);
    assert.ok(shipper.stats.sendFailures > 0);
    await shipper.stop();
    shipper = await startLogShipper(cfg(h.forward.port), { logger });
    await waitFor('237 records', () => seen.length >= 237);
    await new Promise((r) => setTimeout(r, 500));
    await shipper.stop();

    assert.equal(seen.length, 237, 'no record twice');
    const msgs = seen.map((s) => s.message);
    for (const [prefix, n] of [['first', 100], ['late', 10], ['second', 20], ['third', 5], ['while-stopped', 50], ['during-outage', 50]] as const) {
      for (let i = 0; i < n; i++) assert.ok(msgs.includes(`${prefix} ${i}`), `${prefix} ${i}`);
    }
    assert.ok(!msgs.some((m) => m.includes('not matched')));
    assert.ok(msgs.includes('2026-12-01 08:00:00 ERROR boom\n  at a.b(C.java:1)\n  at d.e(F.java:2)'));
    assert.ok(msgs.includes('2026-12-01 08:00:01 INFO fine'));
    // In order per file, as shipped.
    const order = seen.filter((s) => s.message.startsWith('while-stopped') || s.message.startsWith('during-outage')).map((s) => s.message);
    assert.deepEqual(order, [...lines('while-stopped', 0, 50).trim().split('\n'), ...lines('during-outage', 0, 50).trim().split('\n')]);
    await waitFor('all in Elasticsearch', () => h.es.docs.size === 237);
    const doc = storedSources(h.es).find((d) => d.message === 'first 3') as Record<string, unknown>;
    assert.equal(doc.app, 'shop');
    assert.equal(doc.tag, 'app');
    assert.equal(doc.site, 'ce-0001');
    assert.equal(doc.file, app);
    assert.equal(doc.offset, 'first 0\nfirst 1\nfirst 2\n'.length);
  } finally {
    await h.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('forward over TLS with gzip (CompressedPackedForward), and the HTTP JSON-lines output', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  const h = await startLogsHarness({}, { forward: { listen: '127.0.0.1:0', tls: { cert_file: cert, key_file: key }, shared_keys: [{ key: GLOBAL_KEY }] } });
  const logger = pino({ level: 'silent' });
  try {
    await mkdir(join(dir, 'in'));
    await writeFile(join(dir, 'in', 'a.log'), lines('tls', 0, 300));
    const base = {
      inputs: [{ paths: [join(dir, 'in', '*.log')] }],
      positions_file: join(dir, 'positions.json'),
      spool: { dir: join(dir, 'spool') },
      poll_interval: '50ms',
    };
    const tls = await startLogShipper(agentLogsConfigSchema.parse({ ...base, output: { forward: { host: '127.0.0.1', port: h.forward.port, tls: true, ca_file: cert, shared_key: GLOBAL_KEY, token: SITE_TOKEN, gzip: true } } }), { logger });
    await waitFor('300 over TLS', () => h.es.docs.size === 300);
    await tls.stop();
    await appendFile(join(dir, 'in', 'a.log'), lines('http', 0, 100));
    const http = await startLogShipper(agentLogsConfigSchema.parse({ ...base, output: { http: { url: `${h.collector.url}/api/v1/logs`, token: SITE_TOKEN } } }), { logger });
    await waitFor('100 more over HTTP', () => h.es.docs.size === 400);
    await http.stop();
    const docs = storedSources(h.es);
    assert.equal(new Set(docs.map((d) => d.message)).size, 400);
    assert.ok(docs.every((d) => d.site === 'ce-0001'));
    const viaHttp = docs.find((d) => d.message === 'http 7') as Record<string, unknown>;
    assert.equal(viaHttp.tag, 'fleetscope.logs');
    assert.match(String(viaHttp['@timestamp']), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/);
    // A plain-TCP client cannot speak to the TLS port.
    const plain = await startLogShipper(agentLogsConfigSchema.parse({ ...base, positions_file: join(dir, 'p2.json'), spool: { dir: join(dir, 'spool2') }, output: { forward: { host: '127.0.0.1', port: h.forward.port, shared_key: GLOBAL_KEY, token: SITE_TOKEN, ack_timeout: '1s' } } }), { logger });
    await waitFor('a failed send', () => plain.stats.sendFailures > 0);
    assert.equal(plain.stats.recordsSent, 0);
    await plain.stop();
  } finally {
    await h.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
