// One registry of every error relabel/ raises: a stable code, a message
// template and (where it reaches HTTP) a status, the way fastify's
// lib/errors.js does it. README.md's error table is kept in step by
// errors.test.ts.

export const relabelErrors = {
  FS_RELABEL_INVALID_CONFIG: { status: 400, message: 'relabel rule %s: %s' },
  FS_RELABEL_INVALID_YAML: { status: 400, message: 'relabel rules file %s: %s' },
  FS_RELABEL_INVALID_REGEX: { status: 400, message: 'invalid regex %s: %s' },
  FS_RELABEL_UNSUPPORTED_REGEX: { status: 400, message: 'regex %s uses %s, which fleetscope does not support' },
  FS_RELABEL_INVALID_FILTER: { status: 400, message: 'metric filter %s: %s' },
} as const;

export type RelabelErrorCode = keyof typeof relabelErrors;

export class RelabelError extends Error {
  readonly code: RelabelErrorCode;
  readonly status: number;
  constructor(code: RelabelErrorCode, args: readonly string[], options?: { cause?: unknown }) {
    const def = relabelErrors[code];
    let i = 0;
    super(def.message.replace(/%s/g, () => args[i++] ?? ''), options);
    this.name = 'RelabelError';
    this.code = code;
    this.status = def.status;
  }
}
