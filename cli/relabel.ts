// `fleetscope relabel --rules FILE.yml`: Prometheus relabel rules as a filter
// over exposition text, for trying rules and for CI. Reads exposition on
// stdin, writes the surviving series, labels sorted, one per line.
import { readFile } from 'node:fs/promises';
import { RelabelError, Relabeler, parseRelabelConfigsYaml } from '../relabel/index.js';
import { WireError, formatSeries, parseExposition } from '../wire/index.js';
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parseOptions, readAll } from './command.js';

const MAX_INPUT_BYTES = 512 * 1024 * 1024;

const help = `Usage: fleetscope relabel --rules FILE.yml [--openmetrics] [--stats] < exposition.txt

Applies Prometheus relabel rules (a YAML list in relabel_configs form, exactly
as under metric_relabel_configs) to every series of Prometheus text-format
exposition read on stdin, and writes the surviving series to stdout as
exposition text: labels sorted, one series per line, value and timestamp kept.
A series whose __name__ the rules remove is dropped, as fleetscope's pipeline does.

Options:
  --rules FILE     the relabel rules (required)
  --openmetrics    read OpenMetrics 1.0 text instead of Prometheus text 0.0.4
  --stats          print kept and dropped counts, by reason, to stderr
  -h, --help       this help

Exit codes: 0 ok; 1 unreadable or malformed input (the line is named);
2 bad usage or invalid rules (the rule's index and the reason are named).
`;

export const relabelCommand: Command = {
  name: 'relabel',
  help,
  async run(args, io) {
    const opts = parseOptions('relabel', help, args, { rules: { type: 'string' }, openmetrics: { type: 'boolean' }, stats: { type: 'boolean' } }, io);
    if (opts === null) return EXIT_USAGE;
    if (!opts.rules) {
      io.stderr.write(`fleetscope relabel: --rules FILE.yml is required\n\n${help}`);
      return EXIT_USAGE;
    }
    let relabeler: Relabeler;
    try {
      relabeler = Relabeler.compile(parseRelabelConfigsYaml(await readFile(opts.rules, 'utf8'), opts.rules));
    } catch (err) {
      if (err instanceof RelabelError) {
        io.stderr.write(`fleetscope relabel: ${opts.rules}: ${err.message.replace(/^relabel rules file [^:]*: /, '')}\n`);
        return EXIT_USAGE;
      }
      io.stderr.write(`fleetscope relabel: cannot read ${opts.rules}: ${(err as Error).message}\n`);
      return EXIT_USAGE;
    }
    let parsed;
    try {
      parsed = parseExposition(await readAll(io.stdin, MAX_INPUT_BYTES), { format: opts.openmetrics ? 'openmetrics' : 'prometheus' });
    } catch (err) {
      const reason = err instanceof WireError ? err.message : (err as Error).message;
      io.stderr.write(`fleetscope relabel: stdin: ${reason}\n`);
      return EXIT_FAILURE;
    }
    const dropped = new Map<string, number>();
    let out = '';
    let kept = 0;
    for (const s of parsed.series) {
      const labels = relabeler.process(s.labels);
      if (labels === null) {
        dropped.set(relabeler.dropReason, (dropped.get(relabeler.dropReason) ?? 0) + 1);
        continue;
      }
      kept++;
      out += formatSeries(labels, s.value, s.timestamp) + '\n';
      if (out.length > 1 << 20) {
        io.stdout.write(out);
        out = '';
      }
    }
    io.stdout.write(out);
    if (opts.stats) {
      const reasons = [...dropped].map(([r, n]) => `${r}=${n}`).join(' ');
      io.stderr.write(`series in=${parsed.series.length} kept=${kept} dropped=${parsed.series.length - kept}${reasons ? ` (${reasons})` : ''}\n`);
    }
    return EXIT_OK;
  },
};
