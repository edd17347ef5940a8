// `fleetscope agent --config FILE.yml`: the daemon on every edge site.
import { AgentDaemon, AgentError, loadAgentConfig } from '../agent/index.js';
import { fileLogShipper } from './agent-logs.js';
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, loadConfigOption, parseOptions, untilStopSignal } from './command.js';

const help = `Usage: fleetscope agent --config FILE.yml
       fleetscope agent --check-config FILE.yml

Runs the edge agent: scrapes its targets (static, or Kubernetes pods and
endpoints discovered through the API, relabeled as Prometheus does; Prometheus
text / OpenMetrics), applies the edge filter and metric_relabel_configs, and
remote-writes to the collector with its site token or client certificate. Every scrape is fsync'd into a bounded disk
buffer first and sent oldest first, so an outage of the collector loses
nothing until the buffer is full (then the oldest is dropped and counted).
With a registration section it registers with the control plane (token from
a file, an environment variable or cloud-init user data) and waits for
approval; with upgrades enabled it pulls, verifies, pre-pulls and applies
the site's releases (server-side apply) and rolls back on failure. Serves
its own /metrics (fleetscope_agent_*) and ships them too.
Stops cleanly on SIGTERM or SIGINT; unsent data stays buffered on disk.

Options:
  --config FILE        run with this config
  --check-config FILE  validate a config and exit (0 valid; 2 invalid, with file, path and reason)
  -h, --help           this help
`;

export const agentCommand: Command = {
  name: 'agent',
  help,
  async run(args, io) {
    const opts = parseOptions('agent', help, args, { config: { type: 'string' }, 'check-config': { type: 'string' } }, io);
    if (opts === null) return EXIT_USAGE;
    const got = await loadConfigOption('agent', help, opts, loadAgentConfig, (err) => err instanceof AgentError, io);
    if (got === null) return EXIT_USAGE;
    const { file, loaded: loaded } = got;
    if (opts['check-config'] !== undefined) {
      io.stdout.write(`${file}: valid (${loaded.config.targets.length} targets, ${loaded.config.scrape_jobs.length} discovery jobs, registration ${loaded.config.registration ? 'on' : 'off'}, upgrades ${loaded.config.upgrades.enabled ? 'on' : 'off'})\n`);
      return EXIT_OK;
    }
    let daemon: AgentDaemon;
    try {
      daemon = await AgentDaemon.start(loaded, { logShipper: fileLogShipper, log: (level, msg) => io.stderr.write(`${new Date().toISOString()} ${level} ${msg}\n`) });
    } catch (err) {
      io.stderr.write(`fleetscope agent: cannot start: ${(err as Error).message}\n`);
      return EXIT_FAILURE;
    }
    await untilStopSignal();
    await daemon.stop();
    return EXIT_OK;
  },
};
