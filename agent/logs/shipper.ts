// The agent's log shipper: tail → batch → spool (fsync) → positions saved
// → send in order → commit the spool on the collector's acknowledgement.
// While the region is unreachable batches wait in the spool (bounded,
// drops counted) and the tailer keeps reading; when it comes back they go
// out oldest first, the spool committed strictly in order. A restart resumes from the positions file and the spool.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AgentLogsConfig } from './config.js';
import { EntryWriter, readSpooledBatch } from './entry.js';
import { ForwardClient } from './forward-client.js';
import { HttpLinesClient, type ShipDrops } from './http-client.js';
import { loadPositions, savePositions } from './positions.js';
import { Spool, type SpoolPosition } from './spool.js';
import { FileTailer } from './tailer.js';

export interface LogShipperDeps {
  readonly logger: Logger;
  /** Registers fleetscope_agent_logs_* metrics here when given. */
  readonly registry?: Registry;
}

export interface LogShipperStats {
  linesRead: number;
  recordsSpooled: number;
  recordsSent: number;
  batchesSent: number;
  sendFailures: number;
  spoolDroppedBatches: number;
  spoolPendingBatches: number;
  /** Records the collector refused for good (dropped from their batch), since start. */
  recordsRefused: number;
}

export interface LogShipper {
  readonly stats: Readonly<LogShipperStats>;
  /** Stops reading and sending; the spool and positions keep the rest for the next start. */
  stop(): Promise<void>;
}

interface Sender {
  /** `batchId`: this batch's id, the same on every resend (the collector's document ids follow it). */
  send(tag: string, count: number, entries: Buffer, batchId: string): Promise<ShipDrops | void>;
  close(): void;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });

/** What a shipper registers; removed again when it stops. */
const METRIC_NAMES = {
  sent: 'fleetscope_agent_logs_records_sent_total',
  read: 'fleetscope_agent_logs_records_read_total',
  failures: 'fleetscope_agent_logs_send_failures_total',
  pending: 'fleetscope_agent_logs_spool_pending_batches',
  dropped: 'fleetscope_agent_logs_spool_dropped_batches',
  refused: 'fleetscope_agent_logs_dropped_total',
} as const;

/**
 * A spooled batch's id: the same each time the batch is sent (a restart
 * included, the spool being durable), different for every other batch
 * (its place in the spool, and its bytes in case the spool was recreated).
 * 16 bytes in Base64, the form of forward's `chunk`.
 */
export function batchIdOf(pos: SpoolPosition, payload: Buffer): string {
  return createHash('sha256').update(`${pos.segment}:${pos.offset}\0`).update(payload).digest().subarray(0, 16).toString('base64');
}

