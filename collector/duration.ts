// Config values shared by the config schemas: durations and byte sizes.
import { z } from 'zod';

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** "500ms", "30s", "5m", "1h", or a number of milliseconds. */
export const duration = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration like 500ms, 30s, 5m or 1h').transform((s) => {
    const m = /^(\d+)(ms|s|m|h)$/.exec(s) as RegExpExecArray;
    return Number(m[1]) * UNITS[m[2] as keyof typeof UNITS];
  }),
], { error: 'expected a duration like 500ms, 30s, 5m or 1h, or a number of milliseconds' });

/** Writes milliseconds back the way a duration is written: the largest unit that divides it (vmagent names outputs by it). */
export function formatDuration(ms: number): string {
  for (const [unit, n] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % n === 0 && ms >= n) return `${ms / n}${unit}`;
  return `${ms}ms`;
}

const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** A byte size: a number, or "512KiB", "10MB" (Prometheus's body_size_limit units). */
export const byteSize = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+(B|KB|MB|GB|KiB|MiB|GiB)$/, 'a size like 10MB or 512KiB').transform((s) => {
    const m = /^(\d+)([A-Za-z]+)$/.exec(s) as RegExpExecArray;
    return Number(m[1]) * (SIZE_UNITS[m[2] as string] as number);
  }),
], { error: 'expected a byte size like 10MB or 512KiB, or a number of bytes' });
