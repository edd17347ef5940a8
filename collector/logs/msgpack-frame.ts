// Finds where one msgpack value ends in a byte stream, without decoding it:
// the framing of the forward protocol, where each frame is one msgpack array
// and a frame's bytes arrive in pieces. The scan is resumable (state kept
// between pieces, so a 16 MiB frame arriving in 64 KiB reads is walked once)
// and bounded: a declared length past the frame limit fails at once, before
// any of it is buffered. https://github.com/msgpack/msgpack/blob/master/spec.md

export class FrameTooLarge extends Error {}
export class FrameMalformed extends Error {}

const MAX_DEPTH = 64;

/**
 * Header of the value at `pos`: sets `hdr` (header bytes), `payload` (bytes
 * after the header) and `children` (nested values: 2n for a map). Returns
 * false when the header itself is not all in `buf[0, len)`.
 */
interface Head {
  hdr: number;
  payload: number;
  children: number;
}

function readHead(buf: Uint8Array, pos: number, len: number, h: Head): boolean {
  const b = buf[pos] as number;
  h.payload = 0;
  h.children = 0;
  h.hdr = 1;
  if (b <= 0x7f || b >= 0xe0) return true;
  if (b <= 0x8f) { h.children = (b & 0x0f) * 2; return true; }
  if (b <= 0x9f) { h.children = b & 0x0f; return true; }
  if (b <= 0xbf) { h.payload = b & 0x1f; return true; }
  const need = (n: number): boolean => pos + n <= len;
  const u8 = (): number => buf[pos + 1] as number;
  const u16 = (): number => ((buf[pos + 1] as number) << 8) | (buf[pos + 2] as number);
  const u32 = (): number => (buf[pos + 1] as number) * 0x1000000 + (((buf[pos + 2] as number) << 16) | ((buf[pos + 3] as number) << 8) | (buf[pos + 4] as number));
  switch (b) {
    case 0xc0: case 0xc2: case 0xc3: return true;
    case 0xc1: throw new FrameMalformed(`byte 0xc1 (never used) at offset ${pos}`);
    case 0xc4: case 0xd9: if (!need(2)) return false; h.hdr = 2; h.payload = u8(); return true;
    case 0xc5: case 0xda: if (!need(3)) return false; h.hdr = 3; h.payload = u16(); return true;
    case 0xc6: case 0xdb: if (!need(5)) return false; h.hdr = 5; h.payload = u32(); return true;
    case 0xc7: if (!need(3)) return false; h.hdr = 3; h.payload = u8(); return true;
    case 0xc8: if (!need(4)) return false; h.hdr = 4; h.payload = u16(); return true;
    case 0xc9: if (!need(6)) return false; h.hdr = 6; h.payload = u32(); return true;
    case 0xca: h.payload = 4; return true;
    case 0xcb: h.payload = 8; return true;
    case 0xcc: case 0xd0: h.payload = 1; return true;
    case 0xcd: case 0xd1: h.payload = 2; return true;
    case 0xce: case 0xd2: h.payload = 4; return true;
    case 0xcf: case 0xd3: h.payload = 8; return true;
    case 0xd4: h.payload = 2; return true;
    case 0xd5: h.payload = 3; return true;
    case 0xd6: h.payload = 5; return true;
    case 0xd7: h.payload = 9; return true;
    case 0xd8: h.payload = 17; return true;
    case 0xdc: if (!need(3)) return false; h.hdr = 3; h.children = u16(); return true;
    case 0xdd: if (!need(5)) return false; h.hdr = 5; h.children = u32(); return true;
    case 0xde: if (!need(3)) return false; h.hdr = 3; h.children = u16() * 2; return true;
    case 0xdf: if (!need(5)) return false; h.hdr = 5; h.children = u32() * 2; return true;
    default: throw new FrameMalformed(`byte 0x${b.toString(16)} at offset ${pos}`);
  }
}

/** Resumable scanner of one value at a time from the start of a growing buffer. */
export class FrameScanner {
  private pos = 0;
  private readonly stack: number[] = [];
  private readonly head: Head = { hdr: 0, payload: 0, children: 0 };
  /** Values seen in this frame (a bound on entries and keys). */
  values = 0;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly maxValues: number,
  ) {}

  /** Forget progress: the caller consumed the frame (or gives up). */
  reset(): void {
    this.pos = 0;
    this.stack.length = 0;
    this.values = 0;
  }

  /**
   * The frame's length once it is complete in `buf[0, len)`, else -1 (more
   * bytes needed). Throws FrameTooLarge or FrameMalformed.
   */
  scan(buf: Uint8Array, len: number): number {
    const h = this.head;
    const stack = this.stack;
    for (;;) {
      if (this.pos >= len) {
        if (len > this.maxFrameBytes) throw new FrameTooLarge(`over ${this.maxFrameBytes} bytes`);
        return -1;
      }
      if (!readHead(buf, this.pos, len, h)) return -1;
      const end = this.pos + h.hdr + h.payload;
      if (end > this.maxFrameBytes) throw new FrameTooLarge(`a value at offset ${this.pos} ends past ${this.maxFrameBytes} bytes`);
      if (end > len) return -1;
      if (++this.values > this.maxValues) throw new FrameTooLarge(`more than ${this.maxValues} values`);
      this.pos = end;
      if (h.children > 0) {
        if (stack.length >= MAX_DEPTH) throw new FrameMalformed(`nested deeper than ${MAX_DEPTH}`);
        if (h.children > this.maxValues) throw new FrameTooLarge(`a container declares ${h.children} values, over ${this.maxValues}`);
        stack.push(h.children);
        continue;
      }
      // A scalar or an empty container is complete: close every container it completes.
      while (stack.length > 0) {
        const top = stack.length - 1;
        const left = (stack[top] as number) - 1;
        if (left > 0) {
          stack[top] = left;
          break;
        }
        stack.pop();
      }
      if (stack.length === 0) return this.pos;
    }
  }
}

/** Offsets of the elements of the array at the start of a complete frame, and its element count. */
export function arrayElements(buf: Uint8Array): number[] {
  const h: Head = { hdr: 0, payload: 0, children: 0 };
  const b = buf[0] as number;
  if (!((b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd)) throw new FrameMalformed('a forward frame must be a msgpack array');
  readHead(buf, 0, buf.length, h);
  const n = h.children;
  const offsets: number[] = [];
  let pos = h.hdr;
  const s = new FrameScanner(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  for (let i = 0; i < n; i++) {
    offsets.push(pos);
    s.reset();
    const l = s.scan(buf.subarray(pos), buf.length - pos);
    if (l < 0) throw new FrameMalformed('truncated array element');
    pos += l;
  }
  offsets.push(pos);
  return offsets;
}

/** The raw bytes of a str or bin value at `pos` (PackedForward entries), or null if it is neither. */
export function rawBytesAt(buf: Uint8Array, pos: number, end: number): Uint8Array | null {
  const b = buf[pos] as number;
  const isStrOrBin = (b >= 0xa0 && b <= 0xbf) || b === 0xc4 || b === 0xc5 || b === 0xc6 || b === 0xd9 || b === 0xda || b === 0xdb;
  if (!isStrOrBin) return null;
  const h: Head = { hdr: 0, payload: 0, children: 0 };
  readHead(buf, pos, end, h);
  return buf.subarray(pos + h.hdr, pos + h.hdr + h.payload);
}
