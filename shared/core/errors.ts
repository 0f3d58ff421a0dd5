// Error taxonomy: the error type decides the fate of a message or a request, and ERROR_CODES is the one list of
// the stable codes recorded on artifacts and summaries (README's table of error codes lists exactly these).
// PermanentError is recorded and acknowledged; anything else is retried.

/** Every stable error code, grouped by where it arises; clients and dashboards may rely on these strings. */
export const ERROR_CODES = [
  // The URL and the SSRF guard (at submission, in the worker, in the egress proxy).
  'invalid_url',
  'unsupported_scheme',
  'blocked_address',
  'dns_not_found',
  'dns_error',
  'too_many_redirects',
  // Capture (browser and monolith workers).
  'http_error',
  'navigation_failed',
  'not_html',
  'capture_failed',
  'timeout',
  'too_large',
  'monolith_unavailable',
  'monolith_failed',
  'invalid_config',
  'aborted',
  'checksum_mismatch',
  'transient',
  'stuck',
  'dead_lettered',
  'internal',
  // Firestore replica.
  'replica_contention',
  // Summaries.
  'not_found',
  'readable_missing',
  'readable_invalid',
  'readable_too_large',
  'empty_text',
  'input_too_long',
  'safety_blocked',
  'invalid_model_output',
  'gemini_auth',
  'gemini_model_not_found',
  'gemini_rejected',
  'gemini_rate_limited',
  'gemini_unavailable',
  'tasks_unavailable',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const known: ReadonlySet<string> = new Set(ERROR_CODES);

/** Narrows a code that arrived from outside the process (a proxy header) to a known one. */
export function isErrorCode(value: string): value is ErrorCode {
  return known.has(value);
}

export class PermanentError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

export class TransientError extends Error {
  constructor(
    readonly code: ErrorCode,
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

export function errorCode(err: unknown): ErrorCode {
  if (err instanceof PermanentError || err instanceof TransientError) return err.code;
  return 'internal';
}

export function isPermanent(err: unknown): err is PermanentError {
  return err instanceof PermanentError;
}
