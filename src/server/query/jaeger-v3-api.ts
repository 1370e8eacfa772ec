/**
 * @module Jaeger api_v3 over HTTP/JSON (`/api/v3/*`): traces as OTLP TracesData with hex ids
 * and integer enums, full-stack (SYS/NET spans carry their assembled parent).
 *
 * Parameters come in snake_case (`query.service_name`) and, as newer Jaeger builds send them,
 * camelCase (`query.serviceName`); `POST /api/v3/traces` takes the same fields as
 * `{"query": {...}}`. Errors use api_v3's `{error: {grpcCode, httpCode, message, httpStatus}}`.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { SpanQuery } from '../store/index.js';
import { badParam, installQueryErrorHandler, noTracesFound, traceNotFound, v3ErrorEnvelope } from './query-errors.js';
import { addTagFilter, asRawQuery, one, parseDuration, parseLimit, parseSpanKind, parseTime } from './query-params.js';
import type { RawQuery } from './query-params.js';
import { requestBudget, searchTracesWithin } from './query-context.js';
import type { QueryContext } from './query-context.js';
import { tracesToOtlpJson } from './otlp-trace-json.js';
import { jaegerSpanKind } from './jaeger-api.js';

/** Traces per search when `query.search_depth` is absent. */
export const V3_DEFAULT_SEARCH_DEPTH = 20;
export const V3_MAX_SEARCH_DEPTH = 1500;


/** Each parameter under its snake_case and camelCase names, with and without the `query.` prefix. */
function names(snake: string, camel: string): string[] {
  return [`query.${snake}`, `query.${camel}`, snake, camel];
}

/** Flattens `{"query": {...}}` (POST body) into the same keys as the query string. */
export function rawQueryOfV3Body(body: unknown): RawQuery {
  const out: RawQuery = {};
  const query = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).query : undefined;
  if (typeof query !== 'object' || query === null) return out;
  for (const [k, v] of Object.entries(query)) {
    if (typeof v === 'string') out[`query.${k}`] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[`query.${k}`] = String(v);
    else if (typeof v === 'object' && v !== null) out[`query.${k}`] = JSON.stringify(v);
  }
  return out;
}

export function v3SearchQuery(q: RawQuery): SpanQuery {
  const depth = one(q, ...names('search_depth', 'searchDepth'));
  const out: SpanQuery = { limit: parseLimit(depth?.name ?? 'query.search_depth', depth?.value, V3_DEFAULT_SEARCH_DEPTH, V3_MAX_SEARCH_DEPTH) };
  const service = one(q, ...names('service_name', 'serviceName'));
  if (service) out.service = service.value;
  const operation = one(q, ...names('operation_name', 'operationName'));
  if (operation) out.operation = operation.value;
  const kind = one(q, ...names('span_kind', 'spanKind'));
  if (kind) out.kind = parseSpanKind(kind.name, kind.value);
  const tMin = one(q, ...names('start_time_min', 'startTimeMin'));
  const tMax = one(q, ...names('start_time_max', 'startTimeMax'));
  if (tMin || tMax) {
    const startNs = tMin ? parseTime(tMin.name, tMin.value, 'ns', { rfc3339: true }) : 0n;
    const endNs = tMax ? parseTime(tMax.name, tMax.value, 'ns', { rfc3339: true }) : 2n ** 63n - 1n;
    if (tMax && startNs > endNs) throw badParam(tMax.name, tMax.value, `must not be before '${tMin?.name ?? 'query.start_time_min'}'`);
    out.timeRange = { startUnixNano: startNs, endUnixNano: endNs };
  }
  const dMin = one(q, ...names('duration_min', 'durationMin'));
  if (dMin) out.minDurationNano = parseDuration(dMin.name, dMin.value);
  const dMax = one(q, ...names('duration_max', 'durationMax'));
  if (dMax) out.maxDurationNano = parseDuration(dMax.name, dMax.value);
  const attrs = one(q, 'query.attributes', 'attributes');
  if (attrs) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(attrs.value);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badParam(attrs.name, attrs.value, 'expected a JSON object of attribute names to values');
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw badParam(attrs.name, attrs.value, `the value of '${k}' must be a string, number or boolean`);
      addTagFilter(out, k, String(v));
    }
  }
  return out;
}

export function jaegerV3Api(ctx: QueryContext): FastifyPluginAsync {
  return async (app) => {
    installQueryErrorHandler(app, v3ErrorEnvelope);

    app.get<{ Params: { traceId: string } }>('/api/v3/traces/:traceId', async (req, reply) => {
      const trace = await ctx.traces.load(req.params.traceId, requestBudget(ctx, reply));
      if (trace === null || trace.nodes.length === 0) throw traceNotFound(req.params.traceId);
      const result = tracesToOtlpJson([trace], { idEncoding: 'hex', enumEncoding: 'int' });
      // TracesData has no field for it: a cut trace says so next to `result`.
      return trace.truncated === true ? { result, warnings: trace.warnings, partial: true } : { result };
    });

    const search = async (q: RawQuery, reply: FastifyReply): Promise<unknown> => {
      const { traces, warning } = await searchTracesWithin(ctx, v3SearchQuery(q), requestBudget(ctx, reply));
      if (traces.length === 0) throw noTracesFound();
      const result = tracesToOtlpJson(traces, { idEncoding: 'hex', enumEncoding: 'int' });
      // TracesData has no field for it: a cut search says so next to `result` (clients ignore unknown fields).
      return warning ? { result, warnings: [warning] } : { result };
    };
    app.get('/api/v3/traces', async (req, reply) => search(asRawQuery(req.query), reply));
    app.post('/api/v3/traces', async (req, reply) => search({ ...asRawQuery(req.query), ...rawQueryOfV3Body(req.body) }, reply));

    app.get('/api/v3/services', async () => ({ services: await ctx.reader.services() }));

    app.get('/api/v3/operations', async (req) => {
      const q = asRawQuery(req.query);
      const service = one(q, 'service', 'query.service');
      const kindParam = one(q, 'span_kind', 'spanKind');
      const kind = kindParam ? parseSpanKind(kindParam.name, kindParam.value) : undefined;
      const operations = (await ctx.reader.operations(service?.value))
        .filter((o) => kind === undefined || o.kind === kind)
        .map((o) => ({ name: o.name, spanKind: jaegerSpanKind(o.kind) }));
      return { operations };
    });
  };
}
