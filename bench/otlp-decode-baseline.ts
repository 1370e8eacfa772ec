/**
 * @module A stand-in OTLP decoder for the ingest benchmark, used until the receivers' own decoder
 * (src/apm/otlp) is available: protobufjs over the OTLP trace messages (field numbers from
 * opentelemetry-proto v1), then a plain mapping to SpanRecords.
 */
import protobuf from 'protobufjs';
import { bytesToHexId, emptySpan, observationPointForKind } from '../src/model/index.js';
import type { AttributeValue, SpanKind, SpanRecord } from '../src/model/index.js';

const OTLP_TRACE_PROTO = `
syntax = "proto3";
package opentelemetry.proto;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; fixed32 flags = 16;
  string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; uint32 dropped_attributes_count = 10; repeated Event events = 11;
  uint32 dropped_events_count = 12; repeated Link links = 13; uint32 dropped_links_count = 14; Status status = 15;
  message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
  message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4; uint32 dropped_attributes_count = 5; fixed32 flags = 6; }
}
message Status { string message = 2; int32 code = 3; }
`;

const root = protobuf.parse(OTLP_TRACE_PROTO, { keepCase: true }).root;
const RequestType = root.lookupType('opentelemetry.proto.ExportTraceServiceRequest');

interface LongLike {
  low: number;
  high: number;
}
interface KV {
  key: string;
  value?: { string_value?: string; bool_value?: boolean; int_value?: number | LongLike; double_value?: number };
}
interface PbSpan {
  trace_id: Uint8Array;
  span_id: Uint8Array;
  parent_span_id: Uint8Array;
  name: string;
  kind: number;
  start_time_unix_nano: number | LongLike;
  end_time_unix_nano: number | LongLike;
  attributes: KV[];
  events: { time_unix_nano: number | LongLike; name: string; attributes: KV[] }[];
  status?: { code?: number; message?: string };
}
interface PbRequest {
  resource_spans: { resource?: { attributes: KV[] }; scope_spans: { spans: PbSpan[] }[] }[];
}

/** Decode only: bytes to protobufjs message objects. */
export function decodeOtlpRequest(bytes: Uint8Array): PbRequest {
  return RequestType.decode(bytes) as unknown as PbRequest;
}

const KINDS: SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

function nanos(v: number | LongLike): bigint {
  if (typeof v === 'number') return BigInt(v);
  return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
}

function attrs(kvs: KV[]): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of kvs) {
    const v = kv.value;
    if (!v) continue;
    if (v.string_value !== undefined) out[kv.key] = v.string_value;
    else if (v.bool_value !== undefined) out[kv.key] = v.bool_value;
    else if (v.int_value !== undefined) out[kv.key] = typeof v.int_value === 'number' ? v.int_value : Number(nanos(v.int_value));
    else if (v.double_value !== undefined) out[kv.key] = v.double_value;
  }
  return out;
}

/** Decode and map to SpanRecords (the work a receiver does before the store). */
export function decodeOtlpToSpans(bytes: Uint8Array): SpanRecord[] {
  const req = decodeOtlpRequest(bytes);
  const out: SpanRecord[] = [];
  for (const rs of req.resource_spans) {
    const resource = attrs(rs.resource?.attributes ?? []);
    const service = String(resource['service.name'] ?? '');
    delete resource['service.name'];
    for (const ss of rs.scope_spans) {
      for (const s of ss.spans) {
        const kind = KINDS[s.kind] ?? 'unspecified';
        const a = attrs(s.attributes);
        const code = a['http.response.status_code'];
        out.push({
          ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: observationPointForKind(kind) }),
          traceId: bytesToHexId(s.trace_id),
          spanId: bytesToHexId(s.span_id),
          parentSpanId: bytesToHexId(s.parent_span_id),
          name: s.name,
          kind,
          service,
          startTimeUnixNano: nanos(s.start_time_unix_nano),
          endTimeUnixNano: nanos(s.end_time_unix_nano),
          statusCode: s.status?.code === 2 ? 'error' : s.status?.code === 1 ? 'ok' : 'unset',
          statusMessage: s.status?.message ?? '',
          attributes: a,
          resource: { ...resource },
          events: s.events.map((e) => ({ timeUnixNano: nanos(e.time_unix_nano), name: e.name, attributes: attrs(e.attributes) })),
          protocol: a['http.request.method'] !== undefined ? 'http' : a['db.system'] !== undefined ? String(a['db.system']) : '',
          requestType: String(a['http.request.method'] ?? a['db.operation.name'] ?? ''),
          requestDomain: String(a['server.address'] ?? ''),
          requestResource: String(a['url.path'] ?? a['url.full'] ?? a['db.query.text'] ?? ''),
          endpoint: String(a['http.route'] ?? s.name),
          responseCode: typeof code === 'number' ? code : null,
          responseStatus: typeof code === 'number' ? (code >= 500 ? 'server_error' : code >= 400 ? 'client_error' : 'ok') : 'unknown',
          serverPort: typeof a['server.port'] === 'number' ? a['server.port'] : 0,
        });
      }
    }
  }
  return out;
}
