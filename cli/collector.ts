// `fleetscope collector --config FILE.yml`: the regional service.
import { AlertingError, AlertingService, loadAlertingConfig } from '../alerting/index.js';
import { Collector, CollectorError, loadCollectorConfig } from '../collector/index.js';
import { type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, loadConfigOption, parseOptions, untilStopSignal } from './command.js';

const help = `Usage: fleetscope collector --config FILE.yml
       fleetscope collector --check-config FILE.yml

Runs the regional collector: a Prometheus remote-write receiver
(POST /api/v1/write) for authenticated sites (Authorization: Bearer <static
or signed site token>, or a client certificate when tls.client_ca_file is
set), scrape loops for scrape_configs (static and file_sd targets, /federate
too, with up/scrape_* series and staleness markers), the per-tenant pipeline
(metric allowlist/denylist, label denylist, relabel rules, per-site series
limit, identity and external labels, pre-aggregation checkpointed to disk),
and for each remote_write target a durable on-disk queue and a sender with
concurrent shards that retries through outages. A push is acknowledged only
once it is durable on disk.
Serves /metrics, /-/healthy and /-/ready. SIGHUP or POST /-/reload re-reads
the config: sites, tenants, pipelines, external labels and limits apply at
once; an invalid file is rejected (file, path, reason) and the running config
stays; listen, queue and remote_write changes need a restart and are reported.
Stops cleanly on SIGTERM or SIGINT; what is not yet delivered stays queued on
disk for the next start.

Options:
  --config FILE        run with this config
  --check-config FILE  validate a config and exit (0 valid; 2 invalid, with file, path and reason)
  --listen HOST:PORT   override the config's listen address
  --alerting-config FILE
                       also run the alerting engine in this process, fed every
                       log record the collector accepts (needs a logs: section)
  -h, --help           this help
`;

export const collectorCommand: Command = {
  name: 'collector',
  help,
  async run(args, io) {
    const opts = parseOptions('collector', help, args, { config: { type: 'string' }, 'check-config': { type: 'string' }, listen: { type: 'string' }, 'alerting-config': { type: 'string' } }, io);
    if (opts === null) return EXIT_USAGE;
    const got = await loadConfigOption('collector', help, opts, loadCollectorConfig, (err) => err instanceof CollectorError, io);
    if (got === null) return EXIT_USAGE;
    const { file, loaded: loaded } = got;
    if (opts['check-config'] !== undefined) {
      io.stdout.write(`${file}: valid (${loaded.config.sites.length} sites, ${Object.keys(loaded.config.tenants).length} tenants, ${loaded.config.remote_write.length} remote_write targets)\n`);
      return EXIT_OK;
    }
    if (opts['alerting-config'] !== undefined && loaded.config.logs === undefined) {
      io.stderr.write(`fleetscope collector: --alerting-config needs a logs: section in ${file} (the engine is fed the collector's log records)\n`);
      return EXIT_USAGE;
    }
    let alertingConfig;
    if (opts['alerting-config'] !== undefined) {
      try {
        alertingConfig = await loadAlertingConfig(opts['alerting-config']);
      } catch (err) {
        if (err instanceof AlertingError) {
          io.stderr.write(`fleetscope collector: ${err.message}\n`);
          return EXIT_USAGE;
        }
        throw err;
      }
    }
    let collector: Collector;
    try {
      collector = await Collector.start(loaded, opts.listen === undefined ? { configFile: file } : { listen: opts.listen, configFile: file });
    } catch (err) {
      io.stderr.write(`fleetscope collector: cannot start: ${(err as Error).message}\n`);
      return EXIT_FAILURE;
    }
    // The one in-process interface between the log path and the alerting engine
    // (records are offered after they are durable in the collector's buffer).
    let alerting: AlertingService | undefined;
    if (alertingConfig !== undefined) {
      try {
        alerting = await AlertingService.start(alertingConfig, { log: (l) => io.stderr.write(`${l}\n`) });
      } catch (err) {
        io.stderr.write(`fleetscope collector: cannot start the alerting engine: ${(err as Error).message}\n`);
        await collector.stop();
        return EXIT_FAILURE;
      }
      const engine = alerting;
      collector.logs?.onLogRecords((batch) => engine.offer(batch));
    }
    // SIGHUP re-reads the config (as POST /-/reload does); a bad file is logged and the old config stays.
    const reload = (): void => void collector.reload().catch(() => undefined);
    process.on('SIGHUP', reload);
    await untilStopSignal();
    process.off('SIGHUP', reload);
    await collector.stop();
    await alerting?.stop();
    return EXIT_OK;
  },
};
