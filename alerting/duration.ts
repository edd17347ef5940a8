// ElastAlert's time options are Python timedelta keyword objects
// (`{minutes: 5}`); the schema has already checked their keys and types.

const UNIT_MS: Record<string, number> = {
  weeks: 7 * 86_400_000,
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1000,
  milliseconds: 1,
  microseconds: 0.001,
};

/** Milliseconds of a timedelta object, or null when it is not one. */
export function timedeltaMs(v: unknown): number | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  let ms = 0;
  for (const [k, n] of Object.entries(v)) {
    const unit = UNIT_MS[k];
    if (unit === undefined || typeof n !== 'number' || !Number.isFinite(n)) return null;
    ms += n * unit;
  }
  return ms;
}

/** Python's str(timedelta), used where ElastAlert prints a timeframe. */
export function timedeltaStr(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  const frac = Math.round((rest - s * 1000) * 1000);
  const hms = `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}${frac ? `.${String(frac).padStart(6, '0')}` : ''}`;
  return days ? `${days} day${days === 1 ? '' : 's'}, ${hms}` : hms;
}
