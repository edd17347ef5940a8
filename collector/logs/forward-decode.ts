// Decoding of forward protocol frames (Forward Protocol Specification v1,
// https://github.com/fluent/fluentd/wiki/Forward-Protocol-Specification-v1):
// the four carrier modes (Message, Forward, PackedForward, and
// CompressedPackedForward with gzip), EventTime (ext type 0) and integer
// time, and the entry form Fluent Bit 2+ sends by default, where the time
// slot is `[time, metadata]`. Entries are handed to a callback one by one;
// nothing per frame is kept that is not needed.
import { gunzipSync } from 'node:zlib';
import { Decoder, ExtensionCodec } from '@msgpack/msgpack';
import { FrameMalformed, FrameScanner, FrameTooLarge, arrayElements, rawBytesAt } from './msgpack-frame.js';
import { rfc3339FromSecNs } from './timestamp.js';

/** EventTime: seconds and nanoseconds since the epoch. */
export class EventTime {
  constructor(
    readonly sec: number,
    readonly nsec: number,
  ) {}
}

export const forwardExtensions = new ExtensionCodec();
forwardExtensions.register({
  type: 0,
  encode: (v: unknown) => {
    if (!(v instanceof EventTime)) return null;
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, v.sec);
    dv.setUint32(4, v.nsec);
    return b;
  },
  decode: (data: Uint8Array) => {
    if (data.length !== 8) throw new FrameMalformed(`EventTime of ${data.length} bytes (8 expected)`);
    const dv = new DataView(data.buffer, data.byteOffset, 8);
    return new EventTime(dv.getUint32(0), dv.getUint32(4));
  },
});

export interface ForwardLimits {
  readonly maxEntries: number;
  readonly maxDecompressedBytes: number;
  readonly maxFrameBytes: number;
}

export type ForwardFrame =
  | { readonly kind: 'heartbeat' }
  | { readonly kind: 'ping'; readonly hostname: string; readonly salt: Uint8Array; readonly digest: string; readonly username: string; readonly password: string }
  | { readonly kind: 'events'; readonly mode: 'message' | 'forward' | 'packed' | 'compressed'; readonly tag: string; readonly chunk: string | undefined; readonly signal: number; readonly entries: number };

/** One entry's time: milliseconds (for the index day) and RFC 3339 with nanoseconds. */
export interface EntryTime {
  ms: number;
  iso: string;
  /** Fluent Bit's per-record metadata, when it sent any (not empty). */
  metadata: Record<string, unknown> | undefined;
}

export type EntrySink = (time: EntryTime, record: Record<string, unknown>, tag: string) => void;

/** A fast lane for whole entries (collector/logs/entry-json.ts): where the entry at `pos` ends, or -1 to leave it to the sink. */
export interface EntryLane {
  entry(src: Buffer, pos: number, end: number): number;
}

const toBytes = (v: unknown): Uint8Array => (typeof v === 'string' ? Buffer.from(v, 'utf8') : (v as Uint8Array));

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof EventTime);
}

/** JSON-ready values: bin as UTF-8 text, EventTime as RFC 3339. */
function normalize(v: unknown, depth: number): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  if (v instanceof EventTime) return rfc3339FromSecNs(v.sec, v.nsec);
  if (depth > 32) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = normalize(v[i], depth + 1);
    return v;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const x = o[k];
    if (typeof x === 'object' && x !== null) o[k] = normalize(x, depth + 1);
  }
  return o;
}

export class ForwardDecoder {
  private readonly decoder: Decoder;
  private readonly time: EntryTime = { ms: 0, iso: '', metadata: undefined };

  constructor(private readonly limits: ForwardLimits) {
    this.decoder = new Decoder({
      extensionCodec: forwardExtensions,
      maxArrayLength: limits.maxEntries,
      maxMapLength: limits.maxEntries,
      maxStrLength: limits.maxDecompressedBytes,
      maxBinLength: limits.maxDecompressedBytes,
    });
  }

  private decode(buf: Uint8Array): unknown {
    try {
      return this.decoder.decode(buf);
    } catch (err) {
      if (err instanceof FrameMalformed || err instanceof FrameTooLarge) throw err;
      throw new FrameMalformed((err as Error).message);
    }
  }

