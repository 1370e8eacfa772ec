/**
 * @module Tempo's HTTP API under `/tempo` (what Grafana's Tempo data source calls), full-stack.
 *
 * Trace JSON is Tempo's gogo-jsonpb form: base64 ids and enum names (unlike OTLP/JSON), with
 * `Accept: application/protobuf` answered in protobuf (`tempopb.Trace`, wire-identical to
 * OTLP's request message). Search takes logfmt `tags=` or a small TraceQL subset in `q=`
 * (see traceql.ts); times are unix seconds, durations Go durations.
 */
import protobuf from 'protobufjs';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { durationNano, OBSERVATION_POINTS, SPAN_KINDS } from '../../model/index.js';
import { exportRequestType } from '../../apm/otlp/index.js';
import type { SpanQuery } from '../store/index.js';
import { matchesSpanQuery, tagValueOf } from '../store/span-query-match.js';
import type { AssembledTrace } from '../tracing/trace.js';
import type { LoadedTrace } from './trace-loader.js';
import { badParam, installQueryErrorHandler, traceNotFound } from './query-errors.js';
import { addTagFilter, asRawQuery, one, parseDuration, parseLimit, parseTime } from './query-params.js';
import type { RawQuery } from './query-params.js';
import { requestBudget, searchTracesWithin } from './query-context.js';
import type { QueryContext } from './query-context.js';
import { tracesToOtlpJson } from './otlp-trace-json.js';
import { applyLogfmtTags, applyTraceQl } from './traceql.js';
import { toWireSpans } from './wire-trace.js';

export const TEMPO_DEFAULT_LIMIT = 20;
export const TEMPO_MAX_LIMIT = 1000;
/** Spans shown per spanset when `spss` is absent (Tempo's default). */
export const TEMPO_DEFAULT_SPSS = 3;
/** Spans sampled to list values of an arbitrary tag. */
const TAG_VALUE_SAMPLE_SPANS = 2000;
const MAX_TAG_VALUES = 1000;
const MAX_TAG_NAMES = 1000;
const ROOT_NOT_RECEIVED = '<root span not yet received>';
const PROTOBUF_TYPE = 'application/protobuf';
/** Reported by /api/status/buildinfo; Grafana only checks that it parses. */
const BUILD_INFO = { version: '2.6.0-weft', revision: 'weft', branch: 'main', buildUser: 'weft', buildDate: '', goVersion: '' };

const INTRINSIC_TAGS = ['duration', 'kind', 'name', 'rootName', 'rootServiceName', 'status', 'statusMessage', 'traceDuration'];
/** Span tags every Weft span can be searched by (fields, under the keys the APIs emit). */
const FIELD_TAGS = ['http.request.method', 'http.response.status_code', 'url.path', 'db.query.text', 'weft.source', 'weft.observation_point', 'weft.protocol', 'weft.response_status', 'weft.endpoint'];

let traceByIdResponse: protobuf.Type | undefined;
/**
 * Tempo's `TraceByIDResponse {Trace trace = 1; TraceByIDMetrics metrics = 2; Status status = 3;
 * string message = 4}`. `trace` is declared as bytes holding the encoded Trace, which is the
 * same wire encoding as the embedded message.
 */
function traceByIdResponseType(): protobuf.Type {
  if (!traceByIdResponse) {
    const t = new protobuf.Type('TraceByIDResponse').add(new protobuf.Field('trace', 1, 'bytes')).add(new protobuf.Field('status', 3, 'int32')).add(new protobuf.Field('message', 4, 'string'));
    new protobuf.Root().define('tempopb').add(t);
    traceByIdResponse = t;
  }
  return traceByIdResponse;
}

function wantsProtobuf(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  return accept.includes(PROTOBUF_TYPE) || accept.includes('application/x-protobuf');
}

/** The trace as protobuf `tempopb.Trace` (= OTLP ExportTraceServiceRequest on the wire). */
export function traceToProtobuf(trace: AssembledTrace): Uint8Array {
  const json = tracesToOtlpJson([trace], { idEncoding: 'base64', enumEncoding: 'int' });
  const type = exportRequestType();
  return type.encode(type.fromObject(json)).finish();
}

