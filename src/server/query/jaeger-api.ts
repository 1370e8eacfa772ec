/**
 * @module Jaeger's internal HTTP API (`/api/*`, what the Jaeger UI and Grafana's Jaeger data
 * source call), full-stack: SYS and NET spans appear under the spans the assembly placed them.
 *
 * Every answer uses Jaeger's envelope `{data, total, limit, offset, errors}`. Times are
 * microseconds, ids lowercase hex, tags typed KVs. Jaeger removed the search endpoints after
 * v2.20 (PR #9260); Weft keeps them because Grafana and scripts still call them.
 */
import type { FastifyPluginAsync } from 'fastify';
import { durationNano } from '../../model/index.js';
import type { AttributeValue, SpanKind, SpanRecord } from '../../model/index.js';
import { weftAttributesOf } from '../../apm/otlp/weft-attributes.js';
import type { SpanQuery } from '../store/index.js';
import type { AssembledTrace } from '../tracing/trace.js';
import { badParam, installQueryErrorHandler, jaegerErrorEnvelope, traceNotFound } from './query-errors.js';
import { addTagFilter, all, asRawQuery, one, parseDuration, parseLimit, parseSpanKind, parseTime } from './query-params.js';
import type { RawQuery } from './query-params.js';
import { budgetSpent, loadWithin, requestBudget, searchCutWarning, searchTracesWithin } from './query-context.js';
import type { QueryContext } from './query-context.js';
import { toWireSpans } from './wire-trace.js';

/** Traces per search when `limit` is absent (Jaeger UI's default). */
export const JAEGER_DEFAULT_LIMIT = 20;
/** Jaeger caps a search at this many traces; so does Weft (each one is assembled). */
export const JAEGER_MAX_LIMIT = 1500;
const NANOS_PER_MICRO = 1000n;
/** Service shown for a span that names none (a NET span seen on a wire). */
const UNNAMED_SERVICE = 'unknown';

export interface JaegerKeyValue {
  key: string;
  type: 'string' | 'bool' | 'int64' | 'float64';
  value: string | number | boolean;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  flags: number;
  operationName: string;
  references: { refType: 'CHILD_OF'; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: JaegerKeyValue[];
  logs: { timestamp: number; fields: JaegerKeyValue[] }[];
  processID: string;
  warnings: string[] | null;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: JaegerKeyValue[] }>;
  warnings: string[] | null;
}

export interface JaegerEnvelope<T> {
  data: T;
  total: number;
  limit: number;
  offset: number;
  errors: { code: number; msg: string; traceID?: string }[] | null;
}

function envelope<T>(data: T, total: number): JaegerEnvelope<T> {
  return { data, total, limit: 0, offset: 0, errors: null };
}

export function jaegerKeyValue(key: string, v: AttributeValue | string[]): JaegerKeyValue {
  if (Array.isArray(v)) return { key, type: 'string', value: JSON.stringify(v) };
  if (typeof v === 'boolean') return { key, type: 'bool', value: v };
  if (typeof v === 'number') return { key, type: Number.isSafeInteger(v) ? 'int64' : 'float64', value: v };
  return { key, type: 'string', value: v };
}

function micros(ns: bigint): number {
  return Number(ns / NANOS_PER_MICRO);
}

/** Jaeger's name for a kind ('' for unspecified, as Jaeger stores it). */
export function jaegerSpanKind(kind: SpanKind): string {
  return kind === 'unspecified' ? '' : kind;
}

export function serviceNameOf(span: Pick<SpanRecord, 'service' | 'processName'>): string {
  return span.service || span.processName || UNNAMED_SERVICE;
}

