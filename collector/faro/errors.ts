// The errors collector/faro/ answers with (stable code, message template,
// HTTP status), in the form of collector/errors.ts.

export const faroErrors = {
  FS_COLLECTOR_FARO_INVALID_PAYLOAD: { status: 400, message: 'Faro payload: %s: %s' },
  FS_COLLECTOR_FARO_TOO_LARGE: { status: 413, message: 'Faro payload of %s bytes is over the limit of %s bytes' },
  FS_COLLECTOR_FARO_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: '%s' },
  FS_COLLECTOR_FARO_ORIGIN_FORBIDDEN: { status: 403, message: 'origin %s is not in faro.allowed_origins' },
  FS_COLLECTOR_FARO_UNAUTHORIZED: { status: 401, message: 'missing or wrong x-api-key' },
  FS_COLLECTOR_FARO_BACKPRESSURE: { status: 429, message: 'the log pipeline is full; retry after %s s' },
} as const;

export type FaroErrorCode = keyof typeof faroErrors;

export class FaroError extends Error {
  readonly code: FaroErrorCode;
  readonly status: number;
  constructor(code: FaroErrorCode, args: readonly (string | number)[], options?: { cause?: unknown }) {
    const def = faroErrors[code];
    let i = 0;
    super(def.message.replace(/%s/g, () => String(args[i++] ?? '')), options);
    this.name = 'FaroError';
    this.code = code;
    this.status = def.status;
  }
}
