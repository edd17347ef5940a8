// Real rsyslog 8.2302 with omelasticsearch (bulk mode, basic auth with the
// site token as password) pointed at the collector's `_bulk` endpoint, fed
// through imfile (a tailed file) and imtcp: every line arrives, once, in the
// Elasticsearch stand-in behind the collector, with the site's identity.
import assert from 'node:assert/strict';
import { appendFile, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { test } from 'node:test';
import { SITE_TOKEN, startLogsHarness, storedSources, waitFor } from './logs-harness.js';
import { startRsyslog } from './peers/rsyslog.js';

test('rsyslog omelasticsearch delivers every line through the collector', { timeout: 60_000 }, async () => {
  const h = await startLogsHarness();
  const rs = await startRsyslog({ server: new URL(h.collector.url).host, username: 'ce-0001', password: SITE_TOKEN });
  try {
    const N = 600;
    let text = '';
    for (let i = 0; i < N; i++) text += `file line ${i} "quoted" \\ back\tslash ünïcode\n`;
    await appendFile(rs.inputFile, text);
    const M = 200;
    await new Promise<void>((resolve, reject) => {
      const s = connect(rs.tcpPort, '127.0.0.1', () => {
        let msgs = '';
        for (let i = 0; i < M; i++) msgs += `<134>1 2026-12-01T08:00:00.${String(i).padStart(6, '0')}Z edge-host app 123 - - tcp line ${i}\n`;
        s.end(msgs, () => resolve());
      });
      s.once('error', reject);
    });
    try {
      await waitFor(`${N + M} documents`, () => h.es.docs.size >= N + M, 40_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}; have ${h.es.docs.size}\nrsyslog: ${rs.output()}\nerrors: ${await readFile(rs.errorFile, 'utf8').catch(() => '(none)')}`);
    }
    const docs = storedSources(h.es);
    const fileLines = new Set(docs.filter((d) => String(d.message).includes('file line')).map((d) => /file line (\d+)/.exec(String(d.message))?.[1]));
    const tcpLines = new Set(docs.filter((d) => String(d.message).includes('tcp line')).map((d) => /tcp line (\d+)/.exec(String(d.message))?.[1]));
    assert.equal(fileLines.size, N, 'every file line, once');
    assert.equal(tcpLines.size, M, 'every TCP line, once');
    assert.equal(docs.length, N + M);
    const sample = docs.find((d) => String(d.message).includes('file line 7 ')) as Record<string, unknown>;
    assert.equal(sample.message, 'file line 7 "quoted" \\ back\tslash ünïcode');
    assert.equal(sample.tenant, 'acme');
    assert.equal(sample.site, 'ce-0001');
    assert.equal(sample.program, 'app');
    const tcp = docs.find((d) => String(d.message) === 'tcp line 5') as Record<string, unknown>;
    assert.equal(tcp['@timestamp'], '2026-12-01T08:00:00.000005Z');
  } finally {
    await rs.stop();
    await h.stop();
  }
});
