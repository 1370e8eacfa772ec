/**
 * @module The storage contract: a writer, a reader and link keys.
 *
 * Every implementation (memory, DuckDB, ClickHouse) passes the one conformance suite in
 * `conformance/`. Interface comments are contracts; the suite checks them.
 */
import type { SpanRecord } from '../../model/index.js';

/**
 * The correlation keys the store indexes at ingest, so assembly is a bounded walk over an
 * index rather than rounds of searches. Values are strings: hex ids as they are, numbers as
 * decimal.
 * - `trace`: traceId.
 * - `span`: spanId (and parentSpanId is looked up through `span` as well: a span whose
 *   parentSpanId is X is found by key `parent` X).
 * - `parent`: parentSpanId.
 * - `tcp_seq`: reqTcpSeq and respTcpSeq (0 is not indexed).
 * - `syscall`: syscallTraceIdReq and syscallTraceIdResp (0 is not indexed).
 * - `x_request_id`: xRequestIdReq and xRequestIdResp ('' is not indexed).
 */
export type LinkKeyType = 'trace' | 'span' | 'parent' | 'tcp_seq' | 'syscall' | 'x_request_id';

export interface LinkKey {
  type: LinkKeyType;
  value: string;
}

/** The link keys of one span, as the store indexes them. Pure; shared by every implementation. */
export function linkKeysOf(span: SpanRecord): LinkKey[] {
  const keys: LinkKey[] = [];
  if (span.traceId) keys.push({ type: 'trace', value: span.traceId });
  if (span.spanId) keys.push({ type: 'span', value: span.spanId });
  if (span.parentSpanId) keys.push({ type: 'parent', value: span.parentSpanId });
  if (span.reqTcpSeq) keys.push({ type: 'tcp_seq', value: String(span.reqTcpSeq) });
  if (span.respTcpSeq && span.respTcpSeq !== span.reqTcpSeq) {
    keys.push({ type: 'tcp_seq', value: String(span.respTcpSeq) });
  }
  if (span.syscallTraceIdReq) keys.push({ type: 'syscall', value: String(span.syscallTraceIdReq) });
  if (span.syscallTraceIdResp && span.syscallTraceIdResp !== span.syscallTraceIdReq) {
    keys.push({ type: 'syscall', value: String(span.syscallTraceIdResp) });
  }
  if (span.xRequestIdReq) keys.push({ type: 'x_request_id', value: span.xRequestIdReq });
  if (span.xRequestIdResp && span.xRequestIdResp !== span.xRequestIdReq) {
    keys.push({ type: 'x_request_id', value: span.xRequestIdResp });
  }
  return keys;
}

/** A time window, nanoseconds since the epoch, both ends inclusive. */
export interface TimeRange {
  startUnixNano: bigint;
  endUnixNano: bigint;
}

/** Span search (`GET /api/v1/spans`, Jaeger/Tempo search). Every field narrows; absent = any. */
export interface SpanQuery {
  service?: string;
  /** Matches `name` or `endpoint`. */
  operation?: string;
  protocol?: string;
  source?: SpanRecord['source'];
  observationPoint?: SpanRecord['observationPoint'];
  kind?: SpanRecord['kind'];
  /** Spans whose start lies in this window. */
  timeRange?: TimeRange;
  minDurationNano?: bigint;
  maxDurationNano?: bigint;
  /**
   * Exact matches on attributes or on L7 fields. Keys are either SpanRecord field names
   * (`requestType`, `responseCode`, …) or attribute keys (`http.route`).
   */
  tags?: Record<string, string>;
  /** Only spans with a responseStatus other than ok/unknown, or statusCode error. */
  errorsOnly?: boolean;
  /** Maximum spans returned (newest first). Implementations cap it at MAX_QUERY_LIMIT. */
  limit: number;
}

export const MAX_QUERY_LIMIT = 10_000;

/** Trace search: the ids of traces that have at least one span matching `SpanQuery`. */
export type TraceIdQuery = SpanQuery;

