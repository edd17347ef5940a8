// The collector's own health: what comes in, what is dropped, what is sent
// and how fast, the durable queue, the spread across shard targets.
import { type DashboardSpec } from '../builder.js';
import { METRICS as M } from '../metric-names.js';
import { fleetVariables, RE_MATCH, SITE_MATCH } from '../variables.js';

const rate = (name: string, match: string, by: string): string => `sum by (${by}) (rate(${name}{${match}}[$__rate_interval]))`;

export const collectorPipeline: DashboardSpec = {
  uid: 'fleetscope-collector',
  title: 'fleetscope / Collector pipeline',
  description: 'Ingest, drops, durable queue bytes and age, send latency, retries, shards, and the collector process.',
  tags: ['collector'],
  variables: fleetVariables,
  rows: [
    {
      title: 'Ingest',
      panels: [
        { type: 'timeseries', title: 'Remote-write requests by status', description: 'Requests from sites, by the HTTP status the collector answered.', unit: 'reqps', queries: [{ expr: rate(M.requests.name, RE_MATCH, 'code'), legend: '{{code}}' }] },
        { type: 'timeseries', title: 'Samples received by tenant', description: 'Samples per second from sites, before the pipeline.', unit: 'cps', queries: [{ expr: rate(M.samplesReceived.name, SITE_MATCH, 'tenant'), legend: '{{tenant}}' }] },
        { type: 'timeseries', title: 'Samples dropped by reason', description: 'What the pipeline drops per second, by reason.', unit: 'cps', stacked: true, queries: [{ expr: rate(M.samplesDropped.name, SITE_MATCH, 'reason'), legend: '{{reason}}' }] },
        { type: 'timeseries', title: 'Active series by tenant', description: 'Series admitted and seen within the idle timeout.', queries: [{ expr: `sum by (tenant) (${M.activeSeries.name}{${SITE_MATCH}})`, legend: '{{tenant}}' }] },
      ],
    },
    {
      title: 'Egress',
      panels: [
        { type: 'timeseries', title: 'Samples sent per target', description: 'Samples delivered per second to each remote-write target.', unit: 'cps', queries: [{ expr: rate(M.samplesSent.name, RE_MATCH, 'remote'), legend: '{{remote}}' }] },
        { type: 'timeseries', title: 'Samples refused for good', description: 'Samples a target refused with a non-retryable status, by reason.', unit: 'cps', queries: [{ expr: rate(M.samplesFailed.name, RE_MATCH, 'remote, reason'), legend: '{{remote}} {{reason}}' }] },
        { type: 'timeseries', title: 'Send retries by reason', description: 'Send attempts retried per second (network, 5xx, 429).', unit: 'reqps', queries: [{ expr: rate(M.sendRetries.name, RE_MATCH, 'remote, reason'), legend: '{{remote}} {{reason}}' }] },
        { type: 'timeseries', title: 'Send latency', description: 'Remote-write send duration, median and 99th percentile, per target.', unit: 's', queries: [
          { expr: `histogram_quantile(0.5, sum by (le, remote) (rate(${M.sendDuration.name}_bucket{${RE_MATCH}}[$__rate_interval])))`, legend: 'p50 {{remote}}' },
          { expr: `histogram_quantile(0.99, sum by (le, remote) (rate(${M.sendDuration.name}_bucket{${RE_MATCH}}[$__rate_interval])))`, legend: 'p99 {{remote}}' },
        ] },
      ],
    },
    {
      title: 'Durable queue',
      panels: [
        { type: 'timeseries', title: 'Queue bytes', description: 'Bytes on disk in each target\'s queue.', unit: 'bytes', queries: [{ expr: `sum by (remote) (${M.queueBytes.name}{${RE_MATCH}})`, legend: '{{remote}}' }], w: 8 },
        { type: 'timeseries', title: 'Records pending', description: 'Records in each queue not yet delivered.', queries: [{ expr: `sum by (remote) (${M.queuePending.name}{${RE_MATCH}})`, legend: '{{remote}}' }], w: 8 },
        { type: 'timeseries', title: 'Send shards per target', description: 'Concurrent send shards of each target (more while its queue has a backlog).', queries: [{ expr: `max by (remote) (${M.sendShards.name}{${RE_MATCH}})`, legend: '{{remote}}' }], w: 8 },
        { type: 'stat', title: 'Records dropped (queue full)', description: 'Records a full queue dropped since the collector started.', queries: [{ expr: `sum(${M.queueDropped.name}{${RE_MATCH}})` }], thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }] },
      ],
    },
    {
      title: 'Shards',
      panels: [
        { type: 'bargauge', title: 'Share of samples per target', description: 'How the sites\' samples split across targets (site sharding by rendezvous hash).', unit: 'percentunit', queries: [{ expr: `sum by (remote) (rate(${M.samplesSent.name}{${RE_MATCH}}[$__rate_interval])) / ignoring(remote) group_left sum(rate(${M.samplesSent.name}{${RE_MATCH}}[$__rate_interval]))`, legend: '{{remote}}' }] },
      ],
    },
    {
      title: 'Process',
      panels: [
        { type: 'timeseries', title: 'Resident memory', description: 'The collector process\'s resident memory.', unit: 'bytes', queries: [{ expr: `max by (instance) (${M.residentMemory.name}{${RE_MATCH}})`, legend: '{{instance}}' }], w: 8 },
        { type: 'timeseries', title: 'CPU', description: 'CPU seconds per second used by the collector.', unit: 'percentunit', queries: [{ expr: `sum by (instance) (rate(${M.cpuSeconds.name}{${RE_MATCH}}[$__rate_interval]))`, legend: '{{instance}}' }], w: 8 },
        { type: 'timeseries', title: 'Event loop lag p99', description: 'Node.js event-loop lag, 99th percentile.', unit: 's', queries: [{ expr: `max by (instance) (${M.eventLoopLag.name}{${RE_MATCH}})`, legend: '{{instance}}' }], w: 8 },
        { type: 'stat', title: 'Last config reload', description: '1 if the last reload succeeded (or none was tried); 0 means the running config is not the file on disk.', queries: [{ expr: `min(${M.lastReloadOk.name}{${RE_MATCH}})` }], thresholds: [{ value: null, color: 'red' }, { value: 1, color: 'green' }] },
      ],
    },
  ],
};
