/**
 * @module OTLP trace requests (protobuf bytes, OTLP/JSON, or an already decoded message) → SpanRecords.
 *
 * Spans in weft form (carrying `weft.source`, from the agent or another Weft) read every field
 * back from `weft.*`; spans from ordinary SDKs take APP defaults and the semantic-convention
 * mapping. Bad spans are rejected one by one; a malformed request as a whole throws
 * `TRC_INGEST_MALFORMED` (400).
 */
import { TracingError, emptySpan, observationPointForKind, SPAN_KINDS } from '../../model/index.js';
import type { AttributeValue, SpanKind, SpanOrigin, StatusCode } from '../../model/index.js';
import { ConvertCollector, timeProblem } from '../convert-result.js';
import type { ConvertResult } from '../convert-result.js';
import { applySemanticConventions } from '../semconv.js';
import { asArray, asObject, readEnum, readString, readUnixNano } from '../wire-values.js';
import { anyValueToStringArray, keyValuesToRecord, readOtlpId } from './otlp-values.js';
import { exportRequestType } from './otlp-proto.js';
import {
  applyWeftAttributes,
  WEFT_PARENT_SPAN_ID_KEY,
  WEFT_SOURCE_KEY,
  WEFT_SPAN_ID_KEY,
  WEFT_TRACE_ID_KEY,
  WEFT_WARNINGS_KEY,
} from './weft-attributes.js';

export const SPAN_KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
] as const;
export const STATUS_CODE_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'] as const;
const STATUS_CODES: readonly StatusCode[] = ['unset', 'ok', 'error'];

export interface OtlpDecodeOptions {
  /** Origin of spans not in weft form. Default 'otlp'. */
  origin?: SpanOrigin;
}

export function malformed(message: string, cause?: unknown): TracingError {
  return new TracingError('TRC_INGEST_MALFORMED', message, { httpStatus: 400, cause });
}

/** First present field among a camelCase name and its snake_case twin (protobuf JSON accepts both). */
function field(o: Record<string, unknown>, camel: string, snake: string): unknown {
  return o[camel] ?? o[snake];
}

function convertSpan(
  raw: Record<string, unknown>,
  service: string,
  resource: Record<string, AttributeValue>,
  scope: Record<string, unknown>,
  origin: SpanOrigin,
  c: ConvertCollector,
): void {
  const rawAttrs = raw.attributes;
  const attrs = keyValuesToRecord(rawAttrs);
  const weftForm = attrs[WEFT_SOURCE_KEY] !== undefined;

  const kind: SpanKind = SPAN_KINDS[readEnum(raw.kind, SPAN_KIND_NAMES)] ?? 'unspecified';
  const span = emptySpan({ source: 'app', origin, observationPoint: observationPointForKind(kind) });
  const name = readString(raw.name);

  let traceId = readOtlpId(field(raw, 'traceId', 'trace_id'), 16);
  let spanId = readOtlpId(field(raw, 'spanId', 'span_id'), 8);
  let parentSpanId = readOtlpId(field(raw, 'parentSpanId', 'parent_span_id'), 8);
  if (weftForm) {
    const t = attrs[WEFT_TRACE_ID_KEY];
    const s = attrs[WEFT_SPAN_ID_KEY];
    const p = attrs[WEFT_PARENT_SPAN_ID_KEY];
    if (t !== undefined) traceId = String(t);
    if (s !== undefined) spanId = String(s);
    if (p !== undefined) parentSpanId = String(p);
  }
  const label = `span ${JSON.stringify(name.slice(0, 60))}`;
  if (traceId === null) return c.reject(`${label}: trace id is not 16 bytes`);
  if (spanId === null) return c.reject(`${label}: span id is not 8 bytes`);
  if (parentSpanId === null) return c.reject(`${label}: parent span id is not 8 bytes`);
  if (spanId === '') return c.reject(`${label}: missing span id`);
  if (traceId === '' && !weftForm) return c.reject(`${label}: missing trace id`);

  const start = readUnixNano(field(raw, 'startTimeUnixNano', 'start_time_unix_nano'));
  const end = readUnixNano(field(raw, 'endTimeUnixNano', 'end_time_unix_nano'));
  const bad = timeProblem(start, end);
  if (bad !== null) return c.reject(`${label}: ${bad}`);

  span.traceId = traceId;
  span.spanId = spanId;
  span.parentSpanId = parentSpanId;
  span.name = name;
  span.kind = kind;
  span.service = service;
  span.resource = resource;
  span.startTimeUnixNano = start;
  span.endTimeUnixNano = end;
  const status = asObject(raw.status);
  span.statusCode = STATUS_CODES[readEnum(status.code, STATUS_CODE_NAMES)] ?? 'unset';
  span.statusMessage = readString(status.message);
  for (const e of asArray(raw.events)) {
    const eo = asObject(e);
    span.events.push({
      timeUnixNano: readUnixNano(field(eo, 'timeUnixNano', 'time_unix_nano')),
      name: readString(eo.name),
      attributes: keyValuesToRecord(eo.attributes),
    });
  }

  if (weftForm) {
    let warnings: string[] = [];
    for (const kv of asArray(rawAttrs)) {
      const o = asObject(kv);
      if (o.key === WEFT_WARNINGS_KEY) warnings = anyValueToStringArray(o.value);
    }
    applyWeftAttributes(span, attrs, warnings);
  } else {
    const scopeName = readString(scope.name);
    const scopeVersion = readString(scope.version);
    if (scopeName !== '' && attrs['otel.scope.name'] === undefined) attrs['otel.scope.name'] = scopeName;
    if (scopeVersion !== '' && attrs['otel.scope.version'] === undefined) attrs['otel.scope.version'] = scopeVersion;
    applySemanticConventions(span, attrs);
    const pid = resource['process.pid'];
    if (typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0) span.processId = pid;
  }
  c.keep(span);
}

