// `fleetscope <command>`, the way promtool and vmctl work: one binary, one
// subcommand per part, `--help` on each. Only commands that exist are listed.
import { type Command, type Io, EXIT_USAGE } from './command.js';

/**
 * Each command's module is loaded only when that command runs, so the agent on
 * a site does not carry the control plane's or the alerting engine's code in
 * its memory.
 */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'agent', summary: 'run the edge agent (scrape, buffer, remote-write; register; upgrades)', load: async () => (await import('./agent.js')).agentCommand },
  { name: 'alerting', summary: 'run the ElastAlert-compatible alerting engine (log records in, Alertmanager out)', load: async () => (await import('./alerting.js')).alertingCommand },
  { name: 'bench', summary: 'simulate a fleet of edge sites; benchmark fleetscope side by side with vmagent and Prometheus agent', load: async () => (await import('./bench.js')).benchCommand },
  { name: 'collector', summary: 'run the regional collector (remote-write in, scrapes, pipeline, durable queue, remote-write out)', load: async () => (await import('./collector.js')).collectorCommand },
  { name: 'control', summary: 'run the GitOps control plane (git model, rendering, registration, rollouts); load, render, status, token, keys', load: async () => (await import('./control.js')).controlCommand },
  { name: 'dashboards', summary: 'build the Grafana dashboards and their provisioning file', load: async () => (await import('./dashboards.js')).dashboardsCommand },
  { name: 'demo', summary: 'run simulated edge sites through the pipeline and the collector, on embedded defaults', load: async () => (await import('./demo.js')).demoCommand },
  { name: 'relabel', summary: 'apply Prometheus relabel rules to exposition text on stdin', load: async () => (await import('./relabel.js')).relabelCommand },
  { name: 'rules', summary: 'check a folder of ElastAlert rules, or test one rule over documents', load: async () => (await import('./rules.js')).rulesCommand },
];

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
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    io.stderr.write(`fleetscope: unknown command "${name}"\n\n${usage()}`);
    return EXIT_USAGE;
  }
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(cmd.help.endsWith('\n') ? cmd.help : `${cmd.help}\n`);
    return 0;
  }
  return cmd.run(rest, io);
}
