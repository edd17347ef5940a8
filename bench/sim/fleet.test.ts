import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRemoteWriteBody, parseExposition, snappyUncompress } from '../../wire/index.js';
import { DEFAULT_FLEET, FleetSimulator } from './fleet.js';
import { PushTemplate } from './push-template.js';
import { type RenderState, SiteTemplate, siteName } from './template.js';

const OPTS = { series: 3000, histogramShare: 0.35, seed: 7 };
const state = (over: Partial<RenderState> = {}): RenderState => ({ siteIndex: 4, interval: 3, sinceReset: 3, timestampMs: 1_796_000_000_123, churn: 0, ...over });

function render(t: SiteTemplate, st: RenderState): string {
  const out = Buffer.alloc(t.body.length);
  return out.toString('latin1', 0, t.render(out, st));
}

const label = (labels: readonly string[], name: string): string | undefined => {
  for (let i = 0; i < labels.length; i += 2) if (labels[i] === name) return labels[i + 1];
  return undefined;
};

test('the same seed renders the same bytes; another seed does not', () => {
  const a = render(new SiteTemplate(OPTS), state());
  assert.equal(render(new SiteTemplate(OPTS), state()), a);
  assert.notEqual(render(new SiteTemplate({ ...OPTS, seed: 8 }), state()), a);
  // Another site or interval changes the body but not its length.
  const b = render(new SiteTemplate(OPTS), state({ siteIndex: 5, interval: 4, sinceReset: 4 }));
  assert.notEqual(b, a);
  assert.equal(b.length, a.length);
});

test('a rendered body parses with wire/ into the template series, with the site, values and timestamp written', () => {
  const t = new SiteTemplate({ ...OPTS, extraLabels: 2 });
  const st = state();
  const { series, metadata } = parseExposition(render(t, st));
  assert.equal(series.length, t.seriesCount);
  assert.ok(metadata.size > 20, 'families carry HELP and TYPE');
  let histograms = 0;
  series.forEach((s, i) => {
    const want = (t.series[i] as { labels: readonly string[] }).labels.map((v) => v.replaceAll('ce-000000', siteName(4)));
    assert.deepEqual(s.labels, want, `series ${i}`);
    assert.equal(s.value, t.value(i, st), `value of series ${i}`);
    assert.equal(s.timestamp, st.timestampMs);
    if (label(s.labels, 'le') !== undefined) histograms++;
  });
  assert.equal(label(series[0]?.labels ?? [], 'cluster'), 'ce-000005');
  assert.ok(histograms / series.length > 0.2, `histogram buckets are a real share (${histograms})`);
  const labelsPerSeries = series.reduce((a, s) => a + s.labels.length / 2, 0) / series.length;
  assert.ok(labelsPerSeries >= 15 && labelsPerSeries <= 20, `~15 labels + 2 extra per series (${labelsPerSeries})`);
});

test('counters grow between intervals and restart after a reset; histogram buckets stay cumulative', () => {
  const t = new SiteTemplate(OPTS);
  const at = (st: RenderState): number[] => parseExposition(render(t, st)).series.map((s) => s.value);
  const v3 = at(state());
  const v4 = at(state({ interval: 4, sinceReset: 4 }));
  const reset = at(state({ interval: 4, sinceReset: 0 }));
  const counters = t.series.map((s, i) => ({ s, i })).filter(({ s }) => s.type === 'counter');
  assert.ok(counters.length > 100);
  for (const { i } of counters) {
    assert.ok((v4[i] as number) > (v3[i] as number), `counter ${i} grows`);
    assert.ok((reset[i] as number) < (v3[i] as number), `counter ${i} reset`);
  }
  const parsed = parseExposition(render(t, state())).series;
  for (let i = 1; i < parsed.length; i++) {
    const a = parsed[i - 1]?.labels ?? [];
    const b = parsed[i]?.labels ?? [];
    if (label(a, 'le') !== undefined && label(b, 'le') !== undefined && label(a, 'pod') === label(b, 'pod') && label(a, '__name__') === label(b, '__name__') && label(a, 'code') === label(b, 'code')) {
      assert.ok((parsed[i]?.value as number) >= (parsed[i - 1]?.value as number), `bucket ${i} cumulative`);
    }
  }
});

test('churn replaces exactly the configured share of series per interval', () => {
  const t = new SiteTemplate(OPTS);
  const keys = (interval: number): Set<string> => new Set(parseExposition(render(t, state({ interval, churn: 0.01 }))).series.map((s) => s.labels.join(',')));
  const a = keys(10);
  const b = keys(11);
  let gone = 0;
  for (const k of a) if (!b.has(k)) gone++;
  assert.equal(gone, Math.round(0.01 * t.seriesCount));
});

test('a push request decodes into the template series with the site, values and timestamp', () => {
  const t = new SiteTemplate(OPTS);
  const p = new PushTemplate(t, 1000);
  assert.equal(p.requestCount, Math.ceil(t.seriesCount / 1000));
  const scratch = Buffer.alloc(p.maxRequestBytes);
  const ts = 1_796_000_000_456;
  const req = decodeRemoteWriteBody(p.render(scratch, 1, 2, ts, (i) => i * 1.5));
  assert.equal(req.timeseries.length, 1000);
  req.timeseries.forEach((s, k) => {
    const i = 1000 + k;
    const want = (t.series[i] as { labels: readonly string[] }).labels.map((v) => v.replaceAll('ce-000000', siteName(2)));
    assert.deepEqual(s.labels, want);
    assert.deepEqual(s.samples, [{ value: i * 1.5, timestamp: ts }]);
  });
  assert.ok(snappyUncompress(p.render(scratch, 2, 0, ts, () => 1)).length > 0);
});

test('the simulator serves every site by path, records what it served, and takes sites offline by share', async () => {
  const sim = new FleetSimulator({ ...DEFAULT_FLEET, sites: 40, seriesPerSite: 200, intervalMs: 60_000, offlineShare: 0.25, seed: 3 });
  const url = await sim.listen('127.0.0.1', 0);
  try {
    const since = Date.now();
    let ok = 0;
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${url}/site/${i}/metrics`);
      const text = await res.text();
      assert.equal(res.status === 503, sim.isOffline(i, sim.interval()), `site ${i}`);
      if (res.status !== 200) continue;
      ok++;
      const { series } = parseExposition(text);
      assert.equal(series.length, sim.template.seriesCount);
      assert.equal(label(series[0]?.labels ?? [], 'cluster'), siteName(i));
    }
    assert.ok(ok >= 20 && ok <= 38, `about 75% online (${ok})`);
    assert.equal((await fetch(`${url}/site/40/metrics`)).status, 404);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(sim.servedSince(since).length, ok);
  } finally {
    await sim.close();
  }
});
