// realert, exponential_realert and aggregation (elastalert.py semantics, in
// event time), the label schema, and deterministic alerts across replicas.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Notifier } from './notifier.js';
import { Silencer } from './realert.js';
import { compileRule } from './rule.js';
import type { PostableAlert } from './alertmanager.js';
import type { EngineMatch } from './engine.js';

const T0 = Date.parse('2024-03-01T00:00:00Z');
const MIN = 60_000;

function rule(o: Record<string, unknown>) {
  return compileRule('t.yaml', { name: 'r', index: 'i', alert: 'alertmanager', type: 'any', ...o });
}

test('realert silences a key for its duration (default 1 minute), per query_key value', () => {
  const s = new Silencer();
  const r = rule({ query_key: 'host' });
  assert.equal(r.realertMs, 60_000);
  assert.equal(s.admit(r, 't', 'a', T0), true);
  assert.equal(s.admit(r, 't', 'a', T0 + 30_000), false);
  assert.equal(s.admit(r, 't', 'b', T0 + 30_000), true, 'another key is not silenced');
  assert.equal(s.admit(r, 'u', 'a', T0 + 30_000), true, 'another tenant is not silenced');
  assert.equal(s.admit(r, 't', 'a', T0 + 60_000), true);
  assert.equal(rule({ aggregation: { minutes: 1 } }).realertMs, 0, 'aggregation makes the default 0');
});

test('exponential_realert doubles the silence while alerts keep coming, up to its cap', () => {
  const s = new Silencer();
  const r = rule({ realert: { minutes: 1 }, exponential_realert: { minutes: 10 } });
  const admitted: number[] = [];
  for (let t = 0; t <= 40; t++) if (s.admit(r, 't', null, T0 + t * MIN)) admitted.push(t);
  // What ElastAlerter.next_alert_time yields for this sequence (run against elastalert 0.2.4's own function): 1, 2, 4, 8, then the 10-minute cap.
  assert.deepEqual(admitted, [0, 1, 3, 7, 15, 25, 35]);
});

function match(r: ReturnType<typeof rule>, ts: number, doc: Record<string, unknown>, key: string | null = null): EngineMatch {
  return { rule: r, tenant: 'acme', key, ts, doc: { '@timestamp': new Date(ts).toISOString(), ...doc }, numHits: 1 };
}

test('aggregation: one alert per aggregation_key after the window, with the summary table', () => {
  const sent: PostableAlert[] = [];
  const r = rule({ aggregation: { minutes: 5 }, aggregation_key: 'site', summary_table_fields: ['level'] });
  const n = new Notifier({ resendMs: MIN, externalUrl: 'http://x', defaultSeverity: 'warning', holdMs: () => MIN, send: (a) => sent.push(...a) });
  n.setRules([r]);
  n.onMatch(match(r, T0, { site: 's1', level: 'error' }), T0);
  n.onMatch(match(r, T0 + MIN, { site: 's1', level: 'error' }), T0);
  n.onMatch(match(r, T0 + 2 * MIN, { site: 's1', level: 'warn' }), T0);
  n.onMatch(match(r, T0 + 2 * MIN, { site: 's2', level: 'warn' }), T0);
  n.tick(T0, T0 + 4 * MIN);
  assert.equal(sent.length, 0, 'not before the window ends');
  n.tick(T0, T0 + 5 * MIN);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]?.labels.site, 's1');
  assert.match(sent[0]?.annotations.description ?? '', /3 matches aggregated\nlevel \| count\nerror \| 2\nwarn \| 1/);
  n.tick(T0, T0 + 8 * MIN);
  assert.equal(sent.length, 2);
  assert.equal(sent[1]?.labels.site, 's2');
});

test('two notifiers fed the same matches send identical alerts (labels, startsAt)', () => {
  const r = rule({ type: 'frequency', num_events: 1, timeframe: { minutes: 5 }, query_key: 'site', alertmanager_labels: { team: 'sre' }, alertmanager_fields: { lvl: 'level' } });
  const out: PostableAlert[][] = [[], []];
  const ns = [0, 1].map((i) => new Notifier({ resendMs: MIN, externalUrl: 'http://x', defaultSeverity: 'warning', holdMs: () => 5 * MIN, send: (a) => out[i]?.push(...a) }));
  for (const [i, n] of ns.entries()) {
    n.setRules([r]);
    // Different wall clocks, same records.
    n.onMatch(match(r, T0, { site: 's1', re: 're-1', level: 'error' }, 's1'), T0 + 10_000 + i * 777);
  }
  const strip = (a: PostableAlert): unknown => ({ labels: a.labels, startsAt: a.startsAt, annotations: a.annotations });
  assert.deepEqual(out[0]?.map(strip), out[1]?.map(strip));
  assert.deepEqual(out[0]?.[0]?.labels, { alertname: 'r', lvl: 'error', query_key: 's1', re: 're-1', severity: 'warning', site: 's1', team: 'sre', tenant: 'acme' });
  assert.equal(out[0]?.[0]?.startsAt, new Date(T0).toISOString());
  // Holding: more matches do not notify again; a resend carries it; silence of the hold ends in a resolve.
  ns[0]?.onMatch(match(r, T0 + MIN, { site: 's1', re: 're-1', level: 'error' }, 's1'), T0 + MIN);
  assert.equal(ns[0]?.notifications, 1);
  ns[0]?.tick(T0 + 2 * MIN, T0 + 2 * MIN);
  assert.equal(out[0]?.length, 2, 'resent');
  ns[0]?.tick(T0 + 7 * MIN, T0 + 6 * MIN + 1);
  const last = out[0]?.[out[0].length - 1] as PostableAlert;
  assert.equal(last.endsAt, new Date(T0 + 7 * MIN).toISOString(), 'resolved: endsAt = now');
  assert.equal(ns[0]?.firingCount(), 0);
});

test('fleetscope labels cannot be overridden by a rule', () => {
  const r = rule({ alertmanager_labels: { tenant: 'other', alertname: 'x', severity: 'critical' } });
  const sent: PostableAlert[] = [];
  const n = new Notifier({ resendMs: MIN, externalUrl: 'http://x/', defaultSeverity: 'warning', holdMs: () => MIN, send: (a) => sent.push(...a) });
  n.setRules([r]);
  n.onMatch(match(r, T0, { site: 's', re: 'r' }), T0);
  assert.equal(sent[0]?.labels.tenant, 'acme');
  assert.equal(sent[0]?.labels.alertname, 'r');
  assert.equal(sent[0]?.labels.severity, 'critical', 'severity is the rule\'s to set');
  assert.equal(sent[0]?.generatorURL, 'http://x/api/v1/rules/r');
});

test('without alert_text the description is ElastAlert\'s body: the rule\'s name, the type\'s sentence and the fields', () => {
  const r = rule({ type: 'frequency', num_events: 3, timeframe: { minutes: 5 } });
  const sent: PostableAlert[] = [];
  const n = new Notifier({ resendMs: MIN, externalUrl: 'http://x', defaultSeverity: 'warning', holdMs: () => MIN, send: (a) => sent.push(...a) });
  n.setRules([r]);
  n.onMatch(match(r, T0 + 10 * MIN, { site: 's', host: 'web-1' }), T0);
  assert.equal(sent[0]?.annotations.description, 'r\n\nAt least 3 events occurred between 2024-03-01 00:05 UTC and 2024-03-01 00:10 UTC\n\n@timestamp: 2024-03-01T00:10:00.000Z\nhost: web-1\nsite: s');
});
