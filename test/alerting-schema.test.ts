// Rule validation against ElastAlert's own: a corpus of rule files is loaded
// by fleetscope and by ElastAlert 0.2.4's FileRulesLoader (load_yaml with
// imports, load_options with jsonschema over the real schema.yaml, then
// load_modules, which runs each rule type's required options and
// constructor checks). Both must accept and refuse the same files, and where
// ElastAlert names an option, fleetscope's error must name it too.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadRuleFile, loadRulesFolder } from '../alerting/index.js';
import { startElasticsearchStandIn } from './peers/elastalert.js';

const ORACLE = String.raw`
import argparse, json, sys, traceback
from elastalert.loaders import FileRulesLoader
files = json.load(open(sys.argv[1]))
conf = {'rules_folder': sys.argv[2], 'es_host': '127.0.0.1', 'es_port': int(sys.argv[3]), 'buffer_time': {'minutes': 15}, 'run_every': {'minutes': 1}, 'writeback_index': 'wb'}
out = []
for f in files:
    loader = FileRulesLoader(conf)
    args = argparse.Namespace(debug=True, start=None)
    try:
        rule = loader.load_yaml(f)
        # jsonschema's sub-errors of the failed oneOf name the option; ElastAlert's message does not.
        context = []
        for err in loader.rule_schema.iter_errors(rule):
            context += [c.message for c in (err.context or [])]
        try:
            loader.load_options(rule, conf, f)
        except Exception as e:
            raise Exception(str(e)[:700] + '\n' + '\n'.join(context))
        loader.load_modules(rule, args)
        out.append({'valid': True, 'message': ''})
    except Exception as e:
        out.append({'valid': False, 'message': str(e)[:8000]})
print('FSRESULT ' + json.dumps(out))
`;

const BASE = 'name: {NAME}\nindex: logs-*\nalert: debug\n';

