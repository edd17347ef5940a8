// agent/: the CE daemon. (On this branch only the log shipper; the lead merges these lines into the agent's index.ts.)
export { type AgentLogsConfig, type LogShipper, type LogShipperDeps, type LogShipperStats, agentLogsConfigSchema, startLogShipper } from './logs/index.js';
