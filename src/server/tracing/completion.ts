/**
 * @module Trace Completion (integration 3): given an APM's APP spans, the SYS and NET spans
 * around them and the parent of each; plus the pure converters for the two HTTP shapes
 * (DeepFlow's `tracing-completion-by-external-app-spans` and Weft's camelCase one).
 *
 * The routes live with the query API; they call `parse…Request`, fetch candidates (the walk
 * in collect.ts seeded by the app spans' trace id), call `completeTrace`, then `to…Response`.
 */
import { TracingError, emptySpan, observationPointForKind, SPAN_KINDS } from '../../model/index.js';
import type { ResponseStatus, SpanKind, SpanRecord } from '../../model/index.js';
import type { SpanReader } from '../store/store.js';
import { assemble } from './assemble.js';
import { collectTraceSpans } from './collect.js';
import type { CollectLimits } from './collect.js';
import type { Tolerances } from './link-rules.js';
import type { LinkReason } from './trace.js';

export interface CompletedSpan {
  /** Unique id of this span in the answer (DeepFlow's deepflow_span_id). */
  id: string;
  span: SpanRecord;
  /** `id` of the parent: an APP span's spanId or another completed span's id; '' for a root. */
  parentSpanId: string;
  linkReason: LinkReason | null;
  confidence: number | null;
}

export interface CompletionResult {
  /** The SYS and NET spans connected to the APP spans, parents before children. */
  spans: CompletedSpan[];
  /** The APP spans as placed (their parents may now be SYS spans, e.g. an s-app under its s-p). */
  appSpans: CompletedSpan[];
  warnings: string[];
}

/**
 * Places the candidates around the APP spans. Candidates that are APP spans with the same
 * span id as a given one are dropped (the caller's copy wins). Pure.
 */
export function completeTrace(appSpans: SpanRecord[], candidates: SpanRecord[], tolerances?: Partial<Tolerances>): CompletionResult {
  const given = new Set(appSpans.map((s) => s.spanId));
  const pool = [...appSpans, ...candidates.filter((c) => !(c.source === 'app' && given.has(c.spanId)))];
  const last = appSpans[appSpans.length - 1];
  const trace = assemble(pool, {
    ...(last?.traceId ? { traceId: last.traceId } : {}),
    ...(last?.spanId ? { seedSpanId: last.spanId } : {}),
    ...(tolerances ? { tolerances } : {}),
  });
  const out: CompletionResult = { spans: [], appSpans: [], warnings: trace.warnings };
  for (const n of trace.nodes) {
    const c: CompletedSpan = { id: n.id, span: n.span, parentSpanId: n.parentId ?? '', linkReason: n.linkReason, confidence: n.confidence };
    (n.span.source === 'app' ? out.appSpans : out.spans).push(c);
  }
  return out;
}

// ---- request shapes ----

export interface CompletionRequest {
  appSpans: SpanRecord[];
  tolerances: Partial<Tolerances>;
}

function bad(message: string): TracingError {
  return new TracingError('TRC_QUERY_BAD_REQUEST', message, { httpStatus: 400 });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Record<string, unknown>, k: string, where: string, required: boolean): string {
  const v = o[k];
  if (v === undefined || v === null) {
    if (required) throw bad(`${where}.${k} is required`);
    return '';
  }
  if (typeof v !== 'string') throw bad(`${where}.${k} must be a string`);
  if (v.length > 512) throw bad(`${where}.${k} is longer than 512 characters`);
  return v;
}

/** A non-negative integer given as a number or a decimal string, as a bigint. */
function int(o: Record<string, unknown>, k: string, where: string): bigint {
  const v = o[k];
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return BigInt(v);
  throw bad(`${where}.${k} must be a non-negative integer (number or decimal string)`);
}

const MAX_APP_SPANS = 10_000;

function spanList(body: unknown, key: string): unknown[] {
  if (!isObject(body)) throw bad('the body must be a JSON object');
  const list = body[key];
  if (!Array.isArray(list) || list.length === 0) throw bad(`${key} must be a non-empty array`);
  if (list.length > MAX_APP_SPANS) throw bad(`${key} holds more than ${MAX_APP_SPANS} spans`);
  return list;
}

