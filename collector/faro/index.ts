// collector/faro/: the receiver for Grafana Faro web SDK payloads (POST /faro/collect).
export { type FaroConfig, faroConfigSchema, toFaroOptions } from './config.js';
export { FaroError, type FaroErrorCode, faroErrors } from './errors.js';
export { FaroMetrics } from './metrics.js';
export { FARO_DEFAULTS, type FaroLogRecord, type FaroOptions, type FaroSink, registerFaroRoutes } from './routes.js';
