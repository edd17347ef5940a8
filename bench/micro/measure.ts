// A micro-benchmark harness: warm up, then run batches until ~`ms`
// milliseconds have passed, and report nanoseconds per operation. Numbers,
// never assertions: speed is reported, not tested (STYLE.md).
export interface BenchResult {
  readonly name: string;
  readonly nsPerOp: number;
  readonly note: string;
}

/** Runs `batch()` (which performs `opsPerBatch` operations) repeatedly and returns ns/op. */
export function measure(name: string, opsPerBatch: number, batch: () => unknown, note = '', ms = 1000): BenchResult {
  let sink: unknown;
  const warmUntil = performance.now() + Math.min(300, ms / 3);
  while (performance.now() < warmUntil) sink = batch();
  let ops = 0;
  const start = process.hrtime.bigint();
  const until = performance.now() + ms;
  do {
    sink = batch();
    ops += opsPerBatch;
  } while (performance.now() < until);
  const ns = Number(process.hrtime.bigint() - start);
  if (sink === Symbol.for('never')) console.log(sink);
  return { name, nsPerOp: ns / ops, note };
}
