// `npm run bench:micro`: the hot functions of relabel/ and wire/, in ns per
// series or per sample, on realistic ~15-label edge series. Prints a Markdown
// table for bench/README.md and writes bench/results/micro.json.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { benchCollector } from './collector.bench.js';
import { benchExposition } from './exposition.bench.js';
import type { BenchResult } from './measure.js';
import { benchRelabel } from './relabel.bench.js';
import { benchRemoteWrite } from './remote-write.bench.js';
import { benchSimulator } from './simulator.bench.js';

const suites: [string, () => BenchResult[]][] = [
  ['exposition', benchExposition],
  ['relabel', benchRelabel],
  ['remote-write', benchRemoteWrite],
  ['collector', benchCollector],
  ['simulator', benchSimulator],
];

const only = process.argv.slice(2);
const results: BenchResult[] = [];
for (const [name, run] of suites) {
  if (only.length > 0 && !only.includes(name)) continue;
  process.stderr.write(`bench:micro ${name} …\n`);
  results.push(...run());
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const rows = results.map((r) => `| ${r.name} | ${r.nsPerOp >= 100 ? r.nsPerOp.toFixed(0) : r.nsPerOp.toFixed(1)} | ${r.note} |`);
console.log(`Machine: ${machine}\n\n| benchmark | ns/op | workload |\n|---|---:|---|\n${rows.join('\n')}`);
await mkdir('bench/results', { recursive: true });
// A run of some suites replaces their rows and keeps the others' (each row has its own date).
const date = new Date().toISOString();
let kept: (BenchResult & { date?: string })[] = [];
if (only.length > 0) {
  try {
    const before = JSON.parse(await readFile('bench/results/micro.json', 'utf8')) as { results?: (BenchResult & { date?: string })[] };
    const fresh = new Set(results.map((r) => r.name));
    kept = (before.results ?? []).filter((r) => !fresh.has(r.name));
  } catch {
    // No earlier results: this run's are all there is.
  }
}
await writeFile('bench/results/micro.json', JSON.stringify({ machine, date, results: [...kept, ...results.map((r) => ({ ...r, date }))] }, null, 2) + '\n');
