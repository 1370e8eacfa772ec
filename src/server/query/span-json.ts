/**
 * @module The Weft API's JSON for a span: the one function from SpanRecord (+ its place in an
 * assembled trace) to what `/api/v1/*` answers.
 *
 * Every SpanRecord field is present under its own name (a test checks this against
 * SPAN_RECORD_FIELDS), times and 64-bit numbers are decimal strings as in OTLP/JSON, and the
 * assembly adds id, parentId, linkReason, confidence, clockOffsetNano and possibleParents
 * (candidates an ambiguous link pointed at; shown, never used as the parent).
 */
import { durationNano } from '../../model/index.js';
import type { AttributeValue, SpanRecord } from '../../model/index.js';
import type { AssembledTrace, LinkReason, PossibleParentRef, TraceNode } from '../tracing/trace.js';

export interface ApiSpanEvent {
  timeUnixNano: string;
  name: string;
  attributes: Record<string, AttributeValue>;
}

/** A span as the Weft API renders it. Keys match SpanRecord's, plus the assembly's. */
export type ApiSpan = Omit<SpanRecord, 'startTimeUnixNano' | 'endTimeUnixNano' | 'events'> & {
  id: string;
  parentId: string | null;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  durationNano: string;
  linkReason: LinkReason | null;
  confidence: number | null;
  clockOffsetNano: string;
  possibleParents: PossibleParentRef[];
  events: ApiSpanEvent[];
  /** Where this span is the next observation point of its parent's message: the wire time between them. */
  hop: ApiHop | null;
};

/**
 * The time one message took from the previous observation point to this one (a span linked to
 * its parent by `tcp_seq`): the request's first byte went parent → this span, the response's
 * came back this span → parent. Decimal nanoseconds; negative only when clocks disagree.
 */
export interface ApiHop {
  /** This span's start minus its parent's (the request crossing the hop). */
  requestNano: string;
  /** The parent's end minus this span's (the response crossing back). */
  responseNano: string;
}

export interface ApiTrace {
  traceId: string;
  spans: ApiSpan[];
  services: string[];
  warnings: string[];
}

/**
 * The id of a span outside an assembled trace (search results): unique per stored span, as
 * the store's identity is (traceId, spanId, source, observationPoint).
 */
export function searchNodeId(span: Pick<SpanRecord, 'traceId' | 'spanId' | 'source' | 'observationPoint'>): string {
  return `${span.source}:${span.observationPoint}:${span.traceId}:${span.spanId}`;
}

/**
 * SpanRecord → API JSON. `node` places it in an assembled trace; without one (search
 * results) the span stands alone: `parentId` and `linkReason` are null and `id` is
 * `searchNodeId`.
 */
export function toApiSpan(span: SpanRecord, node?: TraceNode): ApiSpan {
  return {
    id: node?.id ?? searchNodeId(span),
    parentId: node?.parentId ?? null,
    source: span.source,
    origin: span.origin,
    observationPoint: span.observationPoint,
    name: span.name,
    kind: span.kind,
    service: span.service,
    startTimeUnixNano: span.startTimeUnixNano.toString(),
    endTimeUnixNano: span.endTimeUnixNano.toString(),
    durationNano: durationNano(span).toString(),
    statusCode: span.statusCode,
    statusMessage: span.statusMessage,
    protocol: span.protocol,
    requestType: span.requestType,
    requestDomain: span.requestDomain,
    requestResource: span.requestResource,
    endpoint: span.endpoint,
    requestId: span.requestId,
    responseStatus: span.responseStatus,
    responseCode: span.responseCode,
    responseException: span.responseException,
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    linkReason: node?.linkReason ?? null,
    confidence: node?.confidence ?? null,
    clockOffsetNano: (node?.clockOffsetNano ?? 0n).toString(),
    possibleParents: node?.possibleParents ?? [],
    ipVersion: span.ipVersion,
    clientIp: span.clientIp,
    serverIp: span.serverIp,
    clientPort: span.clientPort,
    serverPort: span.serverPort,
    transport: span.transport,
    reqTcpSeq: span.reqTcpSeq,
    respTcpSeq: span.respTcpSeq,
    hostId: span.hostId,
    processId: span.processId,
    processName: span.processName,
    threadIdReq: span.threadIdReq,
    threadIdResp: span.threadIdResp,
    interfaceName: span.interfaceName,
    xRequestIdReq: span.xRequestIdReq,
    xRequestIdResp: span.xRequestIdResp,
    syscallTraceIdReq: span.syscallTraceIdReq,
    syscallTraceIdResp: span.syscallTraceIdResp,
    attributes: span.attributes,
    resource: span.resource,
    events: span.events.map((e) => ({ timeUnixNano: e.timeUnixNano.toString(), name: e.name, attributes: e.attributes })),
    hop: null,
    warnings: span.warnings,
  };
}

/** The hop from `parent` to `node` when they are two points of one message, else null. */
export function hopBetween(parent: TraceNode | undefined, node: TraceNode): ApiHop | null {
  if (!parent || node.linkReason !== 'tcp_seq') return null;
  return {
    requestNano: (node.span.startTimeUnixNano - parent.span.startTimeUnixNano).toString(),
    responseNano: (parent.span.endTimeUnixNano - node.span.endTimeUnixNano).toString(),
  };
}

export function toApiTrace(trace: AssembledTrace): ApiTrace {
  const byId = new Map(trace.nodes.map((n) => [n.id, n]));
  return {
    traceId: trace.traceId,
    spans: trace.nodes.map((n) => ({ ...toApiSpan(n.span, n), hop: hopBetween(n.parentId === null ? undefined : byId.get(n.parentId), n) })),
    services: trace.services,
    warnings: trace.warnings,
  };
}
