// Protocol buffers wire format, the little of it remote-write needs
// (https://protobuf.dev/programming-guides/encoding/): varints, 64-bit
// doubles, length-delimited fields. Bounds are checked on every read.
import { WireError } from './errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

/** Bytes a varint of a non-negative safe integer takes. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** A growable output buffer, reused across messages. */
export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** A non-negative integer up to 2^53 as a varint (caller ensured room for 10 bytes). */
  uvarint(v: number): void {
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
  }

  /** An int64 varint: negatives in ten bytes of two's complement, as protobuf requires. */
  int64(v: number): void {
    if (v >= 0) {
      this.uvarint(v);
      return;
    }
    let big = BigInt.asUintN(64, BigInt(v));
    for (let i = 0; i < 9; i++) {
      this.buf[this.pos++] = Number(big & 0x7fn) | 0x80;
      big >>= 7n;
    }
    this.buf[this.pos++] = Number(big);
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

/** A bounds-checked reader over one message. */
export class ProtoReader {
  pos: number;

  end: number;

  constructor(readonly buf: Buffer, start = 0, end = buf.length) {
    this.pos = start;
    this.end = end;
  }

  /** Re-points the reader at another span of the same buffer. */
  reset(start: number, end: number): this {
    this.pos = start;
    this.end = end;
    return this;
  }

  fail(reason: string): never {
    throw new WireError('FS_WIRE_PROTOBUF', [this.pos, reason]);
  }

  /** A varint as a safe integer; values past 2^53 lose precision, which no length here reaches. */
  uvarint(): number {
    const buf = this.buf;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('varint runs past the end');
      const b = buf[this.pos++] as number;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** An int64 varint, two's complement. */
  int64(): number {
    const start = this.pos;
    const buf = this.buf;
    // Fast path: up to 7 bytes is below 2^49, exact in a double.
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) this.fail('varint runs past the end');
      const b = buf[this.pos++] as number;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    this.pos = start;
    let big = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('varint runs past the end');
      const b = buf[this.pos++] as number;
      big |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return Number(BigInt.asIntN(64, big));
      shift += 7n;
    }
    return this.fail('varint longer than 10 bytes');
  }

  double(): number {
    if (this.pos + 8 > this.end) this.fail('double runs past the end');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** The end offset of a length-delimited field whose length comes next. */
  lengthDelimitedEnd(): number {
    const len = this.uvarint();
    const end = this.pos + len;
    if (end > this.end) this.fail(`field of ${len} bytes runs past the end of its message`);
    return end;
  }

  /**
   * Skips a field the decoder does not read, as protobuf requires. A field it
   * does read (bit `field` of `known`) arriving with another wire type is an
   * error instead, as in Prometheus's gogo-generated decoder, which answers
   * 400 "proto: wrong wireType" for it.
   */
  skipUnknown(field: number, wireType: number, known: number): void {
    if (field === 0) this.fail('field number 0 is not valid');
    if (field < 32 && ((known >>> field) & 1) === 1) this.fail(`field ${field} has wire type ${wireType}, which its type does not use`);
    this.skip(wireType);
  }

  /** Skips a field of an unknown number, as protobuf requires. */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.uvarint();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) this.fail('fixed64 runs past the end');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.lengthDelimitedEnd();
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.end) this.fail('fixed32 runs past the end');
        this.pos += 4;
        return;
      default:
        this.fail(`unsupported wire type ${wireType}`);
    }
  }
}
