// Benchmark: 1,000 ElastAlert rules over synthetic log records on one core.
// `node dist/alerting/engine.bench.js [--rules N] [--records N]` writes
// bench/results/alerting.json with fleetscope.rules,
// fleetscope.records_per_s_per_core and fleetscope.peak_rss_mb.
//
// The rules are what a fleet writes: per-service error rates (frequency),
// blacklists of bad users, new users per service (new_term), spikes of 5xx,
// flatlines of heartbeats, and a few filters that cannot be indexed (a
// negation, a range), which every record visits.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Engine } from './engine.js';
import { compileRule, type CompiledRule } from './rule.js';
import type { LogRecord } from './engine.js';

const { values } = parseArgs({ options: { rules: { type: 'string', default: '1000' }, records: { type: 'string', default: '1000000' }, out: { type: 'string' } } });
const RULES = Number(values.rules);
const RECORDS = Number(values.records);
const SERVICES = 250;

function rules(n: number): CompiledRule[] {
  const out: CompiledRule[] = [];
  for (let i = 0; i < n; i++) {
    const svc = `svc-${i % SERVICES}`;
    const base = { name: `rule-${i}`, index: 'logs-*', alert: 'alertmanager', realert: { minutes: 5 } };
    let r: Record<string, unknown>;
    switch (i % 10) {
      case 0:
      case 1:
      case 2:
        r = { ...base, type: 'frequency', num_events: 50, timeframe: { minutes: 5 }, query_key: 'site', filter: [{ query_string: { query: `service.keyword:${svc} AND level:error` } }] };
        break;
      case 3:
        r = { ...base, type: 'blacklist', compare_key: 'user', blacklist: ['mallory', 'eve'], filter: [{ term: { 'service.keyword': svc } }] };
        break;
      case 4:
        r = { ...base, type: 'new_term', fields: ['user'], filter: [{ term: { 'service.keyword': svc } }] };
        break;
      case 5:
        r = { ...base, type: 'spike', spike_height: 3, spike_type: 'up', timeframe: { minutes: 10 }, filter: [{ query_string: { query: `service.keyword:"${svc}" AND status:[500 TO 599]` } }] };
        break;
      case 6:
        r = { ...base, type: 'flatline', threshold: 1, timeframe: { minutes: 10 }, query_key: 'site', filter: [{ terms: { 'service.keyword': [svc] } }, { term: { level: 'info' } }] };
        break;
      case 7:
        r = { ...base, type: 'any', filter: [{ query_string: { query: `service.keyword:${svc} AND message:"out of memory"` } }] };
        break;
      case 8:
        r = { ...base, type: 'cardinality', cardinality_field: 'user', max_cardinality: 1000, timeframe: { minutes: 5 }, filter: [{ bool: { must: [{ term: { 'service.keyword': svc } }], must_not: [{ term: { level: 'debug' } }] } }] };
        break;
      default:
        // Not indexable: every record visits these.
        r = i % 100 === 9
          ? { ...base, type: 'any', filter: [{ range: { status: { gte: 599 } } }] }
          : { ...base, type: 'change', query_key: 'site', compare_key: 'level', ignore_null: true, filter: [{ query_string: { query: `service.keyword:${svc} AND (level:error OR level:warn)` } }] };
    }
    out.push(compileRule(`bench/${i}.yaml`, r));
  }
  return out;
}

function records(n: number, t0: number): LogRecord[] {
  const out: LogRecord[] = [];
  let seed = 42;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const levels = ['info', 'info', 'info', 'info', 'warn', 'error', 'debug'];
  const msgs = ['request served', 'request served', 'connection reset by peer', 'out of memory', 'slow query'];
  for (let i = 0; i < n; i++) {
    const ts = t0 + i;
    const site = `site-${Math.floor(rnd() * 3000)}`;
    out.push({
      timestampMs: ts,
      tenant: `tenant-${Math.floor(rnd() * 5)}`,
      site,
      doc: {
        '@timestamp': new Date(ts).toISOString(),
        tenant: 't',
        re: 're-1',
        site,
        service: `svc-${Math.floor(rnd() * SERVICES)}`,
        level: levels[Math.floor(rnd() * levels.length)],
        status: rnd() < 0.02 ? 503 : 200,
        user: `u${Math.floor(rnd() * 5000)}`,
        message: msgs[Math.floor(rnd() * msgs.length)],
      },
    });
  }
  return out;
}

const loaded = rules(RULES);
let matches = 0;
const engine = new Engine({ runEveryMs: 60_000, allowedLatenessMs: 5_000, onMatch: () => matches++ });
engine.setRules(loaded);
const t0 = Date.parse('2024-03-01T00:00:00Z');
// Records are generated in chunks (so memory measures the engine, not the input).
const CHUNK = 100_000;
const BATCH = 1000;
let done = 0;
// CPU time of this process (one thread), not wall time: the machine may be shared.
let busyUs = 0;
while (done < RECORDS) {
  const chunk = records(Math.min(CHUNK, RECORDS - done), t0 + done);
  const start = process.cpuUsage();
  for (let i = 0; i < chunk.length; i += BATCH) {
    const batch = chunk.slice(i, i + BATCH);
    engine.offer(batch);
    engine.advance((batch[batch.length - 1] as LogRecord).timestampMs);
  }
  const used = process.cpuUsage(start);
  busyUs += used.user + used.system;
  done += chunk.length;
}
const seconds = busyUs / 1e6;
const perS = Math.round(RECORDS / seconds);
const rssMb = Math.round(process.resourceUsage().maxRSS / 1024);
const result = {
  'fleetscope.rules': RULES,
  'fleetscope.records_per_s_per_core': perS,
  'fleetscope.peak_rss_mb': rssMb,
  'fleetscope.records': RECORDS,
  'fleetscope.rule_evaluations_per_record': Number((engine.filterChecks / engine.records).toFixed(2)),
  'fleetscope.matches': matches,
  'fleetscope.rule_x_records_per_s': Math.round(perS * RULES),
};
const outFile = values.out ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', 'alerting.json');
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result)}\n`);
