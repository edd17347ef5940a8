// Writes forward-protocol entries `[EventTime, {key: value, ...}]` straight
// into one growing buffer (msgpack by hand for this one shape: fixarray 2,
// EventTime as fixext8 type 0, a map of str keys to str or uint values), so
// a batch is already a PackedForward `MessagePackEventStream`.
// https://github.com/fluent/fluentd/wiki/Forward-Protocol-Specification-v1#eventtime-ext-format

export class EntryWriter {
  private buf = Buffer.allocUnsafe(256 * 1024);
  private len = 0;
  count = 0;

  get bytes(): number {
    return this.len;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  private str(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.ensure(n + 5);
    const b = this.buf;
    if (n < 32) b[this.len++] = 0xa0 | n;
    else if (n < 256) {
      b[this.len++] = 0xd9;
      b[this.len++] = n;
    } else if (n < 65536) {
      b[this.len++] = 0xda;
      b.writeUInt16BE(n, this.len);
      this.len += 2;
    } else {
      b[this.len++] = 0xdb;
      b.writeUInt32BE(n, this.len);
      this.len += 4;
    }
    this.len += b.write(s, this.len, 'utf8');
  }

  private uint(v: number): void {
    this.ensure(9);
    const b = this.buf;
    if (v < 128) b[this.len++] = v;
    else if (v < 2 ** 32) {
      b[this.len++] = 0xce;
      b.writeUInt32BE(v, this.len);
      this.len += 4;
    } else {
      b[this.len++] = 0xcf;
      b.writeBigUInt64BE(BigInt(v), this.len);
      this.len += 8;
    }
  }

  private rawStr(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.ensure(n + 5);
    const b = this.buf;
    if (n < 32) b[this.len++] = 0xa0 | n;
    else if (n < 256) {
      b[this.len++] = 0xd9;
      b[this.len++] = n;
    } else if (n < 65536) {
      b[this.len++] = 0xda;
      b.writeUInt16BE(n, this.len);
      this.len += 2;
    } else {
      b[this.len++] = 0xdb;
      b.writeUInt32BE(n, this.len);
      this.len += 4;
    }
    src.copy(b, this.len, start, end);
    this.len += n;
  }

  /** One entry whose message is raw bytes of the file (copied, never decoded: the fast path for single lines). */
  addRaw(sec: number, nsec: number, src: Buffer, start: number, end: number, file: string, offset: number, fields: readonly (readonly [string, string])[]): void {
    this.head(sec, nsec, fields.length);
    this.rawStr(src, start, end);
    this.tail(file, offset, fields);
  }

  private head(sec: number, nsec: number, nFields: number): void {
    this.ensure(12);
    const b = this.buf;
    b[this.len++] = 0x92;
    b[this.len++] = 0xd7;
    b[this.len++] = 0x00;
    b.writeUInt32BE(sec, this.len);
    b.writeUInt32BE(nsec, this.len + 4);
    this.len += 8;
    const n = 3 + nFields;
    if (n < 16) b[this.len++] = 0x80 | n;
    else {
      this.ensure(3);
      this.buf[this.len++] = 0xde;
      this.buf.writeUInt16BE(n, this.len);
      this.len += 2;
    }
    this.str('message');
  }

  private tail(file: string, offset: number, fields: readonly (readonly [string, string])[]): void {
    this.str('file');
    this.str(file);
    this.str('offset');
    this.uint(offset);
    for (const [k, v] of fields) {
      this.str(k);
      this.str(v);
    }
    this.count++;
  }

  /** One entry: time, the line, its file and byte offset, and the input's fields. */
  add(sec: number, nsec: number, message: string, file: string, offset: number, fields: readonly (readonly [string, string])[]): void {
    this.head(sec, nsec, fields.length);
    this.str(message);
    this.tail(file, offset, fields);
  }

  /** The spool payload: [u16 tag length][tag][u32 entries][entries stream]; then resets. */
  take(tag: string): Buffer {
    const t = Buffer.from(tag, 'utf8');
    const out = Buffer.allocUnsafe(6 + t.length + this.len);
    out.writeUInt16LE(t.length, 0);
    t.copy(out, 2);
    out.writeUInt32LE(this.count, 2 + t.length);
    this.buf.copy(out, 6 + t.length, 0, this.len);
    this.len = 0;
    this.count = 0;
    return out;
  }
}

export interface SpooledBatch {
  readonly tag: string;
  readonly count: number;
  readonly entries: Buffer;
}

export function readSpooledBatch(payload: Buffer): SpooledBatch {
  const tl = payload.readUInt16LE(0);
  return { tag: payload.toString('utf8', 2, 2 + tl), count: payload.readUInt32LE(2 + tl), entries: payload.subarray(6 + tl) };
}
