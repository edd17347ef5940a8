import assert from 'node:assert/strict';
import { test } from 'node:test';
import { faroConfigSchema, toFaroOptions } from './index.js';

test('faro config: defaults, and origins checked', () => {
  const c = faroConfigSchema.parse({ enabled: true, allowed_origins: ['https://control.example:9300'] });
  assert.deepEqual(toFaroOptions(c), { path: '/faro/collect', tenant: 'fleetscope', re: 'control', site: 'fleet-page', allowedOrigins: ['https://control.example:9300'], apiKey: undefined, maxBodyBytes: 524288, maxItems: 1000, maxFieldLength: 8192 });
  const bad = faroConfigSchema.safeParse({ allowed_origins: ['https://control.example/page'] });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error?.issues[0]?.path, ['allowed_origins', 0]);
  assert.equal(faroConfigSchema.safeParse({ enabeld: true }).success, false, 'unknown keys are refused');
});
