// collector/: the regional service. So far: its durable queue.
export { DurableQueue, type QueueOptions, type QueuePosition, type QueueStats } from './queue.js';
export { CollectorError, type CollectorErrorCode, collectorErrors } from './errors.js';
