// agent/logs/: tail log files and ship them to the collector (forward or HTTP JSON lines) through a disk spool.
export { type AgentLogsConfig, agentLogsConfigSchema } from './config.js';
export { type LogShipper, type LogShipperDeps, type LogShipperStats, startLogShipper } from './shipper.js';
