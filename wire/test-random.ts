// For wire/'s tests (wire/ imports nothing of ours, so not bench's Random): mulberry32 with a
// fixed seed, so every run sees the same inputs. seeded(s)(n) is a whole number in [0, n).
export function seeded(seed: number): (n: number) => number {
  let state = seed;
  return (n: number): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
  };
}