  private setTime(t: unknown): boolean {
    let meta: unknown;
    if (Array.isArray(t) && t.length === 2) {
      meta = t[1];
      t = t[0];
    }
    const time = this.time;
    time.metadata = isRecord(meta) && Object.keys(meta).length > 0 ? (normalize(meta, 1) as Record<string, unknown>) : undefined;
    if (t instanceof EventTime) {
      if (t.nsec >= 1e9) return false;
      time.ms = t.sec * 1000 + Math.floor(t.nsec / 1e6);
      time.iso = rfc3339FromSecNs(t.sec, t.nsec);
      return true;
    }
    if (typeof t === 'number' && Number.isFinite(t) && t >= 0) {
      const sec = Math.floor(t);
      const nsec = Math.round((t - sec) * 1e9);
      time.ms = sec * 1000 + Math.floor(nsec / 1e6);
      time.iso = rfc3339FromSecNs(sec, nsec);
      return true;
    }
    return false;
  }

  private entry(e: unknown, n: number, sink: EntrySink, tag: string): void {
    if (!Array.isArray(e) || e.length !== 2) throw new FrameMalformed(`entry ${n} is not a [time, record] array`);
    if (!this.setTime(e[0])) throw new FrameMalformed(`entry ${n} has no valid time (EventTime, integer, or [time, metadata])`);
    if (!isRecord(e[1])) throw new FrameMalformed(`entry ${n}'s record is not a map`);
    sink(this.time, normalize(e[1], 0) as Record<string, unknown>, tag);
  }

