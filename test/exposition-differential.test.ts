// Differential test of wire/'s exposition parser against real Prometheus 2.42:
// each body is served by a fixture target (as text 0.0.4, or as OpenMetrics
// by Content-Type) and scraped with honor_labels and honor_timestamps. What
// Prometheus stores must be exactly what fleetscope parses (labels, values,
// explicit timestamps); a body Prometheus refuses to scrape, fleetscope must
// refuse to parse.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { sortLabels } from '../relabel/index.js';
import { WireError, parseExposition } from '../wire/index.js';
import { promApiValue, startPrometheus, type PrometheusPeer } from './peers/prometheus.js';

interface Case {
  readonly name: string;
  readonly body: string;
  readonly openmetrics?: boolean;
}

// One fixed sample time a little in the past, so explicit timestamps are accepted.
const T = Math.floor(Date.now() / 1000) * 1000 - 30_000;
const TS = String(T);
const TSF = (T / 1000).toFixed(3);

const CASES: readonly Case[] = [
  { name: 'plain', body: 'a_metric 1\nb_metric{x="y"} 2.5\n' },
  { name: 'labels out of order', body: 'm{z="1",a="2",m="3"} 1\n' },
  { name: 'escapes', body: 'm{a="q\\"b\\\\s\\nn"} 1\n' },
  { name: 'unknown escape kept', body: 'm{a="t\\tab\\x"} 1\n' },
  { name: 'unicode', body: 'm{a="Grüße 日本語 😀"} 1\n' },
  { name: 'empty label value', body: 'm{a="",b="x"} 1\n' },
  { name: 'empty label set', body: 'm{} 1\n' },
  { name: 'trailing comma', body: 'm{a="1",} 1\n' },
  { name: 'blanks around tokens', body: 'm { a = "1" , b = "2" }   7\n' },
  { name: 'tabs', body: 'm{a="1"}\t7\n' },
  { name: 'special values', body: 'a NaN\nb +Inf\nc -Inf\nd Inf\ne -inf\nf nan\n' },
  { name: 'exponents and signs', body: 'a 1e3\nb -2.5E-2\nc +7\nd .5\ne 5.\n' },
  { name: 'explicit timestamps', body: `m{a="1"} 1 ${TS}\nn 2 ${TS}\n` },
  { name: 'comments and metadata', body: '# HELP m Help with \\\\ and \\n.\n# TYPE m gauge\n# free comment\nm 1\n' },
  { name: 'blank lines', body: '\nm 1\n\n\nn 2\n' },
  { name: 'no final newline', body: 'm 1' },
  { name: 'colons in names', body: 'job:m:rate5m 1\n' },
  { name: 'histogram', body: '# TYPE h histogram\nh_bucket{le="0.5"} 1\nh_bucket{le="+Inf"} 2\nh_sum 0.7\nh_count 2\n' },
  { name: 'summary', body: '# TYPE s summary\ns{quantile="0.5"} 0.1\ns{quantile="0.99"} NaN\ns_sum 1\ns_count 3\n' },
  { name: 'long label value', body: `m{a="${'v'.repeat(5000)}"} 1\n` },
  { name: 'many labels', body: `m{${Array.from({ length: 60 }, (_, i) => `l${i}="${i}"`).join(',')}} 1\n` },
  { name: 'untyped and duplicate TYPE', body: '# TYPE m untyped\n# TYPE m untyped\nm 1\n' },
  // Malformed: Prometheus fails the scrape.
  { name: 'whitespace-only line', body: 'm 1\n   \nn 2\n' },
  { name: 'bad: leading blanks', body: '   m 1\n' },
  { name: 'bad: unclosed value', body: 'm{a="1} 1\n' },
  { name: 'bad: missing value', body: 'm{a="1"}\n' },
  { name: 'bad: word value', body: 'm abc\n' },
  { name: 'bad: float timestamp', body: 'm 1 1.5\n' },
  { name: 'bad: extra token', body: 'm 1 2 3\n' },
  { name: 'bad: invalid label name', body: 'm{1a="b"} 1\n' },
  { name: 'bad: dash in metric name', body: 'm-x 1\n' },
  { name: 'bad: duplicate label', body: 'm{a="1",a="2"} 1\n' },
  { name: 'bad: missing equals', body: 'm{a"1"} 1\n' },
  { name: 'bad: unknown TYPE', body: '# TYPE m bogus\nm 1\n' },
  { name: 'bad: hex value', body: 'm 0x10\n' },
  // OpenMetrics, chosen by Content-Type.
  { name: 'om: counter with created and units', openmetrics: true, body: `# TYPE c_seconds counter\n# UNIT c_seconds seconds\n# HELP c_seconds Help.\nc_seconds_total 3 ${TSF}\nc_seconds_created 1700000000 ${TSF}\n# EOF\n` },
  { name: 'om bad: unit not a suffix', openmetrics: true, body: '# TYPE c counter\n# UNIT c seconds\nc_total 3\n# EOF\n' },
  { name: 'om: gauge and labels', openmetrics: true, body: '# TYPE g gauge\ng{a="1",b="x\\"y"} 2.5\n# EOF\n' },
  { name: 'om: exemplar', openmetrics: true, body: '# TYPE h histogram\nh_bucket{le="1"} 3 # {trace_id="abc"} 0.5\nh_bucket{le="+Inf"} 4\nh_sum 2\nh_count 4\n# EOF\n' },
  { name: 'om: info and stateset', openmetrics: true, body: '# TYPE i info\ni_info{v="1"} 1\n# TYPE s stateset\ns{s="a"} 1\ns{s="b"} 0\n# EOF\n' },
  { name: 'om bad: no EOF', openmetrics: true, body: '# TYPE g gauge\ng 1\n' },
  { name: 'om bad: blank line', openmetrics: true, body: '# TYPE g gauge\n\ng 1\n# EOF\n' },
  { name: 'om bad: content after EOF', openmetrics: true, body: 'g 1\n# EOF\ng 2\n' },
];