export interface OperationInfo {
  name: string;
  kind: SpanRecord['kind'];
}

export interface WriteResult {
  /** How many spans were stored. */
  accepted: number;
}

export interface SpanWriter {
  /**
   * Stores the spans. Resolves only when they are durable (they survive `kill -9` of the
   * process), so a receiver may acknowledge once this resolves.
   * - Empty input resolves at once with `accepted: 0`.
   * - Idempotent for reads: writing the same span (same traceId, spanId, source and
   *   observationPoint) twice makes it appear once in every read.
   * - The writer takes ownership of the array and its spans; callers must not mutate them.
   * - Rejects with a TracingError (`TRC_STORE_WRITE`, retryable) on I/O failure; then none,
   *   some or all spans may be stored, and a retry is safe because of idempotency.
   */
  write(spans: readonly SpanRecord[]): Promise<WriteResult>;
}

/** Options of `SpanReader.findByLinkKeys`. */
export interface LinkKeyLookup {
  limit: number;
  timeRange?: TimeRange;
  excludeTraceIds?: readonly string[];
}

export interface SpanReader {
  /**
   * All spans of one trace id, in no particular order, each once. Unknown id → []. The
   * returned spans are the caller's to mutate (a deep copy of what is stored). With `limit`, at
   * most that many (which ones is the store's choice): the trace walk stops at its span limit,
   * and reading a 100k-span trace whole to keep 20k of it took seconds.
   */
  getTrace(traceId: string, options?: { limit?: number }): Promise<SpanRecord[]>;

  /**
   * Spans having any of the given link keys, each once, capped at `limit` spans (the cap
   * exists so a hot key cannot load a mega-trace; callers detect hitting it by length).
   * When `timeRange` is given, only spans overlapping it. Spans whose trace id is in
   * `excludeTraceIds` are left out (and not counted against the limit): the trace walk holds
   * those traces whole already, and fetching a 10k-span trace's own spans again by their tcp
   * seqs was most of its time. Empty `keys` → [].
   */
  findByLinkKeys(keys: readonly LinkKey[], options: LinkKeyLookup): Promise<SpanRecord[]>;

  /**
   * Every span overlapping `timeRange`, each once, in no particular order; null when there may
   * be more than `limit` (a store may give up early on a dense range). The trace walk reads a
   * trace's neighbourhood with it in one call, then answers its time-bound key lookups inside
   * that window from memory.
   */
  findInTimeRange(timeRange: TimeRange, options: { limit: number }): Promise<SpanRecord[] | null>;

  /** Spans matching the query, newest start first, at most `min(q.limit, MAX_QUERY_LIMIT)`. */
  findSpans(q: SpanQuery): Promise<SpanRecord[]>;

  /**
   * Trace ids with at least one span matching the query, newest first, at most `q.limit`.
   * Spans without a trace id are not counted.
   */
  findTraceIds(q: TraceIdQuery): Promise<string[]>;

  /** Distinct non-empty service names, sorted. */
  services(): Promise<string[]>;

  /** Distinct (name, kind) pairs of one service (or of all when undefined), sorted by name. */
  operations(service?: string): Promise<OperationInfo[]>;

  /** Distinct attribute keys seen (for tag autocompletion), sorted, at most `limit`. */
  attributeKeys(limit: number): Promise<string[]>;

  /** Total stored spans (approximate is allowed for very large stores). */
  countSpans(): Promise<number>;
}

export interface Store extends SpanWriter, SpanReader {
  /** A short name for logs and /metrics: `memory`, `duckdb`, `clickhouse`. */
  readonly kind: string;
  /**
   * Bytes the store's engine holds in this process (DuckDB's buffer manager), for /metrics;
   * absent when the store keeps nothing of its own here (ClickHouse) or cannot tell.
   */
  memoryBytes?(): Promise<number>;
  /** Flushes and releases resources. Further calls reject. Idempotent. */
  close(): Promise<void>;
}
