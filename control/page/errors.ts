// The errors control/page/ raises (stable code, message template, HTTP
// status), in the form of collector/errors.ts.

export const pageErrors = {
  FS_CONTROL_PAGE_NOT_FOUND: { status: 404, message: 'no page asset %s' },
  FS_CONTROL_PAGE_ASSETS_MISSING: { status: 500, message: 'fleet page assets not found: %s' },
} as const;

export type PageErrorCode = keyof typeof pageErrors;

export class PageError extends Error {
  readonly code: PageErrorCode;
  readonly status: number;
  constructor(code: PageErrorCode, args: readonly (string | number)[], options?: { cause?: unknown }) {
    const def = pageErrors[code];
    let i = 0;
    super(def.message.replace(/%s/g, () => String(args[i++] ?? '')), options);
    this.name = 'PageError';
    this.code = code;
    this.status = def.status;
  }
}
