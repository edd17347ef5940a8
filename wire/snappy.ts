// Snappy block format (https://github.com/google/snappy/blob/main/format_description.txt),
// the compression remote-write 1.0 requires, through snappyjs. The declared
// uncompressed length (the leading varint) is checked against a limit before
// anything is allocated, so a small body cannot expand into a bomb.
import { compress, uncompress } from 'snappyjs';
import { WireError } from './errors.js';

export const DEFAULT_MAX_DECOMPRESSED_BYTES = 32 * 1024 * 1024;

/** The uncompressed length a snappy block declares. */
export function snappyDeclaredLength(block: Uint8Array): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) throw new WireError('FS_WIRE_SNAPPY_CORRUPT', ['the length header is truncated']);
    const b = block[i] as number;
    result += (b & 0x7f) * mul;
    if (b < 0x80) return result;
    mul *= 128;
  }
  throw new WireError('FS_WIRE_SNAPPY_CORRUPT', ['the length header is longer than 5 bytes']);
}

export function snappyCompress(data: Uint8Array): Buffer {
  const out = compress(data);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

export function snappyUncompress(block: Uint8Array, maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): Buffer {
  const declared = snappyDeclaredLength(block);
  if (declared > maxBytes) throw new WireError('FS_WIRE_SNAPPY_TOO_LARGE', [declared, maxBytes]);
  let out: Uint8Array;
  try {
    out = uncompress(block, maxBytes);
  } catch (err) {
    throw new WireError('FS_WIRE_SNAPPY_CORRUPT', [(err as Error).message], { cause: err });
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
