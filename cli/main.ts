// `fleetscope <command>`, the way promtool and vmctl work: one binary, one
// subcommand per part, `--help` on each. Only commands that exist are listed.
import { benchCommand } from './bench.js';
import { collectorCommand } from './collector.js';
import { type Command, type Io, EXIT_USAGE } from './command.js';
import { demoCommand } from './demo.js';
import { relabelCommand } from './relabel.js';

export const COMMANDS: readonly Command[] = [benchCommand, collectorCommand, demoCommand, relabelCommand];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'fleetscope: telemetry and GitOps upgrades for fleets of edge Kubernetes sites',
    '',
    'Usage: fleetscope <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `fleetscope <command> --help` for a command\'s options.',
    '',
  ].join('\n');
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version') {
    io.stdout.write('fleetscope 0.1.0\n');
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.stderr.write(`fleetscope: unknown command "${name}"\n\n${usage()}`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(cmd.help.endsWith('\n') ? cmd.help : `${cmd.help}\n`);
    return 0;
  }
  return cmd.run(rest, io);
}
