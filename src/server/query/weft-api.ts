/**
 * @module Weft's own query API: `GET /api/v1/traces/{traceId}` (the assembled full-stack
 * trace), `GET /api/v1/traces` (trace search, one summary per trace) and `GET /api/v1/spans`
 * (span search).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { SpanQuery } from '../store/index.js';
import { badParam, installQueryErrorHandler, traceNotFound } from './query-errors.js';
import { addTagFilter, all, asRawQuery, one, parseDuration, parseLimit, parseObservationPoint, parseSource, parseSpanKind, parseTime } from './query-params.js';
import type { RawQuery } from './query-params.js';
import { requestBudget } from './query-context.js';
import type { QueryContext } from './query-context.js';
import { toApiSpan, toApiTrace } from './span-json.js';
import type { ApiSpan } from './span-json.js';
import { compactItem, streamJsonObject } from './json-stream.js';
import { searchTraceSummaries, traceSearchOf } from './trace-search.js';

/** From this many spans a trace is streamed (json-stream.ts) rather than stringified at once. */
const STREAM_MIN_SPANS = 2000;
/** Span fields every answer has, compact or not (the contract in DESIGN.md). */
const CONTRACT_SPAN_FIELDS: ReadonlySet<string> = new Set([
  'id', 'parentId', 'source', 'observationPoint', 'name', 'service', 'startTimeUnixNano', 'endTimeUnixNano', 'protocol', 'traceId', 'spanId', 'parentSpanId', 'linkReason',
]);

/** Spans returned by /api/v1/spans when `limit` is absent. */
export const DEFAULT_SPAN_LIMIT = 100;

/** `/api/v1/spans` parameters → a SpanQuery. Times: unix ns or RFC 3339; durations: Go or ns. */
export function spanQueryOfV1(q: RawQuery): SpanQuery {
  const limit = parseLimit('limit', one(q, 'limit')?.value, DEFAULT_SPAN_LIMIT);
  const out: SpanQuery = { limit };
  const service = one(q, 'service');
  if (service) out.service = service.value;
  const protocol = one(q, 'protocol');
  if (protocol) out.protocol = protocol.value.toLowerCase();
  const source = one(q, 'source');
  if (source) out.source = parseSource(source.name, source.value);
  const op = one(q, 'observationPoint', 'observation_point');
  if (op) out.observationPoint = parseObservationPoint(op.name, op.value);
  const kind = one(q, 'kind');
  if (kind) out.kind = parseSpanKind(kind.name, kind.value);
  const operation = one(q, 'operation', 'name');
  if (operation) out.operation = operation.value;
  const traceId = one(q, 'traceId');
  if (traceId) addTagFilter(out, 'traceId', traceId.value.toLowerCase());
  const start = one(q, 'start');
  const end = one(q, 'end');
  if (start || end) {
    const startNs = start ? parseTime(start.name, start.value, 'ns', { rfc3339: true }) : 0n;
    const endNs = end ? parseTime(end.name, end.value, 'ns', { rfc3339: true }) : 2n ** 63n - 1n;
    if (end && startNs > endNs) throw badParam('end', end.value, "must not be before 'start'");
    out.timeRange = { startUnixNano: startNs, endUnixNano: endNs };
  }
  const minD = one(q, 'minDuration');
  if (minD) out.minDurationNano = parseDuration(minD.name, minD.value, { bareNanos: true });
  const maxD = one(q, 'maxDuration');
  if (maxD) out.maxDurationNano = parseDuration(maxD.name, maxD.value, { bareNanos: true });
  for (const t of all(q, 'tag')) {
    const i = t.indexOf(':');
    if (i <= 0) throw badParam('tag', t, 'expected key:value');
    addTagFilter(out, t.slice(0, i), t.slice(i + 1));
  }
  const errors = one(q, 'error');
  if (errors) {
    if (errors.value !== 'true' && errors.value !== 'false') throw badParam('error', errors.value, "expected 'true' or 'false'");
    if (errors.value === 'true') out.errorsOnly = true;
  }
  return out;
}

export function weftApi(ctx: QueryContext): FastifyPluginAsync {
  return async (app) => {
    installQueryErrorHandler(app, (e) => ({ error: { code: e.code, message: e.message } }));

    app.get<{ Params: { traceId: string } }>('/api/v1/traces/:traceId', async (req, reply) => {
      const compactParam = one(asRawQuery(req.query), 'compact');
      if (compactParam && !['true', 'false', '1', '0'].includes(compactParam.value)) throw badParam('compact', compactParam.value, "expected 'true' or 'false'");
      const compact = compactParam?.value === 'true' || compactParam?.value === '1';
      const trace = await ctx.traces.load(req.params.traceId, requestBudget(ctx, reply));
      if (trace === null || trace.nodes.length === 0) throw traceNotFound(req.params.traceId);
      const api = toApiTrace(trace);
      const truncated = trace.truncated === true;
      const mapSpan = compact ? (s: ApiSpan): unknown => compactItem(s as unknown as Record<string, unknown>, CONTRACT_SPAN_FIELDS) : (s: ApiSpan): unknown => s;
      if (api.spans.length < STREAM_MIN_SPANS) return { ...api, spans: api.spans.map(mapSpan), truncated };
      return reply
        .type('application/json; charset=utf-8')
        .send(streamJsonObject({ traceId: api.traceId }, 'spans', api.spans, mapSpan, { services: api.services, warnings: api.warnings, truncated }));
    });

    // Trace search for the web UI: one summary per trace (trace-search.ts).
    app.get('/api/v1/traces', async (req, reply) => {
      const raw = asRawQuery(req.query);
      return searchTraceSummaries(ctx, traceSearchOf(raw, spanQueryOfV1({ ...raw, limit: undefined })), requestBudget(ctx, reply));
    });

    app.get('/api/v1/spans', async (req) => {
      const q = spanQueryOfV1(asRawQuery(req.query));
      // One more than asked tells whether the answer was cut.
      const spans = await ctx.reader.findSpans({ ...q, limit: q.limit + 1 });
      const truncated = spans.length > q.limit;
      return { spans: spans.slice(0, q.limit).map((s) => toApiSpan(s)), limit: q.limit, truncated };
    });
  };
}
