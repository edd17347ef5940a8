// An unmodified Fluent Bit `forward` output without `Shared_Key` against a
// collector whose forward listener has no shared keys. Fluent Bit itself
// cannot be installed here; the frames below are the bytes its out_forward
// writes (plugins/out_forward/forward.c flush_forward_mode and
// forward_format.c append_options, Fluent Bit 4/5), spelled out in hex:
//  - no handshake: it connects and writes at once, and reads from the
//    socket only to wait for an ack, which must then be the first thing the
//    server sends (a HELO there fails it: "ACK response not MAP");
//  - Forward mode `[tag, [entries…]]`, a 2-element array without options by
//    default, 3 elements with options when `Require_ack_response`,
//    `Compress gzip` or `Add_option` is on;
//  - entries `[[EventTime (fixext8), metadata], record]`
//    (`retain_metadata_in_forward_mode` is on by default), its maps written
//    with map32 headers (flb_mp_map_header_init: `df` + count), so an empty
//    metadata map is `df 00000000`;
//  - options a map32: `chunk` (32 hex characters: sha512 of the entries,
//    first 16 bytes), `size` and `fluent_signal` as msgpack-c's shortest
//    integers, `compressed: "gzip"` with CompressedPackedForward, and
//    `Add_option` pairs as strings.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { agentLogsConfigSchema, startLogShipper } from '../agent/index.js';
import { type LogsHarness, SITE_TOKEN, SpecClient, hex, startLogsHarness, storedSources, str, waitFor } from './logs-harness.js';

const SEC = '692d4b00'; // 2025-12-01T08:00:00Z
const eventTime = (nsec: string): string => `d7 00 ${SEC} ${nsec}`;
/** One Fluent Bit entry: [[EventTime, {} as map32], {log: <text>} as map32]. */
const fbEntry = (nsec: string, log: string): Buffer => hex('92', '92', eventTime(nsec), 'df 00000000', 'df 00000001', str('log'), str(log));
/** Fluent Bit's chunk option: hex of the first 16 bytes of sha512(entries). */
const fbChunk = (entries: Buffer): string => createHash('sha512').update(entries).digest().subarray(0, 16).toString('hex');
const arrayHeader = (n: number): Buffer => (n < 16 ? Buffer.from([0x90 | n]) : Buffer.from([0xdc, n >> 8, n & 255]));
const bin = (b: Buffer): Buffer => (b.length < 256 ? hex('c4', Buffer.from([b.length]), b) : hex('c5', Buffer.from([b.length >> 8, b.length & 255]), b));
/** `[tag, [entries]]` (2 elements: Fluent Bit without options). */
const forwardNoOptions = (tag: string, entries: Buffer[]): Buffer => hex('92', str(tag), arrayHeader(entries.length), ...entries);
/** Options as append_options writes them: map32, chunk (str8 of 32), size, fluent_signal, then Add_option pairs. */
const options = (chunk: string | undefined, size: number, extra: [string, string][] = [], gzip = false): Buffer => {
  const pairs: Buffer[] = [];
  if (chunk !== undefined) pairs.push(hex(str('chunk'), 'd9 20', Buffer.from(chunk)));
  pairs.push(hex(str('size'), Buffer.from([size])));
  if (gzip) pairs.push(hex(str('compressed'), str('gzip')));
  pairs.push(hex(str('fluent_signal'), '00'));
  for (const [k, v] of extra) pairs.push(hex(str(k), str(v)));
  const n = Buffer.alloc(4);
  n.writeUInt32BE(pairs.length);
  return hex('df', n, ...pairs);
};