/** [file name, body, extra files] — body gets BASE prepended unless it starts with '!'. */
const CORPUS: readonly [string, string][] = [
  ['any-ok', 'type: any\n'],
  ['frequency-ok', 'type: frequency\nnum_events: 5\ntimeframe: {minutes: 5}\nquery_key: [host, level]\n'],
  ['frequency-no-num', 'type: frequency\ntimeframe: {minutes: 5}\n'],
  ['frequency-num-string', 'type: frequency\nnum_events: "5"\ntimeframe: {minutes: 5}\n'],
  ['frequency-num-float', 'type: frequency\nnum_events: 5.5\ntimeframe: {minutes: 5}\n'],
  ['frequency-bad-unit', 'type: frequency\nnum_events: 5\ntimeframe: {mins: 5}\n'],
  ['frequency-timeframe-number', 'type: frequency\nnum_events: 5\ntimeframe: 5\n'],
  ['spike-ok', 'type: spike\nspike_height: 2\nspike_type: up\ntimeframe: {hours: 1}\n'],
  ['spike-bad-type', 'type: spike\nspike_height: 2\nspike_type: sideways\ntimeframe: {hours: 1}\n'],
  ['spike-no-height', 'type: spike\nspike_type: up\ntimeframe: {hours: 1}\n'],
  ['spike-threshold-float', 'type: spike\nspike_height: 2\nspike_type: up\ntimeframe: {hours: 1}\nthreshold_ref: 1.5\n'],
  ['blacklist-ok', 'type: blacklist\ncompare_key: user\nblacklist: [a, b]\n'],
  ['blacklist-string', 'type: blacklist\ncompare_key: user\nblacklist: a\n'],
  ['blacklist-no-key', 'type: blacklist\nblacklist: [a]\n'],
  ['whitelist-no-ignore', 'type: whitelist\ncompare_key: user\nwhitelist: [a]\n'],
  ['whitelist-ok', 'type: whitelist\ncompare_key: [user, host]\nwhitelist: [a]\nignore_null: false\n'],
  ['change-ok', 'type: change\nquery_key: host\ncompare_key: level\nignore_null: true\n'],
  ['change-no-qk', 'type: change\ncompare_key: level\nignore_null: true\n'],
  ['flatline-ok', 'type: flatline\nthreshold: 1\ntimeframe: {minutes: 10}\n'],
  ['flatline-no-threshold', 'type: flatline\ntimeframe: {minutes: 10}\n'],
  ['new_term-ok', 'type: new_term\nfields: [user, [host, level]]\n'],
  ['new_term-qk', 'type: new_term\nquery_key: user\n'],
  ['new_term-none', 'type: new_term\n'],
  ['new_term-empty', 'type: new_term\nfields: []\n'],
  ['cardinality-ok', 'type: cardinality\ncardinality_field: user\nmax_cardinality: 3\ntimeframe: {minutes: 5}\n'],
  ['cardinality-no-bound', 'type: cardinality\ncardinality_field: user\ntimeframe: {minutes: 5}\n'],
  ['cardinality-bound-string', 'type: cardinality\ncardinality_field: user\nmax_cardinality: "3"\ntimeframe: {minutes: 5}\n'],
  ['metric-ok', 'type: metric_aggregation\nmetric_agg_key: bytes\nmetric_agg_type: avg\nmax_threshold: 10\n'],
  ['metric-no-threshold', 'type: metric_aggregation\nmetric_agg_key: bytes\nmetric_agg_type: avg\n'],
  ['metric-bad-agg', 'type: metric_aggregation\nmetric_agg_key: bytes\nmetric_agg_type: median\nmax_threshold: 1\n'],
  ['spike-agg-ok', 'type: spike_aggregation\nmetric_agg_key: bytes\nmetric_agg_type: sum\nspike_height: 2\nspike_type: both\ntimeframe: {minutes: 5}\n'],
  ['spike-agg-no-key', 'type: spike_aggregation\nmetric_agg_type: sum\nspike_height: 2\nspike_type: both\ntimeframe: {minutes: 5}\n'],
  ['percentage-ok', 'type: percentage_match\nmatch_bucket_filter: [{term: {level: error}}]\nmax_percentage: 10\n'],
  ['percentage-no-bound', 'type: percentage_match\nmatch_bucket_filter: [{term: {level: error}}]\n'],
  ['percentage-no-filter', 'type: percentage_match\nmax_percentage: 10\n'],
  ['unknown-type', 'type: bogus\n'],
  ['no-type', 'num_events: 1\n'],
  ['!no-index', 'name: x\ntype: any\nalert: debug\n'],
  ['!no-alert', 'name: x\ntype: any\nindex: logs\n'],
  ['realert-number', 'type: any\nrealert: 5\n'],
  ['realert-ok', 'type: any\nrealert: {minutes: 5}\nexponential_realert: {hours: 1}\n'],
  ['aggregation-ok', 'type: any\naggregation: {minutes: 10}\naggregation_key: host\n'],
  ['query-key-number', 'type: any\nquery_key: 5\n'],
  ['filter-string', 'type: any\nfilter: "level:error"\n'],
  ['include-string', 'type: any\ninclude: host\n'],
  ['kibana-version', 'type: any\nkibana_discover_version: "9.9"\n'],
  ['opsgenie-empty', 'type: any\nopsgenie_details: {}\n'],
  ['priority-string', 'type: any\npriority: high\n'],
  ['slack-color', 'type: any\nslack_msg_color: purple\n'],
  ['use-count-no-doc-type', 'type: frequency\nnum_events: 1\ntimeframe: {minutes: 1}\nuse_count_query: true\n'],
  ['scan-no-timeframe', 'type: any\nscan_entire_timeframe: true\n'],
  ['timestamp-type-bad', 'type: any\ntimestamp_type: epoch\n'],
  ['unknown-option', 'type: any\nmy_custom_option: 3\n'],
  ['alert-subject-args', 'type: any\nalert_subject: "x {0}"\nalert_subject_args: [host]\nalert_text_args: [a]\n'],
  ['timeframe-on-any', 'type: any\ntimeframe: {minutes: 1}\n'],
  ['import-ok', 'import: shared/base.yaml.inc\ntype: frequency\nnum_events: 2\n'],
  ['import-missing-required', 'import: shared/empty.yaml.inc\ntype: frequency\nnum_events: 2\n'],
  ['import-bad-value', 'import: shared/bad.yaml.inc\ntype: any\n'],
];

