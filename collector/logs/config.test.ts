import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateCollectorConfig } from '../config.js';

const reject = (logs: unknown, path: string, reason: RegExp): void => {
  assert.throws(() => validateCollectorConfig({ logs }, 'c.yml'), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'FS_COLLECTOR_INVALID_CONFIG');
    assert.ok(err.message.startsWith(`c.yml: ${path}: `), err.message);
    assert.match(err.message, reason);
    return true;
  });
};

test('the logs section: defaults, and invalid files named by path and reason', () => {
  const ok = validateCollectorConfig({ logs: { forward: { shared_keys: [{ key: 'k'.repeat(8) }] }, elasticsearch: { nodes: ['http://es:9200'] } } }, 'c.yml');
  assert.equal(ok.config.logs?.forward?.listen, '0.0.0.0:24224');
  assert.equal(ok.config.logs?.elasticsearch?.index_prefix, 'fleetscope-logs');
  assert.equal(ok.config.logs?.elasticsearch?.compatible_with, 8);
  assert.equal(ok.config.logs?.buffer.dir, 'data/logs');
  assert.equal(validateCollectorConfig({}, 'c.yml').config.logs, undefined);
  assert.deepEqual(validateCollectorConfig({ logs: { forward: {} } }, 'c.yml').config.logs?.forward?.shared_keys, [], 'no shared keys: no handshake');
  reject({ forward: { shared_keys: [{ key: 'k'.repeat(8) }], identity: { tenant: 'acme', site: 'ce-1' } } }, 'logs.forward.identity', /without shared_keys/);
  reject({ forward: { shared_keys: [{ key: 'short' }] } }, 'logs.forward.shared_keys.0.key', /at least 8/);
  reject({ forward: { shared_keys: [{ key: 'k'.repeat(8), site: 'ce-1' }] } }, 'logs.forward.shared_keys.0.site', /tenant too/);
  reject({ tenants: { acme: { drop: [{ field: 'f', matches: '(' }] } } }, 'logs.tenants.acme.drop.0.matches', /Invalid regular expression/);
  reject({ tenants: { acme: { drop: [{ field: 'f' }] } } }, 'logs.tenants.acme.drop.0', /exactly one of equals or matches/);
  reject({ elasticsearch: { nodes: ['http://es'], username: 'u' } }, 'logs.elasticsearch.username', /go together/);
  reject({ elasticsearch: { nodes: ['http://es'], index_prefix: 'Logs' } }, 'logs.elasticsearch.index_prefix', /lowercase/);
  reject({ unknown: 1 }, 'logs', /unrecognized|Unrecognized/);
});
