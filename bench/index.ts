// bench/: the fleet simulator and the benchmarks. Other folders' tests and
// the demo draw simulated sites from here.
export { DEFAULT_SITE, generateSite, type MetricType, type SimFamily, type SimSeries, type SiteOptions } from './sim/site.js';
export { Random } from './sim/random.js';
