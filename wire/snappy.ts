// Snappy block format (https://github.com/google/snappy/blob/main/format_description.txt),
// the compression remote-write 1.0 requires. Compression goes through snappyjs.
// Decompression is our own, strict one: snappyjs loops forever on a literal
// whose 4-byte length is negative as an int32 (a 6-byte body hangs it), and
// it pads a stream that ends early with zeros instead of failing. Here the
// declared uncompressed length (the leading varint) is checked against a
// limit before anything is allocated, every element is bounds-checked, and
// the output must be exactly the declared length.
import { compress } from 'snappyjs';
import { WireError } from './errors.js';

export const DEFAULT_MAX_DECOMPRESSED_BYTES = 32 * 1024 * 1024;

/** A reusable output buffer for snappyUncompress, grown as needed. */
export interface SnappyScratch {
  bytes: Uint8Array;
}

// Messages are built here, not at the call sites: template literals inside
// the decode loop made V8 compile it 60% slower.
function corrupt(reason: string, at = -1, label = '', n = 0): never {
  const detail = at < 0 ? reason : `${reason} (input byte ${at}${label === '' ? '' : `, ${label} ${n}`})`;
  throw new WireError('FS_WIRE_SNAPPY_CORRUPT', [detail]);
}

/** The uncompressed length a snappy block declares (a varint of at most 32 bits). */
export function snappyDeclaredLength(block: Uint8Array): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) corrupt('the length header is truncated');
    const b = block[i] as number;
    result += (b & 0x7f) * mul;
    if (b < 0x80) {
      if (result > 0xffffffff) corrupt('the length header is over 32 bits');
      return result;
    }
    mul *= 128;
  }
  return corrupt('the length header is longer than 5 bytes');
}

function headerLength(block: Uint8Array): number {
  let i = 0;
  while ((block[i] as number) >= 0x80) i++;
  return i + 1;
}

export function snappyCompress(data: Uint8Array): Buffer {
  const out = compress(data);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Decompresses one snappy block. Throws FS_WIRE_SNAPPY_TOO_LARGE when the
 * block declares more than `maxBytes` (before allocating) and
 * FS_WIRE_SNAPPY_CORRUPT for anything that is not a valid block.
 *
 * With `scratch`, the output goes into scratch.bytes, which is replaced by
 * a larger buffer (up to `maxBytes`) when it is too small, and the result is
 * a view of it, valid until the scratch is used again: a receiver that is
 * done with a body before it takes the next one allocates nothing per
 * request (a fresh buffer per request is external memory, which makes V8
 * run full collections over everything a receiver caches).
 */
export function snappyUncompress(block: Uint8Array, maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES, scratch?: SnappyScratch): Buffer {
  const declared = snappyDeclaredLength(block);
  if (declared > maxBytes) throw new WireError('FS_WIRE_SNAPPY_TOO_LARGE', [declared, maxBytes]);
  // A plain Uint8Array: V8 runs the copy loops below faster on it than on a Buffer.
  let out: Uint8Array;
  if (scratch === undefined) out = new Uint8Array(declared);
  else {
    if (scratch.bytes.length < declared) scratch.bytes = new Uint8Array(Math.min(maxBytes, Math.max(declared, scratch.bytes.length * 2)));
    out = scratch.bytes;
  }
  const n = block.length;
  // Short literals and copies move 8 bytes at a time, as one float64 through
  // DataViews: 1.6x (snappyjs's blocks) to 2.6x (RemoteWriteSnappyBatch's) as
  // fast as bytes or copyWithin on remote-write bodies
  // (bench/micro/wire-decode.bench.ts), and a float64 read and written back
  // keeps its bits, NaN payloads and signalling NaNs included, in every V8
  // tier (snappy.test.ts checks). The last word may run up to 7 bytes past
  // the element: past its end in the output that is bytes a later element
  // overwrites (the output must be filled exactly), so words are used only
  // while 8 bytes of room remain in both buffers; near the end, bytes.
  const inView = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const outView = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const inWordEnd = n - 8;
  const outWordEnd = out.length - 8;
  let ip = headerLength(block);
  let op = 0;
  while (ip < n) {
    const tag = block[ip++] as number;
    let len: number;
    let offset: number;
    switch (tag & 3) {
      case 0: {
        len = tag >>> 2;
        if (len >= 60) {
          // 60..63: the length minus one follows in 1..4 little-endian bytes.
          const extra = len - 59;
          if (ip + extra > n) corrupt('literal length runs past the end', ip - 1);
          len = 0;
          for (let i = extra - 1; i >= 0; i--) len = len * 256 + (block[ip + i] as number);
          ip += extra;
        }
        len += 1;
        if (len > n - ip) corrupt('literal runs past the end of the input', ip, 'length', len);
        if (len > declared - op) corrupt('literal runs past the declared length', ip, 'length', len);
        if (len <= 64 && ip + len <= inWordEnd && op + len <= outWordEnd) {
          for (let i = 0; i < len; i += 8) outView.setFloat64(op + i, inView.getFloat64(ip + i, true), true);
        } else if (len < 32) {
          for (let i = 0; i < len; i++) out[op + i] = block[ip + i] as number;
        } else {
          out.set(block.subarray(ip, ip + len), op);
        }
        ip += len;
        op += len;
        continue;
      }
      case 1:
        if (ip >= n) corrupt('copy runs past the end', ip - 1);
        len = 4 + ((tag >>> 2) & 7);
        offset = ((tag >>> 5) << 8) | (block[ip++] as number);
        break;
      case 2:
        if (ip + 2 > n) corrupt('copy runs past the end', ip - 1);
        len = 1 + (tag >>> 2);
        offset = (block[ip] as number) | ((block[ip + 1] as number) << 8);
        ip += 2;
        break;
      default:
        if (ip + 4 > n) corrupt('copy runs past the end', ip - 1);
        len = 1 + (tag >>> 2);
        offset = ((block[ip] as number) | ((block[ip + 1] as number) << 8) | ((block[ip + 2] as number) << 16) | ((block[ip + 3] as number) << 24)) >>> 0;
        ip += 4;
    }
    if (offset === 0 || offset > op) corrupt('copy reaches back before the start of the output', ip, 'offset', offset);
    if (len > declared - op) corrupt('copy runs past the declared length', ip, 'length', len);
    if (offset >= 8 && op + len <= outWordEnd) {
      // Forward, 8 bytes at a time: with offset >= 8 every word read was
      // written before it is read, so an overlapping copy (offset < len)
      // still repeats its pattern as snappy means it to.
      const end = op + len;
      for (let from = op - offset; op < end; op += 8, from += 8) outView.setFloat64(op, outView.getFloat64(from, true), true);
      op = end;
    } else if (offset >= len && len >= 16) {
      out.copyWithin(op, op - offset, op - offset + len);
      op += len;
    } else {
      // Byte by byte: a copy may overlap its own output (offset < len repeats a pattern).
      for (let from = op - offset, end = op + len; op < end; ) out[op++] = out[from++] as number;
    }
  }
  if (op !== declared) corrupt(`the block decodes to ${op} bytes, its header declares ${declared}`);
  return Buffer.from(out.buffer, out.byteOffset, declared);
}
