// Differential test: for a corpus of (rule, documents) cases over the nine
// rule types that `elastalert-test-rule --data` can drive, fleetscope's engine
// and the real ElastAlert 0.2.4 must produce the same matches, match by match
// (timestamp, key and the fields each type adds). Documents are filtered by
// fleetscope's compiled filter before both sides see them, because the
// mock ignores filters. The three aggregation types query Elasticsearch
// aggregations the mock cannot answer; they are tested against the
// documented semantics in alerting/ruletypes.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Engine, loadRuleFile, type EngineMatch } from '../alerting/index.js';
import { runElastalertCases, type ElastalertCase } from './peers/elastalert.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface DataShape {
  readonly n: number;
  /** Largest gap between two documents, seconds. */
  readonly maxGap: number;
  /** A quiet stretch (seconds) inserted after this many documents, for flatline and spikes. */
  readonly quietAfter?: number;
  readonly quiet?: number;
  /** A burst of this many documents one second apart after `quietAfter`. */
  readonly burst?: number;
  /** Milliseconds in the timestamps, so that no two documents are a whole number of minutes apart (top counts' window ends differ: Elasticsearch (start, end], the mock [start, end)). */
  readonly jitter?: boolean;
}

function docs(seed: number, shape: DataShape): Record<string, unknown>[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  let t = Date.parse('2024-03-01T00:00:00Z');
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < shape.n; i++) {
    t += 1000 * (1 + Math.floor(r() * shape.maxGap));
    if (shape.quietAfter === i) t += 1000 * (shape.quiet ?? 0);
    const burst = shape.burst !== undefined && shape.quietAfter !== undefined && i > shape.quietAfter && i <= shape.quietAfter + shape.burst;
    if (burst) t -= 1000 * Math.floor(r() * shape.maxGap);
    if (shape.jitter === true) t += 1 + Math.floor(r() * 998);
    const d: Record<string, unknown> = {
      '@timestamp': new Date(t).toISOString().replace('.000Z', 'Z'),
      tenant: 'acme',
      re: 're-1',
      site: pick(['s1', 's2', 's3']),
      host: pick(['web-1', 'web-2', 'db-1']),
      level: pick(['info', 'info', 'warn', 'error']),
      status: pick([200, 200, 404, 500]),
      message: pick(['request done', 'connection refused by upstream', 'disk full', 'slow query']),
    };
    if (r() < 0.85) d.user = pick(['u1', 'u2', 'u3', 'u4', 'u5']);
    out.push(d);
  }
  return out;
}

const HEAD = 'index: logs-*\nrealert: {minutes: 0}\nalert: debug\n';

interface RuleCase {
  readonly name: string;
  readonly yaml: string;
  readonly shapes: readonly DataShape[];
  /** Compare the match's field names too (for include). */
  readonly fields?: boolean;
}

const steady: DataShape = { n: 40, maxGap: 40 };
const dense: DataShape = { n: 60, maxGap: 8 };
const gappy: DataShape = { n: 40, maxGap: 30, quietAfter: 20, quiet: 900 };
const spiky: DataShape = { n: 60, maxGap: 30, quietAfter: 30, quiet: 60, burst: 25 };
const jittery: DataShape = { n: 40, maxGap: 20, jitter: true };
const jitteryGappy: DataShape = { n: 40, maxGap: 30, quietAfter: 20, quiet: 900, jitter: true };
const TOP = 'raw_count_keys: false\ntop_count_number: 10\n';

