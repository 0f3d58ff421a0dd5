// Error taxonomy: the error type decides the fate of a message or a request.
// PermanentError is recorded and acknowledged; anything else is retried.

export class PermanentError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

export class TransientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** An HTTP problem (RFC 9457) with a stable type; `detail` is safe to show to the client. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
    this.name = 'Problem';
  }
}

export function errorCode(err: unknown): string {
  if (err instanceof PermanentError || err instanceof TransientError) return err.code;
  return 'internal';
}

export function isPermanent(err: unknown): err is PermanentError {
  return err instanceof PermanentError;
}
