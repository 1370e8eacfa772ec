/**
 * @module Store errors every backend raises, so the ingest pipeline and the APIs map them alike.
 *
 * `TRC_STORE_UNAVAILABLE` means the backend could not be reached or did not answer in time
 * (ClickHouse down, restarting, overloaded): nothing of the call took effect as far as the
 * caller can tell, and the same call may succeed later. It carries HTTP 503, `retryable` and a
 * `retryAfterMs` hint, so a receiver answers 503 / gRPC UNAVAILABLE with Retry-After (the
 * receivers' retry hints, src/server/ingest/retry-hints.ts) and the sender keeps the batch.
 */
import { TracingError } from '../../model/index.js';

/** The wait suggested to senders while a store is unreachable (a server restart takes seconds). */
export const STORE_RETRY_AFTER_MS = 5_000;

export class StoreUnavailableError extends TracingError {
  constructor(message: string, cause?: unknown, retryAfterMs: number = STORE_RETRY_AFTER_MS) {
    super('TRC_STORE_UNAVAILABLE', message, { httpStatus: 503, retryable: true, retryAfterMs, cause });
  }
}

export function isStoreUnavailable(err: unknown): err is StoreUnavailableError {
  return err instanceof StoreUnavailableError;
}