const RULES: readonly RuleCase[] = [
  { name: 'any', yaml: 'type: any\n', shapes: [{ n: 8, maxGap: 30 }] },
  { name: 'any-filter', yaml: 'type: any\nfilter:\n- query_string: {query: "level:error AND NOT host:db-1"}\n', shapes: [steady, dense] },
  { name: 'any-term', yaml: 'type: any\nfilter:\n- term: {status: 500}\n', shapes: [steady] },
  { name: 'blacklist', yaml: 'type: blacklist\ncompare_key: user\nblacklist: [u1, u3]\n', shapes: [steady, dense] },
  { name: 'whitelist', yaml: 'type: whitelist\ncompare_key: user\nwhitelist: [u1, u2]\nignore_null: true\n', shapes: [steady, dense] },
  { name: 'whitelist-null', yaml: 'type: whitelist\ncompare_key: user\nwhitelist: [u1, u2, u3]\nignore_null: false\n', shapes: [steady] },
  { name: 'change', yaml: 'type: change\nquery_key: host\ncompare_key: level\nignore_null: true\n', shapes: [steady, dense] },
  { name: 'change-timeframe', yaml: 'type: change\nquery_key: host\ncompare_key: user\nignore_null: true\ntimeframe: {minutes: 1}\n', shapes: [steady, dense] },
  { name: 'change-compound', yaml: 'type: change\nquery_key: site\ncompare_key: [level, host]\nignore_null: false\n', shapes: [steady] },
  { name: 'frequency', yaml: 'type: frequency\nnum_events: 4\ntimeframe: {minutes: 2}\n', shapes: [steady, dense, gappy] },
  { name: 'frequency-qk', yaml: 'type: frequency\nnum_events: 3\ntimeframe: {minutes: 3}\nquery_key: host\n', shapes: [steady, dense] },
  { name: 'frequency-compound', yaml: 'type: frequency\nnum_events: 2\ntimeframe: {minutes: 5}\nquery_key: [host, level]\n', shapes: [steady, dense] },
  { name: 'frequency-filter', yaml: 'type: frequency\nnum_events: 3\ntimeframe: {minutes: 10}\nfilter:\n- terms: {level: [error, warn]}\n', shapes: [steady, dense] },
  { name: 'frequency-qk-missing', yaml: 'type: frequency\nnum_events: 3\ntimeframe: {minutes: 4}\nquery_key: user\n', shapes: [dense] },
  { name: 'spike-up', yaml: 'type: spike\nspike_height: 2\nspike_type: up\ntimeframe: {minutes: 3}\n', shapes: [spiky, steady, dense] },
  { name: 'spike-both', yaml: 'type: spike\nspike_height: 1.5\nspike_type: both\ntimeframe: {minutes: 2}\nthreshold_ref: 2\n', shapes: [spiky, steady] },
  { name: 'spike-down', yaml: 'type: spike\nspike_height: 2\nspike_type: down\ntimeframe: {minutes: 4}\nthreshold_cur: 0\n', shapes: [gappy, spiky] },
  { name: 'spike-qk', yaml: 'type: spike\nspike_height: 2\nspike_type: up\ntimeframe: {minutes: 2}\nquery_key: host\nalert_on_new_data: true\n', shapes: [spiky, dense] },
  { name: 'spike-field', yaml: 'type: spike\nspike_height: 1.5\nspike_type: both\ntimeframe: {minutes: 3}\nfield_value: status\n', shapes: [steady, spiky] },
  { name: 'spike-qk-missing', yaml: 'type: spike\nspike_height: 2\nspike_type: both\ntimeframe: {minutes: 2}\nquery_key: user\n', shapes: [spiky] },
  { name: 'flatline', yaml: 'type: flatline\nthreshold: 3\ntimeframe: {minutes: 2}\n', shapes: [gappy, steady] },
  { name: 'flatline-qk', yaml: 'type: flatline\nthreshold: 2\ntimeframe: {minutes: 5}\nquery_key: host\n', shapes: [gappy, steady] },
  { name: 'flatline-forget', yaml: 'type: flatline\nthreshold: 4\ntimeframe: {minutes: 3}\nquery_key: site\nforget_keys: true\n', shapes: [gappy] },
  { name: 'new_term', yaml: 'type: new_term\nfields: [user]\n', shapes: [steady, dense] },
  { name: 'new_term-composite', yaml: 'type: new_term\nfields: [[host, user]]\n', shapes: [steady] },
  { name: 'new_term-missing', yaml: 'type: new_term\nfields: [user, host]\nalert_on_missing_field: true\n', shapes: [steady] },
  { name: 'new_term-qk', yaml: 'type: new_term\nquery_key: message\n', shapes: [dense] },
  { name: 'cardinality-max', yaml: 'type: cardinality\ncardinality_field: user\nmax_cardinality: 2\ntimeframe: {minutes: 2}\n', shapes: [steady, dense] },
  { name: 'cardinality-qk', yaml: 'type: cardinality\ncardinality_field: user\nmax_cardinality: 1\ntimeframe: {minutes: 3}\nquery_key: host\n', shapes: [steady, dense] },
  { name: 'cardinality-min-qk', yaml: 'type: cardinality\ncardinality_field: user\nmin_cardinality: 2\ntimeframe: {minutes: 3}\nquery_key: host\n', shapes: [gappy] },
  { name: 'change-null', yaml: 'type: change\nquery_key: host\ncompare_key: user\nignore_null: false\n', shapes: [dense] },
  { name: 'cardinality-min', yaml: 'type: cardinality\ncardinality_field: host\nmin_cardinality: 3\ntimeframe: {minutes: 2}\n', shapes: [steady, gappy] },
  { name: 'any-include', yaml: 'type: any\ninclude: [level, "mess*"]\n', shapes: [steady], fields: true },
  { name: 'frequency-include-qk', yaml: 'type: frequency\nnum_events: 3\ntimeframe: {minutes: 2}\nquery_key: host\ninclude: [status]\n', shapes: [dense], fields: true },
  { name: 'change-include', yaml: 'type: change\nquery_key: host\ncompare_key: level\nignore_null: true\ninclude: [user]\n', shapes: [dense], fields: true },
  { name: 'new_term-include', yaml: 'type: new_term\nfields: [user, level]\ninclude: [level]\n', shapes: [steady], fields: true },
  { name: 'any-top', yaml: `type: any\ntop_count_keys: [level, status]\n${TOP}`, shapes: [jittery] },
  { name: 'frequency-top-qk', yaml: `type: frequency\nnum_events: 4\ntimeframe: {minutes: 3}\nquery_key: host\ntop_count_keys: [level, user]\n${TOP}`, shapes: [jittery] },
  { name: 'flatline-top', yaml: `type: flatline\nthreshold: 3\ntimeframe: {minutes: 3}\ntop_count_keys: [host]\n${TOP}`, shapes: [jitteryGappy] },
  { name: 'any-top-include', yaml: `type: any\ninclude: [message]\ntop_count_keys: [site]\n${TOP}`, shapes: [jittery], fields: true },
];