function appSpan(traceId: string, spanId: string, parentSpanId: string, kind: SpanKind, start: bigint, end: bigint): SpanRecord {
  return {
    ...emptySpan({ source: 'app', origin: 'apm-api', observationPoint: observationPointForKind(kind) }),
    traceId,
    spanId,
    parentSpanId,
    kind,
    startTimeUnixNano: start,
    endTimeUnixNano: end < start ? start : end,
  };
}

function tolerancesFromUs(o: Record<string, unknown>, delayKey: string, offsetKey: string): Partial<Tolerances> {
  const t: Partial<Tolerances> = {};
  if (o[delayKey] !== undefined) t.networkDelayNano = int(o, delayKey, 'body') * 1000n;
  if (o[offsetKey] !== undefined) t.hostClockOffsetNano = int(o, offsetKey, 'body') * 1000n;
  return t;
}

/** DeepFlow's request: `{app_spans:[{trace_id, span_id, parent_span_id, span_kind, start_time_us, end_time_us}], network_delay_us?}`. */
export function parseDeepflowCompletionRequest(body: unknown): CompletionRequest {
  const list = spanList(body, 'app_spans');
  const appSpans = list.map((raw, i) => {
    const where = `app_spans[${i}]`;
    if (!isObject(raw)) throw bad(`${where} must be an object`);
    const k = raw['span_kind'];
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k > 5) throw bad(`${where}.span_kind must be an integer 0..5`);
    return appSpan(
      str(raw, 'trace_id', where, true),
      str(raw, 'span_id', where, true),
      str(raw, 'parent_span_id', where, false),
      SPAN_KINDS[k] as SpanKind,
      int(raw, 'start_time_us', where) * 1000n,
      int(raw, 'end_time_us', where) * 1000n,
    );
  });
  return { appSpans, tolerances: tolerancesFromUs(body as Record<string, unknown>, 'network_delay_us', 'host_clock_offset_us') };
}

/** Weft's request: `{appSpans:[{traceId, spanId, parentSpanId?, kind, startTimeUnixNano, endTimeUnixNano, service?, name?}]}`. */
export function parseCompletionRequest(body: unknown): CompletionRequest {
  const list = spanList(body, 'appSpans');
  const appSpans = list.map((raw, i) => {
    const where = `appSpans[${i}]`;
    if (!isObject(raw)) throw bad(`${where} must be an object`);
    const k = raw['kind'];
    const kind = typeof k === 'string' && (SPAN_KINDS as readonly string[]).includes(k) ? (k as SpanKind) : typeof k === 'number' && k >= 0 && k <= 5 && Number.isInteger(k) ? (SPAN_KINDS[k] as SpanKind) : null;
    if (kind === null) throw bad(`${where}.kind must be one of ${SPAN_KINDS.join(', ')} (or 0..5)`);
    const s = appSpan(str(raw, 'traceId', where, true), str(raw, 'spanId', where, true), str(raw, 'parentSpanId', where, false), kind, int(raw, 'startTimeUnixNano', where), int(raw, 'endTimeUnixNano', where));
    s.service = str(raw, 'service', where, false);
    s.name = str(raw, 'name', where, false);
    return s;
  });
  return { appSpans, tolerances: tolerancesFromUs(body as Record<string, unknown>, 'networkDelayUs', 'hostClockOffsetUs') };
}

// ---- response shapes ----

const SIGNAL_SOURCE: Record<SpanRecord['source'], number> = { net: 0, sys: 3, app: 4 };
const RESPONSE_STATUS: Record<ResponseStatus, number> = { ok: 0, timeout: 2, server_error: 3, client_error: 4, unknown: 5, parse_failed: 6 };

