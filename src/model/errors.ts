/**
 * @module The one error type of Weft, with stable codes.
 *
 * Codes are `TRC_<AREA>_<WHAT>` and each is listed in docs/errors.md (a test enforces it).
 * Expected outcomes (a parse that needs more bytes, a rejected span) are values, not errors;
 * throw a TracingError for bad config, bad requests and failed I/O, wrapping the original in
 * `cause` so it is never lost.
 */

export interface TracingErrorOptions {
  /** HTTP status this error maps to at an API edge (400, 401, 413, 415, 429, 500, 503…). */
  httpStatus?: number;
  /** True when the same call may succeed later (overload, a backend briefly away). */
  retryable?: boolean;
  /** For a retryable refusal: how long the client should wait (sent as Retry-After / RetryInfo). */
  retryAfterMs?: number;
  cause?: unknown;
}

export class TracingError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message: string, options: TracingErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TracingError';
    this.code = code;
    this.httpStatus = options.httpStatus ?? 500;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isTracingError(err: unknown): err is TracingError {
  return err instanceof TracingError;
}
