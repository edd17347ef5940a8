// One registry of every error agent/ raises (stable code, message template,
// HTTP status where one applies). README.md's error table is kept in step by
// cli/errors.test.ts once the lead adds this registry there.

export const agentErrors = {
  FS_AGENT_INVALID_CONFIG: { status: 400, message: '%s: %s: %s' },
  FS_AGENT_BUFFER_IO: { status: 500, message: 'buffer %s: %s' },
  FS_AGENT_BUFFER_RECORD_TOO_LARGE: { status: 413, message: 'buffer record of %s bytes is over the segment size of %s bytes' },
  FS_AGENT_BUFFER_CLOSED: { status: 503, message: 'buffer %s is closed' },
  FS_AGENT_NO_REGISTRATION_TOKEN: { status: 401, message: 'no registration token: looked in %s' },
  FS_AGENT_REGISTRATION_REJECTED: { status: 403, message: 'registration %s was rejected: %s' },
  FS_AGENT_REGISTRATION_FAILED: { status: 502, message: 'registration with %s failed: %s' },
  FS_AGENT_STATE_IO: { status: 500, message: 'state directory %s: %s' },
  FS_AGENT_CHECKSUM_MISMATCH: { status: 422, message: 'manifests of version %s: checksum %s expected, %s computed' },
  FS_AGENT_INVALID_MANIFESTS: { status: 422, message: 'manifests of version %s: %s' },
} as const;

export type AgentErrorCode = keyof typeof agentErrors;

export class AgentError extends Error {
  readonly code: AgentErrorCode;
  readonly status: number;
  constructor(code: AgentErrorCode, args: readonly (string | number)[], options?: { cause?: unknown }) {
    const def = agentErrors[code];
    let i = 0;
    super(def.message.replace(/%s/g, () => String(args[i++] ?? '')), options);
    this.name = 'AgentError';
    this.code = code;
    this.status = def.status;
  }
}
