// A forward protocol client (spec v1): the HELO/PING/PONG handshake with
// the shared key (and the site token as username and password), then
// PackedForward frames (CompressedPackedForward with gzip) carrying a
// `chunk` id, each confirmed by the server's {"ack": chunk}. Several frames
// may be in flight on the one connection; the server takes them in order.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Socket, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { decodeMultiStream, encode } from '@msgpack/msgpack';
import type { ForwardOutput } from './config.js';

const sha512Hex = (...parts: (string | Uint8Array)[]): string => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

export class ForwardClient {
  private socket: Socket | null = null;
  private inbox: unknown[] = [];
  private waiter: (() => void) | null = null;
  private closed = true;

  constructor(private readonly cfg: ForwardOutput) {}

  private async connect(): Promise<void> {
    try {
      await this.open();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  private async open(): Promise<void> {
    const cfg = this.cfg;
    const s = cfg.tls
      ? tlsConnect({
        host: cfg.host,
        port: cfg.port,
        servername: cfg.host,
        ...(cfg.ca_file ? { ca: readFileSync(cfg.ca_file) } : {}),
        ...(cfg.cert_file && cfg.key_file ? { cert: readFileSync(cfg.cert_file), key: readFileSync(cfg.key_file) } : {}),
      })
      : netConnect({ host: cfg.host, port: cfg.port });
    await new Promise<void>((resolve, reject) => {
      s.once(cfg.tls ? 'secureConnect' : 'connect', () => resolve());
      s.once('error', reject);
    });
    s.on('error', () => undefined);
    s.setNoDelay(true);
    this.socket = s;
    this.closed = false;
    this.inbox = [];
    void (async () => {
      try {
        for await (const m of decodeMultiStream(s)) {
          if (this.socket !== s) break; // a connection we already gave up
          this.inbox.push(m);
          this.waiter?.();
        }
      } catch {
        // the connection broke
      }
      if (this.socket === s) {
        this.closed = true;
        this.waiter?.();
      }
    })();
    // No shared key: no handshake (the collector's listener without shared_keys sends no HELO); frames carry the token instead.
    if (cfg.shared_key === undefined) return;
    const sharedKey = cfg.shared_key;
    const helo = (await this.next(cfg.ack_timeout)) as [string, { nonce?: Uint8Array | string; auth?: Uint8Array | string }];
    if (!Array.isArray(helo) || helo[0] !== 'HELO') throw new Error('the server sent no HELO: is shared_key set on it?');
    const nonce = helo[1].nonce ?? '';
    const authSalt = helo[1].auth ?? '';
    const salt = randomBytes(16);
    const user = cfg.token ?? '';
    const password = user === '' ? '' : sha512Hex(authSalt, user, user);
    s.write(encode(['PING', cfg.hostname, salt, sha512Hex(salt, cfg.hostname, nonce, sharedKey), user, password]));
    const pong = (await this.next(cfg.ack_timeout)) as [string, boolean, string, string, string];
    if (!Array.isArray(pong) || pong[0] !== 'PONG') throw new Error('no PONG after PING');
    if (pong[1] !== true) throw new Error(`the server refused the handshake: ${pong[2]}`);
    if (pong[4] !== sha512Hex(salt, pong[3], nonce, sharedKey)) throw new Error('the server does not know the shared key (PONG digest mismatch)');
  }

  private async next(timeoutMs: number): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (this.closed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no answer in ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
      this.waiter = null;
    }
    return this.inbox.shift();
  }

  /** Frames sent and not yet acknowledged, by chunk id. */
  private readonly acks = new Map<string, { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readerDone: Promise<void> = Promise.resolve();
  private connecting: Promise<void> | null = null;

  /** After the handshake, acks are matched to their frames by chunk id (one reader per connection). */
  private startAckReader(): void {
    this.readerDone = (async () => {
      try {
        while (!this.closed) {
          const m = (await this.next(24 * 3600_000)) as { ack?: unknown };
          const w = typeof m?.ack === 'string' ? this.acks.get(m.ack) : undefined;
          if (!w && Array.isArray(m) && m[0] === 'HELO') throw new Error('the collector asks for the shared_key handshake (HELO): set output.forward.shared_key');
          if (!w) throw new Error(`an answer that acknowledges no frame in flight: ${JSON.stringify(m)}`);
          this.acks.delete(m.ack as string);
          clearTimeout(w.timer);
          w.resolve();
        }
      } catch (err) {
        this.failAll(err as Error);
      }
    })();
  }

  private failAll(err: Error): void {
    this.close();
    for (const w of this.acks.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.acks.clear();
  }

  /**
   * Sends one batch of entries as the chunk `chunk` (the same on a resend); resolves once the server acknowledged it,
   * rejects on any failure (the caller resends from its spool). Several may
   * be in flight: frames on one connection are taken in order.
   */
  async send(tag: string, count: number, entries: Buffer, chunk: string): Promise<void> {
    // One connection at a time: frames sent while it is being set up wait for it, so they stay in order.
    this.connecting ??= this.closed || !this.socket
      ? (async () => {
          await this.readerDone; // the last connection's reader has let go
          await this.connect();
          this.startAckReader();
        })().finally(() => {
          this.connecting = null;
        })
      : null;
    if (this.connecting) await this.connecting;
    if (this.acks.has(chunk)) throw new Error(`chunk ${chunk} is already in flight`);
    const body = this.cfg.gzip ? gzipSync(entries) : entries;
    const options: Record<string, unknown> = { chunk, size: count };
    if (this.cfg.gzip) options.compressed = 'gzip';
    if (this.cfg.shared_key === undefined && this.cfg.token !== undefined) options.fleetscope_token = this.cfg.token;
    const t = Buffer.from(tag, 'utf8');
    const head = Buffer.allocUnsafe(1 + 3 + t.length + 5);
    let at = 0;
    head[at++] = 0x93;
    head[at++] = 0xda; // str16 tag
    head.writeUInt16BE(t.length, at);
    at += 2;
    t.copy(head, at);
    at += t.length;
    head[at++] = 0xc6; // bin32 entries
    head.writeUInt32BE(body.length, at);
    at += 4;
    const s = this.socket as Socket;
    const acked = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.failAll(new Error(`no ack in ${this.cfg.ack_timeout} ms`)), this.cfg.ack_timeout);
      this.acks.set(chunk, { resolve, reject, timer });
    });
    s.write(head.subarray(0, at));
    s.write(body);
    s.write(encode(options));
    await acked;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
    this.closed = true;
    this.waiter?.();
  }
}