/** The Jaeger tags of a span: the weft.* mapping (source, observation point, L7…), kind, status, tree. */
function tagsOf(span: SpanRecord, extra: Record<string, AttributeValue>): JaegerKeyValue[] {
  const tags: JaegerKeyValue[] = [];
  for (const [k, v] of weftAttributesOf(span)) tags.push(jaegerKeyValue(k, v));
  for (const [k, v] of Object.entries(extra)) tags.push(jaegerKeyValue(k, v));
  if (span.kind !== 'unspecified') tags.push(jaegerKeyValue('span.kind', span.kind));
  if (span.statusCode !== 'unset') tags.push(jaegerKeyValue('otel.status_code', span.statusCode.toUpperCase()));
  if (span.statusMessage !== '') tags.push(jaegerKeyValue('otel.status_description', span.statusMessage));
  if (span.statusCode === 'error') tags.push(jaegerKeyValue('error', true));
  return tags;
}

/** An assembled trace → Jaeger's UI model. */
export function toJaegerTrace(trace: AssembledTrace): JaegerTrace {
  const processes: JaegerTrace['processes'] = {};
  const processIds = new Map<string, string>();
  const spans: JaegerSpan[] = [];
  for (const w of toWireSpans(trace)) {
    const s = w.span;
    const serviceName = serviceNameOf(s);
    const pkey = JSON.stringify([serviceName, s.resource]);
    let processID = processIds.get(pkey);
    if (processID === undefined) {
      processID = `p${processIds.size + 1}`;
      processIds.set(pkey, processID);
      processes[processID] = { serviceName, tags: Object.entries(s.resource).map(([k, v]) => jaegerKeyValue(k, v)) };
    }
    spans.push({
      traceID: s.traceId,
      spanID: s.spanId,
      flags: 1,
      operationName: s.name || s.endpoint || [s.protocol, s.requestType].filter((x) => x !== '').join(' '),
      references: s.parentSpanId !== '' ? [{ refType: 'CHILD_OF', traceID: s.traceId, spanID: s.parentSpanId }] : [],
      startTime: micros(s.startTimeUnixNano),
      duration: micros(durationNano(s)),
      tags: tagsOf(s, w.extraAttributes),
      logs: s.events.map((e) => ({
        timestamp: micros(e.timeUnixNano),
        fields: [jaegerKeyValue('event', e.name), ...Object.entries(e.attributes).map(([k, v]) => jaegerKeyValue(k, v))],
      })),
      processID,
      warnings: s.warnings.length > 0 ? s.warnings : null,
    });
  }
  return { traceID: trace.traceId, spans, processes, warnings: trace.warnings.length > 0 ? trace.warnings : null };
}

const LOOKBACK_RE = /^(\d{1,6})(m|h|d|w)$/;
const LOOKBACK_NANOS = { m: 60_000_000_000n, h: 3_600_000_000_000n, d: 86_400_000_000_000n, w: 604_800_000_000_000n } as const;

/**
 * `/api/traces` search parameters → a SpanQuery. Unlike Jaeger, no time range means all
 * stored data (Weft also serves imported captures from long ago); `lookback` sets one.
 */
