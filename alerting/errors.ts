// One registry of every error alerting/ raises (stable code, message
// template, HTTP status). The README's error table is kept in step by
// cli/errors.test.ts once the lead adds this registry there.

export const alertingErrors = {
  FS_ALERTING_INVALID_RULE: { status: 400, message: '%s: %s: %s' },
  FS_ALERTING_INVALID_QUERY: { status: 400, message: 'query_string %s: %s' },
  FS_ALERTING_INVALID_CONFIG: { status: 400, message: '%s: %s: %s' },
  FS_ALERTING_BAD_RECORDS: { status: 400, message: '%s' },
  FS_ALERTING_BODY_TOO_LARGE: { status: 413, message: 'body is larger than %s bytes' },
  FS_ALERTING_STATE_IO: { status: 500, message: 'state %s: %s' },
  FS_ALERTING_NO_SUCH_RULE: { status: 404, message: 'no rule named %s' },
  FS_ALERTING_INTERNAL: { status: 500, message: '%s' },
} as const;

export type AlertingErrorCode = keyof typeof alertingErrors;

export class AlertingError extends Error {
  readonly code: AlertingErrorCode;
  readonly status: number;
  constructor(code: AlertingErrorCode, args: readonly (string | number)[], options?: { cause?: unknown }) {
    const def = alertingErrors[code];
    let i = 0;
    super(def.message.replace(/%s/g, () => String(args[i++] ?? '')), options);
    this.name = 'AlertingError';
    this.code = code;
    this.status = def.status;
  }
}
