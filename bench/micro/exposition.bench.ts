// wire/ exposition parsing, per series, on a realistic edge exposition: the
// simulated site's families (node, kubelet/cAdvisor, kube-state-metrics,
// histograms with `le` buckets, summaries), ~16 labels per series, with
// HELP/TYPE lines and millisecond timestamps.
import { ExpositionParser, formatSeries, parseExposition } from '../../wire/index.js';
import { DEFAULT_SITE, generateSite } from '../sim/site.js';
import { measure, type BenchResult } from './measure.js';

/** A text 0.0.4 body, its OpenMetrics twin and a non-ASCII variant, each one flat string (as an HTTP body is). */
function bodies(): { prometheus: string; openmetrics: string; nonAscii: string; series: number; labels: number } {
  const { series, families } = generateSite({ ...DEFAULT_SITE, series: 10_000 });
  let text = '';
  let om = '';
  let labels = 0;
  for (const f of families) text += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
  om = text;
  for (const s of series) {
    text += `${formatSeries(s.labels, s.value, 1700000000000)}\n`;
    // OpenMetrics timestamps are seconds.
    om += `${formatSeries(s.labels, s.value)} 1700000000.123\n`;
    labels += s.labels.length / 2;
  }
  om += '# EOF\n';
  // One label value in ten with a character outside ASCII: the parser's slower byte-view path.
  let i = 0;
  const nonAscii = text.replace(/pod="/g, () => (++i % 10 === 0 ? 'pod="ü-' : 'pod="'));
  return {
    prometheus: Buffer.from(text).toString('utf8'),
    openmetrics: Buffer.from(om).toString('utf8'),
    nonAscii: Buffer.from(nonAscii).toString('utf8'),
    series: series.length,
    labels: labels / series.length,
  };
}

function keyPath(body: string, format: 'prometheus' | 'openmetrics'): () => number {
  return () => {
    const p = new ExpositionParser(body, { format });
    let sum = 0;
    for (let k = p.next(); k !== null; k = p.next()) {
      if (k === 'series') sum += p.seriesKey().length + p.value() + (p.timestamp() ?? 0);
    }
    return sum;
  };
}

export function benchExposition(): BenchResult[] {
  const b = bodies();
  const n = b.series;
  const note = `${n} series, ${(b.prometheus.length / n).toFixed(0)} bytes and ${b.labels.toFixed(1)} labels per line`;
  // What a collector that caches by seriesKey() pays on a hit, on top of parsing: hashing the key.
  const cache = new Map<string, number>();
  {
    const p = new ExpositionParser(b.prometheus);
    for (let k = p.next(); k !== null; k = p.next()) if (k === 'series') cache.set(` ${p.seriesKey()}`.slice(1), 1);
  }
  return [
    measure('exposition: series key + value + timestamp', n, keyPath(b.prometheus, 'prometheus'), note),
    measure('exposition: full labels()', n, () => {
      const p = new ExpositionParser(b.prometheus);
      let sum = 0;
      for (let k = p.next(); k !== null; k = p.next()) if (k === 'series') sum += p.labels().length;
      return sum;
    }, note),
    measure('exposition: OpenMetrics, series key + value + timestamp', n, keyPath(b.openmetrics, 'openmetrics'), note),
    measure('exposition: series key + value, 1 in 10 label values non-ASCII', n, keyPath(b.nonAscii, 'prometheus'), note),
    measure('exposition: parseExposition (labels, metadata, arrays)', n, () => parseExposition(b.prometheus).series.length, note),
    measure('exposition: series key + value + Map.get(key) hit', n, () => {
      const p = new ExpositionParser(b.prometheus);
      let sum = 0;
      for (let k = p.next(); k !== null; k = p.next()) if (k === 'series') sum += cache.get(p.seriesKey()) ?? 0;
      return sum;
    }, note),
  ];
}