test('rule validation accepts and refuses what ElastAlert 0.2.4 does', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-schema-'));
  const es = await startElasticsearchStandIn();
  try {
    await mkdir(join(dir, 'shared'));
    await writeFile(join(dir, 'shared', 'base.yaml.inc'), 'timeframe: {minutes: 5}\nfilter:\n- term: {level: error}\n');
    await writeFile(join(dir, 'shared', 'empty.yaml.inc'), 'owner: sre\n');
    await writeFile(join(dir, 'shared', 'bad.yaml.inc'), 'realert: {minutes: "five"}\n');
    const files: string[] = [];
    for (const [name, body] of CORPUS) {
      const f = join(dir, `${name.replace(/^!/, '')}.yaml`);
      await writeFile(f, body.startsWith('!') ? body.slice(1) : name.startsWith('!') ? body : BASE.replace('{NAME}', name) + body);
      files.push(f);
    }
    await writeFile(join(dir, 'oracle.py'), ORACLE);
    await writeFile(join(dir, 'files.json'), JSON.stringify(files));
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) => {
      const p = spawn('/usr/bin/python3', [join(dir, 'oracle.py'), join(dir, 'files.json'), dir, String(es.port)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let so = '';
      let se = '';
      p.stdout.on('data', (d: Buffer) => (so += d.toString()));
      p.stderr.on('data', (d: Buffer) => (se += d.toString()));
      p.once('error', reject);
      p.once('exit', (c) => resolve({ stdout: so, stderr: se, code: c }));
    });
    const line = stdout.split('\n').find((l) => l.startsWith('FSRESULT '));
    assert.ok(code === 0 && line, `oracle failed: ${stderr.slice(-3000)}`);
    const oracle = JSON.parse(line.slice(9)) as { valid: boolean; message: string }[];
    const disagreements: string[] = [];
    let invalid = 0;
    for (let i = 0; i < files.length; i++) {
      const ours = await loadRuleFile(files[i] as string);
      const errors = ours.issues.filter((x) => x.severity === 'error');
      const o = oracle[i] as { valid: boolean; message: string };
      const name = (CORPUS[i] as [string, string])[0];
      if ((errors.length === 0) !== o.valid) {
        disagreements.push(`${name}: elastalert ${o.valid ? 'accepts' : `refuses (${o.message.split('\n').slice(0, 3).join(' | ')})`}, fleetscope ${errors.length === 0 ? 'accepts' : `refuses (${errors.map((e) => `${e.path}: ${e.reason}`).join('; ')})`}`);
        continue;
      }
      if (!o.valid) {
        invalid++;
        // Every error names the file, and an option ElastAlert's message also names.
        for (const e of errors) assert.equal(e.file, files[i]);
        const named = errors.some((e) => e.path !== '' && o.message.includes(e.path.split(/[.[]/)[0] as string));
        if (!named) disagreements.push(`${name}: fleetscope names ${errors.map((e) => e.path).join(', ')}; elastalert says ${o.message.split('\n').slice(0, 4).join(' | ')}`);
      }
    }
    t.diagnostic(`${files.length} files, ${invalid} refused by both`);
    assert.deepEqual(disagreements, [], disagreements.join('\n'));
    assert.ok(invalid >= 25, `only ${invalid} invalid cases`);
    // Unknown options pass (as in ElastAlert) but are reported.
    const unknown = await loadRuleFile(join(dir, 'unknown-option.yaml'));
    assert.ok(unknown.issues.some((x) => x.severity === 'warning' && x.path === 'my_custom_option'));
    // A folder with any invalid rule is not ok as a whole, and lists every error.
    const folder = await loadRulesFolder(dir);
    assert.equal(folder.ok, false);
    assert.ok(folder.issues.filter((x) => x.severity === 'error').length >= invalid);
  } finally {
    await es.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
