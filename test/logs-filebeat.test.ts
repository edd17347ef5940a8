// Filebeat 8's (and Logstash's) setup calls against the collector's
// Elasticsearch-compatible surface, in the shapes libbeat sends them
// (Filebeat itself is not installable here): the version and product check
// (GET /), the license (GET /_license?human=false, x-pack/libbeat/licenser),
// the index template (HEAD /_index_template/<name>: 404, then PUT with the
// composable template body, libbeat/template), the ILM policy (GET
// /_ilm/policy/<name>: 404, then PUT {"policy": …}, libbeat/idxmgmt/lifecycle),
// then bulk `create` into its data stream. Each answered as Elasticsearch 8
// does; the documents land where the collector puts them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SITE2_TOKEN, SITE_TOKEN, startLogsHarness, storedSources, waitFor } from './logs-harness.js';

const basic = (pass: string): string => `Basic ${Buffer.from(`elastic:${pass}`).toString('base64')}`;

test('Filebeat 8 setup calls are answered like Elasticsearch 8, then its bulk requests are stored', async () => {
  const h = await startLogsHarness();
  try {
    const call = async (method: string, path: string, body?: unknown, auth = basic(SITE_TOKEN)): Promise<{ status: number; json: unknown; product: string | null }> => {
      const res = await fetch(`${h.collector.url}${path}`, {
        method,
        headers: { Authorization: auth, 'Content-Type': 'application/json', Accept: 'application/json' },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, json: text === '' ? undefined : (JSON.parse(text) as unknown), product: res.headers.get('x-elastic-product') };
    };
    const info = await call('GET', '/');
    assert.equal(info.status, 200);
    assert.equal(info.product, 'Elasticsearch');
    assert.match((info.json as { version: { number: string; build_flavor: string } }).version.number, /^8\./);
    assert.equal((info.json as { version: { build_flavor: string } }).version.build_flavor, 'default', 'not serverless: Filebeat uses ILM');

    const lic = await call('GET', '/_license?human=false');
    assert.equal(lic.status, 200);
    assert.deepEqual([(lic.json as { license: { type: string; status: string } }).license.type, (lic.json as { license: { status: string } }).license.status], ['basic', 'active']);
    assert.equal(((await call('GET', '/_xpack')).json as { features: { ilm: { available: boolean } } }).features.ilm.available, true);

    const name = 'filebeat-8.11.0';
    assert.equal((await call('HEAD', `/_index_template/${name}`)).status, 404, 'not loaded yet');
    const template = {
      index_patterns: [name],
      data_stream: {},
      priority: 150,
      template: { settings: { index: { 'lifecycle.name': 'filebeat', 'mapping.total_fields.limit': 10000 } }, mappings: { dynamic_templates: [], properties: { '@timestamp': { type: 'date' }, message: { type: 'match_only_text' } } } },
    };
    const put = await call('PUT', `/_index_template/${name}`, template);
    assert.deepEqual([put.status, put.json], [200, { acknowledged: true }]);
    assert.equal((await call('HEAD', `/_index_template/${name}`)).status, 200, 'found after the PUT: Filebeat does not load it again');
    const got = await call('GET', `/_index_template/${name}`);
    assert.deepEqual(got.json, { index_templates: [{ name, index_template: template }] });
    assert.equal((await call('HEAD', `/_index_template/${name}`, undefined, basic(SITE2_TOKEN))).status, 404, 'another tenant does not see it');
    assert.equal((await call('PUT', `/_index_template/${name}`, { template: {} })).status, 400, 'a template without index_patterns is refused as Elasticsearch does');

    const ilm = await call('GET', '/_ilm/policy/filebeat');
    assert.equal(ilm.status, 404);
    assert.equal((ilm.json as { error: { type: string } }).error.type, 'resource_not_found_exception');
    const policy = { policy: { phases: { hot: { actions: { rollover: { max_age: '30d', max_primary_shard_size: '50gb' } } } } } };
    assert.deepEqual((await call('PUT', '/_ilm/policy/filebeat', policy)).json, { acknowledged: true });
    const after = (await call('GET', '/_ilm/policy/filebeat')).json as Record<string, { version: number; policy: unknown }>;
    assert.equal(after.filebeat?.version, 1);
    assert.deepEqual(after.filebeat?.policy, policy.policy);

    assert.equal((await call('GET', '/_license', undefined, 'Basic ' + Buffer.from('elastic:wrong').toString('base64'))).status, 401);

    // Filebeat's bulk request into its data stream.
    const bulk = `${JSON.stringify({ create: { _index: name } })}\n${JSON.stringify({ '@timestamp': '2026-12-01T08:00:00.000Z', message: 'from filebeat', ecs: { version: '8.0.0' } })}\n`;
    const res = await fetch(`${h.collector.url}/_bulk`, { method: 'POST', headers: { Authorization: basic(SITE_TOKEN), 'Content-Type': 'application/json' }, body: bulk });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { errors: boolean }).errors, false);
    await waitFor('the Filebeat document', () => storedSources(h.es).some((d) => d.message === 'from filebeat'));
  } finally {
    await h.stop();
  }
});
