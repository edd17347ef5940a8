// The forward server against a client that speaks the Forward Protocol
// Specification v1 byte for byte: every frame below is written out in hex
// as the spec and the msgpack spec lay it out (no msgpack encoder builds
// them), for each carrier mode, both time forms and Fluent Bit 2+'s
// [[time, metadata], record] entries; the handshake's digests are computed
// as the spec defines them. Records must arrive in the Elasticsearch
// stand-in (test/peers/elasticsearch-responder.ts) with identity,
// enrichment, filters and redaction applied; every chunk is acked.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BOUND_KEY, GLOBAL_KEY, type LogsHarness, NSEC, SEC, SITE2_TOKEN, SITE_TOKEN, SpecClient, chunk, hex, startLogsHarness, storedSources, str, waitFor } from './logs-harness.js';

const rec = (message: string): Buffer => hex('81', str('message'), str(message));
const eventTime = (nsec = NSEC): string => `d7 00 ${SEC} ${nsec}`;

describe('forward protocol server', () => {
  let h: LogsHarness;
  before(async () => {
    h = await startLogsHarness();
  });
  after(async () => {
    await h.stop();
  });

  test('every carrier mode, both time forms and Fluent Bit 2 entries arrive, with acks', async () => {
    const c = await SpecClient.open(h.forward.port);
    const pong = await c.handshake(GLOBAL_KEY, SITE_TOKEN, SITE_TOKEN);
    assert.deepEqual(pong.slice(0, 3), ['PONG', true, '']);

    // Message mode, integer time, no option: no answer expected.
    c.send(hex('93', str('tag.a'), 'ce 55ece6f8', rec('A')));
    // Heartbeat: nil between frames.
    c.send(hex('c0'));
    // Message mode, EventTime (fixext8), chunk option.
    c.send(hex('94', str('tag.a'), eventTime(), rec('B'), '81', str('chunk'), str(chunk('B'))));
    assert.equal(await c.ack(), chunk('B'));
    // Forward mode: EventTime as ext8 (c7 08 00) and an integer time.
    c.send(hex('93', str('tag.b'), '92', '92', `c7 08 00 ${SEC} ${NSEC}`, rec('C1'), '92', 'ce 55ece6f8', rec('C2'), '81', str('chunk'), str(chunk('C'))));
    assert.equal(await c.ack(), chunk('C'));
    // PackedForward with bin8 entries, size option.
    const streamD = hex('92', eventTime(), rec('D1'), '92', eventTime('075bcd16'), rec('D2'));
    c.send(hex('93', str('tag.c'), Buffer.from([0xc4, streamD.length]), streamD, '82', str('size'), '02', str('chunk'), str(chunk('D'))));
    assert.equal(await c.ack(), chunk('D'));
    // PackedForward with str8 entries (what Fluentd's out_forward sends).
    const streamE = hex('92', eventTime(), rec('E1'));
    c.send(hex('93', str('tag.c'), Buffer.from([0xd9, streamE.length]), streamE, '81', str('chunk'), str(chunk('E'))));
    assert.equal(await c.ack(), chunk('E'));
    // CompressedPackedForward: two concatenated gzip members.
    const gz = Buffer.concat([gzipSync(hex('92', eventTime(), rec('F1'))), gzipSync(hex('92', eventTime(), rec('F2')))]);
    c.send(hex('93', str('tag.d'), Buffer.from([0xc4, gz.length]), gz, '83', str('compressed'), str('gzip'), str('size'), '02', str('chunk'), str(chunk('F'))));
    assert.equal(await c.ack(), chunk('F'));
    // Fluent Bit 2+: [[EventTime, metadata], record], options in a non-minimal map32 header with fluent_signal 0.
    c.send(hex('93', str('tag.e'), '92',
      '92', '92', eventTime(), '80', '82', str('log'), str('G1'), str('stream'), str('stdout'),
      '92', '92', eventTime(), '81', str('k'), str('v'), rec('G2'),
      'df 00000003', str('chunk'), str(chunk('G')), str('size'), '02', str('fluent_signal'), '00'));
    assert.equal(await c.ack(), chunk('G'));
    // fluent_signal 1 (metrics): acknowledged, not stored as logs.
    c.send(hex('93', str('tag.m'), '91', '92', eventTime(), rec('M'), '82', str('chunk'), str(chunk('M')), str('fluent_signal'), '01'));
    assert.equal(await c.ack(), chunk('M'));
    // Pipeline: a spoofed identity, a debug record (dropped), a namespace drop, redaction.
    c.send(hex('93', str('tag.p'), '94',
      '92', eventTime(), '83', str('message'), str('P1'), str('tenant'), str('evil'), str('site'), str('elsewhere'),
      '92', eventTime(), '82', str('message'), str('P2'), str('level'), str('debug'),
      '92', eventTime(), '82', str('message'), str('P3'), str('kubernetes'), hex('81', str('namespace'), str('kube-system')),
      '92', eventTime(), '83', str('message'), str('paid with 1234-5678-9012-3456'), str('password'), str('hunter2'), str('user'), hex('81', str('email'), str('a@b.c')),
      '81', str('chunk'), str(chunk('P'))));
    assert.equal(await c.ack(), chunk('P'));
    c.close();

    const want = ['A', 'B', 'C1', 'C2', 'D1', 'D2', 'E1', 'F1', 'F2', 'G2', 'P1', 'paid with [CARD]'];
    await waitFor('records in Elasticsearch', () => storedSources(h.es).length >= want.length + 1);
    const docs = storedSources(h.es);
    const byMsg = new Map(docs.map((d) => [(d.message ?? d.log) as string, d]));
    for (const m of [...want, 'G1']) assert.ok(byMsg.has(m), `record ${m} stored; have ${[...byMsg.keys()].join(',')}`);
    assert.equal(docs.length, want.length + 1, 'nothing else stored (debug, kube-*, metrics dropped)');
    for (const d of docs) {
      assert.equal(d.tenant, 'acme');
      assert.equal(d.site, 'ce-0001');
      assert.equal(d.re, 'eu-west-1');
    }
    assert.equal(byMsg.get('A')?.['@timestamp'], '2015-09-07T01:23:04.000000000Z');
    assert.equal(byMsg.get('B')?.['@timestamp'], '2025-12-01T08:00:00.123456789Z');
    assert.equal(byMsg.get('D2')?.['@timestamp'], '2025-12-01T08:00:00.123456790Z');
    assert.equal(byMsg.get('B')?.tag, 'tag.a');
    assert.deepEqual(byMsg.get('G2')?.fluent_metadata, { k: 'v' });
    assert.equal(byMsg.get('G1')?.stream, 'stdout');
    const paid = byMsg.get('paid with [CARD]') as Record<string, unknown>;
    assert.equal(paid.password, '[REDACTED]');
    assert.deepEqual(paid.user, { email: '[REDACTED]' });
    const indices = new Set([...h.es.docs.values()].map((d) => d.index));
    assert.deepEqual([...indices].sort(), ['fleetscope-logs-2015.09.07', 'fleetscope-logs-2025.12.01']);
    const metrics = await (await fetch(`${h.collector.url}/metrics`)).text();
    assert.match(metrics, /fleetscope_collector_logs_dropped_total\{tenant="acme",site="ce-0001",reason="filter"\} 2/);
    assert.match(metrics, /fleetscope_collector_logs_dropped_total\{tenant="acme",site="ce-0001",reason="non_log_signal"\} 1/);
  });

  test('a tenant without rules (the fast lane: entries written straight as JSON) stores the same documents', async () => {
    const c = await SpecClient.open(h.forward.port);
    await c.handshake(GLOBAL_KEY, SITE2_TOKEN, SITE2_TOKEN);
    const entries = [
      hex('92', eventTime(), '83', str('message'), str('fast "one"\né'), str('site'), str('spoofed'), str('n'), 'cd 0400'),
      hex('92', '92', eventTime(), '80', '82', str('log'), str('fast two'), str('tag'), str('own-tag')),
      hex('92', '92', eventTime(), '81', str('k'), str('v'), rec('fast three (metadata: the generic path)')),
    ];
    const stream = Buffer.concat(entries);
    c.send(hex('93', str('tag.fast'), 'c6', Buffer.from([0, 0, stream.length >> 8, stream.length & 255]), stream, '81', str('chunk'), str(chunk('FAST1'))));
    assert.equal(await c.ack(), chunk('FAST1'));
    c.send(hex('93', str('tag.fwd'), '93', ...entries, '81', str('chunk'), str(chunk('FAST2'))));
    assert.equal(await c.ack(), chunk('FAST2'));
    c.close();
    const mine = (): Record<string, unknown>[] => storedSources(h.es).filter((d) => d.tenant === 'globex');
    await waitFor('six documents', () => mine().length >= 6);
    const docs = mine();
    assert.equal(docs.length, 6);
    const one = docs.filter((d) => String(d.message).startsWith('fast "one"'));
    assert.equal(one.length, 2);
    for (const d of one) {
      assert.deepEqual({ ...d, tag: undefined }, { message: 'fast "one"\né', n: 1024, '@timestamp': '2025-12-01T08:00:00.123456789Z', tenant: 'globex', re: 'eu-west-1', site: 'ce-0100', tag: undefined });
    }
    assert.deepEqual(one.map((d) => d.tag).sort(), ['tag.fast', 'tag.fwd']);
    assert.deepEqual(docs.filter((d) => d.log === 'fast two').map((d) => d.tag), ['own-tag', 'own-tag']);
    assert.deepEqual(docs.filter((d) => d.message === 'fast three (metadata: the generic path)').map((d) => d.fluent_metadata), [{ k: 'v' }, { k: 'v' }]);
    assert.equal(new Set([...h.es.docs.values()].filter((d) => d.source.tenant === 'globex').map((d) => d.index)).size, 1);
  });

  test('the same line in two requests is two documents; a resent chunk is not a third', async () => {
    const c = await SpecClient.open(h.forward.port);
    await c.handshake(GLOBAL_KEY, SITE_TOKEN, SITE_TOKEN);
    // Byte-identical frames but for the chunk id (two events "connection reset" the same second), then the first chunk resent.
    const same = (ch: string): Buffer => hex('94', str('tag.r'), eventTime(), rec('connection reset'), '81', str('chunk'), str(chunk(ch)));
    c.send(same('R1'));
    assert.equal(await c.ack(), chunk('R1'));
    c.send(same('R2'));
    assert.equal(await c.ack(), chunk('R2'));
    c.send(same('R1'));
    assert.equal(await c.ack(), chunk('R1'));
    // Without a chunk (no ack asked for, so never resent): each frame is its own accept.
    c.send(hex('93', str('tag.r'), eventTime(), rec('no chunk, twice')));
    c.send(hex('93', str('tag.r'), eventTime(), rec('no chunk, twice')));
    // Two identical records in one frame stay two.
    c.send(hex('93', str('tag.r'), '92', '92', eventTime(), rec('twice in a frame'), '92', eventTime(), rec('twice in a frame'), '81', str('chunk'), str(chunk('R3'))));
    assert.equal(await c.ack(), chunk('R3'));
    c.close();
    const count = (m: string): number => storedSources(h.es).filter((d) => d.message === m).length;
    await waitFor('the records', () => count('connection reset') >= 2 && count('no chunk, twice') >= 2 && count('twice in a frame') >= 2);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(count('connection reset'), 2, 'two requests, two documents; the resend of R1 overwrote its own');
    assert.equal(count('no chunk, twice'), 2);
    assert.equal(count('twice in a frame'), 2);
  });

  test('a shared key bound to a site identifies it without a token; an unbound key without a token is refused', async () => {
    const c = await SpecClient.open(h.forward.port);
    assert.equal((await c.handshake(BOUND_KEY))[1], true);
    c.send(hex('94', str('tag.k'), eventTime(), rec('bound-key'), '81', str('chunk'), str(chunk('K'))));
    assert.equal(await c.ack(), chunk('K'));
    c.close();
    await waitFor('bound-key record', () => storedSources(h.es).some((d) => d.message === 'bound-key'));
    assert.equal(storedSources(h.es).find((d) => d.message === 'bound-key')?.site, 'ce-0002');

    const u = await SpecClient.open(h.forward.port);
    const refused = await u.handshake(GLOBAL_KEY);
    assert.equal(refused[1], false);
    assert.match(refused[2] as string, /names no site/);
    await waitFor('connection closed', () => u.ended);
  });

  test('a wrong shared key, a wrong password, or events before PING close the connection', async () => {
    const a = await SpecClient.open(h.forward.port);
    assert.deepEqual((await a.handshake('not-the-shared-key', SITE_TOKEN, SITE_TOKEN)).slice(1, 3), [false, 'shared_key mismatch']);
    await waitFor('closed', () => a.ended);
    const b = await SpecClient.open(h.forward.port);
    assert.equal((await b.handshake(GLOBAL_KEY, SITE_TOKEN, 'wrong'))[1], false);
    await waitFor('closed', () => b.ended);
    const c = await SpecClient.open(h.forward.port);
    await c.next(); // HELO
    c.send(hex('94', str('tag.x'), eventTime(), rec('early'), '81', str('chunk'), str(chunk('X'))));
    await waitFor('closed', () => c.ended);
    assert.equal(storedSources(h.es).some((d) => d.message === 'early'), false);
  });

  test('a malformed frame closes the connection; the frames acked before it are kept', async () => {
    const c = await SpecClient.open(h.forward.port);
    await c.handshake(GLOBAL_KEY, SITE_TOKEN, SITE_TOKEN);
    // A good frame, then one whose record position holds 0xc1 (never used in msgpack), in one write.
    c.send(Buffer.concat([
      hex('94', str('tag.g'), eventTime(), rec('before-bad'), '81', str('chunk'), str(chunk('GOOD'))),
      hex('93', str('tag.g'), eventTime(), 'c1'),
    ]));
    assert.equal(await c.ack(), chunk('GOOD'));
    await waitFor('closed', () => c.ended);
    await waitFor('the good record', () => storedSources(h.es).some((d) => d.message === 'before-bad'));
    // Entries of a bad frame are not taken even when the first ones were fine.
    const d = await SpecClient.open(h.forward.port);
    await d.handshake(GLOBAL_KEY, SITE_TOKEN, SITE_TOKEN);
    d.send(hex('93', str('tag.h'), '92', '92', eventTime(), rec('half-1'), '92', str('not-a-time'), rec('half-2'), '81', str('chunk'), str(chunk('HALF'))));
    await waitFor('closed', () => d.ended);
    assert.equal(await d.next(100), undefined, 'no ack for a refused frame');
    // A frame declaring more than max_frame_bytes (1 MiB here) is refused before it is buffered.
    const e = await SpecClient.open(h.forward.port);
    await e.handshake(GLOBAL_KEY, SITE_TOKEN, SITE_TOKEN);
    e.send(hex('93', str('tag.big'), 'c6 04000000'));
    await waitFor('closed', () => e.ended);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(storedSources(h.es).some((x) => x.message === 'half-1'), false);
    const metrics = await (await fetch(`${h.collector.url}/metrics`)).text();
    assert.match(metrics, /fleetscope_collector_logs_forward_errors_total\{reason="malformed"\} [2-9]/);
    assert.match(metrics, /fleetscope_collector_logs_forward_errors_total\{reason="limit"\} 1/);
  });
});
