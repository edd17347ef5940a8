// Against a REAL Elasticsearch cluster, when ES_URL is set (ES_USERNAME and
// ES_PASSWORD, or ES_API_KEY, for its auth): the collector's egress indexes
// through it, a mapping conflict is dead-lettered with Elasticsearch's own
// reason, and a resend does not duplicate. Without ES_URL it is skipped
// (no cluster can be installed here); with ES_URL set but unreachable it
// fails under CI=true and is skipped otherwise.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { pino } from 'pino';
import { Collector, validateCollectorConfig } from '../collector/index.js';
import { SITE_TOKEN, logsConfigDoc, waitFor } from './logs-harness.js';

const ES_URL = process.env.ES_URL;

test('egress to a real Elasticsearch (ES_URL)', { timeout: 120_000 }, async (t) => {
  if (!ES_URL) {
    t.skip('ES_URL is not set: no Elasticsearch cluster to test against');
    return;
  }
  const auth = process.env.ES_API_KEY ? { apiKey: process.env.ES_API_KEY } : process.env.ES_USERNAME ? { username: process.env.ES_USERNAME, password: process.env.ES_PASSWORD ?? '' } : undefined;
  const es = new Client({ node: ES_URL, ...(auth ? { auth } : {}), headers: { accept: 'application/vnd.elasticsearch+json; compatible-with=8', 'content-type': 'application/vnd.elasticsearch+json; compatible-with=8' } });
  try {
    await es.info();
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`ES_URL=${ES_URL} is set but unreachable: ${(err as Error).message}`, { cause: err });
    t.skip(`ES_URL=${ES_URL} unreachable: ${(err as Error).message}`);
    return;
  }
  const prefix = `fleetscope-test-${randomBytes(4).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-logs-real-'));
  const esExtra: Record<string, unknown> = { nodes: [ES_URL], index_prefix: prefix };
  if (process.env.ES_API_KEY) esExtra.api_key = process.env.ES_API_KEY;
  else if (process.env.ES_USERNAME) Object.assign(esExtra, { username: process.env.ES_USERNAME, password: process.env.ES_PASSWORD ?? '' });
  const doc = logsConfigDoc(dir, ES_URL, {}, esExtra);
  delete (doc.logs as Record<string, unknown>).forward;
  const collector = await Collector.start(validateCollectorConfig(doc, 'real.yml'), { listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
  try {
    const post = (body: string): Promise<Response> => fetch(`${collector.url}/_bulk`, { method: 'POST', headers: { Authorization: `Bearer ${SITE_TOKEN}` }, body });
    let body = `{"index":{}}\n{"@timestamp":"2026-12-01T08:00:00Z","message":"first","n":1}\n`;
    assert.equal((await post(body)).status, 200);
    const index = `${prefix}-2026.12.01`;
    await waitFor('the first document (sets n as long)', async () => (await es.indices.exists({ index })) && (await es.count({ index })).count === 1, 30_000);
    body = '';
    for (let i = 0; i < 50; i++) body += `{"index":{}}\n${JSON.stringify({ '@timestamp': '2026-12-01T08:00:01Z', message: `m${i}`, n: i === 7 ? 'not a number' : i })}\n`;
    assert.equal((await post(body)).status, 200);
    assert.equal((await post(body)).status, 200, 'the same records again');
    await waitFor('50 documents', async () => {
      await es.indices.refresh({ index });
      return (await es.count({ index })).count === 50;
    }, 30_000);
    await waitFor('two dead letters (m7, sent twice)', async () => (await readFile(join(dir, 'dead-letter.ndjson'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean).length === 2, 30_000);
    const dead = JSON.parse((await readFile(join(dir, 'dead-letter.ndjson'), 'utf8')).split('\n')[0] as string) as { reason: string; doc: { message: string } };
    assert.match(dead.reason, /document_parsing_exception|mapper_parsing_exception/);
    assert.equal(dead.doc.message, 'm7');
    const hit = await es.search<{ tenant: string; site: string; re: string }>({ index, q: 'message:m3' });
    assert.deepEqual({ ...hit.hits.hits[0]?._source }, { '@timestamp': '2026-12-01T08:00:01Z', message: 'm3', n: 3, tenant: 'acme', re: 'eu-west-1', site: 'ce-0001' });
  } finally {
    await collector.stop();
    await es.indices.delete({ index: `${prefix}-*` }).catch(() => undefined);
    await es.close();
    await rm(dir, { recursive: true, force: true });
  }
});
