// RFC 3339 timestamps for `@timestamp`, with the nanoseconds forward's
// EventTime carries (Elasticsearch's date parsing accepts up to nine
// fraction digits). The second's prefix is cached: logs arrive in bursts
// that share it.

let cachedSec = Number.NaN;
let cachedPrefix = '';

function prefixOf(sec: number): string {
  if (sec !== cachedSec) {
    cachedSec = sec;
    cachedPrefix = new Date(sec * 1000).toISOString().slice(0, 19);
  }
  return cachedPrefix;
}

/** `2026-12-01T08:00:00.123456789Z` from seconds and nanoseconds. */
export function rfc3339FromSecNs(sec: number, nsec: number): string {
  return `${prefixOf(sec)}.${String(nsec).padStart(9, '0')}Z`;
}

/** From milliseconds since the epoch (fractional milliseconds kept to the nanosecond). */
export function rfc3339FromMs(ms: number): string {
  const sec = Math.floor(ms / 1000);
  return rfc3339FromSecNs(sec, Math.round((ms - sec * 1000) * 1e6));
}

/** A timestamp a client sent (RFC 3339 string or epoch milliseconds); NaN when unreadable. */
export function parseTimestampMs(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : Number.NaN;
  if (typeof v !== 'string' || v.length > 64) return Number.NaN;
  return Date.parse(v);
}

const dayCache = new Map<number, string>();

/** `YYYY.MM.DD` (UTC) of a millisecond timestamp, as daily index names carry it. */
export function indexDay(ms: number): string {
  const day = Math.floor(ms / 86_400_000);
  let s = dayCache.get(day);
  if (s === undefined) {
    s = new Date(day * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '.');
    if (dayCache.size > 4096) dayCache.clear();
    dayCache.set(day, s);
  }
  return s;
}
