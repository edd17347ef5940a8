// One registry of every error wire/ raises: a stable code, a message template
// and an HTTP status (fastify lib/errors.js style). README.md's error table
// is kept in step by cli/errors.test.ts.

export const wireErrors = {
  FS_WIRE_EXPOSITION_SYNTAX: { status: 400, message: 'line %s: %s' },
  FS_WIRE_EXPOSITION_LIMIT: { status: 400, message: 'line %s: %s' },
  FS_WIRE_BODY_TOO_LARGE: { status: 413, message: 'body of %s bytes is over the limit of %s bytes' },
  FS_WIRE_SNAPPY_TOO_LARGE: { status: 413, message: 'snappy block declares %s bytes uncompressed, over the limit of %s bytes' },
  FS_WIRE_SNAPPY_CORRUPT: { status: 400, message: 'snappy block is corrupt: %s' },
  FS_WIRE_PROTOBUF: { status: 400, message: 'malformed protobuf at byte %s: %s' },
  FS_WIRE_INVALID_UTF8: { status: 400, message: '%s is not valid UTF-8' },
  FS_WIRE_REMOTE_WRITE_INVALID: { status: 400, message: 'series %s: %s' },
  FS_WIRE_REMOTE_WRITE_LIMIT: { status: 413, message: '%s' },
} as const;

export type WireErrorCode = keyof typeof wireErrors;

export class WireError extends Error {
  readonly code: WireErrorCode;
  readonly status: number;
  constructor(code: WireErrorCode, args: readonly (string | number)[], options?: { cause?: unknown }) {
    const def = wireErrors[code];
    let i = 0;
    super(def.message.replace(/%s/g, () => String(args[i++] ?? '')), options);
    this.name = 'WireError';
    this.code = code;
    this.status = def.status;
  }
}
