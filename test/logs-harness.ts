// Shared by the log integration tests: an in-process collector with a log
// path pointed at the Elasticsearch stand-in, and waiting helpers.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMultiStream } from '@msgpack/msgpack';
import { pino } from 'pino';
import { Collector, validateCollectorConfig } from '../collector/index.js';
import { type ElasticsearchResponder, type ResponderOptions, startElasticsearchResponder } from './peers/elasticsearch-responder.js';

export const SITE_TOKEN = 'site-token-logs-aaaaaaaaaaaa';
export const SITE2_TOKEN = 'site-token-logs-bbbbbbbbbbbb';
export const GLOBAL_KEY = 'global-shared-key-1';
export const BOUND_KEY = 'bound-shared-key-ce2';

export interface LogsHarness {
  readonly collector: Collector;
  readonly es: ElasticsearchResponder;
  readonly dir: string;
  readonly forward: { host: string; port: number };
  readonly deadLetter: string;
  stop(): Promise<void>;
}

export function logsConfigDoc(dir: string, esUrl: string, extra: Record<string, unknown> = {}, esExtra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    queue: { dir: join(dir, 'queue') },
    external_labels: { re: 'eu-west-1' },
    sites: [
      { token: SITE_TOKEN, tenant: 'acme', site: 'ce-0001' },
      { token: SITE2_TOKEN, tenant: 'globex', site: 'ce-0100' },
    ],
    tenants: { acme: { pipeline: {} }, globex: { pipeline: {} } },
    logs: {
      buffer: { dir: join(dir, 'logs-buffer') },
      forward: {
        listen: '127.0.0.1:0',
        shared_keys: [{ key: GLOBAL_KEY }, { key: BOUND_KEY, tenant: 'acme', site: 'ce-0002' }],
        max_frame_bytes: 1024 * 1024,
      },
      tenants: {
        acme: {
          drop: [{ field: 'level', equals: 'debug' }, { field: 'kubernetes.namespace', matches: '^kube-' }],
          redact: { fields: ['password', 'user.email'], patterns: [{ regex: '\\b\\d{4}-\\d{4}-\\d{4}-\\d{4}\\b', replacement: '[CARD]' }] },
        },
      },
      elasticsearch: { nodes: [esUrl], min_backoff: 10, max_backoff: 200, dead_letter_file: join(dir, 'dead-letter.ndjson'), batch_max_docs: 50, ...esExtra },
      ...extra,
    },
  };
}

export async function startLogsHarness(opts: ResponderOptions = {}, extra: Record<string, unknown> = {}, esExtra: Record<string, unknown> = {}): Promise<LogsHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-logs-'));
  const es = await startElasticsearchResponder(opts);
  const loaded = validateCollectorConfig(logsConfigDoc(dir, es.url, extra, esExtra), 'test.yml');
  const collector = await Collector.start(loaded, { listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
  const addr = collector.logs?.forwardAddress as string;
  const sep = addr.lastIndexOf(':');
  return {
    collector,
    es,
    dir,
    forward: { host: '127.0.0.1', port: Number(addr.slice(sep + 1)) },
    deadLetter: join(dir, 'dead-letter.ndjson'),
    async stop() {
      await collector.stop();
      await es.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` holds (or throws with `what` after `ms`). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Stored documents' sources. */
export function storedSources(es: ElasticsearchResponder): Record<string, unknown>[] {
  return [...es.docs.values()].map((d) => d.source);
}

// A forward client that writes the Forward Protocol Specification v1 byte for byte.
export const hex = (...parts: (string | Buffer)[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p.replace(/\s+/g, ''), 'hex') : p)));
/** msgpack str of ASCII text: fixstr (a0|len), str8 (d9), str16 (da), per the msgpack spec. */
export const str = (s: string): Buffer => {
  const b = Buffer.from(s, 'utf8');
  if (b.length < 32) return hex(Buffer.from([0xa0 | b.length]), b);
  if (b.length < 256) return hex(Buffer.from([0xd9, b.length]), b);
  return hex(Buffer.from([0xda, b.length >> 8, b.length & 0xff]), b);
};
export const sha512Hex = (...parts: (string | Buffer)[]): string => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
// Chunk ids as the spec has them: Base64 of 16 bytes (24 characters, a fixstr: b8), unique per name
// (the collector's document ids follow the chunk id, so two frames must never share one).
export const chunk = (c: string): string => createHash('sha256').update(c).digest().subarray(0, 16).toString('base64');

export const SEC = '692d4b00'; // 1764576000 = 2025-12-01T08:00:00Z
export const NSEC = '075bcd15'; // 123456789

/** A forward client per the spec: HELO in, PING out, PONG in (digest verified), then frames and acks. */
export class SpecClient {
  private readonly inbox: unknown[] = [];
  private waiters: (() => void)[] = [];
  ended = false;
  private constructor(readonly socket: Socket) {
    void (async () => {
      try {
        for await (const m of decodeMultiStream(socket)) {
          this.inbox.push(m);
          for (const w of this.waiters.splice(0)) w();
        }
      } catch {
        // closed
      }
      this.ended = true;
      for (const w of this.waiters.splice(0)) w();
    })();
  }

  static async open(port: number): Promise<SpecClient> {
    const s = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new SpecClient(s);
  }

  async next(ms = 10_000): Promise<unknown> {
    const deadline = Date.now() + ms;
    while (this.inbox.length === 0) {
      if (this.ended) return undefined;
      if (Date.now() > deadline) throw new Error('no message from the server');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return this.inbox.shift();
  }

  /** Runs the handshake; resolves with PONG as received. */
  async handshake(key: string, username = '', password = '', hostname = 'client.example.com'): Promise<unknown[]> {
    const helo = (await this.next()) as [string, { nonce: Uint8Array; auth: Uint8Array; keepalive: boolean }];
    assert.equal(helo[0], 'HELO');
    const nonce = Buffer.from(helo[1].nonce);
    const authSalt = Buffer.from(helo[1].auth);
    const salt = randomBytes(16);
    const digest = sha512Hex(salt, hostname, nonce, key);
    const pw = username === '' ? '' : sha512Hex(authSalt, username, password);
    // ["PING", client_hostname, shared_key_salt (bin8), shared_key_hexdigest, username, password]
    this.socket.write(hex('96', str('PING'), str(hostname), 'c4 10', salt, str(digest), str(username), str(pw)));
    const pong = (await this.next()) as unknown[];
    assert.equal(pong[0], 'PONG');
    if (pong[1] === true) assert.equal(pong[4], sha512Hex(salt, pong[3] as string, nonce, key), 'PONG digest per the spec');
    return pong;
  }

  send(b: Buffer): void {
    this.socket.write(b);
  }

  async ack(): Promise<string> {
    const m = (await this.next()) as { ack?: string } | undefined;
    assert.ok(m && typeof m.ack === 'string', `expected {"ack": ...}, got ${JSON.stringify(m)}`);
    return m.ack;
  }

  close(): void {
    this.socket.destroy();
  }
}