/** The fields each type adds to a match, compared beside timestamp and key. */
const EXTRA = ['spike_count', 'reference_count', 'count', 'key', 'new_field', 'missing_field', 'old_value', 'new_value'];

/** Fields that are not the document's: ElastAlert's hit metadata and alert bookkeeping, fleetscope's label fields (always kept). */
const NOT_COMPARED = new Set(['_id', '_index', '_type', 'num_hits', 'num_matches', 're', 'site']);

function summarise(ts: unknown, key: string | null, m: Record<string, unknown>, fields: boolean): string {
  const extra: Record<string, unknown> = {};
  for (const k of EXTRA) if (k in m) extra[k] = m[k];
  // top_count_keys: each key's counts, in value order (the order of equal counts is the store's).
  for (const k of Object.keys(m).sort()) {
    if (k.startsWith('top_events_')) extra[k] = Object.entries(m[k] as Record<string, number>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
  if (fields) extra.fields = Object.keys(m).filter((k) => !NOT_COMPARED.has(k) && !k.startsWith('top_events_')).sort();
  return JSON.stringify({ ts: Date.parse(String(ts)), key, ...extra });
}

test('fleetscope matches what elastalert-test-rule decides, case by case', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-diff-'));
  try {
    const cases: { name: string; oracle: ElastalertCase; ours: string[]; fields: boolean }[] = [];
    let seed = 1;
    for (const rc of RULES) {
      for (const shape of rc.shapes) {
        for (let rep = 0; rep < (rc.shapes.length === 1 ? 3 : 2); rep++) {
          const yaml = `name: ${rc.name}\n${HEAD}${rc.yaml}`;
          const file = join(dir, `${rc.name}-${seed}.yaml`);
          await writeFile(file, yaml);
          const loaded = await loadRuleFile(file);
          assert.ok(loaded.rule, `${rc.name}: ${JSON.stringify(loaded.issues)}`);
          const rule = loaded.rule;
          const all = docs(seed++, shape);
          // The oracle's mock ignores filters: both sides get what the filter lets through.
          const filtered = all.filter((d) => rule.filter.match(d, Date.parse(String(d['@timestamp']))));
          const matches: EngineMatch[] = [];
          const engine = new Engine({ onMatch: (m) => matches.push(m) });
          engine.setRules([rule]);
          engine.offerAll(filtered.map((d) => ({ timestampMs: Date.parse(String(d['@timestamp'])), tenant: 'acme', site: String(d.site), doc: d })));
          engine.runAll();
          cases.push({ name: `${rc.name}#${seed - 1}`, oracle: { rule: yaml, docs: filtered }, ours: matches.map((m) => summarise(m.doc['@timestamp'], m.key, m.doc, rc.fields === true)), fields: rc.fields === true });
        }
      }
    }
    assert.ok(cases.length >= 60, `corpus has ${cases.length} cases`);
    const results = await runElastalertCases(cases.map((c) => c.oracle));
    let total = 0;
    const failures: string[] = [];
    results.forEach((r, i) => {
      const c = cases[i] as (typeof cases)[number];
      if (r.error !== null) {
        failures.push(`${c.name}: elastalert raised ${r.error}`);
        return;
      }
      const theirs = r.matches.map((m) => summarise(m.match['@timestamp'], m.key, m.match, c.fields));
      total += theirs.length;
      try {
        assert.deepEqual(c.ours, theirs);
      } catch {
        failures.push(`${c.name}:\n  fleetscope ${c.ours.length}: ${c.ours.join('\n    ')}\n  elastalert ${theirs.length}: ${theirs.join('\n    ')}`);
      }
    });
    t.diagnostic(`${cases.length} cases, ${total} matches compared`);
    assert.deepEqual(failures, [], failures.join('\n'));
    // The corpus must exercise matching, not agree on emptiness.
    assert.ok(total > 100, `only ${total} matches over the corpus`);
    const types = new Set(RULES.map((r) => r.yaml.split('\n')[0]));
    assert.equal(types.size, 9);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
