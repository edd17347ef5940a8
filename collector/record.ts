// What the collector queues: one tenant's WriteRequest body with its sample
// count, and the key that picks its send shard (the site: every series of a
// record belongs to it, so one site's series stay in order on one shard).
// Bodies of one tenant concatenate into one valid WriteRequest, which is how
// the sender batches them. A body is either uncompressed protobuf or, with
// the 0x4000 flag, a snappy block (the push path compresses as it encodes):
// the elements of snappy blocks concatenate into one block too, since a
// copy only reaches back into what its own block wrote.
//   [u32 samples][u16 tenant length | 0x8000 | 0x4000?][tenant UTF-8][u16 shard key length][shard key][body]
// Records written before the shard key existed have no 0x8000 flag.

export interface QueuedWrite {
  readonly tenant: string;
  readonly samples: number;
  readonly body: Buffer;
  /** What picks the send shard; the tenant when absent. */
  readonly shardKey?: string;
  /** The body is a snappy block, not uncompressed protobuf. */
  readonly snappy?: boolean;
}

const HAS_SHARD_KEY = 0x8000;
const SNAPPY_BODY = 0x4000;
const LENGTH_MASK = 0x3fff;

export function encodeQueuedWrite(w: QueuedWrite): Buffer {
  const tenant = Buffer.from(w.tenant, 'utf8');
  const shard = Buffer.from(w.shardKey ?? w.tenant, 'utf8');
  const out = Buffer.allocUnsafe(8 + tenant.length + shard.length + w.body.length);
  out.writeUInt32LE(w.samples, 0);
  if (tenant.length > LENGTH_MASK) throw new RangeError(`tenant name of ${tenant.length} bytes`);
  out.writeUInt16LE(tenant.length | HAS_SHARD_KEY | (w.snappy === true ? SNAPPY_BODY : 0), 4);
  tenant.copy(out, 6);
  out.writeUInt16LE(shard.length, 6 + tenant.length);
  shard.copy(out, 8 + tenant.length);
  w.body.copy(out, 8 + tenant.length + shard.length);
  return out;
}

export function decodeQueuedWrite(rec: Buffer): Required<QueuedWrite> {
  const samples = rec.readUInt32LE(0);
  const word = rec.readUInt16LE(4);
  const len = word & LENGTH_MASK;
  const tenant = rec.toString('utf8', 6, 6 + len);
  if ((word & HAS_SHARD_KEY) === 0) return { samples, tenant, shardKey: tenant, body: rec.subarray(6 + len), snappy: false };
  const slen = rec.readUInt16LE(6 + len);
  return { samples, tenant, shardKey: rec.toString('utf8', 8 + len, 8 + len + slen), body: rec.subarray(8 + len + slen), snappy: (word & SNAPPY_BODY) !== 0 };
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
