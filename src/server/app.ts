/**
 * @module The server's composition root: store → ingest pipeline → receivers, and the query
 * server (query API, UI, /healthz, /metrics) on its own port.
 *
 * Nothing here holds domain logic; it only wires the pieces and owns their lifetimes. Each HTTP
 * receiver gets its own Fastify instance on its own port (so a port maps to one protocol, as
 * collectors do), with the Bearer check as its first hook. The UI and the local agent live in
 * layers the server must not import, so the CLI hands them in (`ui`) or attaches them to the
 * returned handle (`sink`, `metrics`).
 */
import type { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import Fastify, { LogController } from 'fastify';
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { isTracingError, TracingError } from '../model/index.js';
import type { SpanRecord } from '../model/index.js';
import { installBearerAuth } from './auth.js';
import type { PortsConfig, StoreSpec, WeftConfig } from './config.js';
import {
  createRemoteAgentMetrics,
  otlpHttpReceiver,
  skywalkingHttpReceiver,
  startOtlpGrpcReceiver,
  startSkyWalkingGrpcReceiver,
  zipkinReceiver,
} from './ingest/index.js';
import type { GrpcReceiverHandle, IngestSink, ReceiverOptions } from './ingest/index.js';
import { createIngestPipeline } from './ingest/pipeline.js';
import { installRetryAfter } from './ingest/retry-hints.js';
import { createMemoryBudget, installBodyBudget } from './ingest/memory-budget.js';
import { memorySamples } from './memory-gauges.js';
import { limitHeapGrowth, startMemoryGovernor } from './memory-governor.js';
import type { MemoryBudget } from './ingest/memory-budget.js';
import type { IngestPipeline } from './ingest/pipeline.js';
import { decodeBacklogMs, takeLongestTurnMs, turnStats } from './cpu-turns.js';
import { eventLoopDelayCollector } from './event-loop-delay.js';
import { createLatencyWindow } from './latency-window.js';
import { openFrontDoor } from './front-door.js';
import type { FrontDoor } from './front-door.js';
import { createMetricsRegistry, newReceiverCounters, receiverSamples } from './metrics.js';
import type { MetricSample, MetricsRegistry, ReceiverCounters } from './metrics.js';
import { createApmTraceFetcher } from './apm-clients/index.js';
import { completionApi } from './query/completion-api.js';
import { queryApi } from './query/index.js';
import { queryFrameworkErrors } from './query/query-errors.js';
import { createMemoryStore, openClickHouseStore, openDuckDbStore } from './store/index.js';
import type { Store } from './store/index.js';
import { assemble } from './tracing/assemble.js';
import { TRACE_WALK_LIMITS, walkTrace } from './trace-walk.js';

/** Calls to external APM Trace APIs: bounded in time, cached (a trace view is often reloaded). */
const APM_FETCH_OPTIONS = { timeoutMs: 5_000, cacheTtlMs: 60_000, cacheMaxEntries: 1_000 };

/** What the UI layer plugs into the query server: it learns the real ports (0 → chosen). */
export type UiInstaller = (app: FastifyInstance, info: { ports: PortsConfig; tokenRequired: boolean }) => Promise<void>;

export interface StartServerOptions {
  logger: Logger;
  /** Serves `GET /` (and its assets). Without it `/` answers a short text pointer to the API. */
  ui?: UiInstaller;
  /**
   * Called with every batch once it is durable (receivers and the in-process agent), e.g. by the
   * OTLP exporter, which lives in a layer the server must not import. Must not throw or block.
   */
  onDurable?: (spans: readonly SpanRecord[]) => void;
}

export interface RunningServer {
  /** The ports actually listened on (a configured 0 becomes the chosen port). */
  ports: PortsConfig;
  /** The pipeline's sink, for an in-process agent (same durability and backpressure as receivers). */
  sink: IngestSink;
  /** Add collectors (the agent's drop counters) to /metrics. */
  metrics: MetricsRegistry;
  store: Store;
  /** Stops listening, flushes the pipeline, closes the store. Idempotent. */
  close(): Promise<void>;
}

/** Paths that stay open with --token: the UI shell and the health probe carry no span data. */
const OPEN_PATHS = ['/', '/healthz', '/favicon.ico'];
/** Static UI assets (scripts, styles) and the shell of deep links (`/trace/{id}`): public code, no data. */
const OPEN_PREFIXES = ['/ui/', '/trace/'];
/** How long close() waits for in-flight HTTP requests before dropping connections. */
const CLOSE_GRACE_MS = 3000;
const MAX_PATH_PARAM_CHARS = 300;
/** Time past the query budget a query socket may stay quiet (assembly after the budget's check, serialising). */
const QUERY_SOCKET_SLACK_MS = 30_000;

/**
 * Refusals Node makes before Fastify sees the request (headers or URL beyond 16 KiB → 431, a
 * malformed request → 400), written in Weft's error shape instead of Node's empty answer.
 */
function clientErrorInApiShape(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const body = JSON.stringify({
    error: { code: tooLarge ? 'TRC_QUERY_HEADERS_TOO_LARGE' : 'TRC_QUERY_BAD_REQUEST', message: tooLarge ? 'request line and headers exceed 16 KiB' : 'malformed HTTP request' },
  });
  socket.end(`HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * Bodies waiting this long to be decoded mean the server takes in more than it can decode: new
 * ones are refused (429 + Retry-After) until the backlog shrinks, so acks stay well inside the
 * clients' export timeout.
 */
const MAX_DECODE_BACKLOG_MS = 1_000;

function decodeBacklogRefusal(): TracingError | null {
  const waited = decodeBacklogMs();
  if (waited <= MAX_DECODE_BACKLOG_MS) return null;
  return new TracingError('TRC_INGEST_OVERLOADED', `ingest overloaded: bodies wait ${Math.round(waited)} ms to be decoded; retry in 1 s`, {
    httpStatus: 429,
    retryable: true,
    retryAfterMs: 1_000,
  });
}

/**
 * Shares of --max-memory. Bodies in flight (their buffers and decoded spans, estimated) and
 * DuckDB's buffer pool are budgeted; decoded spans waiting for the store are bounded by bytes
 * too (those of the in-process agent have no body); the rest is the runtime's baseline (~150 MiB
 * resident: code, DuckDB's allocator beyond its pool, the heap's garbage between collections).
 * The resident size itself is watched as well (memory-governor.ts, memory-budget.ts).
 */
const BODY_BUDGET_SHARE = 0.375;
const STORE_MEMORY_SHARE = 0.2;
const PENDING_SPANS_SHARE = 0.2;
/** /metrics counts the store's spans at most this often (a count is slow on a busy store). */
const STORE_COUNT_INTERVAL_MS = 5_000;
/** /metrics reads the store's memory at most this often (a query, like the count). */
const STORE_MEMORY_INTERVAL_MS = 1_000;
/** pino's numeric warn level. */
const WARN_LEVEL = 40;

type HttpReceiverName = 'otlp_http' | 'zipkin' | 'skywalking_http';
type GrpcReceiverName = 'otlp_grpc' | 'skywalking_grpc';

/** DuckDB memory per worker thread, at least: each thread holds its own scan and hash buffers. */
const STORE_BYTES_PER_THREAD = 64 * 1024 * 1024;

/**
 * DuckDB worker threads for a buffer-pool budget: one per STORE_BYTES_PER_THREAD, at most one per
 * core (DuckDB's default is one per core whatever its memory limit, so a small limit on a large
 * machine would be shared by dozens of threads).
 */
export function storeThreadsFor(memoryLimitBytes: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(cores, Math.floor(memoryLimitBytes / STORE_BYTES_PER_THREAD)));
}

export async function openStore(spec: StoreSpec, logger: Logger, memoryLimitBytes?: number): Promise<Store> {
  switch (spec.kind) {
    case 'memory':
      return createMemoryStore();
    case 'duckdb':
      return openDuckDbStore({
        path: spec.path,
        logger: quietChild(logger, 'store.duckdb'),
        ...(memoryLimitBytes !== undefined ? { memoryLimitBytes, threads: storeThreadsFor(memoryLimitBytes) } : {}),
      });
    case 'clickhouse':
      return openClickHouseStore({
        url: spec.url,
        cluster: spec.cluster,
        retentionDays: spec.retentionDays,
        logger: quietChild(logger, 'store.clickhouse'),
      });
  }
}

/** Counts what a receiver stored or failed to store, without touching the spans. */
function countingSink(inner: IngestSink, counters: ReceiverCounters): IngestSink {
  return {
    ...(inner.refusalNow ? { refusalNow: () => inner.refusalNow?.() ?? null } : {}),
    async submit(spans: SpanRecord[]): Promise<void> {
      const n = spans.length;
      try {
        await inner.submit(spans);
        counters.spansAccepted += n;
      } catch (err) {
        counters.spansRejectedOverload += n;
        throw err;
      }
    },
  };
}

/** Passes each durable batch to `onDurable` (the exporter) without delaying the acknowledgement. */
function tappedSink(inner: IngestSink, onDurable: ((spans: readonly SpanRecord[]) => void) | undefined, logger: Logger): IngestSink {
  if (!onDurable) return inner;
  return {
    ...(inner.refusalNow ? { refusalNow: () => inner.refusalNow?.() ?? null } : {}),
    async submit(spans: SpanRecord[]): Promise<void> {
      await inner.submit(spans);
      try {
        onDurable(spans);
      } catch (err) {
        logger.warn({ err }, 'onDurable hook failed; the spans are stored');
      }
    },
  };
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** The fixed error body and status for anything a query-server route throws. */
export function errorResponseOf(err: unknown): { status: number; body: { error: { code: string; message: string } } } {
  if (isTracingError(err)) return { status: err.httpStatus, body: { error: { code: err.code, message: err.message } } };
  const fe = err as Partial<FastifyError>;
  const status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 600 ? fe.statusCode : 500;
  const code = status >= 500 ? 'TRC_HTTP_INTERNAL' : status === 404 ? 'TRC_HTTP_NOT_FOUND' : 'TRC_HTTP_BAD_REQUEST';
  // A 5xx message may hold internals (paths, SQL); clients get a generic one, the log the rest.
  const message = status >= 500 ? 'internal error' : (fe.message ?? 'bad request');
  return { status, body: { error: { code, message } } };
}

/**
 * A component logger that stays at warn unless debug/trace was asked for: libraries log their
 * lifecycle at info ("Server listening at …"), and `weft up` prints one startup line of its own.
 */
export function quietChild(logger: Logger, component: string): Logger {
  const verbose = logger.level === 'debug' || logger.level === 'trace';
  const level = verbose || logger.level === 'silent' || logger.levelVal > (logger.levels.values.warn ?? WARN_LEVEL) ? logger.level : 'warn';
  return logger.child({ component }, { level });
}

/** Set when shutdown begins: every listener then refuses new requests with 503 + Retry-After. */
interface ClosingFlag {
  closing: boolean;
}

/**
 * Headers must arrive within this: a client that opens connections and never finishes them ties
 * up sockets. Node counts it from the connection's accept, not its first byte, and checks it on a
 * timer that can run before a busy loop reads what has arrived: at 10 s, 24 concurrent uploads to
 * a server at load 15-20 had 8-15 connections dropped with 408 (EPIPE at the client), some with
 * their headers waiting unread in the kernel (ss Recv-Q 128 KB, bytes read 0). 30 s: none.
 */
const HEADERS_TIMEOUT_MS = 30_000;

function newFastify(logger: Logger, component: string, bodyLimit: number, closing: ClosingFlag, requestTimeoutMs: number, extra: Pick<FastifyServerOptions, 'routerOptions' | 'frameworkErrors' | 'clientErrorHandler' | 'connectionTimeout'> = {}): FastifyInstance {
  const app = Fastify({
    loggerInstance: quietChild(logger, component),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    // A slow upload that never finishes would hold its body's memory for Node's default 300 s.
    requestTimeout: requestTimeoutMs,
    connectionTimeout: requestTimeoutMs,
    ...extra,
    // Node checks request timeouts every 30 s by default, which would let a stalled upload live
    // up to 30 s past its timeout.
    http: { connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(requestTimeoutMs / 4))) },
    forceCloseConnections: 'idle',
    // Fastify's own closing 503 bypasses hooks (no Retry-After, not our error shape): ours below.
    return503OnClosing: false,
  }) as unknown as FastifyInstance;
  app.server.headersTimeout = Math.min(HEADERS_TIMEOUT_MS, requestTimeoutMs);
  // Once a request's body has arrived, the socket is quiet because the server is working on it
  // (its decode turn, the group commit's ack wait), not because the client is idle; the idle
  // timeout (connectionTimeout) would cut it under a waiting client, which sees "other side
  // closed" and resends a batch that may already be stored (seen at --request-timeout 1.5 s with
  // three 14 MB bodies). Reading stays bounded by requestTimeout and headersTimeout, and after the
  // response Node puts the keep-alive timeout on the socket.
  app.addHook('preHandler', async (req) => {
    req.raw.socket?.setTimeout(0);
  });
  installRetryAfter(app);
  app.addHook('onRequest', async () => {
    if (closing.closing) throw new TracingError('TRC_SERVER_CLOSING', 'the server is shutting down; retry against the restarted server', { httpStatus: 503, retryable: true });
  });
  return app;
}

/**
 * A gauge whose source may be slow under load (a count over a busy store): scrapes read the
 * last value and start at most one refresh in the background, so /metrics never waits on it.
 */
function backgroundGauge(read: () => Promise<number>, minIntervalMs: number): () => Promise<number> {
  let value: number | null = null;
  let refreshedAt = 0;
  let refreshing: Promise<void> | null = null;
  const refresh = (): Promise<void> =>
    (refreshing ??= read()
      .then((v) => {
        value = v;
      })
      .catch(() => undefined)
      .finally(() => {
        refreshedAt = Date.now();
        refreshing = null;
      }));
  return async () => {
    if (value === null) {
      // The first scrape waits a little for a real value rather than reporting 0.
      await Promise.race([refresh(), new Promise((r) => setTimeout(r, 200).unref())]);
    } else if (Date.now() - refreshedAt >= minIntervalMs) void refresh();
    return value ?? 0;
  };
}

async function listen(app: FastifyInstance, host: string, port: number, what: string): Promise<number> {
  try {
    await app.listen({ host, port });
  } catch (err) {
    throw new TracingError('TRC_SERVER_LISTEN', `cannot listen for ${what} on ${host}:${port}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const addr = app.server.address();
  return typeof addr === 'object' && addr !== null ? addr.port : port;
}

async function closeWithin(what: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([what.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  if (timer) clearTimeout(timer);
}

/**
 * Starts everything `weft server` runs. On any failure, what was already started is closed and
 * the error (TRC_SERVER_LISTEN, TRC_STORE_OPEN, …) is thrown.
 */
export async function startServer(config: WeftConfig, options: StartServerOptions): Promise<RunningServer> {
  const { logger } = options;
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        logger.warn({ err }, 'error while shutting down');
      }
    }
  };

  try {
    limitHeapGrowth();
    const governor = startMemoryGovernor({ limitBytes: config.maxMemoryBytes });
    closers.push(async () => governor.stop());
    // DuckDB's buffer pool gets a quarter of --max-memory (bodies in flight get half).
    const store = await openStore(config.store, logger, Math.floor(config.maxMemoryBytes * STORE_MEMORY_SHARE));
    closers.push(() => store.close());
    const pipeline: IngestPipeline = createIngestPipeline(store, {
      maxPendingSpans: config.maxPendingSpans,
      maxBatchSpans: config.maxBatchSpans,
      maxPendingBytes: Math.floor(config.maxMemoryBytes * PENDING_SPANS_SHARE),
      maxAckWaitMs: config.maxAckWaitMs,
      logger: quietChild(logger, 'ingest.pipeline'),
    });
    closers.push(() => pipeline.close());
    const sink = tappedSink(pipeline, options.onDurable, logger);
    // What receivers submit to: the pipeline's refusals plus the decode backlog's (receivers
    // decode; the in-process agent, which gets `sink`, does not).
    const receiverSink: IngestSink = {
      submit: (spans) => sink.submit(spans),
      refusalNow: () => sink.refusalNow?.() ?? decodeBacklogRefusal(),
    };

    const metrics = createMetricsRegistry();
    const loopDelay = eventLoopDelayCollector();
    closers.push(async () => loopDelay.stop());
    metrics.add(loopDelay.collect);
    metrics.add(() => [
      { name: 'weft_cpu_queue_waiting', help: 'CPU-heavy jobs (ingest decodes, store write steps) waiting for an event-loop turn.', type: 'gauge', value: turnStats().waiting },
      { name: 'weft_cpu_queue_turns_total', help: 'Event-loop turns the CPU queue ran (each at most about 4 ms of steps).', type: 'counter', value: turnStats().turns },
      { name: 'weft_cpu_queue_steps_total', help: 'Steps of CPU-heavy jobs run (a few spans or rows each).', type: 'counter', value: turnStats().steps },
      { name: 'weft_cpu_queue_longest_turn_seconds', help: 'Longest CPU-queue turn since the previous scrape (GC pauses and descheduling included).', type: 'gauge', value: takeLongestTurnMs() / 1000 },
    ]);
    const shutdown: ClosingFlag = { closing: false };
    const budget: MemoryBudget = createMemoryBudget({ limitBytes: Math.floor(config.maxMemoryBytes * BODY_BUDGET_SHARE), maxRssBytes: config.maxMemoryBytes, rss: () => governor.residentBytes() });
    metrics.add(() => {
      const b = budget.stats();
      return [
        { name: 'weft_ingest_body_budget_bytes', help: 'Memory budget for request bodies in flight (3/8 of --max-memory).', type: 'gauge', value: budget.limitBytes },
        { name: 'weft_ingest_body_reserved_bytes', help: 'Estimated memory held by request bodies in flight.', type: 'gauge', value: b.reservedBytes },
        { name: 'weft_ingest_memory_refusals_total', help: 'Requests refused with 503 because of --max-memory.', type: 'counter', value: b.refusals },
        { name: 'weft_process_resident_bytes', help: 'Resident memory of the server process.', type: 'gauge', value: process.memoryUsage.rss() },
      ];
    });
    const ports: PortsConfig = { ...config.ports };
    const token = config.token ?? undefined;
    const receiverClosers: (() => Promise<void>)[] = [];

    const httpReceivers: [HttpReceiverName, FastifyPluginAsync<ReceiverOptions>, keyof PortsConfig][] = [
      ['otlp_http', otlpHttpReceiver, 'otlpHttp'],
      ['zipkin', zipkinReceiver, 'zipkin'],
      ['skywalking_http', skywalkingHttpReceiver, 'skywalkingHttp'],
    ];
    const remoteAgents = createRemoteAgentMetrics();
    metrics.add(() => remoteAgents.samples());
    for (const [name, plugin, portKey] of httpReceivers) {
      const counters = newReceiverCounters();
      metrics.add(() => receiverSamples(name, counters));
      const app = newFastify(logger, `ingest.${name}`, config.maxBodyBytes, shutdown, config.requestTimeoutMs);
      installBodyBudget(app, budget, () => receiverSink.refusalNow?.() ?? null);
      installBearerAuth(app, { token: config.token, skywalking: name === 'skywalking_http' });
      const accepted = createLatencyWindow();
      const refused = createLatencyWindow();
      const help = 'Time to answer the last 2048 ingest requests by outcome (accepted: 2xx once durable; refused: 4xx/5xx), by quantile.';
      metrics.add(() => [...accepted.samples('weft_receiver_answer_seconds', help, { receiver: name, outcome: 'accepted' }), ...refused.samples('weft_receiver_answer_seconds', help, { receiver: name, outcome: 'refused' })]);
      app.addHook('onResponse', async (_req, reply) => {
        bump(counters.requests, String(reply.statusCode));
        (reply.statusCode < 300 ? accepted : refused).record(reply.elapsedTime);
      });
      await app.register(plugin, {
        sink: countingSink(receiverSink, counters),
        maxBodyBytes: config.maxBodyBytes,
        budget,
        ...(name === 'otlp_http' ? { agentMetrics: remoteAgents } : {}),
      });
      receiverClosers.push(() => {
        shutdown.closing = true;
        return closeWithin(app.close(), CLOSE_GRACE_MS);
      });
      ports[portKey] = await listen(app, config.host, config.ports[portKey], `the ${name} receiver`);
    }

    const grpcReceivers: [GrpcReceiverName, typeof startOtlpGrpcReceiver, keyof PortsConfig][] = [
      ['otlp_grpc', startOtlpGrpcReceiver, 'otlpGrpc'],
      ['skywalking_grpc', startSkyWalkingGrpcReceiver, 'skywalkingGrpc'],
    ];
    for (const [name, start, portKey] of grpcReceivers) {
      const counters = newReceiverCounters();
      metrics.add(() => receiverSamples(name, counters));
      let handle: GrpcReceiverHandle;
      try {
        handle = await start({
          sink: countingSink(receiverSink, counters),
          maxBodyBytes: config.maxBodyBytes,
          budget,
          host: config.host,
          port: config.ports[portKey],
          ...(token ? { token } : {}),
        });
      } catch (err) {
        throw new TracingError('TRC_SERVER_LISTEN', `cannot listen for the ${name} receiver on ${config.host}:${config.ports[portKey]}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      receiverClosers.push(() => handle.close());
      ports[portKey] = handle.port;
    }
    // Receivers stop before the pipeline flushes, so nothing new arrives while it drains.
    closers.push(async () => {
      await Promise.all(receiverClosers.map((c) => c()));
    });

    const storeSpans = backgroundGauge(() => store.countSpans(), STORE_COUNT_INTERVAL_MS);
    const storeMemory = store.memoryBytes ? backgroundGauge(() => store.memoryBytes?.() ?? Promise.resolve(0), STORE_MEMORY_INTERVAL_MS) : null;
    metrics.add(async () => memorySamples(config.maxMemoryBytes, { storeBytes: storeMemory ? await storeMemory() : null, pendingSpanBytes: pipeline.stats().pendingBytes, bodyBytes: budget.stats().reservedBytes, forcedGcs: governor.stats().forcedGcs }));
    metrics.add(async (): Promise<MetricSample[]> => {
      const s = pipeline.stats();
      return [
        { name: 'weft_pipeline_pending_spans', help: 'Spans accepted and not yet durable.', type: 'gauge', value: s.pendingSpans },
        { name: 'weft_pipeline_written_spans_total', help: 'Spans made durable.', type: 'counter', value: s.writtenSpans },
        { name: 'weft_pipeline_overload_rejected_spans_total', help: 'Spans refused with 429 because too many were pending.', type: 'counter', value: s.rejectedOverload },
        { name: 'weft_pipeline_batches_total', help: 'Store writes completed.', type: 'counter', value: s.batches },
        { name: 'weft_store_spans', help: 'Spans in the store.', type: 'gauge', labels: { store: store.kind }, value: await storeSpans() },
      ];
    });

    const query = newFastify(logger, 'http.query', config.maxBodyBytes, shutdown, config.requestTimeoutMs, {
      // Ids are at most 256 characters (trace-loader.ts); longer path parameters are 414, in the API's shape.
      routerOptions: { maxParamLength: MAX_PATH_PARAM_CHARS },
      // A socket quiet while a query works must outlive the query's budget.
      connectionTimeout: Math.max(config.requestTimeoutMs, config.queryTimeoutMs + QUERY_SOCKET_SLACK_MS),
      frameworkErrors: queryFrameworkErrors,
      clientErrorHandler: clientErrorInApiShape,
    });
    query.setErrorHandler((err, req, reply) => {
      const { status, body } = errorResponseOf(err);
      if (status >= 500) req.log.error({ err }, 'query request failed');
      void reply.code(status).type('application/json').send(body);
    });
    query.setNotFoundHandler((req, reply) => {
      void reply.code(404).type('application/json').send({ error: { code: 'TRC_HTTP_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}` } });
    });
    installBearerAuth(query, { token: config.token, openPaths: OPEN_PATHS, openPrefixes: OPEN_PREFIXES });
    query.get('/healthz', async () => ({ status: 'ok', store: store.kind }));
    query.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(await metrics.scrape()));
    const apmFetcher = config.apm.length > 0 ? createApmTraceFetcher(config.apm, APM_FETCH_OPTIONS) : null;
    await query.register(queryApi, {
      reader: store,
      assemble: (spans, traceId) => assemble(spans, { traceId }),
      fetchTrace: (id, budget, prefetched) => walkTrace(store, id, apmFetcher, budget, prefetched),
      queryTimeoutMs: config.queryTimeoutMs,
      // The web UI asks for a trace again within moments; a big one costs most of a second.
      // A trace that may still be growing is kept only while nothing was written since its load.
      traceCache: { writes: () => pipeline.stats().writtenSpans },
    });
    await query.register(completionApi, { reader: store, limits: TRACE_WALK_LIMITS });
    if (options.ui) await options.ui(query, { ports, tokenRequired: config.token !== null });
    else query.get('/', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('Weft query API: see /api/v1/traces/{traceId}, /healthz, /metrics\n'));
    // The query port belongs to a thread that answers /healthz and /metrics and passes the rest
    // to this server on an internal loopback port (front-door.ts: why). It stops last.
    let front: FrontDoor | null = null;
    closers.push(async () => front?.close());
    closers.push(() => {
      front?.markClosing();
      shutdown.closing = true;
      return closeWithin(query.close(), CLOSE_GRACE_MS);
    });
    const upstreamPort = await listen(query, '127.0.0.1', 0, 'the query API (internal)');
    try {
      front = await openFrontDoor({
        host: config.host,
        port: config.ports.query,
        upstream: query.server,
        upstreamPort,
        token: config.token,
        store: store.kind,
        scrape: () => metrics.scrape(),
        headersTimeoutMs: Math.min(HEADERS_TIMEOUT_MS, config.requestTimeoutMs),
        idleTimeoutMs: config.requestTimeoutMs,
      });
    } catch (err) {
      throw new TracingError('TRC_SERVER_LISTEN', `cannot listen for the query API on ${config.host}:${config.ports.query}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    ports.query = front.port;


    let closing: Promise<void> | null = null;
    return {
      ports,
      sink,
      metrics,
      store,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
