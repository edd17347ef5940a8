import { createHash } from 'node:crypto';

const TWO32 = 0x1_0000_0000;

/**
 * Prometheus's hashmod: the last 8 bytes of MD5(value), read big-endian as a
 * uint64, modulo `modulus` (model/relabel/relabel.go). Number arithmetic is
 * exact while modulus² stays below 2^53; larger moduli go through BigInt.
 */
export function hashMod(value: string, modulus: number): number {
  const digest = createHash('md5').update(value, 'utf8').digest();
  const hi = digest.readUInt32BE(8);
  const lo = digest.readUInt32BE(12);
  if (modulus < 0x400_0000) {
    return (((hi % modulus) * (TWO32 % modulus)) % modulus + (lo % modulus)) % modulus;
  }
  const big = (BigInt(hi) << 32n) | BigInt(lo);
  return Number(big % BigInt(modulus));
}
