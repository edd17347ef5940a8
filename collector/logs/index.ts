// collector/logs/: the log path (forward and Elasticsearch-bulk ingest, pipeline, durable buffer, bulk egress).
export { type LogsConfig, checkLogsConfig, logsConfigSchema } from './config.js';
export { LogsService, type LogsDeps } from './service.js';
export { type Authenticate, type LogIdentity, type LogRecordOut } from './pipeline.js';
export { type LogRecordsListener } from './ingest.js';
export { LogsError, type LogsErrorCode, logsErrors } from './errors.js';
export { EventTime, forwardExtensions } from './forward-decode.js';
export { sha512Hex } from './forward-auth.js';
export { classifyItem, classifyRequest } from './bulk-outcome.js';
