// A forward protocol client (spec v1): the HELO/PING/PONG handshake with
// the shared key (and the site token as username and password), then
// PackedForward frames (CompressedPackedForward with gzip) carrying a
// `chunk` id, each confirmed by the server's {"ack": chunk}. One frame is in
// flight at a time, which keeps batches in order.
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
    const cfg = this.cfg;
    const s = cfg.tls
      ? tlsConnect({ host: cfg.host, port: cfg.port, servername: cfg.host, ...(cfg.ca_file ? { ca: readFileSync(cfg.ca_file) } : {}) })
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
          this.inbox.push(m);
          this.waiter?.();
        }
      } catch {
        // the connection broke
      }
      this.closed = true;
      this.waiter?.();
    })();
    const helo = (await this.next(cfg.ack_timeout)) as [string, { nonce?: Uint8Array | string; auth?: Uint8Array | string }];
    if (!Array.isArray(helo) || helo[0] !== 'HELO') throw new Error('the server sent no HELO: is shared_key set on it?');
    const nonce = helo[1].nonce ?? '';
    const authSalt = helo[1].auth ?? '';
    const salt = randomBytes(16);
    const user = cfg.token ?? '';
    const password = user === '' ? '' : sha512Hex(authSalt, user, user);
    s.write(encode(['PING', cfg.hostname, salt, sha512Hex(salt, cfg.hostname, nonce, cfg.shared_key), user, password]));
    const pong = (await this.next(cfg.ack_timeout)) as [string, boolean, string, string, string];
    if (!Array.isArray(pong) || pong[0] !== 'PONG') throw new Error('no PONG after PING');
    if (pong[1] !== true) throw new Error(`the server refused the handshake: ${pong[2]}`);
    if (pong[4] !== sha512Hex(salt, pong[3], nonce, cfg.shared_key)) throw new Error('the server does not know the shared key (PONG digest mismatch)');
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

  /** Sends one batch of entries; resolves once the server acknowledged it. Throws on any failure (the caller retries). */
  async send(tag: string, count: number, entries: Buffer): Promise<void> {
    if (this.closed || !this.socket) await this.connect();
    const chunk = randomBytes(16).toString('base64');
    const body = this.cfg.gzip ? gzipSync(entries) : entries;
    const options: Record<string, unknown> = { chunk, size: count };
    if (this.cfg.gzip) options.compressed = 'gzip';
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
    s.write(head.subarray(0, at));
    s.write(body);
    s.write(encode(options));
    try {
      const ack = (await this.next(this.cfg.ack_timeout)) as { ack?: unknown };
      if (ack?.ack !== chunk) throw new Error(`expected {"ack": "${chunk}"}, got ${JSON.stringify(ack)}`);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
    this.closed = true;
  }
}
