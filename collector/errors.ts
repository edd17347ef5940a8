// One registry of every error collector/ raises (stable code, message
// template, HTTP status). README.md's error table is kept in step by
// cli/errors.test.ts.

export const collectorErrors = {
  FS_COLLECTOR_INVALID_CONFIG: { status: 400, message: '%s: %s: %s' },
  FS_COLLECTOR_UNAUTHORIZED: { status: 401, message: '%s' },
  FS_COLLECTOR_UNKNOWN_TENANT: { status: 403, message: '%s' },
  FS_COLLECTOR_UNSUPPORTED_ENCODING: { status: 415, message: '%s' },
  FS_COLLECTOR_BODY_TOO_LARGE: { status: 413, message: 'request body of %s bytes is over limits.max_body_bytes (%s)' },
  FS_COLLECTOR_STOPPING: { status: 503, message: 'the collector is stopping; retry' },
  FS_COLLECTOR_QUEUE_RECORD_TOO_LARGE: { status: 413, message: 'queue record of %s bytes is over the segment size of %s bytes' },
  FS_COLLECTOR_QUEUE_CLOSED: { status: 503, message: 'queue %s is closed' },
  FS_COLLECTOR_QUEUE_IO: { status: 500, message: 'queue %s: %s' },
} as const;

export type CollectorErrorCode = keyof typeof collectorErrors;

export class CollectorError extends Error {
  readonly code: CollectorErrorCode;
  readonly status: number;
  constructor(code: CollectorErrorCode, args: readonly (string | number)[], options?: { cause?: unknown }) {
    const def = collectorErrors[code];
    let i = 0;
    super(def.message.replace(/%s/g, () => String(args[i++] ?? '')), options);
    this.name = 'CollectorError';
    this.code = code;
    this.status = def.status;
  }
}
