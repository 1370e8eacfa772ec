/**
 * @module OTLP transports shared by every sender of OTLP: the exporter (src/exporter) and the
 * agent's span shipper (src/agent/shipping). One policy for what is retryable, one reading of
 * Retry-After. They live below both (dependencies point apm <- {agent, exporter}).
 */
export { createHttpTransport, parseRetryAfterMs, RETRYABLE_HTTP_STATUSES, tracesUrl } from './http-transport.js';
export type { HttpTransportOptions } from './http-transport.js';
export { createRetryingTransport, DEFAULT_INITIAL_BACKOFF_MS, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_BACKOFF_MS, MAX_RETRY_AFTER_MS } from './retrying-transport.js';
export type { RetryOptions } from './retrying-transport.js';
export type { SendResult, Transport } from './transport.js';
