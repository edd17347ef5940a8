// Differential test of relabel/ against real Prometheus 2.42: every corpus
// case becomes a scrape job whose metric_relabel_configs are the case's rules
// (plus a final rule tagging survivors with `fs_case`), Prometheus scrapes a
// fixture target serving the case's series, and the stored series, read back
// through /api/v1/series, must equal what our engine outputs for the same
// input (the exposition's labels plus the target's job and instance).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Relabeler, sortLabels, type RelabelConfigInput } from '../../relabel/index.js';
import { formatSeries } from '../../wire/index.js';
import { startPrometheus, type PrometheusPeer } from '../peers/prometheus.js';
import { BASE_SERIES, CORPUS } from './corpus.js';

const MARK = 'fs_case';

let prom: PrometheusPeer;
let fixture: Server;
let instance = '';

function exposition(series: readonly (readonly string[])[]): string {
  let body = '';
  for (const s of series) {
    body += formatSeries(sortLabels(s), 1) + '\n';
  }
  return body;
}

const key = (labels: readonly string[]): string => JSON.stringify(labels);

before(async () => {
  fixture = createServer((req, res) => {
    const m = /^\/case\/(\d+)$/.exec(req.url ?? '');
    const c = m ? CORPUS[Number(m[1])] : undefined;
    if (!c) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(exposition(c.series ?? BASE_SERIES));
  });
  await new Promise<void>((r) => fixture.listen(0, '127.0.0.1', r));
  instance = `127.0.0.1:${(fixture.address() as AddressInfo).port}`;
  const jobs = CORPUS.map((c, i) => {
    const rules: RelabelConfigInput[] = [...c.rules, { target_label: MARK, replacement: String(i) }];
    return [
      `  - job_name: case_${i}`,
      '    honor_labels: true',
      '    scrape_interval: 1s',
      '    scrape_timeout: 1s',
      `    metrics_path: /case/${i}`,
      `    static_configs: [{targets: ['${instance}']}]`,
      `    metric_relabel_configs: ${JSON.stringify(rules)}`,
    ].join('\n');
  });
  prom = await startPrometheus({ config: `global: {scrape_interval: 1s}\nscrape_configs:\n${jobs.join('\n')}\n` });
  // Wait until every target has been scraped once.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const data = await prom.api<{ activeTargets: { lastScrape: string; scrapePool: string }[] }>('/api/v1/targets?state=active');
    const scraped = data.activeTargets.filter((t) => !t.lastScrape.startsWith('0001-')).length;
    if (scraped === CORPUS.length && data.activeTargets.length === CORPUS.length) break;
    if (Date.now() > deadline) throw new Error(`only ${scraped}/${CORPUS.length} targets scraped:\n${prom.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
});

after(async () => {
  await prom?.stop();
  await new Promise((r) => fixture?.close(r));
});

test('corpus has at least 200 cases covering every action', () => {
  assert.ok(CORPUS.length >= 200, `corpus has ${CORPUS.length} cases`);
  const actions = new Set(CORPUS.flatMap((c) => c.rules.map((r) => (r.action ?? 'replace').toLowerCase())));
  for (const a of ['replace', 'keep', 'drop', 'keepequal', 'dropequal', 'hashmod', 'labelmap', 'labeldrop', 'labelkeep', 'lowercase', 'uppercase']) {
    assert.ok(actions.has(a), `no case uses ${a}`);
  }
});

test('every case: fleetscope output equals what Prometheus 2.42 stored', { timeout: 120_000 }, async () => {
  const stored = await prom.api<Record<string, string>[]>(`/api/v1/series?match[]=${encodeURIComponent(`{${MARK}=~".+"}`)}`);
  const byCase = new Map<string, Set<string>>();
  for (const s of stored) {
    const c = s[MARK] as string;
    const flat = Object.keys(s).sort().flatMap((n) => [n, s[n] as string]);
    if (!byCase.has(c)) byCase.set(c, new Set());
    byCase.get(c)?.add(key(flat));
  }
  const targets = await prom.api<{ activeTargets: { scrapePool: string; lastError: string; health: string }[] }>('/api/v1/targets?state=active');
  const health = new Map(targets.activeTargets.map((t) => [t.scrapePool, t]));

  const failures: string[] = [];
  let nonEmpty = 0;
  CORPUS.forEach((c, i) => {
    const relabeler = Relabeler.compile([...c.rules, { target_label: MARK, replacement: String(i) }]);
    const ours = new Set<string>();
    let nameless = 0;
    for (const s of c.series ?? BASE_SERIES) {
      const input = [...s];
      if (!input.includes('job')) input.push('job', `case_${i}`);
      if (!input.includes('instance')) input.push('instance', instance);
      const out = relabeler.process(sortLabels(input));
      if (out) ours.add(key(out));
      else if (relabeler.dropReason === 'relabel_empty_name') nameless++;
    }
    const theirs = byCase.get(String(i)) ?? new Set<string>();
    const target = health.get(`case_${i}`);
    if (c.nameless) {
      // Prometheus fails the scrape; fleetscope drops just the nameless series.
      if (nameless === 0) failures.push(`case ${i} (${c.name}): expected fleetscope to drop a nameless series`);
      if (theirs.size !== 0 || !target?.lastError.includes('__name__')) {
        failures.push(`case ${i} (${c.name}): expected Prometheus to reject the scrape, got ${theirs.size} series, error ${JSON.stringify(target?.lastError)}`);
      }
      return;
    }
    if (target?.health !== 'up') failures.push(`case ${i} (${c.name}): target ${target?.health}: ${target?.lastError}`);
    if (theirs.size > 0) nonEmpty++;
    const missing = [...theirs].filter((k) => !ours.has(k));
    const extra = [...ours].filter((k) => !theirs.has(k));
    if (missing.length || extra.length) {
      failures.push(`case ${i} (${c.name}):\n  only in Prometheus: ${missing.join('\n    ')}\n  only in fleetscope: ${extra.join('\n    ')}`);
    }
  });
  assert.deepEqual(failures, [], `${failures.length} case(s) differ:\n${failures.join('\n')}`);
  // A corpus where most cases keep nothing would prove little.
  assert.ok(nonEmpty >= CORPUS.length * 0.8, `only ${nonEmpty} cases stored any series`);
});
