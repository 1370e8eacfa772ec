/**
 * @module Hands the in-process agent's spans to the server's ingest sink (`weft up`): batched,
 * retried while the sink refuses for a reason that passes (429 overload, 503 store away), and
 * bounded. A refusal is the server asking to wait, not an order to drop: bursts of traffic that
 * outrun the store must not cost the spans of the burst. Past `maxQueueSpans` the oldest are
 * dropped and counted, so an outage costs spans, never the agent's memory.
 */
import { isTracingError, type SpanRecord } from '../../model/index.js';

export interface SpanSink {
  submit(spans: SpanRecord[]): Promise<void>;
}

export interface SinkQueueOptions {
  maxQueueSpans: number;
  batchSpans: number;
}

export const DEFAULT_SINK_QUEUE_OPTIONS: SinkQueueOptions = { maxQueueSpans: 200_000, batchSpans: 4096 };

const INITIAL_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 2_000;

export interface SinkQueueStats {
  queued: number;
  submitted: number;
  /** Spans dropped: the queue was full, or the sink refused them for good (malformed). */
  dropped: number;
  retries: number;
}

export interface SinkQueue {
  add(spans: readonly SpanRecord[]): void;
  /** Resolves when everything queued was accepted (or dropped), or after `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
  stats(): SinkQueueStats;
  close(): void;
}

export function createSinkQueue(sink: SpanSink, o: SinkQueueOptions = DEFAULT_SINK_QUEUE_OPTIONS): SinkQueue {
  const queue: SpanRecord[] = [];
  const stats: SinkQueueStats = { queued: 0, submitted: 0, dropped: 0, retries: 0 };
  let running: Promise<void> | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      timer = setTimeout(() => {
        timer = null;
        resolve();
      }, ms);
    });

  async function drain(): Promise<void> {
    let backoff = 0;
    while (queue.length > 0 && !closed) {
      const batch = queue.slice(0, o.batchSpans);
      try {
        await sink.submit(batch);
        queue.splice(0, batch.length);
        stats.submitted += batch.length;
        backoff = 0;
      } catch (err) {
        if (isTracingError(err) && !err.retryable) {
          // Refused for good (it will never be accepted): counted, not retried forever.
          queue.splice(0, batch.length);
          stats.dropped += batch.length;
          continue;
        }
        stats.retries++;
        backoff = Math.min(MAX_BACKOFF_MS, backoff === 0 ? INITIAL_BACKOFF_MS : backoff * 2);
        const hint = isTracingError(err) ? err.retryAfterMs : undefined;
        await sleep(hint !== undefined ? Math.min(MAX_BACKOFF_MS, Math.max(hint, INITIAL_BACKOFF_MS)) : backoff);
      }
    }
  }

  const kick = (): void => {
    if (running || closed) return;
    running = drain().finally(() => {
      running = null;
      if (queue.length > 0 && !closed) kick();
    });
  };

  return {
    add(spans) {
      if (closed || spans.length === 0) return;
      for (const s of spans) queue.push(s);
      const over = queue.length - o.maxQueueSpans;
      if (over > 0) {
        queue.splice(0, over);
        stats.dropped += over;
      }
      kick();
    },
    async flush(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while ((queue.length > 0 || running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    },
    stats: () => ({ ...stats, queued: queue.length }),
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
    },
  };
}
