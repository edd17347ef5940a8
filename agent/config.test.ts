import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadAgentConfig, validateAgentConfig } from './config.js';

test('defaults fill a minimal config', () => {
  const c = validateAgentConfig({ remote_write: { url: 'http://c:9201/api/v1/write' } }, 'a.yml');
  assert.equal(c.config.scrape.interval, 15_000);
  assert.equal(c.config.buffer.max_bytes, 512 * 1024 * 1024);
  assert.equal(c.config.upgrades.poll_interval, 300_000);
  assert.equal(c.config.upgrades.client, 'builtin');
  assert.equal(c.bufferDir, '/var/lib/fleetscope-agent/buffer');
  assert.ok(Object.isFrozen(c.config));
});

test('an invalid config is rejected whole with file, path and reason', () => {
  const table: [unknown, RegExp][] = [
    [{}, /a\.yml: remote_write\.url: required when there is no registration section/],
    [{ remote_write: { url: 'x' } }, /a\.yml: remote_write\.url: /],
    [{ remote_write: { url: 'http://c/w' }, scrape: { interval: '1s', timeout: '2s' } }, /scrape\.timeout: must not exceed the scrape interval/],
    [{ remote_write: { url: 'http://c/w' }, targets: [{ job: 'n', url: 'http://h/m', timeout: '20s' }] }, /targets\.0\.timeout: must not exceed/],
    [{ remote_write: { url: 'http://c/w' }, external_labels: { 'bad-name': 'x' } }, /external_labels\.bad-name: not a valid label name/],
    [{ remote_write: { url: 'http://c/w' }, filter: { allow: { regexes: ['(?<=x)'] } } }, /a\.yml: filter: /],
    [{ remote_write: { url: 'http://c/w' }, metric_relabel_configs: [{ action: 'bogus' }] }, /metric_relabel_configs: /],
    [{ remote_write: { url: 'http://c/w' }, upgrades: { enabled: true } }, /upgrades\.enabled: upgrades need a registration section/],
    [{ remote_write: { url: 'http://c/w' }, upgrades: { client: 'kubectl' } }, /upgrades\.client: /],
    [{ remote_write: { url: 'http://c/w' }, surprise: 1 }, /a\.yml: \(root\): /],
    [{ remote_write: { url: 'http://c/w', bearer_token: 'a', bearer_token_file: '/f' } }, /bearer_token_file: give bearer_token or bearer_token_file, not both/],
  ];
  for (const [doc, re] of table) assert.throws(() => validateAgentConfig(doc, 'a.yml'), (err: Error & { code?: string }) => err.code === 'FS_AGENT_INVALID_CONFIG' && re.test(err.message), JSON.stringify(doc));
});

test('loadAgentConfig names unreadable and malformed files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-agent-config-'));
  try {
    await assert.rejects(loadAgentConfig(join(dir, 'none.yml')), /none\.yml: \(root\): cannot read/);
    await writeFile(join(dir, 'bad.yml'), 'targets: [\n');
    await assert.rejects(loadAgentConfig(join(dir, 'bad.yml')), /bad\.yml: \(root\): /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
