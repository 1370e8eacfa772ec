/**
 * @module SpanRecords → OTLP ExportTraceServiceRequest, as a protobufjs-ready object, protobuf
 * bytes, or OTLP/JSON in the id and enum encodings Jaeger api_v3 and Tempo use.
 *
 * One mapping with an injected encoding (as opentelemetry-js's otlp-transformer does): ids,
 * int64s and enums differ between the protobuf and JSON forms, nothing else does. Spans are
 * grouped into one ResourceSpans per (service, resource); within a group they keep their
 * order. Every span is written in weft form (see weft-attributes.ts), so decoding the result
 * gives back the same SpanRecords.
 */
import { createHash } from 'node:crypto';
import { hexIdToBytes, SPAN_KINDS } from '../../model/index.js';
import type { AttributeValue, SpanRecord } from '../../model/index.js';
import { exportRequestType } from './otlp-proto.js';
import { SPAN_KIND_NAMES, STATUS_CODE_NAMES } from './otlp-decode.js';
import { weftAttributesOf, WEFT_PARENT_SPAN_ID_KEY, WEFT_SPAN_ID_KEY, WEFT_TRACE_ID_KEY } from './weft-attributes.js';
import type { WeftAttributeValue } from './weft-attributes.js';

/** Scope name Weft writes; receivers do not depend on it. */
export const WEFT_SCOPE_NAME = 'weft';

interface Encoding {
  id(hex: string): unknown;
  int64(v: bigint): unknown;
  kindIndex(i: number): unknown;
  statusIndex(i: number): unknown;
}

const STATUS_INDEX = { unset: 0, ok: 1, error: 2 } as const;

const PROTO_ENCODING: Encoding = {
  id: (hex) => hexIdToBytes(hex),
  // protobufjs's writer takes any {low, high} pair for 64-bit fields (util.LongBits.from).
  int64: (v) => {
    const u = BigInt.asUintN(64, v);
    return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: true };
  },
  kindIndex: (i) => i,
  statusIndex: (i) => i,
};

export interface OtlpJsonOptions {
  idEncoding: 'hex' | 'base64';
  enumEncoding: 'int' | 'name';
  /** Extra attributes per span (e.g. the parent Weft chose), added after the weft.* ones. */
  extraSpanAttributes?: (s: SpanRecord) => Record<string, AttributeValue>;
}

function jsonEncoding(o: OtlpJsonOptions): Encoding {
  return {
    id: (hex) => (o.idEncoding === 'hex' ? hex : Buffer.from(hex, 'hex').toString('base64')),
    int64: (v) => v.toString(),
    kindIndex: (i) => (o.enumEncoding === 'int' ? i : SPAN_KIND_NAMES[i]),
    statusIndex: (i) => (o.enumEncoding === 'int' ? i : STATUS_CODE_NAMES[i]),
  };
}

const TRACE_HEX_RE = /^[0-9a-f]{32}$/;
const SPAN_HEX_RE = /^[0-9a-f]{16}$/;
const ZERO_RE = /^0+$/;

/** A stable OTLP-sized id for an id that does not fit (the original travels in weft.*). */
function derivedId(value: string, byteLength: 8 | 16): string {
  const hex = createHash('sha256').update(value).digest('hex').slice(0, byteLength * 2);
  return ZERO_RE.test(hex) ? '1'.padStart(byteLength * 2, '0') : hex;
}

function fits(id: string, re: RegExp): boolean {
  return re.test(id) && !ZERO_RE.test(id);
}

function anyValue(v: WeftAttributeValue, enc: Encoding): Record<string, unknown> {
  if (Array.isArray(v)) return { arrayValue: { values: v.map((s) => ({ stringValue: s })) } };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isSafeInteger(v) ? { intValue: enc.int64(BigInt(v)) } : { doubleValue: v };
}

function keyValues(entries: Iterable<[string, WeftAttributeValue]>, enc: Encoding): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const [key, v] of entries) out.push({ key, value: anyValue(v, enc) });
  return out;
}

