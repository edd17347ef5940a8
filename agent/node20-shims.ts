// @kubernetes/client-node 2.0.1 ships undici 8, which requires Node.js
// 22.19 and, on Node 20, fails at load time: it destructures
// zlib.createZstdDecompress and worker_threads.markAsUncloneable, which
// Node 20 lacks. Neither matters to the agent (the API server does not send
// zstd unless asked; nothing of ours structured-clones undici objects), so
// where they are missing they are defined: zstd decoding throws a clear
// error, markAsUncloneable does nothing. Imported before the client loads.
import wt from 'node:worker_threads';
import zlib from 'node:zlib';

const z = zlib as unknown as Record<string, unknown>;
if (typeof z.createZstdDecompress !== 'function') {
  z.createZstdDecompress = () => {
    throw new Error('zstd content-encoding is not supported on this Node.js version');
  };
}
const w = wt as unknown as Record<string, unknown>;
if (typeof w.markAsUncloneable !== 'function') w.markAsUncloneable = () => undefined;

export {};
