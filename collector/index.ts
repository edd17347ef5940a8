// collector/: the regional service: remote-write receiver, pipeline, durable queues, senders.
export { Collector, type CollectorOptions } from './collector.js';
export { type CollectorConfig, type LoadedConfig, collectorConfigSchema, loadCollectorConfig, validateCollectorConfig } from './config.js';
export { DurableQueue, type QueueOptions, type QueuePosition, type QueueStats } from './queue.js';
export { type Identity, PushPipeline, SERIES_LIMIT } from './pipeline.js';
export { CollectorError, type CollectorErrorCode, collectorErrors } from './errors.js';
// The log path (collector/logs/README.md): `collector.logs?.onLogRecords(...)`, its errors for the registry test.
export { LogsService, type LogRecordOut, type LogRecordsListener, LogsError, type LogsErrorCode, logsErrors } from './logs/index.js';
// The Faro receiver for browser pages (collector/faro/README.md).
export { type FaroConfig, FaroError, type FaroErrorCode, type FaroLogRecord, type FaroOptions, type FaroSink, faroConfigSchema, faroErrors, registerFaroRoutes, toFaroOptions } from './faro/index.js';
