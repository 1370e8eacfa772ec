/**
 * @module The OTLP exporter of SYS/NET spans (integration 4): filter → bounded queue → batches →
 * Serializer → retrying Transport.
 *
 * `export()` never blocks and never throws: spans that do not pass the filter are ignored, and
 * spans beyond `maxQueueSpans` are dropped and counted (the newest, as OTel's batch processor
 * does, so a backlog drains in order). One batch is in flight at a time; a batch goes out when
 * `batchSpans` are queued or `flushIntervalMs` after the first queued span. A batch that fails
 * after its retries is counted in `failed`; the exporter carries on with the next.
 */
import { TracingError } from '../model/index.js';
import type { SpanRecord } from '../model/index.js';
import { defaultExportFilter, matchesExportFilter } from './export-filter.js';
import type { ExportFilter } from './export-filter.js';
import { createGrpcTransport } from './grpc-transport.js';
import { createHttpTransport } from '../apm/otlp-transport/index.js';
import { createJsonSerializer, createProtobufSerializer } from './otlp-serializer.js';
import type { ExportSpan, Serializer } from './otlp-serializer.js';
import { createRetryingTransport, DEFAULT_INITIAL_BACKOFF_MS, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_BACKOFF_MS } from '../apm/otlp-transport/index.js';
import type { RetryOptions, Transport } from '../apm/otlp-transport/index.js';

export const DEFAULT_EXPORTER_OPTIONS = {
  batchSpans: 512,
  flushIntervalMs: 1_000,
  maxQueueSpans: 100_000,
  timeoutMs: 10_000,
} as const;

/**
 * The part of an assembled trace the exporter reads. The server's AssembledTrace has this shape;
 * it is restated here because the exporter may not depend on the server (dependency rule).
 */
export interface ExportableTrace {
  traceId: string;
  nodes: readonly { id: string; span: SpanRecord; parentId: string | null; linkReason: string | null }[];
}

