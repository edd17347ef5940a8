import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import yaml from 'js-yaml';
import { buildDashboards, METRICS, metricsOf, panelQueries, queryVariables, referencedMetrics, SCHEMA_VERSION, fillVariables, writeDashboards } from './index.js';

const built = buildDashboards();

test('six dashboards, current schema, unique uids, the shared variables', () => {
  assert.equal(built.length, 6);
  assert.equal(new Set(built.map((b) => b.dashboard.uid)).size, 6);
  for (const { dashboard: d } of built) {
    assert.ok(d.schemaVersion >= 39 && d.schemaVersion === SCHEMA_VERSION);
    const vars = d.templating.list;
    assert.deepEqual(vars.map((v) => v.name), ['datasource', 'tenant', 're', 'site'], d.title);
    assert.equal(vars[0]?.type, 'datasource');
    for (const v of queryVariables(d)) assert.match(v.query.query, /^label_values\(fleetscope_collector_active_series(\{.*\})?, (tenant|re|site)\)$/);
  }
});

test('panels sit on the 24-column grid without overlapping, with unique ids', () => {
  for (const { dashboard: d } of built) {
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, d.title);
    const cells = new Set<string>();
    for (const p of d.panels) {
      const g = p.gridPos;
      assert.ok(g.x >= 0 && g.x + g.w <= 24 && g.h > 0, `${d.title} / ${p.title}: ${JSON.stringify(g)}`);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const k = `${x},${y}`;
          assert.ok(!cells.has(k), `${d.title} / ${p.title} overlaps at ${k}`);
          cells.add(k);
        }
      }
      if (p.type !== 'row') {
        assert.ok(p.targets.length > 0 && p.description.length > 0, `${d.title} / ${p.title}`);
        for (const t of p.targets) assert.deepEqual(t.datasource, { type: 'prometheus', uid: '${datasource}' });
      }
    }
  }
});

test('every query reads only declared metrics, and every declared metric is read', () => {
  const read = new Set<string>();
  for (const { dashboard: d } of built) {
    for (const q of panelQueries(d)) {
      const { declared, undeclared } = metricsOf(q.expr);
      assert.deepEqual(undeclared, [], `${q.dashboard} / ${q.panel}: ${q.expr}`);
      assert.ok(declared.length > 0 || /^count\(\{/.test(q.expr), `${q.panel} reads no metric`);
      for (const m of declared) read.add(m.name);
    }
  }
  assert.deepEqual(Object.values(METRICS).map((m) => m.name).filter((n) => !read.has(n)), []);
});

test('metric references are found outside matchers and grouping only', () => {
  const cases: [string, string[]][] = [
    ['sum by (tenant, site) (rate(foo_total{site=~"$site", x="by (y)"}[5m]))', ['foo_total']],
    ['histogram_quantile(0.99, sum by (le) (rate(bar_bucket[1m])))', ['bar_bucket']],
    ['a / ignoring(remote) group_left sum(b)', ['a', 'b']],
    ['time() - max(last_seen)', ['last_seen']],
    ['count({tenant=~".+"})', []],
  ];
  for (const [expr, want] of cases) assert.deepEqual(referencedMetrics(expr), want, expr);
});

test('variables fill like Grafana: one value, several escaped values, All', () => {
  const iv = { rateInterval: '2m', interval: '15s', range: '1h' };
  const all = new Map([['site', '.+']]);
  assert.equal(fillVariables('x{site=~"$site"}[$__rate_interval]', new Map([['site', ['ce-1']]]), all, iv), 'x{site=~"ce-1"}[2m]');
  assert.equal(fillVariables('x{site=~"${site}"}', new Map([['site', ['a.b', 'c']]]), all, iv), 'x{site=~"(a\\\\.b|c)"}');
  assert.equal(fillVariables('x{site=~"$site"}[$__range]', new Map([['site', null]]), all, iv), 'x{site=~".+"}[1h]');
});

test('README.md lists every dashboard and panel', async () => {
  const readme = await readFile(new URL('../../dashboards/README.md', import.meta.url), 'utf8');
  for (const { file, dashboard: d } of built) {
    assert.ok(readme.includes(`### ${d.title} (\`${file}\``), d.title);
    for (const p of d.panels) if (p.type !== 'row') assert.ok(readme.includes(`| ${p.title} | ${p.type} |`), `${d.title} / ${p.title} is not in README.md`);
  }
});

test('build writes every dashboard and a provisioning file that points at them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-dash-'));
  try {
    const written = await writeDashboards({ outDir: dir });
    assert.equal(written.length, 7);
    const files = (await readdir(dir)).sort();
    assert.deepEqual(files, ['fleetscope-alerting.json', 'fleetscope-collector.json', 'fleetscope-dashboards.yaml', 'fleetscope-fleet.json', 'fleetscope-logs.json', 'fleetscope-site.json', 'fleetscope-upgrades.json']);
    const prov = yaml.load(await readFile(join(dir, 'fleetscope-dashboards.yaml'), 'utf8')) as { apiVersion: number; providers: { type: string; options: { path: string } }[] };
    assert.equal(prov.apiVersion, 1);
    assert.equal(prov.providers[0]?.type, 'file');
    assert.equal(prov.providers[0]?.options.path, dir);
    const fleet = JSON.parse(await readFile(join(dir, 'fleetscope-fleet.json'), 'utf8')) as { uid: string };
    assert.equal(fleet.uid, 'fleetscope-fleet');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
