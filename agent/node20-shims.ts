// @kubernetes/client-node 2.0.1 ships undici 8, which requires Node.js
// 22.19 and, on Node 20, fails at load time: it destructures
// zlib.createZstdDecompress and worker_threads.markAsUncloneable, which
// Node 20 lacks, and it calls Promise.withResolvers (ES2024, Node 22).
// withResolvers is defined as the spec does. Neither of the first two matters to the agent (the API server does not send
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

const P = Promise as unknown as Record<string, unknown>;
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = function withResolvers<T>(this: PromiseConstructor) {
    let resolve!: (v: T | PromiseLike<T>) => void;
    let reject!: (e: unknown) => void;
    const promise = new this<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export {};
