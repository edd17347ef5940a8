// One registry of every error collector/logs/ raises (stable code, message
// template, HTTP status), in the form of collector/errors.ts.

export const logsErrors = {
  FS_COLLECTOR_LOGS_FORWARD_FRAME: { status: 400, message: 'forward frame: %s' },
  FS_COLLECTOR_LOGS_FORWARD_LIMIT: { status: 413, message: 'forward frame: %s' },
  FS_COLLECTOR_LOGS_FORWARD_AUTH: { status: 401, message: 'forward handshake: %s' },
  FS_COLLECTOR_LOGS_UNAUTHORIZED: { status: 401, message: '%s' },
  FS_COLLECTOR_LOGS_BULK_SYNTAX: { status: 400, message: 'bulk body line %s: %s' },
  FS_COLLECTOR_LOGS_JSON_LINES_SYNTAX: { status: 400, message: 'line %s: %s' },
  FS_COLLECTOR_LOGS_BODY_LIMIT: { status: 413, message: '%s' },
  FS_COLLECTOR_LOGS_UNSUPPORTED_ENCODING: { status: 415, message: 'Content-Encoding %s is not supported (gzip or none)' },
  FS_COLLECTOR_LOGS_BUFFER_UNAVAILABLE: { status: 503, message: 'log buffer: %s; nothing of this request was acknowledged' },
  FS_COLLECTOR_LOGS_DEAD_LETTER_IO: { status: 500, message: 'dead-letter file %s: %s' },
} as const;

export type LogsErrorCode = keyof typeof logsErrors;

export class LogsError extends Error {
  readonly code: LogsErrorCode;
  readonly status: number;
  constructor(code: LogsErrorCode, args: readonly (string | number)[], options?: { cause?: unknown }) {
    const def = logsErrors[code];
    let i = 0;
    super(def.message.replace(/%s/g, () => String(args[i++] ?? '')), options);
    this.name = 'LogsError';
    this.code = code;
    this.status = def.status;
  }
}
