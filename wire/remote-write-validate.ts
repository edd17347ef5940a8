// What a sender checks before it encodes: the series rules of remote-write
// 1.0 (https://prometheus.io/docs/concepts/remote_write_spec/#labels, the
// same validateTimeSeries the decoder applies), plus what would otherwise be
// lost silently on the way into protobuf: a timestamp that is not a whole
// number of milliseconds, and a string with a lone UTF-16 surrogate, which
// UTF-8 encoding turns into U+FFFD.
import { WireError } from './errors.js';
import { validateTimeSeries, type WriteRequest } from './remote-write.js';

const LONE_SURROGATE = /\p{Cs}/u;

function checkString(s: string, what: string): void {
  if (LONE_SURROGATE.test(s)) throw new WireError('FS_WIRE_INVALID_UTF8', [what]);
}

function checkTimestamp(t: number, index: number, what: string): void {
  if (!Number.isSafeInteger(t)) throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [index, `${what} has timestamp ${t}, not a whole number of milliseconds`]);
}

function checkPairs(labels: readonly string[], index: number, what: string): void {
  if (labels.length % 2 !== 0) throw new WireError('FS_WIRE_REMOTE_WRITE_INVALID', [index, `${what} are not name/value pairs`]);
  for (let i = 0; i < labels.length; i += 2) {
    checkString(labels[i] as string, `series ${index}: a label name`);
    checkString(labels[i + 1] as string, `series ${index}: the value of ${what.replace(/s$/, '')} "${labels[i] as string}"`);
  }
}

/**
 * Throws the WireError a spec-following receiver would answer (400) if `req`
 * breaks remote-write 1.0: per series, labels sorted by name, unique, names
 * matching [a-zA-Z_][a-zA-Z0-9_]*, no empty value, a `__name__` matching
 * [a-zA-Z_:][a-zA-Z0-9_:]*, samples in timestamp order; timestamps whole
 * milliseconds; every string well-formed Unicode. Exemplar labels are only
 * checked for the last two (the 1.0 spec does not cover exemplars).
 */
export function assertValidForSend(req: WriteRequest): void {
  const series = req.timeseries;
  for (let i = 0; i < series.length; i++) {
    const ts = series[i];
    if (ts === undefined) continue;
    checkPairs(ts.labels, i, 'labels');
    validateTimeSeries(ts, i);
    for (const s of ts.samples) checkTimestamp(s.timestamp, i, 'a sample');
    for (const e of ts.exemplars ?? []) {
      checkPairs(e.labels, i, 'exemplar labels');
      checkTimestamp(e.timestamp, i, 'an exemplar');
    }
  }
  for (const m of req.metadata ?? []) {
    checkString(m.metricFamilyName, 'a metric family name');
    checkString(m.help, `the help of ${m.metricFamilyName}`);
    checkString(m.unit, `the unit of ${m.metricFamilyName}`);
  }
}
