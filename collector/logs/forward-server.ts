// The Fluent forward server: TCP (or TLS), one connection per sender. A
// frame is read whole (FrameScanner, bounded), decoded, run through the
// pipeline and made durable before its `chunk` is answered with
// {"ack": chunk}. Frames of one connection are made durable concurrently (up
// to max_inflight_frames, then the socket pauses: backpressure). On a bad
// frame: the error is logged, nothing of that frame is taken, the acks of
// frames before it are still sent once durable, then the connection closes.
import { readFileSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Encoder } from '@msgpack/msgpack';
import type { Logger } from 'pino';
import type { ForwardConfig } from './config.js';
import { LogsError } from './errors.js';
import { ForwardDecoder } from './forward-decode.js';
import { type Handshake, checkPing, newHandshake } from './forward-auth.js';
import type { LogIngest } from './ingest.js';
import type { LogsMetrics } from './metrics.js';
import { FrameMalformed, FrameScanner, FrameTooLarge } from './msgpack-frame.js';
import { type Authenticate, LOG_DROP_NON_LOG_SIGNAL, type LogBatch, type LogIdentity } from './pipeline.js';

const encoder = new Encoder();

/** A frame whose sender cannot be identified (no handshake mode). */
class ForwardAuthFailed extends Error {}

export class ForwardServer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly cfg: ForwardConfig,
    private readonly ingest: LogIngest,
    private readonly authenticate: () => Authenticate,
    private readonly metrics: LogsMetrics,
    private readonly log: Logger,
  ) {}

  /** Listens; resolves with the bound address (host:port). */
  async start(listenOverride?: string): Promise<string> {
    const listen = listenOverride ?? this.cfg.listen;
    const sep = listen.lastIndexOf(':');
    const onConn = (s: Socket): void => this.connection(s);
    const tls = this.cfg.tls;
    this.server = tls
      ? createTlsServer({ cert: readFileSync(tls.cert_file), key: readFileSync(tls.key_file), ...(tls.ca_file ? { ca: readFileSync(tls.ca_file) } : {}) }, onConn)
      : createServer(onConn);
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: listen.slice(0, sep) || '0.0.0.0', port: Number(listen.slice(sep + 1)) }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address() as AddressInfo;
    return `${a.address}:${a.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.end();
    const t = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, 2000);
    await closed;
    clearTimeout(t);
    this.server = null;
  }

  private connection(socket: Socket): void {
    if (this.sockets.size >= this.cfg.max_connections) {
      this.metrics.forwardErrors.inc({ reason: 'too_many_connections' });
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    this.metrics.forwardConnections.inc();
    const cfg = this.cfg;
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const decoder = new ForwardDecoder({ maxEntries: cfg.max_entries_per_frame, maxDecompressedBytes: cfg.max_decompressed_bytes, maxFrameBytes: cfg.max_frame_bytes });
    const scanner = new FrameScanner(cfg.max_frame_bytes, cfg.max_entries_per_frame * 64);
    const hs: Handshake = newHandshake();
    let identity: LogIdentity | null = null;
    let buf = Buffer.allocUnsafe(64 * 1024);
    let start = 0;
    let end = 0;
    let inflight = 0;
    let closing = false;
    socket.setTimeout(cfg.idle_timeout);
    socket.on('timeout', () => socket.destroy());
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.metrics.forwardConnections.dec();
    });
    // The spec's handshake only when this server has shared keys: a client without one sends events at once and reads only acks.
    if (cfg.shared_keys.length > 0) socket.write(hs.helo);

    const finish = (): void => {
      if (closing && inflight === 0) socket.end();
    };
    const fail = (reason: string, message: string): void => {
      this.metrics.forwardErrors.inc({ reason });
      this.log.error({ remote, tenant: identity?.tenant, site: identity?.site, reason }, `forward connection closed: ${message}`);
      closing = true;
      socket.pause();
      finish();
    };

    // Without shared keys there is no handshake: each frame names its sender (fleetscope_token option) or the listener's identity does.
    const handshake = cfg.shared_keys.length > 0;
    let lastToken = '';
    let lastTokenIdentity: LogIdentity | null = null;
    const frameIdentity = (options: Readonly<Record<string, unknown>>): LogIdentity => {
      if (identity) return identity;
      if (handshake) throw new FrameMalformed('events before the handshake (expected PING)');
      const token = options.fleetscope_token;
      if (typeof token === 'string' && token !== '') {
        if (token !== lastToken) {
          lastTokenIdentity = this.authenticate()(token) ?? null;
          lastToken = token;
        }
        if (!lastTokenIdentity) throw new ForwardAuthFailed('the fleetscope_token option is not a valid site token');
        return lastTokenIdentity;
      }
      if (token !== undefined) throw new ForwardAuthFailed('the fleetscope_token option is not a string');
      if (cfg.identity) return cfg.identity;
      throw new ForwardAuthFailed('no shared_key handshake, no fleetscope_token option and no forward.identity: the sender is unknown');
    };

    const handle = (frame: Buffer): void => {
      let batch: LogBatch | null = null;
      const f = decoder.frame(frame, (t, record, tag) => {
        if (!batch) return;
        // The tag under `tag`, as Fluentd's include_tag_key names it, unless the record has its own.
        if (!('tag' in record)) record.tag = tag;
        if (t.metadata !== undefined) record.fluent_metadata = t.metadata;
        this.ingest.pipeline.add(batch, record, t.ms, t.iso, undefined);
      }, (chunk, options) => {
        // One allocation for the bulk body: about the frame's size plus the action lines and enrichment.
        batch = this.ingest.begin(frameIdentity(options), 2 * frame.length + 4096);
        // A chunk is the sender's id of this frame, repeated when it resends it: the records' ids follow it.
        if (chunk !== undefined) this.ingest.pipeline.keyBatch(batch, { kind: 'request', key: chunk });
      }, (tag) => (batch ? this.ingest.pipeline.entryWriter(batch, tag) : null));
      if (f.kind === 'heartbeat') return;
      if (f.kind === 'ping') {
        if (identity) throw new FrameMalformed('PING after the handshake');
        if (!handshake) {
          socket.write(encoder.encode(['PONG', false, 'this server takes no shared_key handshake', cfg.server_hostname, '']));
          throw new ForwardAuthFailed('PING to a server without shared_keys');
        }
        const outcome = checkPing(cfg, hs, f, this.authenticate());
        socket.write(outcome.pong);
        if (!outcome.ok) {
          this.metrics.requests.inc({ input: 'forward', code: '401' });
          fail('auth', new LogsError('FS_COLLECTOR_LOGS_FORWARD_AUTH', [outcome.reason]).message);
          return;
        }
        identity = outcome.identity;
        return;
      }
      if (!batch) throw new FrameMalformed('an event frame without its sender');
      const taken: LogBatch = batch;
      if (f.signal !== 0) taken.drop(LOG_DROP_NON_LOG_SIGNAL, f.entries);
      inflight++;
      if (inflight >= cfg.max_inflight_frames) socket.pause();
      this.ingest.commit(taken, 'forward').then(
        () => {
          this.metrics.requests.inc({ input: 'forward', code: 'ok' });
          if (f.chunk !== undefined && !socket.destroyed) socket.write(encoder.encode({ ack: f.chunk }));
        },
        (err: unknown) => {
          // Not durable, not acknowledged: the sender resends the chunk on another connection.
          this.metrics.requests.inc({ input: 'forward', code: '503' });
          fail('buffer', (err as Error).message);
        },
      ).finally(() => {
        inflight--;
        if (!closing && inflight < cfg.max_inflight_frames) socket.resume();
        finish();
      });
    };

    socket.on('data', (chunk: Buffer) => {
      if (closing) return;
      if (end + chunk.length > buf.length) {
        // Compact, then grow if still short.
        const live = end - start;
        const need = live + chunk.length;
        const next = need > buf.length ? Buffer.allocUnsafe(Math.max(need, buf.length * 2)) : buf;
        buf.copy(next, 0, start, end);
        buf = next;
        start = 0;
        end = live;
      }
      chunk.copy(buf, end);
      end += chunk.length;
      try {
        while (!closing && start < end) {
          const view = buf.subarray(start, end);
          const n = scanner.scan(view, view.length);
          if (n < 0) break;
          scanner.reset();
          const frame = view.subarray(0, n);
          start += n;
          handle(frame);
        }
      } catch (err) {
        if (err instanceof ForwardAuthFailed) {
          this.metrics.requests.inc({ input: 'forward', code: '401' });
          fail('auth', new LogsError('FS_COLLECTOR_LOGS_FORWARD_AUTH', [err.message]).message);
        } else if (err instanceof FrameTooLarge) {
          this.metrics.requests.inc({ input: 'forward', code: '413' });
          fail('limit', new LogsError('FS_COLLECTOR_LOGS_FORWARD_LIMIT', [err.message]).message);
        } else if (err instanceof FrameMalformed) {
          this.metrics.requests.inc({ input: 'forward', code: '400' });
          fail('malformed', new LogsError('FS_COLLECTOR_LOGS_FORWARD_FRAME', [err.message]).message);
        } else {
          // Never let one sender's input take the process down: close its connection, keep the rest.
          this.metrics.requests.inc({ input: 'forward', code: '500' });
          fail('internal', `frame could not be processed: ${(err as Error).message}`);
        }
      }
      if (start === end) {
        start = 0;
        end = 0;
      }
    });
  }
}