function deepflowSpan(c: CompletedSpan): Record<string, unknown> {
  const s = c.span;
  const us = (ns: bigint): number => Number(ns / 1000n);
  return {
    deepflow_span_id: c.id,
    deepflow_parent_span_id: c.parentSpanId,
    name: s.name || s.endpoint || `${s.requestType} ${s.requestResource}`.trim(),
    signal_source: SIGNAL_SOURCE[s.source],
    tap_side: s.observationPoint,
    trace_id: s.traceId,
    span_id: s.spanId,
    parent_span_id: s.parentSpanId,
    span_kind: SPAN_KINDS.indexOf(s.kind),
    start_time_us: us(s.startTimeUnixNano),
    end_time_us: us(s.endTimeUnixNano),
    duration: us(s.endTimeUnixNano - s.startTimeUnixNano),
    _ids: [],
    related_ids: [],
    flow_id: 0,
    req_tcp_seq: s.reqTcpSeq,
    resp_tcp_seq: s.respTcpSeq,
    l7_protocol_str: s.protocol,
    request_type: s.requestType,
    request_resource: s.requestResource,
    request_id: s.requestId,
    endpoint: s.endpoint,
    response_status: RESPONSE_STATUS[s.responseStatus],
    response_code: s.responseCode,
    response_exception: s.responseException,
    process_id: s.processId,
    process_kname: s.processName,
    app_service: s.source === 'app' ? s.service : '',
    app_instance: String(s.resource['service.instance.id'] ?? ''),
    x_request_id_0: s.xRequestIdReq,
    x_request_id_1: s.xRequestIdResp,
    syscall_trace_id_request: String(s.syscallTraceIdReq),
    syscall_trace_id_response: String(s.syscallTraceIdResp),
    syscall_thread_0: s.threadIdReq,
    syscall_thread_1: s.threadIdResp,
    vtap_id: s.hostId,
    ip_0: s.clientIp,
    ip_1: s.serverIp,
    client_port: s.clientPort,
    server_port: s.serverPort,
    link_reason: c.linkReason,
    link_confidence: c.confidence,
  };
}

/** DeepFlow's envelope; `tracing` holds the APP spans and the SYS/NET spans found. */
export function toDeepflowCompletionResponse(r: CompletionResult): Record<string, unknown> {
  return {
    OPT_STATUS: 'SUCCESS',
    DESCRIPTION: r.warnings.join('; '),
    TYPE: 'Flow_Log_L7_Tracing',
    DATA: { tracing: [...r.appSpans, ...r.spans].map(deepflowSpan) },
  };
}

function spanJson(s: SpanRecord): Record<string, unknown> {
  return {
    ...s,
    startTimeUnixNano: s.startTimeUnixNano.toString(),
    endTimeUnixNano: s.endTimeUnixNano.toString(),
    events: s.events.map((e) => ({ ...e, timeUnixNano: e.timeUnixNano.toString() })),
  };
}

/** Weft's camelCase answer: the SYS/NET spans with their parent, reason and confidence. */
export function toCompletionResponse(r: CompletionResult): Record<string, unknown> {
  const one = (c: CompletedSpan): Record<string, unknown> => ({ id: c.id, parentId: c.parentSpanId || null, linkReason: c.linkReason, confidence: c.confidence, span: spanJson(c.span) });
  return { spans: r.spans.map(one), appSpans: r.appSpans.map(one), warnings: r.warnings };
}

/**
 * The candidates for `completeTrace`, from the store: the bounded walk seeded by each APP
 * span's trace id and by the spans that carry an APP span's id in a header (a c-p whose
 * parentSpanId is a c-app's id, an s-p that received the same traceparent as an s-app).
 */
export async function findCompletionCandidates(
  reader: SpanReader,
  appSpans: readonly SpanRecord[],
  limits: CollectLimits,
): Promise<{ spans: SpanRecord[]; warnings: string[] }> {
  const spans: SpanRecord[] = [];
  const warnings: string[] = [];
  const traceIds = [...new Set(appSpans.map((s) => s.traceId).filter((t) => t))].sort();
  for (const traceId of traceIds) {
    const got = await collectTraceSpans(reader, { traceId }, limits);
    spans.push(...got.spans);
    warnings.push(...got.warnings);
  }
  const headerIds = [...new Set(appSpans.flatMap((s) => [s.spanId, s.parentSpanId]).filter((x) => x))].sort();
  const seeds = await reader.findByLinkKeys(
    headerIds.map((value) => ({ type: 'parent' as const, value })),
    { limit: limits.maxSpans },
  );
  for (const s of seeds) {
    if (s.source === 'app' || (s.traceId && traceIds.includes(s.traceId))) continue;
    const got = await collectTraceSpans(reader, { spanId: s.spanId }, limits);
    spans.push(...got.spans);
    warnings.push(...got.warnings);
  }
  return { spans, warnings };
}
