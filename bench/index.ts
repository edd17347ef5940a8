// bench/: the fleet simulator and the benchmarks. Other folders' tests and
// the demo draw simulated sites from here.
export { DEFAULT_SITE, generateSite, type MetricType, type SimFamily, type SimSeries, type SiteOptions } from './sim/site.js';
export { Random } from './sim/random.js';
export { PLACEHOLDER_SITE, type RenderState, SiteTemplate, type TemplateOptions, siteName } from './sim/template.js';
export { PushTemplate } from './sim/push-template.js';
export { pushSiteLabels } from './sim/push-site.js';
export { DEFAULT_FLEET, type FleetOptions, FleetSimulator, type ServedRecord, siteToken } from './sim/fleet.js';
export { Sink, type SinkStats } from './sink/sink.js';
export { CONTENDERS, type ContenderInput, type ContenderName, type LaunchPlan, fleetscopePlan, prometheusAgentPlan, vmagentPlan, vmagentStreamAggregation } from './harness/configs.js';
export { Expectation, checkDelivery } from './harness/expected.js';
export { Progress } from './harness/progress.js';
export { Proc, cpuSeconds, freePort, peakRssBytes, runCommand } from './harness/proc.js';
export { FIELDS, buildReport, markdownTable, svgChart } from './harness/report.js';
export { type BenchOptions, runScenario } from './harness/run.js';
export { SCENARIO_NAMES, SCENARIOS, type Scenario, type ScenarioName } from './harness/scenario.js';