let prom: PrometheusPeer;
let fixture: Server;
let instance = '';

before(async () => {
  fixture = createServer((req, res) => {
    const m = /^\/case\/(\d+)$/.exec(req.url ?? '');
    const c = m ? CASES[Number(m[1])] : undefined;
    if (!c) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': c.openmetrics ? 'application/openmetrics-text; version=1.0.0; charset=utf-8' : 'text/plain; version=0.0.4' });
    res.end(c.body);
  });
  await new Promise<void>((r) => fixture.listen(0, '127.0.0.1', r));
  instance = `127.0.0.1:${(fixture.address() as AddressInfo).port}`;
  const jobs = CASES.map((_, i) => [
    `  - job_name: case_${i}`,
    '    honor_labels: true',
    '    honor_timestamps: true',
    `    metrics_path: /case/${i}`,
    `    static_configs: [{targets: ['${instance}']}]`,
    `    metric_relabel_configs: [{target_label: fs_case, replacement: '${i}'}]`,
  ].join('\n'));
  prom = await startPrometheus({ config: `global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n${jobs.join('\n')}\n` });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const data = await prom.api<{ activeTargets: { lastScrape: string }[] }>('/api/v1/targets?state=active');
    if (data.activeTargets.length === CASES.length && data.activeTargets.every((t) => !t.lastScrape.startsWith('0001-'))) break;
    if (Date.now() > deadline) throw new Error(`targets not all scraped in 60 s:\n${prom.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
});

after(async () => {
  await prom?.stop();
  await new Promise((r) => fixture?.close(r));
});

test('fleetscope parses exactly what Prometheus 2.42 scrapes, and refuses what it refuses', { timeout: 120_000 }, async () => {
  const targets = await prom.api<{ activeTargets: { scrapePool: string; health: string; lastError: string }[] }>('/api/v1/targets?state=active');
  const health = new Map(targets.activeTargets.map((t) => [t.scrapePool, t]));
  const now = Date.now() / 1000;
  const stored = await prom.api<{ result: { metric: Record<string, string>; values: [number, string][] }[] }>(
    `/api/v1/query?query=${encodeURIComponent('{fs_case=~".+"}[5m]')}&time=${now}`,
  );
  const failures: string[] = [];
  let good = 0;
  let bad = 0;
  CASES.forEach((c, i) => {
    const t = health.get(`case_${i}`);
    let ours: ReturnType<typeof parseExposition> | undefined;
    let ourError = '';
    try {
      ours = parseExposition(c.body, { format: c.openmetrics ? 'openmetrics' : 'prometheus' });
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      ourError = err.message;
    }
    if (t?.health !== 'up') {
      bad++;
      if (ours) failures.push(`case ${i} (${c.name}): Prometheus refused it (${t?.lastError}) but fleetscope parsed it`);
      return;
    }
    good++;
    if (!ours) {
      failures.push(`case ${i} (${c.name}): Prometheus scraped it but fleetscope refused it: ${ourError}`);
      return;
    }
    const theirs = new Set<string>();
    for (const r of stored.result.filter((s) => s.metric.fs_case === String(i))) {
      const { fs_case: _case, ...labels } = r.metric;
      for (const [ts, v] of r.values) {
        // A sample without an explicit timestamp gets the scrape time; compare those by value only.
        const explicit = Math.round(ts * 1000) === T;
        theirs.add(JSON.stringify([sortLabels(Object.entries(labels).flat()), v, explicit ? T : null]));
      }
    }
    const mine = new Set<string>();
    for (const s of ours.series) {
      const labels = [...s.labels];
      if (!labels.includes('job')) labels.push('job', `case_${i}`);
      if (!labels.includes('instance')) labels.push('instance', instance);
      // Prometheus drops empty label values.
      const flat = sortLabels(labels).filter((_, k, a) => (k % 2 === 0 ? a[k + 1] !== '' : a[k] !== ''));
      mine.add(JSON.stringify([flat, promApiValue(s.value), s.timestamp ?? null]));
    }
    const missing = [...theirs].filter((k) => !mine.has(k));
    const extra = [...mine].filter((k) => !theirs.has(k));
    if (missing.length || extra.length) failures.push(`case ${i} (${c.name}):\n  only in Prometheus: ${missing.join('\n    ')}\n  only in fleetscope: ${extra.join('\n    ')}`);
  });
  assert.deepEqual(failures, [], failures.join('\n'));
  assert.ok(good >= 25 && bad >= 10, `expected both accepted and refused bodies: ${good} accepted, ${bad} refused`);
});
