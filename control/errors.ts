// One registry of every error control/ raises (stable code, message template,
// HTTP status). README.md's error table is kept in step by cli/errors.test.ts.

export const controlErrors = {
  FS_CONTROL_INVALID_CONFIG: { status: 400, message: '%s: %s: %s' },
  FS_CONTROL_MODEL_INVALID: { status: 422, message: 'model at %s: %s: %s: %s' },
  FS_CONTROL_TEMPLATE: { status: 422, message: '%s: %s: %s' },
  FS_CONTROL_GIT: { status: 502, message: 'git %s: %s' },
  FS_CONTROL_BAD_REQUEST: { status: 400, message: '%s' },
  FS_CONTROL_UNAUTHORIZED: { status: 401, message: '%s' },
  FS_CONTROL_FORBIDDEN: { status: 403, message: '%s' },
  FS_CONTROL_NOT_FOUND: { status: 404, message: '%s' },
  FS_CONTROL_CONFLICT: { status: 409, message: '%s' },
  FS_CONTROL_TOO_LARGE: { status: 413, message: '%s' },
  FS_CONTROL_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: '%s' },
  FS_CONTROL_UNAVAILABLE: { status: 503, message: '%s' },
  FS_CONTROL_NO_VERSION: { status: 404, message: 'site %s has no version yet: %s' },
  FS_CONTROL_STORE: { status: 503, message: 'state store: %s' },
  FS_CONTROL_STORE_LOCKED: { status: 503, message: 'state store: %s is in use by another control plane (%s): one process per state directory: ask the running one (--url), stop it, or use etcd for several replicas' },
  FS_CONTROL_ARTIFACTS: { status: 500, message: 'artifact store: %s' },
  FS_CONTROL_ARTIFACTS_BUCKET_MISSING: { status: 502, message: 'artifact store: S3 bucket %s does not exist at %s' },
  FS_CONTROL_ARTIFACTS_ACCESS_DENIED: { status: 502, message: 'artifact store: S3 refused %s %s at %s (check the credentials and the bucket policy): %s' },
  FS_CONTROL_ARTIFACTS_UNREACHABLE: { status: 503, message: 'artifact store: S3 endpoint %s cannot be reached: %s' },
  FS_CONTROL_ARTIFACTS_CHECKSUM: { status: 502, message: 'artifact store: %s does not match its checksum: %s' },
  FS_CONTROL_CSR: { status: 400, message: 'certificate request: %s' },
  FS_CONTROL_INTERNAL: { status: 500, message: 'internal error: %s' },
} as const;

export type ControlErrorCode = keyof typeof controlErrors;

export class ControlError extends Error {
  readonly code: ControlErrorCode;
  readonly status: number;
  constructor(code: ControlErrorCode, args: readonly (string | number)[], options?: { cause?: unknown }) {
    const def = controlErrors[code];
    let i = 0;
    super(def.message.replace(/%s/g, () => String(args[i++] ?? '')), options);
    this.name = 'ControlError';
    this.code = code;
    this.status = def.status;
  }
}