export async function startLogShipper(config: AgentLogsConfig, deps: LogShipperDeps): Promise<LogShipper> {
  const log = deps.logger.child({ part: 'logs' });
  const stats: LogShipperStats = { linesRead: 0, recordsSpooled: 0, recordsSent: 0, batchesSent: 0, sendFailures: 0, spoolDroppedBatches: 0, spoolPendingBatches: 0, recordsRefused: 0 };
  const reg = deps.registry ? [deps.registry] : [];
  const mSent = new Counter({ name: METRIC_NAMES.sent, help: 'Log records the collector acknowledged.', registers: reg });
  const mRead = new Counter({ name: METRIC_NAMES.read, help: 'Log records read from files (after multiline joining).', registers: reg });
  const mFail = new Counter({ name: METRIC_NAMES.failures, help: 'Failed sends (retried), by reason.', labelNames: ['reason'], registers: reg });
  const mPending = new Gauge({ name: METRIC_NAMES.pending, help: 'Batches in the spool not yet acknowledged.', registers: reg });
  const mDropped = new Gauge({ name: METRIC_NAMES.dropped, help: 'Batches dropped because the spool was full, since start.', registers: reg });
  const mRefused = new Counter({ name: METRIC_NAMES.refused, help: 'Records the collector refused for good (413 too_large, 400 rejected), dropped so the spool moves on, by reason.', labelNames: ['reason'], registers: reg });
  let lastRefusedLog = 0;
  let refusedSinceLog = 0;

  const positions = await loadPositions(config.positions_file);
  const spool = await Spool.open(config.spool.dir, config.spool.max_bytes);
  const writers = config.inputs.map(() => new EntryWriter());
  const fields = config.inputs.map((i) => Object.entries(i.fields));
  let sec = 0;
  let nsec = 0;
  const tailer = new FileTailer(config.inputs, positions, (input, path, offset, text) => {
    (writers[input] as EntryWriter).add(sec, nsec, text, path, offset, fields[input] as [string, string][]);
    stats.linesRead++;
  }, (input, path, offset, src, start, end) => {
    (writers[input] as EntryWriter).addRaw(sec, nsec, src, start, end, path, offset, fields[input] as [string, string][]);
    stats.linesRead++;
  }, Math.min(config.batch_max_bytes, 4 * 1024 * 1024));
  const sender: Sender = 'forward' in config.output ? new ForwardClient(config.output.forward) : new HttpLinesClient(config.output.http);
  const stopping = new AbortController();
  const signal = stopping.signal;
  let wakeSender: (() => void) | null = null;

  const spoolWriters = async (): Promise<void> => {
    let n = 0;
    for (let i = 0; i < writers.length; i++) {
      const w = writers[i] as EntryWriter;
      if (w.count === 0) continue;
      const count = w.count;
      await spool.append(w.take(config.inputs[i]?.tag as string));
      n += count;
    }
    // Positions only after the lines are durable in the spool.
    if (n > 0) {
      stats.recordsSpooled += n;
      mRead.inc(n);
      wakeSender?.();
    }
    await savePositions(config.positions_file, tailer.snapshot());
  };

  const readLoop = async (): Promise<void> => {
    let lastDiscover = 0;
    while (!signal.aborted) {
      try {
        const now = Date.now();
        if (now - lastDiscover >= config.poll_interval) {
          await tailer.discover();
          lastDiscover = now;
        }
        sec = Math.floor(now / 1000);
        nsec = (now % 1000) * 1e6;
        const got = await tailer.read(config.batch_max_bytes, now);
        await spoolWriters();
        if (got === 0) await sleep(config.poll_interval, signal);
      } catch (err) {
        log.error({ err }, 'log tailer: error; retrying');
        await sleep(1000, signal);
      }
    }
  };

  // Forward keeps up to 4 frames in flight on its one connection (taken in order);
  // HTTP sends one at a time, since concurrent requests may be taken out of order.
  const window = 'forward' in config.output ? 4 : 1;
  const sendLoop = async (): Promise<void> => {
    let failures = 0;
    const inflight: { next: SpoolPosition; count: number; done: Promise<ShipDrops | Error | undefined> }[] = [];
    let from: SpoolPosition | undefined;
    while (!signal.aborted) {
      stats.spoolPendingBatches = spool.pending;
      stats.spoolDroppedBatches = spool.dropped;
      mPending.set(spool.pending);
      mDropped.set(spool.dropped);
      while (inflight.length < window) {
        const next = await spool.peek(from);
        if (!next) break;
        const batch = readSpooledBatch(next.payload);
        const done = sender.send(batch.tag, batch.count, batch.entries, batchIdOf(next.next, next.payload)).then((drops) => drops ?? undefined, (err: unknown) => (err instanceof Error ? err : new Error(String(err))));
        inflight.push({ next: next.next, count: batch.count, done });
        from = next.next;
      }
      const head = inflight[0];
      if (!head) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1000);
          wakeSender = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wakeSender = null;
        continue;
      }
      const err = await head.done;
      if (err instanceof Error) {
        // Everything in flight is sent again from the last acknowledged batch (the collector's ids make a resend harmless).
        await Promise.all(inflight.map((f) => f.done));
        inflight.length = 0;
        from = undefined;
        sender.close();
        failures++;
        stats.sendFailures++;
        mFail.inc({ reason: 'send' });
        if (failures === 1 || failures % 20 === 0) log.warn({ err: err.message, failures }, 'log shipping failed; the batch stays spooled, retrying');
        const cap = Math.min(config.max_backoff, config.min_backoff * 2 ** Math.min(failures, 20));
        await sleep(Math.max(config.min_backoff, Math.floor(cap * Math.random())), signal);
        continue;
      }
      failures = 0;
      inflight.shift();
      await spool.commit(head.next);
      let refused = 0;
      if (err instanceof Map) {
        for (const [reason, n] of err) {
          mRefused.inc({ reason }, n);
          refused += n;
        }
        if (refused > 0) {
          stats.recordsRefused += refused;
          refusedSinceLog += refused;
          const now = Date.now();
          if (now - lastRefusedLog >= 10_000) {
            log.warn({ refused: refusedSinceLog, reasons: Object.fromEntries(err) }, 'the collector refused records for good; they were dropped so the spool moves on');
            lastRefusedLog = now;
            refusedSinceLog = 0;
          }
        }
      }
      stats.recordsSent += head.count - refused;
      stats.batchesSent++;
      mSent.inc(head.count - refused);
    }
  };

  const reading = readLoop();
  const sending = sendLoop();
  return {
    stats,
    async stop() {
      stopping.abort();
      wakeSender?.();
      await reading;
      sender.close();
      await sending.catch(() => undefined);
      await tailer.close();
      await spool.close();
      // What it registered goes with it, so a shipper started afresh on the same registry (a new site token) can register again.
      for (const name of Object.values(METRIC_NAMES)) deps.registry?.removeSingleMetric(name);
    },
  };
}