export interface ExporterTimers {
  setTimeout(cb: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface OtlpExporterOptions {
  /** `http://host:4318` (…/v1/traces appended unless present), `https://…`, or `grpc://host:4317`. */
  url: string;
  /** Default: SYS and NET spans (`source=sys,net`). */
  filter?: ExportFilter;
  /** Extra request headers / gRPC metadata, e.g. authorization. */
  headers?: Record<string, string>;
  batchSpans: number;
  flushIntervalMs: number;
  maxQueueSpans: number;
  /** Per send attempt. Default 10 s. */
  timeoutMs?: number;
  /** OTLP/HTTP body encoding; gRPC is always protobuf. Default 'protobuf'. */
  encoding?: 'protobuf' | 'json';
  retry?: Partial<RetryOptions>;
  now?: () => number;
  timers?: ExporterTimers;
  /** Replaces the transport built from `url` (tests, custom transports); retry still wraps it. */
  transport?: Transport;
}

export interface ExporterStats {
  /** Spans the receiver accepted. */
  exported: number;
  /** Spans refused at the queue (full, or after shutdown). */
  dropped: number;
  /** Spans in batches that failed after all retries. */
  failed: number;
  /** Spans waiting. */
  queued: number;
}

export interface OtlpExporter {
  /** Queues spans that pass the filter. The span's own parentSpanId (from headers) is exported. */
  export(spans: readonly SpanRecord[]): void;
  /** Queues an assembled trace's spans that pass the filter, with their assembled parents. */
  exportTrace(trace: ExportableTrace): void;
  /** Resolves when everything queued before the call has been sent (or has failed). */
  flush(): Promise<void>;
  stats(): ExporterStats;
  /** Flushes, then closes the transport; later exports are dropped. */
  shutdown(): Promise<void>;
}

function configError(message: string): TracingError {
  return new TracingError('TRC_EXPORT_CONFIG_INVALID', message);
}

function checkPositive(name: string, v: number): void {
  if (!Number.isFinite(v) || v <= 0) throw configError(`${name} must be a positive number (actual: ${String(v)})`);
}

function buildTransport(o: OtlpExporterOptions, serializer: Serializer): Transport {
  if (o.transport) return o.transport;
  let u: URL;
  try {
    u = new URL(o.url);
  } catch (err) {
    throw new TracingError('TRC_EXPORT_CONFIG_INVALID', `export URL is not a URL (actual: ${JSON.stringify(o.url)})`, { cause: err });
  }
  if (u.protocol === 'grpc:') return createGrpcTransport(o.headers === undefined ? { url: o.url } : { url: o.url, headers: o.headers });
  if (u.protocol === 'http:' || u.protocol === 'https:') {
    return createHttpTransport(o.headers === undefined ? { url: o.url, contentType: serializer.contentType } : { url: o.url, contentType: serializer.contentType, headers: o.headers });
  }
  throw configError(`export URL must be http://, https:// or grpc:// (actual: ${JSON.stringify(o.url)})`);
}

export function createOtlpExporter(o: OtlpExporterOptions): OtlpExporter {
  checkPositive('batchSpans', o.batchSpans);
  checkPositive('flushIntervalMs', o.flushIntervalMs);
  checkPositive('maxQueueSpans', o.maxQueueSpans);
  const isGrpc = o.url.startsWith('grpc:');
  const serializer = o.encoding === 'json' && !isGrpc ? createJsonSerializer() : createProtobufSerializer();
  const transport = createRetryingTransport(buildTransport(o, serializer), {
    maxAttempts: o.retry?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    initialBackoffMs: o.retry?.initialBackoffMs ?? DEFAULT_INITIAL_BACKOFF_MS,
    maxBackoffMs: o.retry?.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS,
    ...(o.retry?.random ? { random: o.retry.random } : {}),
    ...(o.retry?.sleep ? { sleep: o.retry.sleep } : {}),
  });
  const filter = o.filter ?? defaultExportFilter();
  const timers: ExporterTimers = o.timers ?? { setTimeout: (cb, ms) => setTimeout(cb, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
  const timeoutMs = o.timeoutMs ?? DEFAULT_EXPORTER_OPTIONS.timeoutMs;

  const queue: ExportSpan[] = [];
  const stats = { exported: 0, dropped: 0, failed: 0 };
  let timer: unknown = null;
  let running: Promise<void> | null = null;
  let closed = false;
  /** Spans the current flush() callers are waiting on: send until the queue has none of them. */
  let flushWanted = 0;

  function enqueue(items: ExportSpan[]): void {
    if (closed) {
      stats.dropped += items.length;
      return;
    }
    const room = Math.max(0, o.maxQueueSpans - queue.length);
    if (items.length > room) stats.dropped += items.length - room;
    for (let i = 0; i < Math.min(room, items.length); i++) queue.push(items[i]!);
    if (queue.length >= o.batchSpans) void kick();
    else if (queue.length > 0 && timer === null && running === null) {
      timer = timers.setTimeout(() => {
        timer = null;
        void kick(true);
      }, o.flushIntervalMs);
    }
  }

  async function sendBatch(batch: ExportSpan[]): Promise<void> {
    let result;
    try {
      result = await transport.send(serializer.serialize(batch), timeoutMs);
    } catch (err) {
      result = { status: 'failure' as const, error: err instanceof Error ? err : new Error(String(err)) };
    }
    if (result.status === 'success') stats.exported += batch.length;
    else stats.failed += batch.length;
  }

  /** Drains full batches (and a partial one when `partial`, a flush or the interval asked). */
  function kick(partial = false): Promise<void> {
    if (running) {
      if (partial) flushWanted = Math.max(flushWanted, queue.length);
      return running;
    }
    if (timer !== null) {
      timers.clearTimeout(timer);
      timer = null;
    }
    if (partial) flushWanted = Math.max(flushWanted, queue.length);
    running = (async () => {
      while (queue.length >= o.batchSpans || (flushWanted > 0 && queue.length > 0)) {
        const batch = queue.splice(0, o.batchSpans);
        flushWanted = Math.max(0, flushWanted - batch.length);
        await sendBatch(batch);
      }
      flushWanted = 0;
    })().finally(() => {
      running = null;
      if (queue.length > 0 && timer === null && !closed) {
        timer = timers.setTimeout(() => {
          timer = null;
          void kick(true);
        }, o.flushIntervalMs);
      }
    });
    return running;
  }

  return {
    export(spans) {
      const items: ExportSpan[] = [];
      for (const span of spans) if (matchesExportFilter(filter, span)) items.push({ span });
      if (items.length > 0) enqueue(items);
    },
    exportTrace(trace) {
      const byId = new Map(trace.nodes.map((n) => [n.id, n]));
      const items: ExportSpan[] = [];
      for (const n of trace.nodes) {
        if (!matchesExportFilter(filter, n.span)) continue;
        const parent = n.parentId === null ? undefined : byId.get(n.parentId);
        const item: ExportSpan = { span: n.span, assembledTraceId: trace.traceId };
        if (parent) item.assembledParentSpanId = parent.span.spanId;
        if (n.linkReason !== null) item.linkReason = n.linkReason;
        items.push(item);
      }
      if (items.length > 0) enqueue(items);
    },
    async flush() {
      while (queue.length > 0 || running) {
        if (running) await running;
        else await kick(true);
      }
    },
    stats: () => ({ ...stats, queued: queue.length }),
    async shutdown() {
      if (closed) return;
      await this.flush();
      closed = true;
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      await transport.shutdown();
    },
  };
}
