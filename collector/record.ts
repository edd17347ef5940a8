// What the collector queues: one tenant's WriteRequest body (uncompressed
// protobuf) with its sample count. Bodies of one tenant concatenate into one
// valid WriteRequest, which is how the sender batches them.
//   [u32 samples][u16 tenant length][tenant UTF-8][body]

export interface QueuedWrite {
  readonly tenant: string;
  readonly samples: number;
  readonly body: Buffer;
}

export function encodeQueuedWrite(w: QueuedWrite): Buffer {
  const tenant = Buffer.from(w.tenant, 'utf8');
  const out = Buffer.allocUnsafe(6 + tenant.length + w.body.length);
  out.writeUInt32LE(w.samples, 0);
  out.writeUInt16LE(tenant.length, 4);
  tenant.copy(out, 6);
  w.body.copy(out, 6 + tenant.length);
  return out;
}

export function decodeQueuedWrite(rec: Buffer): QueuedWrite {
  const samples = rec.readUInt32LE(0);
  const len = rec.readUInt16LE(4);
  return { samples, tenant: rec.toString('utf8', 6, 6 + len), body: rec.subarray(6 + len) };
}

// What pre-aggregation queues: the series a pipeline's rules take, with the
// pipeline's name and when the collector received them (the aggregator's
// clock, so that a replay after a restart judges lateness as the first pass did).
//   [f64 receivedAt][u16 pipeline key length][pipeline key UTF-8][body]

export interface QueuedAggregateInput {
  readonly pipelineKey: string;
  readonly receivedAt: number;
  readonly body: Buffer;
}

export function encodeAggregateInput(a: QueuedAggregateInput): Buffer {
  const key = Buffer.from(a.pipelineKey, 'utf8');
  const out = Buffer.allocUnsafe(10 + key.length + a.body.length);
  out.writeDoubleLE(a.receivedAt, 0);
  out.writeUInt16LE(key.length, 8);
  key.copy(out, 10);
  a.body.copy(out, 10 + key.length);
  return out;
}

export function decodeAggregateInput(rec: Buffer): QueuedAggregateInput {
  const len = rec.readUInt16LE(8);
  return { receivedAt: rec.readDoubleLE(0), pipelineKey: rec.toString('utf8', 10, 10 + len), body: rec.subarray(10 + len) };
}