function sendProtobuf(reply: FastifyReply, bytes: Uint8Array): FastifyReply {
  return reply.type(PROTOBUF_TYPE).send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

export function tempoSearchQuery(q: RawQuery): { query: SpanQuery; spss: number } {
  const query: SpanQuery = { limit: parseLimit('limit', one(q, 'limit')?.value, TEMPO_DEFAULT_LIMIT, TEMPO_MAX_LIMIT) };
  const spss = parseLimit('spss', one(q, 'spss')?.value, TEMPO_DEFAULT_SPSS, TEMPO_MAX_LIMIT);
  const traceql = one(q, 'q');
  if (traceql) applyTraceQl(query, traceql.value);
  const tags = one(q, 'tags');
  if (tags) applyLogfmtTags(query, tags.value);
  const minD = one(q, 'minDuration');
  if (minD) query.minDurationNano = parseDuration(minD.name, minD.value);
  const maxD = one(q, 'maxDuration');
  if (maxD) query.maxDurationNano = parseDuration(maxD.name, maxD.value);
  const start = one(q, 'start');
  const end = one(q, 'end');
  if (start || end) {
    const startNs = start ? parseTime(start.name, start.value, 's') : 0n;
    // `end` is a whole second; spans starting anywhere in it count.
    const endNs = end ? parseTime(end.name, end.value, 's') + 999_999_999n : 2n ** 63n - 1n;
    if (end && startNs > endNs) throw badParam('end', end.value, "must not be before 'start'");
    query.timeRange = { startUnixNano: startNs, endUnixNano: endNs };
  }
  return { query, spss };
}

function otlpKeyValue(key: string, v: string | number | boolean): { key: string; value: Record<string, unknown> } {
  if (typeof v === 'boolean') return { key, value: { boolValue: v } };
  if (typeof v === 'number') return { key, value: Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v } };
  return { key, value: { stringValue: v } };
}

/** One search hit in Tempo's shape: root, time span, and the matching spans (at most spss). */
export function tempoSearchHit(trace: AssembledTrace, q: SpanQuery, spss: number): Record<string, unknown> {
  const wire = toWireSpans(trace);
  let minStart: bigint | null = null;
  let maxEnd = 0n;
  for (const w of wire) {
    if (minStart === null || w.span.startTimeUnixNano < minStart) minStart = w.span.startTimeUnixNano;
    if (w.span.endTimeUnixNano > maxEnd) maxEnd = w.span.endTimeUnixNano;
  }
  const start = minStart ?? 0n;
  const root = trace.nodes.find((n) => n.parentId === null && n.span.parentSpanId === '')?.span;
  const matched = wire.filter((w) => matchesSpanQuery(w.node.span, { ...q, limit: 0 }));
  const spans = matched.slice(0, spss).map((w) => ({
    spanID: w.span.spanId,
    name: w.span.name,
    startTimeUnixNano: w.span.startTimeUnixNano.toString(),
    durationNanos: durationNano(w.span).toString(),
    attributes: [otlpKeyValue('service.name', w.span.service), otlpKeyValue('weft.source', w.span.source), otlpKeyValue('weft.observation_point', w.span.observationPoint)],
  }));
  const spanSet = { spans, matched: matched.length };
  return {
    traceID: trace.traceId,
    rootServiceName: root ? root.service || root.processName || ROOT_NOT_RECEIVED : ROOT_NOT_RECEIVED,
    rootTraceName: root?.name ?? '',
    startTimeUnixNano: start.toString(),
    durationMs: Number((maxEnd > start ? maxEnd - start : 0n) / 1_000_000n),
    spanSet,
    spanSets: [spanSet],
  };
}

type TagScope = 'resource' | 'span' | 'intrinsic';

async function tagNamesByScope(ctx: QueryContext): Promise<Record<TagScope, string[]>> {
  const keys = await ctx.reader.attributeKeys(MAX_TAG_NAMES);
  const span = [...new Set([...keys.filter((k) => k !== 'service.name'), ...FIELD_TAGS])].sort();
  return { resource: ['service.name'], span, intrinsic: INTRINSIC_TAGS };
}

/** Strips a TraceQL scope from a tag name: `span.http.method`, `.http.method`, `resource.x`. */
function bareTag(tag: string): string {
  if (tag.startsWith('span.')) return tag.slice(5);
  if (tag.startsWith('resource.')) return tag.slice(9);
  if (tag.startsWith('.')) return tag.slice(1);
  return tag;
}

async function tagValues(ctx: QueryContext, rawTag: string): Promise<string[]> {
  const tag = bareTag(rawTag);
  switch (tag) {
    case 'service.name':
    case 'rootServiceName':
      return ctx.reader.services();
    case 'name':
    case 'rootName':
      return [...new Set((await ctx.reader.operations()).map((o) => o.name))].sort();
    case 'status':
      return ['error', 'ok', 'unset'];
    case 'kind':
      return SPAN_KINDS.filter((k) => k !== 'unspecified');
    case 'weft.source':
      return ['app', 'net', 'sys'];
    case 'weft.observation_point':
      return [...OBSERVATION_POINTS];
    default: {
      const probe: SpanQuery = { limit: 0 };
      addTagFilter(probe, tag, '');
      const key = Object.keys(probe.tags ?? {})[0] ?? tag;
      const values = new Set<string>();
      for (const s of await ctx.reader.findSpans({ limit: TAG_VALUE_SAMPLE_SPANS })) {
        for (const v of tagValueOf(s, key)) if (v !== '') values.add(v);
        if (values.size >= MAX_TAG_VALUES) break;
      }
      return [...values].sort();
    }
  }
}

