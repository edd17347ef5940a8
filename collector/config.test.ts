import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateCollectorConfig } from './config.js';
import { CollectorError } from './errors.js';

const site = { token: 'a-token-of-sixteen-chars', tenant: 'acme', site: 'ce-1' };
const base = { sites: [site], tenants: { acme: { pipeline: {} } }, remote_write: [{ url: 'http://127.0.0.1:9009/api/v1/push' }] };

test('defaults fill in, durations parse, pipelines compile per tenant and group', () => {
  const { config, pipelines } = validateCollectorConfig({
    ...base,
    series_idle_timeout: '5m',
    tenants: { acme: { pipeline: { series_limit_per_site: 100 }, groups: { stores: { series_limit_per_site: 10 } } } },
  }, 'c.yml');
  assert.equal(config.listen, '0.0.0.0:9201');
  assert.equal(config.series_idle_timeout, 300_000);
  assert.equal(config.remote_write[0]?.timeout, 30_000);
  assert.equal(pipelines.get('acme')?.seriesLimit, 100);
  assert.equal(pipelines.get('acme/stores')?.seriesLimit, 10);
  // A group that gives no rules inherits the tenant's.
  assert.equal(pipelines.get('acme/stores')?.filter, pipelines.get('acme')?.filter);
});

// [what, config, path named, reason]
const invalid: [string, unknown, string, RegExp][] = [
  ['unknown top-level key', { ...base, lisen: ':1' }, '(root)', /Unrecognized key/i],
  ['short token', { ...base, sites: [{ ...site, token: 'short' }] }, 'sites.0.token', /at least 16/],
  ['duplicate token', { ...base, sites: [site, { ...site, site: 'ce-2' }] }, 'sites.1.token', /same token/],
  ['undefined tenant', { ...base, sites: [{ ...site, tenant: 'nope' }] }, 'sites.0.tenant', /not defined under tenants/],
  ['undefined group', { ...base, sites: [{ ...site, group: 'nope' }] }, 'sites.0.group', /not defined/],
  ['bad url', { ...base, remote_write: [{ url: 'not a url' }] }, 'remote_write.0.url', /url/i],
  ['bad duration', { ...base, remote_write: [{ url: 'http://x/', timeout: '30 seconds' }] }, 'remote_write.0.timeout', /duration/],
  ['bad relabel rule', { ...base, tenants: { acme: { pipeline: { relabel_configs: [{ action: 'replace' }] } } } }, 'tenants.acme.pipeline', /relabel rule 0: .*target_label/],
  ['bad filter', { ...base, tenants: { acme: { pipeline: { filter: { allow: { regexes: ['('] } } } } } }, 'tenants.acme.pipeline', /allow\.regexes\.0/],
  ['identity as external label', { ...base, external_labels: { tenant: 'x' } }, 'external_labels.tenant', /identity/],
  ['bad listen', { ...base, listen: 'localhost' }, 'listen', /host:port/],
  ['site without token or certificate', { ...base, sites: [{ tenant: 'acme', site: 'ce-1' }] }, 'sites.0', /token or a certificate_name/],
  ['certificate name without client CA', { ...base, sites: [{ certificate_name: 'ce-1', tenant: 'acme', site: 'ce-1' }] }, 'sites.0.certificate_name', /client_ca_file/],
  ['unreadable TLS file', { ...base, tls: { cert_file: '/nonexistent.crt', key_file: '/nonexistent.key' } }, 'tls.cert_file', /cannot read/],
  ['min_shards over max_shards', { ...base, remote_write: [{ url: 'http://x/', min_shards: 4, max_shards: 2 }] }, 'remote_write.0.min_shards', /max_shards/],
  ['scrape job twice', { ...base, scrape_configs: [{ job_name: 'j', tenant: 'acme' }, { job_name: 'j', tenant: 'acme' }] }, 'scrape_configs.1.job_name', /twice/],
  ['scrape target without site', { ...base, scrape_configs: [{ job_name: 'j', tenant: 'acme', static_configs: [{ targets: ['h:1'] }] }] }, 'scrape_configs.0.static_configs.0', /no site/],
  ['scrape target of an unknown tenant', { ...base, scrape_configs: [{ job_name: 'j', static_configs: [{ targets: ['h:1'], tenant: 'nope', site: 's' }] }] }, 'scrape_configs.0.static_configs.0', /not defined under tenants/],
  ['scrape timeout over interval', { ...base, scrape_configs: [{ job_name: 'j', tenant: 'acme', scrape_interval: '5s', scrape_timeout: '10s' }] }, 'scrape_configs.0.scrape_timeout', /scrape_interval/],
  ['aggregation by and without', { ...base, tenants: { acme: { pipeline: { aggregate: [{ match: 'x', interval: '1m', by: ['a'], without: ['b'], outputs: ['total'] }] } } } }, 'tenants.acme.pipeline.aggregate.0', /both/],
  ['aggregation output unknown', { ...base, tenants: { acme: { pipeline: { aggregate: [{ match: 'x', interval: '1m', outputs: ['median'] }] } } } }, 'tenants.acme.pipeline.aggregate.0.outputs.0', /Invalid/i],
];

for (const [what, cfg, path, reason] of invalid) {
  test(`invalid config: ${what}`, () => {
    assert.throws(() => validateCollectorConfig(cfg, 'c.yml'), (e: unknown) => {
      assert.ok(e instanceof CollectorError, String(e));
      assert.equal(e.code, 'FS_COLLECTOR_INVALID_CONFIG');
      assert.ok(e.message.startsWith(`c.yml: ${path}: `), e.message);
      assert.match(e.message, reason);
      return true;
    });
  });
}
