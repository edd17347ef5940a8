// The reference remote-write codec: protobufjs over the published schema
// (prompb/remote.proto and types.proto, remote-write 1.0 fields). Slow and
// obviously right; the tests hold the hand-written codec to it.
import protobuf from 'protobufjs';
import { METRIC_TYPES, type MetricMetadata, type TimeSeries, type WriteRequest } from './remote-write.js';

const SCHEMA = `
syntax = "proto3";
package prometheus;
message WriteRequest {
  repeated TimeSeries timeseries = 1;
  reserved 2;
  repeated MetricMetadata metadata = 3;
}
message MetricMetadata {
  enum MetricType { UNKNOWN = 0; COUNTER = 1; GAUGE = 2; HISTOGRAM = 3; GAUGEHISTOGRAM = 4; SUMMARY = 5; INFO = 6; STATESET = 7; }
  MetricType type = 1;
  string metric_family_name = 2;
  string help = 4;
  string unit = 5;
}
message Sample { double value = 1; int64 timestamp = 2; }
message Exemplar { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3; }
message Label { string name = 1; string value = 2; }
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
const WriteRequestType = root.lookupType('prometheus.WriteRequest');

interface PbLabel { name: string; value: string }
interface PbSample { value: number; timestamp: number }
interface PbSeries { labels: PbLabel[]; samples: PbSample[]; exemplars: { labels: PbLabel[]; value: number; timestamp: number }[] }
interface PbMetadata { type: number; metric_family_name: string; help: string; unit: string }
interface PbRequest { timeseries: PbSeries[]; metadata: PbMetadata[] }

const toPairs = (flat: readonly string[]): PbLabel[] => {
  const out: PbLabel[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ name: flat[i] as string, value: flat[i + 1] as string });
  return out;
};
const toFlat = (pairs: readonly PbLabel[]): string[] => pairs.flatMap((l) => [l.name, l.value]);

export function encodeWriteRequestReference(req: WriteRequest): Uint8Array {
  const msg = WriteRequestType.fromObject({
    timeseries: req.timeseries.map((ts) => ({
      labels: toPairs(ts.labels),
      samples: ts.samples.map((s) => ({ value: s.value, timestamp: s.timestamp })),
      exemplars: (ts.exemplars ?? []).map((e) => ({ labels: toPairs(e.labels), value: e.value, timestamp: e.timestamp })),
    })),
    metadata: (req.metadata ?? []).map((m) => ({
      type: METRIC_TYPES.indexOf(m.type),
      metric_family_name: m.metricFamilyName,
      help: m.help,
      unit: m.unit,
    })),
  });
  return WriteRequestType.encode(msg).finish();
}

export function decodeWriteRequestReference(body: Uint8Array): WriteRequest {
  const obj = WriteRequestType.toObject(WriteRequestType.decode(body), { longs: Number, enums: Number, defaults: true, arrays: true }) as PbRequest;
  const timeseries: TimeSeries[] = obj.timeseries.map((ts) => {
    const base = { labels: toFlat(ts.labels), samples: ts.samples.map((s) => ({ value: s.value, timestamp: s.timestamp })) };
    return ts.exemplars.length > 0
      ? { ...base, exemplars: ts.exemplars.map((e) => ({ labels: toFlat(e.labels), value: e.value, timestamp: e.timestamp })) }
      : base;
  });
  const metadata: MetricMetadata[] = obj.metadata.map((m) => ({
    type: METRIC_TYPES[m.type] ?? 'unknown',
    metricFamilyName: m.metric_family_name,
    help: m.help,
    unit: m.unit,
  }));
  return { timeseries, metadata };
}
