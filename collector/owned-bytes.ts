// Bytes to transfer to another thread (postMessage with a transfer list),
// which detaches their ArrayBuffer here.

/**
 * The bytes in an ArrayBuffer of their own: `b` itself when it spans the
 * whole of one (a buffer made for this one use, such as a pipeline's body,
 * or fastify's copy of a request body of 4 KB or more), else a copy. Never a
 * pooled or a shared buffer, nor an empty one (those are shared).
 * Transferring the result detaches `b` when it is `b`: the caller must be
 * done with it.
 */
export function ownedBytes(b: Uint8Array): Uint8Array {
  if (b.length > 0 && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !(b.buffer instanceof SharedArrayBuffer)) return b;
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}