describe('Fluent Bit forward output without Shared_Key', () => {
  let h: LogsHarness;
  before(async () => {
    h = await startLogsHarness({}, {
      forward: { listen: '127.0.0.1:0', shared_keys: [], identity: { tenant: 'globex', site: 'ce-0100' }, max_frame_bytes: 1024 * 1024 },
    });
  });
  after(async () => {
    await h.stop();
  });

  test('default output (no options), Require_ack_response and Compress gzip: no HELO, every record stored', async () => {
    const c = await SpecClient.open(h.forward.port);
    // Default: [tag, [entries]]; nothing is answered, nothing must be sent to it.
    c.send(forwardNoOptions('kube.var.log', [fbEntry('00000001', 'fb plain 1'), fbEntry('00000002', 'fb plain 2')]));
    // Require_ack_response on: options with chunk; the first (and only) thing the server sends is the ack.
    const acked = [fbEntry('00000003', 'fb ack 1'), fbEntry('00000004', 'fb ack 2'), fbEntry('00000005', 'fb ack 3')];
    const chunk = fbChunk(Buffer.concat(acked));
    c.send(hex('93', str('kube.var.log'), arrayHeader(3), ...acked, options(chunk, 3)));
    const first = (await c.next()) as { ack?: string };
    assert.deepEqual(first, { ack: chunk }, 'the server sent no HELO: its first message is the ack');
    // Compress gzip (+ ack): [tag, bin(gzip(entries)), options with compressed: gzip].
    const zipped = [fbEntry('00000006', 'fb gzip 1'), fbEntry('00000007', 'fb gzip 2')];
    const zchunk = fbChunk(Buffer.concat(zipped));
    c.send(hex('93', str('kube.var.log'), bin(gzipSync(Buffer.concat(zipped))), options(zchunk, 2, [], true)));
    assert.equal(await c.ack(), zchunk);
    // The same chunk resent (Fluent Bit retries a chunk it saw no ack for): not stored twice.
    c.send(hex('93', str('kube.var.log'), arrayHeader(3), ...acked, options(chunk, 3)));
    assert.equal(await c.ack(), chunk);
    c.close();
    const want = ['fb plain 1', 'fb plain 2', 'fb ack 1', 'fb ack 2', 'fb ack 3', 'fb gzip 1', 'fb gzip 2'];
    await waitFor('Fluent Bit records', () => want.every((m) => storedSources(h.es).some((d) => d.log === m)));
    await new Promise((r) => setTimeout(r, 200));
    const docs = storedSources(h.es).filter((d) => want.includes(d.log as string));
    assert.equal(docs.length, want.length, 'each record once');
    for (const d of docs) {
      assert.equal(d.tenant, 'globex', 'the listener identity');
      assert.equal(d.site, 'ce-0100');
      assert.equal(d.tag, 'kube.var.log');
      assert.equal(d.fluent_metadata, undefined, 'empty metadata adds nothing');
    }
    assert.equal(docs.find((d) => d.log === 'fb ack 3')?.['@timestamp'], '2025-12-01T08:00:00.000000005Z');
  });

  test('Add_option fleetscope_token names the site per frame; a bad token or a PING closes the connection', async () => {
    const c = await SpecClient.open(h.forward.port);
    const e = [fbEntry('00000010', 'fb token')];
    const ch = fbChunk(Buffer.concat(e));
    c.send(hex('93', str('app'), arrayHeader(1), ...e, options(ch, 1, [['fleetscope_token', SITE_TOKEN]])));
    assert.equal(await c.ack(), ch);
    c.close();
    await waitFor('the token record', () => storedSources(h.es).some((d) => d.log === 'fb token'));
    const doc = storedSources(h.es).find((d) => d.log === 'fb token') as Record<string, unknown>;
    assert.deepEqual([doc.tenant, doc.site], ['acme', 'ce-0001'], "the token's identity, not the listener's");

    const bad = await SpecClient.open(h.forward.port);
    const be = [fbEntry('00000011', 'fb bad token')];
    bad.send(hex('93', str('app'), arrayHeader(1), ...be, options(fbChunk(Buffer.concat(be)), 1, [['fleetscope_token', 'not-a-site-token']])));
    await waitFor('closed', () => bad.ended);
    assert.equal(await bad.next(100), undefined, 'no ack');

    const ping = await SpecClient.open(h.forward.port);
    ping.send(hex('96', str('PING'), str('client'), 'c4 10', Buffer.alloc(16), str('00'), str(''), str('')));
    const pong = (await ping.next()) as unknown[];
    assert.deepEqual(pong.slice(0, 2), ['PONG', false]);
    await waitFor('closed', () => ping.ended);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(storedSources(h.es).some((d) => d.log === 'fb bad token'), false);
    const metrics = await (await fetch(`${h.collector.url}/metrics`)).text();
    assert.match(metrics, /fleetscope_collector_logs_forward_errors_total\{reason="auth"\} 2/);
  });
});

describe('the agent without a shared key', () => {
  test('ships to a listener without shared keys, its token in every frame', async () => {
    const h = await startLogsHarness({}, { forward: { listen: '127.0.0.1:0', shared_keys: [], identity: { tenant: 'globex', site: 'ce-0100' } } });
    const dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-nokey-'));
    try {
      await mkdir(join(dir, 'in'));
      await writeFile(join(dir, 'in', 'a.log'), 'agent no key 1\nagent no key 2\n');
      const shipper = await startLogShipper(agentLogsConfigSchema.parse({
        inputs: [{ paths: [join(dir, 'in', '*.log')] }],
        positions_file: join(dir, 'positions.json'),
        spool: { dir: join(dir, 'spool') },
        output: { forward: { host: '127.0.0.1', port: h.forward.port, token: SITE_TOKEN, ack_timeout: '5s' } },
        poll_interval: '50ms',
      }), { logger: pino({ level: 'silent' }) });
      try {
        await waitFor('both lines', () => storedSources(h.es).filter((d) => String(d.message).startsWith('agent no key')).length === 2);
        assert.ok(storedSources(h.es).every((d) => d.tenant === 'acme' && d.site === 'ce-0001'), "the token's identity, not the listener's");
      } finally {
        await shipper.stop();
      }
    } finally {
      await h.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('forward listener without shared keys and without an identity', () => {
  test('a frame without fleetscope_token is refused: the sender is unknown', async () => {
    const h = await startLogsHarness({}, { forward: { listen: '127.0.0.1:0', shared_keys: [] } });
    try {
      const c = await SpecClient.open(h.forward.port);
      c.send(forwardNoOptions('app', [fbEntry('00000001', 'anonymous')]));
      await waitFor('closed', () => c.ended);
      const ok = await SpecClient.open(h.forward.port);
      const e = [fbEntry('00000002', 'named')];
      const ch = fbChunk(Buffer.concat(e));
      ok.send(hex('93', str('app'), arrayHeader(1), ...e, options(ch, 1, [['fleetscope_token', SITE_TOKEN]])));
      assert.equal(await ok.ack(), ch);
      ok.close();
      await waitFor('the named record', () => storedSources(h.es).some((d) => d.log === 'named'));
      assert.equal(storedSources(h.es).some((d) => d.log === 'anonymous'), false);
    } finally {
      await h.stop();
    }
  });
});