function encodeSpan(s: SpanRecord, enc: Encoding, extra: OtlpJsonOptions['extraSpanAttributes']): Record<string, unknown> {
  const attrs = weftAttributesOf(s);
  let traceHex = s.traceId;
  if (s.traceId !== '' && !fits(s.traceId, TRACE_HEX_RE)) {
    attrs.set(WEFT_TRACE_ID_KEY, s.traceId);
    traceHex = derivedId(s.traceId, 16);
  }
  let spanHex = s.spanId;
  if (!fits(s.spanId, SPAN_HEX_RE)) {
    attrs.set(WEFT_SPAN_ID_KEY, s.spanId);
    spanHex = derivedId(s.spanId, 8);
  }
  let parentHex = s.parentSpanId;
  if (s.parentSpanId !== '' && !fits(s.parentSpanId, SPAN_HEX_RE)) {
    attrs.set(WEFT_PARENT_SPAN_ID_KEY, s.parentSpanId);
    parentHex = derivedId(s.parentSpanId, 8);
  }
  if (extra) for (const [k, v] of Object.entries(extra(s))) attrs.set(k, v);
  const out: Record<string, unknown> = {
    traceId: enc.id(traceHex),
    spanId: enc.id(spanHex),
    name: s.name,
    kind: enc.kindIndex(SPAN_KINDS.indexOf(s.kind)),
    startTimeUnixNano: enc.int64(s.startTimeUnixNano),
    endTimeUnixNano: enc.int64(s.endTimeUnixNano),
    attributes: keyValues(attrs, enc),
    events: s.events.map((e) => ({
      timeUnixNano: enc.int64(e.timeUnixNano),
      name: e.name,
      attributes: keyValues(Object.entries(e.attributes), enc),
    })),
    status: { code: enc.statusIndex(STATUS_INDEX[s.statusCode]), message: s.statusMessage },
  };
  if (parentHex !== '') out.parentSpanId = enc.id(parentHex);
  return out;
}

function buildRequest(spans: readonly SpanRecord[], enc: Encoding, extra?: OtlpJsonOptions['extraSpanAttributes']): { resourceSpans: Record<string, unknown>[] } {
  const groups = new Map<string, { service: string; resource: Record<string, AttributeValue>; spans: Record<string, unknown>[] }>();
  for (const s of spans) {
    const key = JSON.stringify([s.service, s.resource]);
    let g = groups.get(key);
    if (!g) {
      g = { service: s.service, resource: s.resource, spans: [] };
      groups.set(key, g);
    }
    g.spans.push(encodeSpan(s, enc, extra));
  }
  const resourceSpans: Record<string, unknown>[] = [];
  for (const g of groups.values()) {
    const resAttrs: [string, AttributeValue][] = [['service.name', g.service]];
    for (const [k, v] of Object.entries(g.resource)) if (k !== 'service.name') resAttrs.push([k, v]);
    resourceSpans.push({
      resource: { attributes: keyValues(resAttrs, enc) },
      scopeSpans: [{ scope: { name: WEFT_SCOPE_NAME }, spans: g.spans }],
    });
  }
  return { resourceSpans };
}

/**
 * SpanRecords → an ExportTraceServiceRequest object that protobufjs encodes as is (bytes ids,
 * Long times, numeric enums). Use `encodeOtlpRequest` for the bytes.
 */
export function spanRecordsToOtlpRequest(spans: readonly SpanRecord[]): { resourceSpans: Record<string, unknown>[] } {
  return buildRequest(spans, PROTO_ENCODING);
}

/** SpanRecords → protobuf ExportTraceServiceRequest bytes. */
export function encodeOtlpRequest(spans: readonly SpanRecord[]): Uint8Array {
  return exportRequestType().encode(spanRecordsToOtlpRequest(spans)).finish();
}

/**
 * SpanRecords → OTLP/JSON `{ resourceSpans }` (int64 as decimal strings). Jaeger api_v3 wants
 * hex ids and int enums; Tempo wants base64 ids and enum names.
 */
export function toOtlpJson(spans: readonly SpanRecord[], options: OtlpJsonOptions): { resourceSpans: Record<string, unknown>[] } {
  return buildRequest(spans, jsonEncoding(options), options.extraSpanAttributes);
}
