// The hook through which the log shipper (agent/logs/, built separately)
// runs inside the agent daemon. The daemon calls the factory once at start
// when the config has a `logs:` section, hands it that section unparsed (the
// shipper validates it and throws an error naming what is wrong), and stops
// it before the daemon exits. The identity may be null at start (not yet
// registered); the shipper reads identity() when it connects and whenever
// onIdentity fires.
import type { Registry } from 'prom-client';
import type { SiteIdentity } from './identity.js';

export interface LogShipperContext {
  /**
   * The `logs:` section of the agent config, as parsed YAML; read it again at
   * each (re)start: once the site has its issued certificate, a TLS output
   * that names no cert_file/key_file gets the site's (<state_dir>/cert.pem, key.pem).
   */
  readonly config: unknown;
  /** The config file's path, for error messages. */
  readonly configFile: string;
  /** The agent's state directory (0700); the shipper keeps its positions under <state_dir>/logs. */
  readonly stateDir: string;
  /** The current site identity (site token, endpoints.logs_forward / logs_http_url), or null. */
  identity(): SiteIdentity | null;
  /** Called with each new identity (registration, re-registration after a factory reset). */
  onIdentity(listener: (id: SiteIdentity | null) => void): () => void;
  /** The agent's prom-client registry: register fleetscope_agent_logs_* metrics here to have them served and shipped. */
  readonly registry: Registry;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

export interface LogShipper {
  stop(): Promise<void>;
}

export type LogShipperFactory = (ctx: LogShipperContext) => Promise<LogShipper>;
