/**
 * @module The query API on port 16686: Weft's own `/api/v1`, Jaeger's internal `/api/*`,
 * Jaeger api_v3 `/api/v3/*` and Tempo under `/tempo`, all showing the same assembled traces.
 *
 * One Fastify plugin; each API is an encapsulated child with its own error envelope, while
 * statuses come from one mapper (query-errors.ts). The store and the assembly come in as
 * options, so tests pass the memory store and the composition root passes the real ones.
 *
 * @example
 * await app.register(queryApi, { reader: store, assemble: (spans, traceId) => assemble(spans, { traceId }) });
 */
import type { FastifyPluginAsync } from 'fastify';
import type { SpanRecord } from '../../model/index.js';
import type { SpanReader } from '../store/index.js';
import type { AssembledTrace } from '../tracing/trace.js';
import { jaegerApi } from './jaeger-api.js';
import { jaegerV3Api } from './jaeger-v3-api.js';
import type { QueryContext } from './query-context.js';
import { tempoApi } from './tempo-api.js';
import { traceColumnsApi } from './trace-columns-api.js';
import { TraceCache, type TraceCacheOptions } from './trace-cache.js';
import { createTraceLoader, defaultFetchTrace, type FetchTrace } from './trace-loader.js';
import { weftApi } from './weft-api.js';

export interface QueryApiOptions {
  reader: SpanReader;
  /** Places a trace's spans in one tree (src/server/tracing/assemble.ts). */
  assemble: (spans: SpanRecord[], traceId: string) => AssembledTrace;
  /**
   * Fetches the spans of a trace by trace id or span id. Default: `reader.getTrace(id)`, and
   * when that is empty, the trace of the span with that id (through the link-key index).
   */
  fetchTrace?: FetchTrace;
  /** The clock for lookbacks, unix ms (default `Date.now`). */
  nowMs?: () => number;
  /** Time budget of one query, ms (default 10 s); past it a search answers what it has, with a warning. */
  queryTimeoutMs?: number;
  /**
   * Keep assembled traces for a moment (trace-cache.ts): the server turns it on; off by default,
   * so a test that writes spans and reads again sees them at once.
   */
  traceCache?: boolean | TraceCacheOptions;
}

const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

export const queryApi: FastifyPluginAsync<QueryApiOptions> = async (app, options) => {
  const fetchTrace = options.fetchTrace ?? defaultFetchTrace(options.reader);
  const nowMs = options.nowMs ?? Date.now;
  const ctx: QueryContext = {
    reader: options.reader,
    traces: createTraceLoader(fetchTrace, options.assemble, options.traceCache ? { cache: new TraceCache(options.traceCache === true ? {} : options.traceCache) } : {}),
    nowUnixNano: () => BigInt(Math.floor(nowMs())) * 1_000_000n,
    queryTimeoutMs: options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
  };
  await app.register(weftApi(ctx));
  await app.register(traceColumnsApi(ctx));
  await app.register(jaegerApi(ctx));
  await app.register(jaegerV3Api(ctx));
  await app.register(tempoApi(ctx));
};

export type { ApiSpan, ApiTrace } from './span-json.js';
export { toApiSpan, toApiTrace } from './span-json.js';
export type { JaegerTrace, JaegerSpan } from './jaeger-api.js';
export { queryErrorOf } from './query-errors.js';
