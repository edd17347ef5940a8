// Crash and outage: the Elasticsearch stand-in is down while forward
// clients stream acknowledged frames into a collector process
// (`bin/fleetscope.js collector`), which is SIGKILLed mid-stream, so what it
// acknowledged exists only in its durable log buffer. Then both come back:
// every acknowledged record arrives, and exactly once (one document per
// record, by its deterministic id); the frames that were in flight
// unacknowledged are resent with their chunk ids, as Fluent Bit and Fluentd
// do, and are stored once too; and a line that is byte-identical in every
// frame (the same "connection reset" each time) is one document per frame,
// not one in all.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import yaml from 'js-yaml';
import { GLOBAL_KEY, NSEC, SEC, SITE2_TOKEN, SITE_TOKEN, SpecClient, chunk, hex, logsConfigDoc, str, waitFor } from './logs-harness.js';
import { startElasticsearchResponder } from './peers/elasticsearch-responder.js';
import { freePort } from './peers/prometheus.js';

const BIN = new URL('../../bin/fleetscope.js', import.meta.url).pathname;

async function startCollector(config: string, port: number): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [BIN, 'collector', '--config', config, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/-/ready`)).ok) return proc;
    } catch {
      // starting
    }
    if (proc.exitCode !== null) throw new Error(`collector exited with ${proc.exitCode}`);
    if (Date.now() > deadline) throw new Error('collector not ready in 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const PER_FRAME = 20;
/** Sender 2 is a site of a tenant without rules, so its entries take the fast lane (entry-json.ts); 0 and 1 the generic path. */
const tokenOf = (sender: number): string => (sender === 2 ? SITE2_TOKEN : SITE_TOKEN);
const SAME = 'connection reset by peer';
const frame = (sender: number, n: number): Buffer => {
  const entries: Buffer[] = [];
  for (let i = 0; i < PER_FRAME; i++) entries.push(hex('92', `d7 00 ${SEC} ${NSEC}`, '81', str('message'), str(`s${sender} f${n} r${i}`)));
  entries.push(hex('92', `d7 00 ${SEC} ${NSEC}`, '81', str('message'), str(SAME)));
  return hex('93', str('crash'), 'dc', Buffer.from([0, PER_FRAME + 1]), ...entries, '81', str('chunk'), str(chunk(`${sender}-${n}`)));
};

test('SIGKILL of the collector during an Elasticsearch outage loses no acknowledged record, and duplicates none', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-logs-crash-'));
  const es = await startElasticsearchResponder();
  await es.pause(); // down from the start: every acknowledged record lives only in the buffer
  const httpPort = await freePort();
  const fwdPort = await freePort();
  const doc = logsConfigDoc(dir, es.url);
  ((doc.logs as Record<string, unknown>).forward as Record<string, unknown>).listen = `127.0.0.1:${fwdPort}`;
  const config = join(dir, 'collector.yml');
  await writeFile(config, yaml.dump(doc));
  let collector: ChildProcess | undefined;
  try {
    collector = await startCollector(config, httpPort);
    const running = collector;
    const acked: string[] = [];
    /** Per sender: frames sent (0..n-1), and those in flight unacknowledged when the collector died. */
    const sent: { n: number; inflight: Map<string, number> }[] = [];
    const sender = async (s: number): Promise<void> => {
      let n = 0;
      const inflight = new Map<string, number>();
      sent[s] = { n: 0, inflight };
      let c: SpecClient;
      try {
        c = await SpecClient.open(fwdPort);
        await c.handshake(GLOBAL_KEY, tokenOf(s), tokenOf(s));
      } catch {
        return;
      }
      // Up to 4 frames in flight per connection; an ack names the frame it confirms.
      const fill = (): void => {
        while (inflight.size < 4) {
          inflight.set(chunk(`${s}-${n}`), n);
          c.send(frame(s, n++));
          (sent[s] as { n: number }).n = n;
        }
      };
      fill();
      for (;;) {
        let a: string;
        try {
          a = await c.ack();
        } catch {
          return; // the collector is gone
        }
        const f = inflight.get(a) as number;
        inflight.delete(a);
        for (let i = 0; i < PER_FRAME; i++) acked.push(`s${s} f${f} r${i}`);
        if (acked.length >= 300 * PER_FRAME && running.exitCode === null && !running.killed) running.kill('SIGKILL');
        fill();
      }
    };
    await Promise.all([sender(0), sender(1), sender(2)]);
    assert.ok(acked.length >= 300 * PER_FRAME, `only ${acked.length} records acknowledged`);
    if (running.exitCode === null && running.signalCode === null) await new Promise((r) => running.once('exit', r));
    assert.equal(running.signalCode, 'SIGKILL');

    collector = await startCollector(config, httpPort);
    // The senders resend what they saw no ack for, under the same chunk ids (some of it was durable before the kill).
    let resent = 0;
    for (const [s, st] of sent.entries()) {
      if (st.inflight.size === 0) continue;
      const c = await SpecClient.open(fwdPort);
      await c.handshake(GLOBAL_KEY, tokenOf(s), tokenOf(s));
      for (const f of st.inflight.values()) c.send(frame(s, f));
      const want = new Set(st.inflight.keys());
      while (want.size > 0) want.delete(await c.ack());
      resent += st.inflight.size;
      c.close();
    }
    assert.ok(resent > 0, 'some frames were in flight at the kill');
    await new Promise((r) => setTimeout(r, 1000)); // still down a while after the restart
    await es.resume();
    const want = new Set(acked);
    const frames = sent.reduce((n, st) => n + st.n, 0);
    for (const [s, st] of sent.entries()) for (let f = 0; f < st.n; f++) for (let i = 0; i < PER_FRAME; i++) want.add(`s${s} f${f} r${i}`);
    const messages = (): string[] => [...es.docs.values()].map((d) => d.source.message as string);
    try {
      await waitFor('every acknowledged record', () => {
        const have = new Set(messages());
        return [...want].every((m) => have.has(m)) && messages().filter((m) => m === SAME).length >= frames;
      }, 60_000);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      const stored = messages();
      const missing = [...want].filter((m) => !stored.includes(m));
      assert.deepEqual(missing.slice(0, 5), [], `${missing.length} of ${want.size} acknowledged or resent records never arrived`);
      const distinct = stored.filter((m) => m !== SAME);
      assert.equal(new Set(distinct).size, distinct.length, 'no record stored as two documents');
      assert.equal(distinct.length, want.size, 'nothing stored that was not sent');
      assert.equal(stored.length - distinct.length, frames, 'the line identical in every frame: one document per frame');
      assert.ok([...es.docs.values()].some((d) => d.source.tenant === 'globex') && [...es.docs.values()].some((d) => d.source.tenant === 'acme'), 'both paths (fast lane and generic) went through the crash');
    }
  } finally {
    collector?.kill('SIGKILL');
    await es.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
