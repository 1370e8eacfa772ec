/**
 * @module The contract between receivers and storage.
 *
 * Receivers decode a wire format into SpanRecords and hand them to an `IngestSink`. They never
 * import a store implementation. The sink decides batching (group commit) and backpressure.
 */
import type { SpanRecord } from '../../model/index.js';

export interface IngestSink {
  /**
   * Persists a batch. Resolves only when every span is durable, so the receiver may then
   * acknowledge. Rejects with TracingError:
   * - `TRC_INGEST_OVERLOADED` (httpStatus 429, retryable) when too much is already pending;
   *   nothing of the batch was stored.
   * - `TRC_STORE_WRITE` (500/503, retryable) when storage failed.
   * Takes ownership of the array. An empty batch resolves at once.
   */
  submit(spans: SpanRecord[]): Promise<void>;
  /**
   * Optional: the refusal a submit arriving now would get whatever its size (the queue is full
   * or cannot drain before the ack deadline), or null. Receivers ask before decoding a body, so
   * an overloaded server does not spend its CPU decoding batches it will refuse anyway.
   */
  refusalNow?(): Error | null;
}
