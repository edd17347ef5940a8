// `fleetscope alerting --config FILE.yml`: the ElastAlert-compatible rule
// engine as a service.
import { AlertingError, AlertingService, formatIssue, loadAlertingConfig, loadRulesFolder } from '../alerting/index.js';
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, loadConfigOption, parseOptions, untilStopSignal } from './command.js';

const help = `Usage: fleetscope alerting --config FILE.yml
       fleetscope alerting --check-config FILE.yml

Runs the alerting engine: loads the rules folder (ElastAlert rule files),
takes log records on POST /api/v1/records (JSON lines or a JSON array of
{timestampMs, tenant, site, doc} or bare _source documents; answered once
they are on disk) or in process from the collector, evaluates every rule in
event time per tenant, and sends alerts to every configured Alertmanager
(API v2), resent while they hold and resolved when they stop. State
(windows, terms seen, silences, firing alerts, aggregations) is checkpointed
to state_dir and restored at start. Serves /metrics, /-/healthy, /-/ready,
GET /api/v1/rules[/NAME] (the generatorURL of its alerts). SIGHUP or
POST /-/reload re-reads the rules; an invalid folder is refused whole and
the running rules stay. Stops cleanly on SIGTERM or SIGINT.

Options:
  --config FILE        run with this config
  --check-config FILE  validate the config and its rules folder and exit
  --listen HOST:PORT   override the config's listen address
  -h, --help           this help
`;

export const alertingCommand: Command = {
  name: 'alerting',
  help,
  async run(args, io) {
    const opts = parseOptions('alerting', help, args, { config: { type: 'string' }, 'check-config': { type: 'string' }, listen: { type: 'string' } }, io);
    if (opts === null) return EXIT_USAGE;
    const got = await loadConfigOption('alerting', help, opts, loadAlertingConfig, (err) => err instanceof AlertingError, io);
    if (got === null) return EXIT_USAGE;
    const { file, loaded: config } = got;
    if (opts['check-config'] !== undefined) {
      const r = await loadRulesFolder(config.rules_dir, { recursive: config.scan_subdirectories });
      for (const i of r.issues) io.stderr.write(`${formatIssue(i)}\n`);
      if (!r.ok) return EXIT_USAGE;
      io.stdout.write(`${file}: valid (${r.rules.length} rules, ${config.alertmanagers.length} alertmanagers)\n`);
      return EXIT_OK;
    }
    let service: AlertingService;
    try {
      service = await AlertingService.start(config, { ...(opts.listen === undefined ? {} : { listen: opts.listen }), log: (l) => io.stderr.write(`${l}\n`) });
    } catch (err) {
      io.stderr.write(`fleetscope alerting: cannot start: ${(err as Error).message}\n`);
      return err instanceof AlertingError && err.code === 'FS_ALERTING_INVALID_RULE' ? EXIT_USAGE : EXIT_FAILURE;
    }
    io.stdout.write(`fleetscope alerting: listening on ${service.url}, ${service.engine.ruleList.length} rules\n`);
    const reload = (): void => {
      void service.reload().then((r) => {
        if (!r.ok) io.stderr.write(`fleetscope alerting: reload refused, keeping the running rules:\n${r.issues.map(formatIssue).join('\n')}\n`);
      });
    };
    process.on('SIGHUP', reload);
    await untilStopSignal();
    process.off('SIGHUP', reload);
    await service.stop();
    return EXIT_OK;
  },
};
