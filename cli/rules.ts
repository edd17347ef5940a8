// `fleetscope rules check DIR` and `fleetscope rules test RULE.yaml --data DOCS.json`:
// validate a folder of ElastAlert rules the way ElastAlert loads them, and try
// one rule over documents the way `elastalert-test-rule --data` does.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Engine, Silencer, formatIssue, loadRuleFile, loadRulesFolder, parseTimestamp, type EngineMatch } from '../alerting/index.js';
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './command.js';

const MAX_DATA_BYTES = 256 * 1024 * 1024;

const help = `Usage: fleetscope rules check DIR [--recursive]
       fleetscope rules test RULE.yaml --data DOCS.json [--no-realert]

check: loads every *.yaml/*.yml rule file of DIR as ElastAlert 0.2.4 does
(import: fragments merged, ElastAlert's schema.yaml, each rule type's
required options and checks) and lists every problem as FILE: OPTION: REASON.
Unknown options are listed as warnings (ElastAlert ignores them too).

test: runs one rule over a JSON array of documents (Elasticsearch _source
objects with the rule's timestamp field), in one run from the first document
to one second after the last, as elastalert-test-rule --data does, and prints
each match as one JSON line: {"rule","key","timestamp","num_hits","match"}.
The rule's filter is applied to the documents (elastalert-test-rule's mock
does not apply it). realert is applied in event time unless --no-realert.

Options:
  --recursive     check: also load rules from sub-folders
  --data FILE     test: the documents (required)
  --no-realert    test: print every match, without realert silencing
  -h, --help      this help

Exit codes: 0 ok; 1 unreadable data; 2 bad usage or an invalid rule (every
error is listed).
`;

async function check(dir: string, recursive: boolean, io: Parameters<Command['run']>[1]): Promise<number> {
  const r = await loadRulesFolder(dir, { recursive });
  for (const i of r.issues) (i.severity === 'error' ? io.stderr : io.stdout).write(`${formatIssue(i)}\n`);
  const errors = r.issues.filter((i) => i.severity === 'error').length;
  if (errors > 0) {
    io.stderr.write(`${dir}: ${errors} error(s); ${r.rules.length} rule(s) valid\n`);
    return EXIT_USAGE;
  }
  io.stdout.write(`${dir}: ${r.rules.length} rule(s) valid\n`);
  return EXIT_OK;
}

async function testRule(file: string, data: string, realert: boolean, io: Parameters<Command['run']>[1]): Promise<number> {
  const loaded = await loadRuleFile(file);
  for (const i of loaded.issues) (i.severity === 'error' ? io.stderr : io.stdout).write(`${formatIssue(i)}\n`);
  if (loaded.rule === null) return EXIT_USAGE;
  const rule = loaded.rule;
  let docs: unknown;
  try {
    const text = await readFile(data, 'utf8');
    if (text.length > MAX_DATA_BYTES) throw new Error(`larger than ${MAX_DATA_BYTES} bytes`);
    docs = JSON.parse(text);
  } catch (err) {
    io.stderr.write(`fleetscope rules test: ${data}: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
  if (!Array.isArray(docs)) {
    io.stderr.write(`fleetscope rules test: ${data}: expected a JSON array of documents\n`);
    return EXIT_FAILURE;
  }
  const records = [];
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i] as unknown;
    if (typeof d !== 'object' || d === null || Array.isArray(d)) {
      io.stderr.write(`fleetscope rules test: ${data}: document ${i} is not an object\n`);
      return EXIT_FAILURE;
    }
    const doc = d as Record<string, unknown>;
    const ts = parseTimestamp(doc[rule.timestampField], rule.timestampType);
    if (ts === null) {
      io.stderr.write(`fleetscope rules test: ${data}: document ${i} has no valid ${rule.timestampField}\n`);
      return EXIT_FAILURE;
    }
    // One stream, as elastalert-test-rule has no tenants.
    records.push({ timestampMs: ts, tenant: '', site: String(doc.site ?? ''), doc });
  }
  const matches: EngineMatch[] = [];
  const engine = new Engine({ onMatch: (m) => matches.push(m) });
  engine.setRules([rule]);
  engine.offerAll(records);
  engine.runAll();
  const silencer = new Silencer();
  for (const m of matches) {
    if (realert && !silencer.admit(m.rule, m.tenant, m.key, m.ts)) continue;
    io.stdout.write(`${JSON.stringify({ rule: rule.name, key: m.key, timestamp: m.doc[rule.timestampField], num_hits: m.numHits, match: m.doc })}\n`);
  }
  return EXIT_OK;
}

export const rulesCommand: Command = {
  name: 'rules',
  help,
  async run(args, io) {
    let parsed;
    try {
      parsed = parseArgs({ args: [...args], options: { recursive: { type: 'boolean' }, data: { type: 'string' }, 'no-realert': { type: 'boolean' } }, strict: true, allowPositionals: true });
    } catch (err) {
      io.stderr.write(`fleetscope rules: ${(err as Error).message}\n\n${help}`);
      return EXIT_USAGE;
    }
    const [sub, target, ...rest] = parsed.positionals;
    if (rest.length > 0 || target === undefined || (sub !== 'check' && sub !== 'test')) {
      io.stderr.write(`fleetscope rules: expected "check DIR" or "test RULE.yaml --data DOCS.json"\n\n${help}`);
      return EXIT_USAGE;
    }
    if (sub === 'check') return check(target, parsed.values.recursive === true, io);
    if (parsed.values.data === undefined) {
      io.stderr.write(`fleetscope rules test: --data DOCS.json is required\n\n${help}`);
      return EXIT_USAGE;
    }
    return testRule(target, parsed.values.data, parsed.values['no-realert'] !== true, io);
  },
};