/**
 * Converts an ExportTraceServiceRequest, as protobufjs decoded it or as parsed OTLP/JSON
 * (hex or base64 ids, int or named enums, int64 as strings or numbers, camelCase or
 * snake_case field names). Throws TRC_INGEST_MALFORMED when the shape is not a request.
 */
export function convertOtlpRequest(request: unknown, options: OtlpDecodeOptions = {}): ConvertResult {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw malformed('OTLP request must be an object with resourceSpans');
  }
  const origin = options.origin ?? 'otlp';
  const req = request as Record<string, unknown>;
  const rss = field(req, 'resourceSpans', 'resource_spans');
  if (rss !== undefined && !Array.isArray(rss)) throw malformed('resourceSpans must be an array');
  const c = new ConvertCollector();
  for (const rs of asArray(rss)) {
    const rso = asObject(rs);
    const resAttrs = keyValuesToRecord(asObject(rso.resource).attributes);
    const serviceName = resAttrs['service.name'];
    delete resAttrs['service.name'];
    const service = serviceName === undefined ? '' : String(serviceName);
    const scopes = field(rso, 'scopeSpans', 'scope_spans') ?? field(rso, 'instrumentationLibrarySpans', 'instrumentation_library_spans');
    for (const ss of asArray(scopes)) {
      const sso = asObject(ss);
      const scope = asObject(sso.scope ?? field(sso, 'instrumentationLibrary', 'instrumentation_library'));
      for (const sp of asArray(sso.spans)) {
        if (typeof sp !== 'object' || sp === null) {
          c.reject('span is not an object');
          continue;
        }
        // Each span gets its own resource copy: SpanRecord owners may mutate theirs.
        convertSpan(sp as Record<string, unknown>, service, { ...resAttrs }, scope, origin, c);
      }
    }
  }
  return c.result();
}

/** Decodes protobuf ExportTraceServiceRequest bytes. Throws TRC_INGEST_MALFORMED on bad bytes. */
export function decodeOtlpProtobuf(bytes: Uint8Array, options: OtlpDecodeOptions = {}): ConvertResult {
  let msg: unknown;
  try {
    msg = exportRequestType().decode(bytes);
  } catch (err) {
    throw malformed(`invalid OTLP protobuf: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  return convertOtlpRequest(msg, options);
}

/** Decodes an OTLP/JSON request body. Throws TRC_INGEST_MALFORMED on bad JSON or shape. */
export function decodeOtlpJson(body: string | Uint8Array, options: OtlpDecodeOptions = {}): ConvertResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
  } catch (err) {
    throw malformed(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  return convertOtlpRequest(parsed, options);
}

