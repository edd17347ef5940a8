// Rule validation against real Prometheus 2.42: each rule list goes into a
// scrape job's metric_relabel_configs and `promtool check config` decides
// whether Prometheus accepts it; fleetscope must accept and reject the same
// lists, and say the same reason.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { RelabelError, Relabeler, parseRelabelConfigsYaml } from '../../relabel/index.js';

const run = promisify(execFile);

// YAML, exactly as an SRE would write it under metric_relabel_configs.
const CASES: readonly string[] = [
  '- {source_labels: [a], target_label: b}',
  '- {source_labels: [a]}',
  '- {action: replace, target_label: ""}',
  '- {action: hashmod, target_label: shard}',
  '- {action: hashmod, target_label: shard, modulus: 0}',
  '- {action: hashmod, target_label: "1shard", modulus: 4}',
  '- {action: hashmod, modulus: 4}',
  '- {action: hashmod, target_label: shard, modulus: 4}',
  '- {action: lowercase, source_labels: [a]}',
  '- {action: lowercase, source_labels: [a], target_label: b}',
  '- {action: uppercase, source_labels: [a], target_label: b, replacement: x}',
  '- {action: keepequal, source_labels: [a], target_label: b}',
  '- {action: keepequal, source_labels: [a]}',
  '- {action: keepequal, source_labels: [a], target_label: b, regex: "x"}',
  '- {action: dropequal, source_labels: [a], target_label: b, separator: ","}',
  '- {action: dropequal, source_labels: [a], target_label: b, replacement: "y"}',
  '- {action: labelmap, regex: "(.*)", replacement: "x_$1"}',
  '- {action: labelmap, regex: "(.*)", replacement: "1x"}',
  '- {action: labelmap, regex: "(.*)", replacement: "a-b"}',
  '- {action: labelmap, regex: "(.*)", replacement: "${1}"}',
  '- {action: labeldrop, regex: "a.*"}',
  '- {action: labeldrop, regex: "a", source_labels: [b]}',
  '- {action: labeldrop, regex: "a", target_label: b}',
  '- {action: labelkeep, regex: "a", separator: ","}',
  '- {action: labelkeep, regex: "a", replacement: "z"}',
  '- {action: labelkeep, regex: "a", modulus: 3}',
  '- {action: keep, source_labels: [a], regex: "("}',
  '- {action: keep, source_labels: [a], regex: "a(?=b)"}',
  '- {action: keep, source_labels: [a], regex: "(a)\\\\1"}',
  '- {action: keep, source_labels: [a], regex: "a{1001}"}',
  '- {action: keep, source_labels: [a], regex: "a{2,1}"}',
  '- {action: keep, source_labels: [a], regex: "a**"}',
  '- {action: keep, source_labels: [a], regex: "[z-a]"}',
  '- {action: keep, source_labels: [a], regex: "\\\\k"}',
  '- {action: keep, source_labels: [a], regex: "a{,5}"}',
  '- {action: keep, source_labels: [a], regex: "\\\\pX"}',
  '- {action: keep, source_labels: [a], regex: "(?P<n>a)(?P<n>b)"}',
  '- {action: keep, source_labels: [a], regex: "(?P<1x>a)"}',
  '- {action: keep, source_labels: [a], regex: "[[:alpha:]]"}',
  '- {action: keep, source_labels: [a], regex: "\\\\Qa.b"}',
  '- {action: keep, source_labels: ["a-b"]}',
  '- {action: keep, source_labels: ["1a"]}',
  '- {action: unknown, source_labels: [a]}',
  '- {action: "", source_labels: [a]}',
  '- {action: KEEP, source_labels: [a]}',
  '- {action: keep, source_labels: [a], bogus: 1}',
  '- {action: replace, source_labels: [a], target_label: "a-b"}',
  '- {action: replace, source_labels: [a], target_label: "$1-x"}',
  '- {action: replace, source_labels: [a], target_label: "x_${1}"}',
  '- {action: replace, source_labels: [a], target_label: "$$"}',
  '- {action: replace, source_labels: [a], target_label: "9lives"}',
  '- {action: lowercase, source_labels: [a], target_label: "x$1"}',
  '- {action: replace, target_label: t, modulus: 5}',
  '- {action: keep, source_labels: [a], regex: 1.0}',
  '- {target_label: x, replacement: 007}',
];

async function promtoolAccepts(dir: string, rulesYaml: string): Promise<{ ok: boolean; message: string }> {
  const rules = rulesYaml.split('\n').map((l) => `      ${l}`).join('\n');
  const file = join(dir, `p${Math.random().toString(36).slice(2)}.yml`);
  await writeFile(file, `scrape_configs:\n  - job_name: v\n    static_configs: [{targets: ['127.0.0.1:1']}]\n    metric_relabel_configs:\n${rules}\n`);
  try {
    await run('promtool', ['check', 'config', '--syntax-only', file]);
    return { ok: true, message: '' };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: unknown };
    if (typeof e.code !== 'number') throw err;
    return { ok: false, message: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

function fleetscopeAccepts(rulesYaml: string): { ok: boolean; message: string } {
  try {
    Relabeler.compile(parseRelabelConfigsYaml(rulesYaml, 'rules.yml'));
    return { ok: true, message: '' };
  } catch (err) {
    if (!(err instanceof RelabelError)) throw err;
    return { ok: false, message: err.message };
  }
}

// Reasons whose wording we chose ourselves (Go's yaml and regexp phrase them differently).
const OUR_WORDING = /not found in relabel config|invalid regex|does not support|is not an unsigned integer|invalid escape|missing closing|invalid repeat|invalid or unsupported|invalid named|duplicate capture|unexpected \)|invalid character class|missing argument|trailing backslash|is not a valid label name/;

test('fleetscope accepts and rejects the same relabel rules as promtool 2.42', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-promtool-'));
  try {
    const failures: string[] = [];
    let rejected = 0;
    for (const c of CASES) {
      const theirs = await promtoolAccepts(dir, c);
      const ours = fleetscopeAccepts(c);
      if (!theirs.ok) rejected++;
      if (theirs.ok !== ours.ok) {
        failures.push(`${c}\n  promtool: ${theirs.ok ? 'accepts' : theirs.message.trim()}\n  fleetscope: ${ours.ok ? 'accepts' : ours.message}`);
        continue;
      }
      if (!ours.ok && !OUR_WORDING.test(ours.message)) {
        // Same reason as Prometheus: its sentence appears in its error output.
        const reason = ours.message.replace(/^relabel rule \d+: /, '');
        if (!theirs.message.includes(reason)) failures.push(`${c}\n  promtool says: ${theirs.message.trim()}\n  fleetscope says: ${reason}`);
      }
    }
    assert.deepEqual(failures, [], failures.join('\n'));
    assert.ok(rejected >= 20, `only ${rejected} of the cases are invalid; the corpus should exercise rejection`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