  /**
   * Entries from src[pos, end) (at most `max`; PackedForward: as many as
   * there are), each through the fast lane or, when it declines, decoded
   * and handed to the sink.
   */
  private entries(src: Buffer, pos: number, end: number, max: number, fast: EntryLane, sink: EntrySink, tag: string): number {
    let count = 0;
    let scanner: FrameScanner | null = null;
    while (pos < end && count < max) {
      if (count >= this.limits.maxEntries) throw new FrameTooLarge(`more than ${this.limits.maxEntries} entries`);
      let next = fast.entry(src, pos, end);
      if (next < 0) {
        scanner ??= new FrameScanner(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        scanner.reset();
        const n = scanner.scan(src.subarray(pos, end), end - pos);
        if (n < 0) throw new FrameMalformed(`entries stream: entry ${count} is truncated`);
        this.entry(this.decode(src.subarray(pos, pos + n)), count, sink, tag);
        next = pos + n;
      }
      pos = next;
      count++;
    }
    if (count < max && max !== Number.MAX_SAFE_INTEGER) throw new FrameMalformed(`the entries array declares ${max} entries, ${count} found`);
    return count;
  }

  /**
   * Decodes one complete frame; event entries go to `sink` as they decode,
   * after `onOptions` was told the frame's chunk id.
   * When it throws, entries already handed over must be discarded by the
   * caller (the forward server drops the frame's batch uncommitted).
   */
  frame(buf: Uint8Array, sink: EntrySink, onOptions?: (chunk: string | undefined, options: Readonly<Record<string, unknown>>) => void, lane?: (tag: string) => EntryLane | null): ForwardFrame {
    if (buf.length === 1 && buf[0] === 0xc0) return { kind: 'heartbeat' };
    const at = arrayElements(buf);
    const n = at.length - 1;
    const el = (i: number): Uint8Array => buf.subarray(at[i] as number, at[i + 1] as number);
    if (n < 2) throw new FrameMalformed(`an array of ${n} elements is neither an event nor a handshake message`);
    const tag = this.decode(el(0));
    if (typeof tag !== 'string') throw new FrameMalformed('the first element (tag) is not a string');
    if (tag === 'PING' && n === 6) {
      const [hostname, salt, digest, username, password] = [1, 2, 3, 4, 5].map((i) => this.decode(el(i)));
      if (typeof hostname !== 'string' || typeof digest !== 'string' || typeof username !== 'string' || typeof password !== 'string' || !(typeof salt === 'string' || salt instanceof Uint8Array)) {
        throw new FrameMalformed('PING is [type, client_hostname, shared_key_salt, shared_key_hexdigest, username, password]');
      }
      return { kind: 'ping', hostname, salt: toBytes(salt), digest, username, password };
    }
    const second = buf[at[1] as number] as number;
    const isArray = (second >= 0x90 && second <= 0x9f) || second === 0xdc || second === 0xdd;
    const packed = rawBytesAt(buf, at[1] as number, at[2] as number);
    const optIndex = isArray || packed ? 2 : 3;
    let options: Record<string, unknown> = {};
    if (n > optIndex) {
      const o = this.decode(el(optIndex));
      if (o !== null) {
        if (!isRecord(o)) throw new FrameMalformed('the option element is not a map');
        options = o;
      }
    }
    if (n > optIndex + 1) throw new FrameMalformed(`${n} elements: too many for this mode`);
    const chunk = options.chunk === undefined ? undefined : typeof options.chunk === 'string' ? options.chunk : undefined;
    if (options.chunk !== undefined && chunk === undefined) throw new FrameMalformed('option chunk is not a string');
    const signal = typeof options.fluent_signal === 'number' ? options.fluent_signal : 0;
    onOptions?.(chunk, options);
    // Fluent Bit's metrics (1) and traces (2) travel over forward too: counted, not taken as logs.
    if (signal !== 0) sink = () => undefined;
    if (packed) {
      let stream: Uint8Array = packed;
      let mode: 'packed' | 'compressed' = 'packed';
      if (options.compressed === 'gzip') {
        mode = 'compressed';
        try {
          stream = gunzipSync(packed, { maxOutputLength: this.limits.maxDecompressedBytes });
        } catch (err) {
          if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) throw new FrameTooLarge(`gzip entries decompress past ${this.limits.maxDecompressedBytes} bytes`);
          throw new FrameMalformed(`gzip entries: ${(err as Error).message}`);
        }
      }
      // Entries go to the sink as they decode, so each record dies young; the
      // caller discards its batch when a later entry throws: a frame is still
      // taken whole or not at all.
      let count = 0;
      const fast = signal === 0 && lane ? lane(tag) : null;
      if (fast) {
        const src = Buffer.isBuffer(stream) ? stream : Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength);
        count = this.entries(src, 0, src.length, Number.MAX_SAFE_INTEGER, fast, sink, tag);
        return { kind: 'events', mode, tag, chunk, signal, entries: count };
      }
      try {
        for (const e of this.decoder.decodeMulti(stream)) {
          if (count >= this.limits.maxEntries) throw new FrameTooLarge(`more than ${this.limits.maxEntries} entries`);
          this.entry(e, count++, sink, tag);
        }
      } catch (err) {
        if (err instanceof FrameMalformed || err instanceof FrameTooLarge) throw err;
        throw new FrameMalformed(`entries stream: ${(err as Error).message}`);
      }
      return { kind: 'events', mode, tag, chunk, signal, entries: count };
    }
    if (isArray) {
      const fast = signal === 0 && lane ? lane(tag) : null;
      if (fast) {
        // Forward mode (what Fluent Bit sends): the entries follow the array header.
        const src = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
        const p = at[1] as number;
        const hdr = second <= 0x9f ? 1 : second === 0xdc ? 3 : 5;
        const n = second <= 0x9f ? second & 0x0f : second === 0xdc ? src.readUInt16BE(p + 1) : src.readUInt32BE(p + 1);
        const count = this.entries(src, p + hdr, at[2] as number, n, fast, sink, tag);
        return { kind: 'events', mode: 'forward', tag, chunk, signal, entries: count };
      }
      const entries = this.decode(el(1)) as unknown[];
      for (let i = 0; i < entries.length; i++) this.entry(entries[i], i, sink, tag);
      return { kind: 'events', mode: 'forward', tag, chunk, signal, entries: entries.length };
    }
    // Message mode: [tag, time, record, option?]
    if (n < 3) throw new FrameMalformed('message mode needs [tag, time, record]');
    const time = this.decode(el(1));
    const record = this.decode(el(2));
    if (!this.setTime(time)) throw new FrameMalformed('message mode: the time is not EventTime, an integer or [time, metadata]');
    if (!isRecord(record)) throw new FrameMalformed('message mode: the record is not a map');
    sink(this.time, normalize(record, 0) as Record<string, unknown>, tag);
    return { kind: 'events', mode: 'message', tag, chunk, signal, entries: 1 };
  }
}
