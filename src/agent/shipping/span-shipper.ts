/**
 * @module Ships the agent's spans to a Weft server as OTLP/HTTP protobuf: batched, retried, and
 * bounded. When the queue is full the oldest spans are dropped and counted, so a server outage
 * costs spans, never the agent's memory.
 *
 * Sending goes through the OTLP HTTP transport the exporter uses (src/apm/otlp-transport): the
 * same retryable statuses, gzip, and the server's Retry-After on 429/503, which the shipper waits
 * for (capped) instead of its own backoff. The shipper only adds what the exporter does not: it
 * keeps retrying a batch until it is sent or the shipper closes, since its queue is bounded.
 */
import type { SpanRecord } from '../../model/index.js';
import { encodeOtlpRequest } from '../../apm/otlp/index.js';
import { createHttpTransport, MAX_RETRY_AFTER_MS } from '../../apm/otlp-transport/index.js';
import type { Transport } from '../../apm/otlp-transport/index.js';

export interface ShipperOptions {
  /** Server base URL, e.g. http://127.0.0.1:4318 (the OTLP/HTTP port). */
  serverUrl: string;
  token?: string;
  batchSpans: number;
  flushIntervalMs: number;
  maxQueueSpans: number;
  timeoutMs: number;
  fetch?: typeof fetch;
  /** Default: the OTLP/HTTP transport to `serverUrl` (injected by tests). */
  transport?: Transport;
  /** Default setTimeout (tests observe the waits). */
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_SHIPPER_OPTIONS = {
  batchSpans: 2048,
  flushIntervalMs: 200,
  maxQueueSpans: 200_000,
  timeoutMs: 10_000,
} as const;

const INITIAL_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

export interface ShipperStats {
  queued: number;
  sent: number;
  dropped: number;
  failedAttempts: number;
  rejectedByServer: number;
  /** Retries the server timed with Retry-After (429/503). */
  retryAfterWaits: number;
}

export interface SpanShipper {
  add(spans: readonly SpanRecord[]): void;
  /** Sends everything queued (retrying until sent or closed). */
  flush(): Promise<void>;
  stats(): ShipperStats;
  close(): Promise<void>;
}

export function createSpanShipper(options: ShipperOptions): SpanShipper {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const transport =
    options.transport ??
    createHttpTransport({ url: options.serverUrl, contentType: 'application/x-protobuf', headers, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref()));
  const queue: SpanRecord[] = [];
  const stats: ShipperStats = { queued: 0, sent: 0, dropped: 0, failedAttempts: 0, rejectedByServer: 0, retryAfterWaits: 0 };
  let sending: Promise<void> | null = null;
  let closed = false;
  let backoffMs = 0;

  /** The outcome of one send, and how long the server asked to wait before the next. */
  async function sendBatch(batch: SpanRecord[]): Promise<{ outcome: 'ok' | 'retry' | 'drop'; retryAfterMs?: number }> {
    const r = await transport.send(encodeOtlpRequest(batch), options.timeoutMs);
    if (r.status === 'success') return { outcome: 'ok' };
    if (r.status === 'failure') return { outcome: 'drop' };
    return r.retryAfterMs === undefined ? { outcome: 'retry' } : { outcome: 'retry', retryAfterMs: r.retryAfterMs };
  }

  async function drain(): Promise<void> {
    while (queue.length > 0 && !closed) {
      const batch = queue.slice(0, options.batchSpans);
      const { outcome, retryAfterMs } = await sendBatch(batch);
      if (outcome === 'ok') {
        queue.splice(0, batch.length);
        stats.sent += batch.length;
        backoffMs = 0;
      } else if (outcome === 'drop') {
        // The server refused the batch as invalid: retrying cannot help.
        queue.splice(0, batch.length);
        stats.rejectedByServer += batch.length;
      } else {
        stats.failedAttempts++;
        backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs === 0 ? INITIAL_BACKOFF_MS : backoffMs * 2);
        // An overloaded server says when to come back; asking sooner only adds to its load.
        if (retryAfterMs !== undefined) stats.retryAfterWaits++;
        await sleep(retryAfterMs !== undefined ? Math.min(retryAfterMs, MAX_RETRY_AFTER_MS) : backoffMs);
      }
    }
  }

  function kick(): Promise<void> {
    sending ??= drain().finally(() => {
      sending = null;
    });
    return sending;
  }

  const timer = setInterval(() => {
    if (queue.length > 0) void kick();
  }, options.flushIntervalMs);
  timer.unref();

  return {
    add(spans) {
      if (closed) return;
      for (const s of spans) queue.push(s);
      const over = queue.length - options.maxQueueSpans;
      if (over > 0) {
        queue.splice(0, over);
        stats.dropped += over;
      }
      if (queue.length >= options.batchSpans) void kick();
    },
    async flush() {
      while (queue.length > 0 && !closed) await kick();
    },
    stats: () => ({ ...stats, queued: queue.length }),
    async close() {
      clearInterval(timer);
      await Promise.race([this.flush(), new Promise((r) => setTimeout(r, options.timeoutMs).unref())]);
      closed = true;
      stats.dropped += queue.length;
      queue.length = 0;
      await transport.shutdown();
    },
  };
}
