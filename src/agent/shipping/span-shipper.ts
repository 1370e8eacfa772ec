/**
 * @module Ships the agent's spans to a Weft server as OTLP/HTTP protobuf: batched, retried with
 * backoff, and bounded. When the queue is full the oldest spans are dropped and counted, so a
 * server outage costs spans, never the agent's memory.
 */
import type { SpanRecord } from '../../model/index.js';
import { encodeOtlpRequest } from '../../apm/otlp/index.js';

export interface ShipperOptions {
  /** Server base URL, e.g. http://127.0.0.1:4318 (the OTLP/HTTP port). */
  serverUrl: string;
  token?: string;
  batchSpans: number;
  flushIntervalMs: number;
  maxQueueSpans: number;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export const DEFAULT_SHIPPER_OPTIONS = {
  batchSpans: 2048,
  flushIntervalMs: 200,
  maxQueueSpans: 200_000,
  timeoutMs: 10_000,
} as const;

const INITIAL_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export interface ShipperStats {
  queued: number;
  sent: number;
  dropped: number;
  failedAttempts: number;
  rejectedByServer: number;
}

export interface SpanShipper {
  add(spans: readonly SpanRecord[]): void;
  /** Sends everything queued (retrying until sent or closed). */
  flush(): Promise<void>;
  stats(): ShipperStats;
  close(): Promise<void>;
}

export function createSpanShipper(options: ShipperOptions): SpanShipper {
  const doFetch = options.fetch ?? fetch;
  const url = new URL('/v1/traces', options.serverUrl).toString();
  const queue: SpanRecord[] = [];
  const stats: ShipperStats = { queued: 0, sent: 0, dropped: 0, failedAttempts: 0, rejectedByServer: 0 };
  let sending: Promise<void> | null = null;
  let closed = false;
  let backoffMs = 0;

  const headers: Record<string, string> = { 'content-type': 'application/x-protobuf' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;

  async function sendBatch(batch: SpanRecord[]): Promise<'ok' | 'retry' | 'drop'> {
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers,
        body: Buffer.from(encodeOtlpRequest(batch)),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      if (res.ok) {
        await res.arrayBuffer();
        return 'ok';
      }
      await res.arrayBuffer().catch(() => undefined);
      return RETRYABLE_STATUS.has(res.status) ? 'retry' : 'drop';
    } catch {
      return 'retry';
    }
  }

  async function drain(): Promise<void> {
    while (queue.length > 0 && !closed) {
      const batch = queue.slice(0, options.batchSpans);
      const outcome = await sendBatch(batch);
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
        await new Promise((r) => setTimeout(r, backoffMs).unref());
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
    },
  };
}
