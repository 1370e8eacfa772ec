/**
 * @module SpanRecords → OTLP request bytes, for the exporter (otel-js `ISerializer` shape).
 *
 * Both forms use the ingest helper's one mapping (`toOtlpJson`, weft.* attributes); protobuf
 * bytes come from the vendored ExportTraceServiceRequest type. What the exporter adds is the
 * parent rule for SYS/NET spans: OTLP `parentSpanId` is the parent Weft assembled (the client
 * APP span, or the previous hop) when known, else the span id from the captured header. The
 * header value then travels in `weft.parent_span_id`, so a Weft receiver reads back exactly the
 * original record while any other APM sees the assembled tree. A span without a trace id gets
 * the assembled trace's id, or else one derived from its span id (OTLP requires 16 bytes);
 * `weft.trace_id` keeps the original ''.
 */
import { createHash } from 'node:crypto';
import type { AttributeValue, SpanRecord } from '../model/index.js';
import { exportRequestType, toOtlpJson } from '../apm/otlp/index.js';

/** One span to export, with what assembly knows about it. */
export interface ExportSpan {
  span: SpanRecord;
  /** Span id of the assembled parent, when the span was exported from an assembled trace. */
  assembledParentSpanId?: string;
  /** Why that parent (tcp_seq, syscall, …); exported as weft.link_reason. */
  linkReason?: string;
  /** Trace id of the assembled trace, used when the span has none of its own. */
  assembledTraceId?: string;
}

export interface Serializer {
  readonly contentType: string;
  serialize(spans: readonly ExportSpan[]): Uint8Array;
}

const HEX32 = /^[0-9a-f]{32}$/;
const PARENT_KEY = 'weft.parent_span_id';
const TRACE_KEY = 'weft.trace_id';
const LINK_REASON_KEY = 'weft.link_reason';

function derivedTraceId(spanId: string): string {
  return createHash('sha256').update(`weft-trace:${spanId}`).digest('hex').slice(0, 32);
}

/** Copies with the exported trace id and parent, plus the extra attributes that keep the originals. */
export function prepareExportSpans(items: readonly ExportSpan[]): { spans: SpanRecord[]; extras: Map<SpanRecord, Record<string, AttributeValue>> } {
  const spans: SpanRecord[] = [];
  const extras = new Map<SpanRecord, Record<string, AttributeValue>>();
  for (const item of items) {
    const s = item.span;
    const copy: SpanRecord = { ...s };
    const extra: Record<string, AttributeValue> = {};
    if (item.assembledParentSpanId !== undefined && item.assembledParentSpanId !== s.parentSpanId) {
      copy.parentSpanId = item.assembledParentSpanId;
      extra[PARENT_KEY] = s.parentSpanId;
    }
    if (item.linkReason !== undefined) extra[LINK_REASON_KEY] = item.linkReason;
    if (s.traceId === '') {
      copy.traceId = item.assembledTraceId !== undefined && HEX32.test(item.assembledTraceId) ? item.assembledTraceId : derivedTraceId(s.spanId);
      extra[TRACE_KEY] = '';
    }
    spans.push(copy);
    if (Object.keys(extra).length > 0) extras.set(copy, extra);
  }
  return { spans, extras };
}

/** OTLP protobuf (`application/x-protobuf`), what every OTLP receiver accepts. */
export function createProtobufSerializer(): Serializer {
  const type = exportRequestType();
  return {
    contentType: 'application/x-protobuf',
    serialize(items) {
      const { spans, extras } = prepareExportSpans(items);
      // base64 ids and decimal int64 strings are what protobufjs's fromObject reads for bytes/fixed64.
      const json = toOtlpJson(spans, { idEncoding: 'base64', enumEncoding: 'int', extraSpanAttributes: (s) => extras.get(s) ?? {} });
      return type.encode(type.fromObject(json)).finish();
    },
  };
}

/** OTLP/JSON per the spec (hex ids, integer enums). */
export function createJsonSerializer(): Serializer {
  return {
    contentType: 'application/json',
    serialize(items) {
      const { spans, extras } = prepareExportSpans(items);
      return Buffer.from(JSON.stringify(toOtlpJson(spans, { idEncoding: 'hex', enumEncoding: 'int', extraSpanAttributes: (s) => extras.get(s) ?? {} })));
    },
  };
}
