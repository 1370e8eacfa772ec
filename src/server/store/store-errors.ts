/**
 * @module Store errors every backend raises, so the ingest pipeline and the APIs map them alike.
 *
 * `TRC_STORE_UNAVAILABLE` means the backend could not be reached or did not answer in time
 * (ClickHouse down, restarting, overloaded): nothing of the call took effect as far as the
 * caller can tell, and the same call may succeed later. It carries HTTP 503 and `retryable`, so
 * a receiver answers 503 / gRPC UNAVAILABLE and the sender keeps the batch and retries;
 * `retryAfterSeconds` is the wait a receiver may put in `Retry-After`.
 */
import { TracingError } from '../../model/index.js';

/** The wait suggested to senders while a store is unreachable (a server restart takes seconds). */
export const STORE_RETRY_AFTER_SECONDS = 5;

export class StoreUnavailableError extends TracingError {
  readonly retryAfterSeconds: number;

  constructor(message: string, cause?: unknown, retryAfterSeconds: number = STORE_RETRY_AFTER_SECONDS) {
    super('TRC_STORE_UNAVAILABLE', message, { httpStatus: 503, retryable: true, cause });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export function isStoreUnavailable(err: unknown): err is StoreUnavailableError {
  return err instanceof StoreUnavailableError;
}
