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
