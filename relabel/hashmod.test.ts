import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { hashMod } from './hashmod.js';

// The definition, in BigInt: last 8 bytes of MD5, big-endian uint64, mod m.
function reference(value: string, modulus: number): number {
  const d = createHash('md5').update(value).digest();
  return Number(d.readBigUInt64BE(8) % BigInt(modulus));
}

const moduli = [1, 2, 3, 10, 1000, 0x3ff_ffff, 0x400_0000, 2 ** 32 + 15, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER];
const values = ['', 'a', 'http_requests_total', 'Grüße 日本語', 'x'.repeat(1000)];

for (const m of moduli) {
  test(`hashmod modulus ${m} agrees with the uint64 definition`, () => {
    for (const v of values) assert.equal(hashMod(v, m), reference(v, m), `value ${JSON.stringify(v.slice(0, 20))}`);
  });
}
