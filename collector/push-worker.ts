// A push worker thread (push-workers.ts starts them): the per-sample half of
// a push, for the sites the main thread routes to it. It owns their series
// caches; the main thread keeps HTTP, the queues and the senders.
//
// In:  {kind: 'config', doc, file}                  (validated again here: compiled rules do not cross threads)
//      {kind: 'push', seq, tenant, site, group?, body: Uint8Array}
//      {kind: 'sweep', now}
// Out: {kind: 'result', seq, result}  or  {kind: 'failed', seq, status, message}
//      {kind: 'active', series: [site key, count][]}  {kind: 'log', message}
import { parentPort } from 'node:worker_threads';
import { type RemoteWriteLimits, type SnappyScratch, WireError } from '../wire/index.js';
import { validateCollectorConfig } from './config.js';
import { ownedBytes } from './owned-bytes.js';
import { type Identity, type PushPipeline, type PushResult, pushPipelineOf, readerLimitsOf } from './pipeline.js';
import type { WorkerRequest, WorkerResult } from './push-workers.js';

interface State {
  readonly pipeline: PushPipeline;
  readonly limits: Partial<RemoteWriteLimits>;
  readonly maxDecompressed: number;
}

let state: State | null = null;
const scratch: SnappyScratch = { bytes: new Uint8Array(1024 * 1024) };

function configure(doc: unknown, file: string): void {
  const loaded = validateCollectorConfig(doc, file);
  state = { pipeline: pushPipelineOf(loaded), limits: readerLimitsOf(loaded.config), maxDecompressed: loaded.config.limits.max_decompressed_bytes };
}

function push(s: State, id: Identity, body: Uint8Array): { result: WorkerResult; transfer: ArrayBuffer[] } {
  const r: PushResult = s.pipeline.processBody(id, body, Date.now(), s.limits, s.maxDecompressed, scratch);
  const out = ownedBytes(r.body);
  const agg = r.aggregate === undefined ? undefined : { pipelineKey: r.aggregate.pipelineKey, body: ownedBytes(r.aggregate.body), samples: r.aggregate.samples };
  const transfer = [out.buffer as ArrayBuffer, ...(agg ? [agg.body.buffer as ArrayBuffer] : [])];
  return {
    result: { body: out, snappy: r.snappy === true, samplesIn: r.samplesIn, samplesOut: r.samplesOut, dropped: [...r.dropped], newSeries: r.newSeries, reused: r.reused === true, repeat: r.repeat === true, ...(agg ? { aggregate: agg } : {}) },
    transfer,
  };
}

const port = parentPort;
if (port === null) throw new Error('push-worker.js runs as a worker thread');
port.on('message', (m: WorkerRequest) => {
  if (m.kind === 'config') {
    // The main thread validated this document already; should it fail here, the old rules stay.
    try {
      configure(m.doc, m.file);
    } catch (err) {
      port.postMessage({ kind: 'log', message: `push worker kept its previous config: ${(err as Error).message}` });
    }
    return;
  }
  if (m.kind === 'sweep') {
    if (state === null) return;
    state.pipeline.sweep(m.now);
    port.postMessage({ kind: 'active', series: [...state.pipeline.activeSeries()] });
    return;
  }
  if (state === null) {
    port.postMessage({ kind: 'failed', seq: m.seq, status: 503, message: 'push worker has no config yet' });
    return;
  }
  try {
    const id: Identity = { tenant: m.tenant, site: m.site, ...(m.group === undefined ? {} : { group: m.group }) };
    const { result, transfer } = push(state, id, m.body);
    port.postMessage({ kind: 'result', seq: m.seq, result }, transfer);
  } catch (err) {
    if (err instanceof WireError) port.postMessage({ kind: 'failed', seq: m.seq, status: err.status, message: `${err.code}: ${err.message}` });
    else port.postMessage({ kind: 'failed', seq: m.seq, status: 500, message: (err as Error).message });
  }
});
