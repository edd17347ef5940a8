// `fleetscope dashboards build --out DIR`: writes the Grafana dashboards and
// a provisioning file that loads them.
import { writeDashboards } from '../dashboards/index.js';
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parseOptions } from './command.js';

const help = `Usage: fleetscope dashboards build --out DIR [--provisioning-path PATH] [--folder NAME]

Builds fleetscope's Grafana dashboards (JSON, schemaVersion 39) into DIR:
fleet overview, site drill-down, collector pipeline, logs path, alerting and
upgrades, each with a Prometheus data source variable and tenant, re and site
variables; and fleetscope-dashboards.yaml, a Grafana dashboard provisioning
file (copy it into Grafana's provisioning/dashboards/ directory).

Options:
  --out DIR                 where to write (created if missing)
  --provisioning-path PATH  the directory as Grafana sees it, written into the
                            provisioning file (default: DIR, made absolute)
  --folder NAME             the Grafana folder to put them in (default: fleetscope)
  -h, --help                this help
`;

export const dashboardsCommand: Command = {
  name: 'dashboards',
  help,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub !== 'build') {
      io.stderr.write(`fleetscope dashboards: ${sub === undefined ? 'a subcommand is required' : `unknown subcommand "${sub}"`}\n\n${help}`);
      return EXIT_USAGE;
    }
    const opts = parseOptions('dashboards build', help, rest, { out: { type: 'string' }, 'provisioning-path': { type: 'string' }, folder: { type: 'string' } }, io);
    if (opts === null) return EXIT_USAGE;
    if (opts.out === undefined || opts.out === '') {
      io.stderr.write(`fleetscope dashboards build: --out DIR is required\n\n${help}`);
      return EXIT_USAGE;
    }
    try {
      const written = await writeDashboards({ outDir: opts.out, provisioningPath: opts['provisioning-path'], folder: opts.folder });
      io.stdout.write(`${written.map((p) => `wrote ${p}`).join('\n')}\n`);
      return EXIT_OK;
    } catch (err) {
      io.stderr.write(`fleetscope dashboards build: cannot write ${opts.out}: ${(err as Error).message}\n`);
      return EXIT_FAILURE;
    }
  },
};
