// What the collector queues: one tenant's WriteRequest body with its sample
// count, and the key that picks its send shard (the site: every series of a
// record belongs to it, so one site's series stay in order on one shard).
// Bodies of one tenant concatenate into one valid WriteRequest, which is how
// the sender batches them. A body is either uncompressed protobuf or, with
// the 0x4000 flag, a snappy block (the push path compresses as it encodes):
// the elements of snappy blocks concatenate into one block too, since a
// copy only reaches back into what its own block wrote.
// With the 0x2000 flag, when the record was queued (ms since the epoch, a
// float64) comes before the body: how far behind the sender is.
//   [u32 samples][u16 tenant length | 0x8000 | 0x4000? | 0x2000?][tenant UTF-8][u16 shard key length][shard key][f64 queued at?][body]
// Records written before the shard key existed have no 0x8000 flag.

export interface QueuedWrite {
  readonly tenant: string;
  readonly samples: number;
  readonly body: Buffer;
  /** What picks the send shard; the tenant when absent. */
  readonly shardKey?: string;
  /** The body is a snappy block, not uncompressed protobuf. */
  readonly snappy?: boolean;
  /** When it was queued, ms since the epoch (0: not recorded). */
  readonly queuedAt?: number;
}

const HAS_SHARD_KEY = 0x8000;
const SNAPPY_BODY = 0x4000;
const HAS_TIME = 0x2000;
const LENGTH_MASK = 0x1fff;

export function encodeQueuedWrite(w: QueuedWrite): Buffer {
  const tenant = Buffer.from(w.tenant, 'utf8');
  const shard = Buffer.from(w.shardKey ?? w.tenant, 'utf8');
  const timed = (w.queuedAt ?? 0) > 0;
  const at = 8 + tenant.length + shard.length;
  const out = Buffer.allocUnsafe(at + (timed ? 8 : 0) + w.body.length);
  out.writeUInt32LE(w.samples, 0);
  if (tenant.length > LENGTH_MASK) throw new RangeError(`tenant name of ${tenant.length} bytes`);
  out.writeUInt16LE(tenant.length | HAS_SHARD_KEY | (w.snappy === true ? SNAPPY_BODY : 0) | (timed ? HAS_TIME : 0), 4);
  tenant.copy(out, 6);
  out.writeUInt16LE(shard.length, 6 + tenant.length);
  shard.copy(out, 8 + tenant.length);
  if (timed) out.writeDoubleLE(w.queuedAt as number, at);
  w.body.copy(out, at + (timed ? 8 : 0));
  return out;
}

export function decodeQueuedWrite(rec: Buffer): Required<QueuedWrite> {
  const samples = rec.readUInt32LE(0);
  const word = rec.readUInt16LE(4);
  // Without the shard key flag, the other flags did not exist either: the length is the whole word.
  if ((word & HAS_SHARD_KEY) === 0) {
    const tenant = rec.toString('utf8', 6, 6 + word);
    return { samples, tenant, shardKey: tenant, body: rec.subarray(6 + word), snappy: false, queuedAt: 0 };
  }
  const len = word & LENGTH_MASK;
  const tenant = rec.toString('utf8', 6, 6 + len);
  const slen = rec.readUInt16LE(6 + len);
  const at = 8 + len + slen;
  const timed = (word & HAS_TIME) !== 0;
  return {
    samples,
    tenant,
    shardKey: rec.toString('utf8', 8 + len, at),
    body: rec.subarray(at + (timed ? 8 : 0)),
    snappy: (word & SNAPPY_BODY) !== 0,
    queuedAt: timed ? rec.readDoubleLE(at) : 0,
  };
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