export function jaegerSearchQuery(q: RawQuery, nowUnixNano: bigint): SpanQuery {
  const out: SpanQuery = { limit: parseLimit('limit', one(q, 'limit')?.value, JAEGER_DEFAULT_LIMIT, JAEGER_MAX_LIMIT) };
  const service = one(q, 'service');
  if (service) out.service = service.value;
  const operation = one(q, 'operation');
  if (operation) out.operation = operation.value;
  const kind = one(q, 'spanKind');
  if (kind) out.kind = parseSpanKind(kind.name, kind.value);
  const start = one(q, 'start');
  const end = one(q, 'end');
  const lookback = one(q, 'lookback');
  if (start || end || (lookback && lookback.value !== 'custom')) {
    const endNs = end ? parseTime(end.name, end.value, 'us') : nowUnixNano;
    let startNs = 0n;
    if (start) startNs = parseTime(start.name, start.value, 'us');
    else if (lookback && lookback.value !== 'custom') {
      const m = LOOKBACK_RE.exec(lookback.value);
      if (!m) throw badParam('lookback', lookback.value, "expected a number and a unit m, h, d or w (e.g. '1h', '2d'), or 'custom'");
      startNs = endNs - BigInt(m[1] ?? '0') * LOOKBACK_NANOS[m[2] as keyof typeof LOOKBACK_NANOS];
      if (startNs < 0n) startNs = 0n;
    }
    if (startNs > endNs) throw badParam('start', start?.value ?? '', "must not be after 'end'");
    out.timeRange = { startUnixNano: startNs, endUnixNano: endNs };
  }
  const minD = one(q, 'minDuration');
  if (minD) out.minDurationNano = parseDuration(minD.name, minD.value);
  const maxD = one(q, 'maxDuration');
  if (maxD) out.maxDurationNano = parseDuration(maxD.name, maxD.value);
  const tags = one(q, 'tags');
  if (tags) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(tags.value);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badParam('tags', tags.value, 'expected a JSON object of tag names to values, e.g. {"http.status_code":"500"}');
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw badParam('tags', tags.value, `the value of '${k}' must be a string, number or boolean`);
      addTagFilter(out, k, String(v));
    }
  }
  for (const t of all(q, 'tag')) {
    const i = t.indexOf(':');
    if (i <= 0) throw badParam('tag', t, 'expected key:value');
    addTagFilter(out, t.slice(0, i), t.slice(i + 1));
  }
  return out;
}

export function jaegerApi(ctx: QueryContext): FastifyPluginAsync {
  return async (app) => {
    installQueryErrorHandler(app, jaegerErrorEnvelope);

    app.get('/api/services', async () => {
      const services = await ctx.reader.services();
      return envelope(services, services.length);
    });

    app.get<{ Params: { service: string } }>('/api/services/:service/operations', async (req) => {
      const names = [...new Set((await ctx.reader.operations(req.params.service)).map((o) => o.name))];
      return envelope(names, names.length);
    });

    app.get('/api/operations', async (req) => {
      const q = asRawQuery(req.query);
      const service = one(q, 'service');
      const kindParam = one(q, 'spanKind');
      const kind = kindParam ? parseSpanKind(kindParam.name, kindParam.value) : undefined;
      const ops = (await ctx.reader.operations(service?.value))
        .filter((o) => kind === undefined || o.kind === kind)
        .map((o) => ({ name: o.name, spanKind: jaegerSpanKind(o.kind) }));
      return envelope(ops, ops.length);
    });

    app.get('/api/traces', async (req, reply) => {
      const q = asRawQuery(req.query);
      const ids = all(q, 'traceID');
      let traces: AssembledTrace[];
      let warning: string | null = null;
      if (ids.length > 0) {
        traces = [];
        // One budget for all the ids asked: past it the rest are not loaded, and the answer says so.
        const budget = requestBudget(ctx, reply);
        const asked = ids.slice(0, JAEGER_MAX_LIMIT);
        for (const id of asked) {
          if (budgetSpent(budget)) {
            warning = searchCutWarning(budget, traces.length, asked.length);
            break;
          }
          const t = await loadWithin(ctx, id, budget);
          if (t !== null && t.nodes.length > 0) traces.push(t);
        }
      } else {
        const found = await searchTracesWithin(ctx, jaegerSearchQuery(q, ctx.nowUnixNano()), requestBudget(ctx, reply));
        traces = found.traces;
        warning = found.warning;
      }
      const data = traces.map(toJaegerTrace);
      // Jaeger's envelope carries a partial answer's problems in `errors` next to `data` (the UI shows both).
      return warning ? { ...envelope(data, data.length), errors: [{ code: 206, msg: warning }] } : envelope(data, data.length);
    });

    app.get<{ Params: { traceId: string } }>('/api/traces/:traceId', async (req, reply) => {
      const trace = await ctx.traces.load(req.params.traceId, requestBudget(ctx, reply));
      if (trace === null || trace.nodes.length === 0) {
        const err = traceNotFound(req.params.traceId);
        return reply.code(404).send({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: err.message, traceID: req.params.traceId }] });
      }
      return envelope([toJaegerTrace(trace)], 1);
    });
  };
}
