// wire/ exposition parsing, per series, on a realistic edge exposition.
import { ExpositionParser, formatSeries } from '../../wire/index.js';
import { DEFAULT_SITE, generateSite } from '../sim/site.js';
import { measure, type BenchResult } from './measure.js';

export function benchExposition(): BenchResult[] {
  const { series, families } = generateSite({ ...DEFAULT_SITE, series: 10_000 });
  let text = '';
  for (const f of families) text += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
  for (const s of series) text += formatSeries(s.labels, s.value, 1700000000000) + '\n';
  // What an HTTP body is: one flat string, not a concatenation rope.
  const body = Buffer.from(text).toString('utf8');
  const n = series.length;
  const note = `${n} series, ${(body.length / n).toFixed(0)} bytes per line`;
  return [
    measure('exposition: parse, series key + value + timestamp', n, () => {
      const p = new ExpositionParser(body);
      let sum = 0;
      for (let k = p.next(); k !== null; k = p.next()) if (k === 'series') sum += p.seriesKey().length + p.value();
      return sum;
    }, note),
    measure('exposition: parse, full labels', n, () => {
      const p = new ExpositionParser(body);
      let sum = 0;
      for (let k = p.next(); k !== null; k = p.next()) if (k === 'series') sum += p.labels().length;
      return sum;
    }, note),
  ];
}
