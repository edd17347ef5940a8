// What the fleet simulator costs per series: rendering one site's scrape
// from the shared template (memcpy + site name + value and timestamp
// columns), and one push request (the same, plus snappy).
import { PushTemplate } from '../sim/push-template.js';
import { SiteTemplate } from '../sim/template.js';
import { measure, type BenchResult } from './measure.js';

export function benchSimulator(): BenchResult[] {
  const t = new SiteTemplate({ series: 50_000, histogramShare: 0.35, seed: 1 });
  const out = Buffer.allocUnsafe(t.body.length);
  const p = new PushTemplate(t, 2000);
  const scratch = Buffer.allocUnsafe(p.maxRequestBytes);
  let k = 0;
  const note = `${t.seriesCount} series, ${(t.body.length / t.seriesCount).toFixed(0)} bytes per exposition line`;
  return [
    measure('simulator: render one site scrape, per series', t.seriesCount, () => t.render(out, { siteIndex: k % 1000, interval: ++k, sinceReset: k, timestampMs: Date.now(), churn: 0 }), note),
    measure('simulator: same, with 1% churn', t.seriesCount, () => t.render(out, { siteIndex: k % 1000, interval: ++k, sinceReset: k, timestampMs: Date.now(), churn: 0.01 }), note),
    measure('simulator: render + snappy one push request, per series', 2000, () => p.render(scratch, ++k % p.requestCount, k % 1000, Date.now(), (i) => i + k).length, '2000-series requests'),
  ];
}