export function tempoApi(ctx: QueryContext): FastifyPluginAsync {
  return async (app) => {
    installQueryErrorHandler(app, (e) => ({ error: { code: e.code, message: e.message } }));

    app.get('/tempo/api/echo', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('echo'));
    app.get('/tempo/ready', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('ready'));
    app.get('/tempo/api/status/buildinfo', async () => BUILD_INFO);

    const load = async (id: string, reply: FastifyReply): Promise<LoadedTrace> => {
      const trace = await ctx.traces.load(id, requestBudget(ctx, reply));
      if (trace === null || trace.nodes.length === 0) throw traceNotFound(id);
      return trace;
    };

    app.get<{ Params: { traceId: string } }>('/tempo/api/traces/:traceId', async (req, reply) => {
      const trace = await load(req.params.traceId, reply);
      if (wantsProtobuf(req)) return sendProtobuf(reply, traceToProtobuf(trace));
      const batches = tracesToOtlpJson([trace], { idEncoding: 'base64', enumEncoding: 'name' }).resourceSpans;
      // The v1 shape has no status: a cut trace carries a warning next to its batches.
      return trace.truncated === true ? { batches, warnings: trace.warnings } : { batches };
    });

    app.get<{ Params: { traceId: string } }>('/tempo/api/v2/traces/:traceId', async (req, reply) => {
      const trace = await load(req.params.traceId, reply);
      if (wantsProtobuf(req)) {
        const type = traceByIdResponseType();
        const partial = trace.truncated === true ? { status: 1, message: trace.warnings[0] ?? '' } : { status: 0 };
        return sendProtobuf(reply, type.encode(type.create({ trace: traceToProtobuf(trace), ...partial })).finish());
      }
      // Tempo's own partial flag: status PARTIAL with the reason in message.
      const json = tracesToOtlpJson([trace], { idEncoding: 'base64', enumEncoding: 'name' });
      return trace.truncated === true ? { trace: json, status: 'PARTIAL', message: trace.warnings[0] ?? '' } : { trace: json, status: 'COMPLETE' };
    });

    app.get('/tempo/api/search', async (req, reply) => {
      const { query, spss } = tempoSearchQuery(asRawQuery(req.query));
      const { traces, warning } = await searchTracesWithin(ctx, query, requestBudget(ctx, reply));
      // Tempo's own partial-search signal is completedJobs < totalJobs; the warning says why.
      const metrics = { inspectedTraces: traces.length, inspectedBytes: '0', totalBlocks: 0, completedJobs: warning ? 0 : 1, totalJobs: 1 };
      return { traces: traces.map((t) => tempoSearchHit(t, query, spss)), metrics, ...(warning ? { warnings: [warning] } : {}) };
    });

    app.get('/tempo/api/search/tags', async (req) => {
      const scope = one(asRawQuery(req.query), 'scope')?.value;
      const byScope = await tagNamesByScope(ctx);
      if (scope === undefined || scope === 'all') return { tagNames: [...new Set([...byScope.resource, ...byScope.span])].sort() };
      if (scope === 'resource' || scope === 'span' || scope === 'intrinsic') return { tagNames: byScope[scope] };
      if (scope === 'event' || scope === 'link' || scope === 'instrumentation') return { tagNames: [] };
      throw badParam('scope', scope, 'expected resource, span, intrinsic, event, link, instrumentation or all');
    });

    app.get('/tempo/api/v2/search/tags', async () => {
      const byScope = await tagNamesByScope(ctx);
      return { scopes: (['resource', 'span', 'intrinsic'] as const).map((name) => ({ name, tags: byScope[name] })) };
    });

    app.get<{ Params: { tag: string } }>('/tempo/api/search/tag/:tag/values', async (req) => ({ tagValues: await tagValues(ctx, req.params.tag) }));

    app.get<{ Params: { tag: string } }>('/tempo/api/v2/search/tag/:tag/values', async (req) => ({
      tagValues: (await tagValues(ctx, req.params.tag)).map((value) => ({ type: 'string', value })),
    }));
  };
}
