/**
 * @module Retry as a wrapper around any Transport (otel-js `createRetryingTransport`).
 *
 * A retryable result is sent again after exponential backoff with jitter, or after the
 * server's Retry-After when it gave one (capped at MAX_RETRY_AFTER_MS), up to `maxAttempts`
 * sends in all. The last result is returned as it is, so the caller counts the failure.
 */
import type { SendResult, Transport } from './transport.js';

export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_INITIAL_BACKOFF_MS = 1_000;
export const DEFAULT_MAX_BACKOFF_MS = 5_000;
export const BACKOFF_MULTIPLIER = 1.5;
/** Jitter spreads retries of many exporters: the delay is within ±JITTER of the backoff. */
export const JITTER = 0.2;
/** A Retry-After longer than this is not waited for in full. */
export const MAX_RETRY_AFTER_MS = 60_000;

export interface RetryOptions {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Injected for deterministic tests; default Math.random. */
  random?: () => number;
  /** Default setTimeout (fake timers replace it in tests). */
  sleep?: (ms: number) => Promise<void>;
}

export function createRetryingTransport(inner: Transport, o: RetryOptions): Transport {
  const random = o.random ?? Math.random;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return {
    async send(bytes, timeoutMs): Promise<SendResult> {
      let backoffMs = o.initialBackoffMs;
      let result = await inner.send(bytes, timeoutMs);
      for (let attempt = 1; attempt < o.maxAttempts && result.status === 'retryable'; attempt++) {
        const jittered = backoffMs * (1 - JITTER + 2 * JITTER * random());
        const delay = result.retryAfterMs !== undefined ? Math.min(result.retryAfterMs, MAX_RETRY_AFTER_MS) : Math.min(jittered, o.maxBackoffMs);
        await sleep(delay);
        backoffMs = Math.min(backoffMs * BACKOFF_MULTIPLIER, o.maxBackoffMs);
        result = await inner.send(bytes, timeoutMs);
      }
      return result;
    },
    shutdown: () => inner.shutdown(),
  };
}
