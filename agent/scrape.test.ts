import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricFilter, Relabeler } from '../relabel/index.js';
import { decodeRemoteWriteBody, isStaleNaN } from '../wire/index.js';
import { type TargetOptions, TargetScraper, instanceOf } from './scrape.js';

function scraper(bodies: (string | Error)[], over: Partial<TargetOptions> = {}): TargetScraper {
  let i = 0;
  return new TargetScraper({
    job: 'node',
    instance: 'host:9100',
    source: async () => {
      const b = bodies[Math.min(i++, bodies.length - 1)] as string | Error;
      if (b instanceof Error) throw b;
      return { body: b, contentType: 'text/plain; version=0.0.4' };
    },
    timeoutMs: 1000,
    targetLabels: {},
    externalLabels: {},
    honorLabels: false,
    honorTimestamps: true,
    sampleLimit: 0,
    filter: MetricFilter.compile({}),
    relabeler: Relabeler.compile([]),
    ...over,
  });
}

function series(body: Buffer): Map<string, { v: number; t: number }[]> {
  const out = new Map<string, { v: number; t: number }[]>();
  for (const ts of decodeRemoteWriteBody(body).timeseries) {
    const key = ts.labels.join(',');
    out.set(key, [...(out.get(key) ?? []), ...ts.samples.map((s) => ({ v: s.value, t: s.timestamp }))]);
  }
  return out;
}

test('samples carry target labels and the scrape timestamp, plus the report series', async () => {
  const s = scraper(['a{x="1"} 5\nb 7 1234\n']);
  const r = await s.scrape(10_000);
  assert.equal(r.up, true);
  const m = series(r.body);
  assert.deepEqual(m.get('__name__,a,instance,host:9100,job,node,x,1'), [{ v: 5, t: 10_000 }]);
  assert.deepEqual(m.get('__name__,b,instance,host:9100,job,node'), [{ v: 7, t: 1234 }], 'an explicit timestamp is honoured');
  assert.equal(m.get('__name__,up,instance,host:9100,job,node')?.[0]?.v, 1);
  assert.equal(m.get('__name__,scrape_samples_scraped,instance,host:9100,job,node')?.[0]?.v, 2);
  assert.equal(m.get('__name__,scrape_series_added,instance,host:9100,job,node')?.[0]?.v, 2);
  assert.equal(r.samples, 7);
});

test('a series gone from the next scrape gets one staleness marker; a failed scrape marks all', async () => {
  const s = scraper(['a 1\nb 2\n', 'a 1\n', 'a 1\n', new Error('connection refused'), new Error('again'), 'a 3\n']);
  await s.scrape(1000);
  let m = series((await s.scrape(2000)).body);
  const b = m.get('__name__,b,instance,host:9100,job,node');
  assert.equal(b?.length, 1);
  assert.ok(isStaleNaN(b![0]!.v));
  assert.equal(b![0]!.t, 2000);
  m = series((await s.scrape(3000)).body);
  assert.equal(m.get('__name__,b,instance,host:9100,job,node'), undefined, 'marked once only');
  const failed = await s.scrape(4000);
  assert.equal(failed.up, false);
  assert.match(failed.error ?? '', /connection refused/);
  m = series(failed.body);
  assert.ok(isStaleNaN(m.get('__name__,a,instance,host:9100,job,node')![0]!.v));
  assert.equal(m.get('__name__,up,instance,host:9100,job,node')?.[0]?.v, 0);
  m = series((await s.scrape(5000)).body);
  assert.equal(m.get('__name__,a,instance,host:9100,job,node'), undefined, 'a second failure marks nothing again');
  m = series((await s.scrape(6000)).body);
  assert.deepEqual(m.get('__name__,a,instance,host:9100,job,node'), [{ v: 3, t: 6000 }]);
});

test('filter, label denylist, relabel rules and external labels run once per series and are cached', async () => {
  const s = scraper(['keep{pod="p",uid="u"} 1\ngo_gc 2\ndropme{x="1"} 3\n', 'keep{pod="p",uid="u"} 4\ngo_gc 5\ndropme{x="1"} 6\n'], {
    filter: MetricFilter.compile({ deny: { prefixes: ['go_'] }, label_deny: ['uid'] }),
    relabeler: Relabeler.compile([{ source_labels: ['__name__'], regex: 'dropme', action: 'drop' }]),
    externalLabels: { re: 're-1', job: 'not-this' },
  });
  const r1 = await s.scrape(1);
  assert.deepEqual(r1.dropped, { in_denylist: 1, relabel_rule: 1 });
  assert.equal(r1.postRelabel, 1);
  const r2 = await s.scrape(2);
  assert.deepEqual([...series(r2.body).keys()].filter((k) => k.includes('keep')), ['__name__,keep,instance,host:9100,job,node,pod,p,re,re-1']);
  assert.equal(s.cachedSeries, 3, 'dropped series are cached as dropped');
  assert.equal(r2.seriesAdded, 0);
});

test('honor_labels false keeps a clashing scraped label as exported_<name>', async () => {
  const m = series((await scraper(['a{job="other",instance="i"} 1\n']).scrape(1)).body);
  assert.ok(m.has('__name__,a,exported_instance,i,exported_job,other,instance,host:9100,job,node'), [...m.keys()].join('\n'));
  const h = series((await scraper(['a{job="other"} 1\n'], { honorLabels: true }).scrape(1)).body);
  assert.ok(h.has('__name__,a,instance,host:9100,job,other'), [...h.keys()].join('\n'));
});

test('sample_limit fails the scrape whole; duplicates are dropped and counted; malformed input is up=0', async () => {
  const over = await scraper(['a 1\nb 2\nc 3\n'], { sampleLimit: 2 }).scrape(1);
  assert.equal(over.up, false);
  assert.match(over.error ?? '', /sample_limit/);
  assert.equal(series(over.body).size, 5, 'only the report series');
  const dup = await scraper(['a 1\na 2\n']).scrape(1);
  assert.deepEqual(dup.dropped, { duplicate_series: 1 });
  assert.deepEqual(series(dup.body).get('__name__,a,instance,host:9100,job,node'), [{ v: 1, t: 1 }]);
  const bad = await scraper(['a{ 1\n']).scrape(1);
  assert.equal(bad.up, false);
  assert.match(bad.error ?? '', /line 1/);
});

test('instance is host:port with the scheme default', () => {
  assert.equal(instanceOf('http://127.0.0.1:9100/metrics'), '127.0.0.1:9100');
  assert.equal(instanceOf('https://node.local/metrics'), 'node.local:443');
  assert.equal(instanceOf('http://[::1]/m'), '[::1]:80');
});
