/**
 * @module OTLP trace requests (protobuf bytes, OTLP/JSON, or an already decoded message) → SpanRecords.
 *
 * Spans in weft form (carrying `weft.source`, from the agent or another Weft) read every field
 * back from `weft.*`; spans from ordinary SDKs take APP defaults and the semantic-convention
 * mapping. Bad spans are rejected one by one; a malformed request as a whole throws
 * `TRC_INGEST_MALFORMED` (400).
 */
import { TracingError } from '../../model/index.js';
import type { SpanOrigin } from '../../model/index.js';
import { ConvertCollector } from '../convert-result.js';
import type { ConvertResult } from '../convert-result.js';
import { asArray, asObject, readEnum, readString, readUnixNano } from '../wire-values.js';
import { decodeOtlpRequestSteps } from './otlp-fast-decode.js';
import { runSteps } from '../steps.js';
import { parseJsonSteps } from '../json-steps.js';
import { anyValueToStringArray, keyValuesToRecord, readOtlpId } from './otlp-values.js';
import { exportRequestType } from './otlp-proto.js';
import { finishOtlpSpan, splitServiceName } from './otlp-span-parts.js';
import type { OtlpSpanContext } from './otlp-span-parts.js';
import { WEFT_WARNINGS_KEY } from './weft-attributes.js';

export const SPAN_KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
] as const;
export const STATUS_CODE_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'] as const;

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

function convertSpan(raw: Record<string, unknown>, ctx: OtlpSpanContext, c: ConvertCollector): void {
  const rawAttrs = raw.attributes;
  const status = asObject(raw.status);
  let warnings: string[] | null = null;
  for (const kv of asArray(rawAttrs)) {
    const o = asObject(kv);
    if (o.key === WEFT_WARNINGS_KEY) warnings = anyValueToStringArray(o.value);
  }
  finishOtlpSpan(
    {
      traceId: readOtlpId(field(raw, 'traceId', 'trace_id'), 16),
      spanId: readOtlpId(field(raw, 'spanId', 'span_id'), 8),
      parentSpanId: readOtlpId(field(raw, 'parentSpanId', 'parent_span_id'), 8),
      name: readString(raw.name),
      kind: readEnum(raw.kind, SPAN_KIND_NAMES),
      startTimeUnixNano: readUnixNano(field(raw, 'startTimeUnixNano', 'start_time_unix_nano')),
      endTimeUnixNano: readUnixNano(field(raw, 'endTimeUnixNano', 'end_time_unix_nano')),
      statusCode: readEnum(status.code, STATUS_CODE_NAMES),
      statusMessage: readString(status.message),
      attributes: keyValuesToRecord(rawAttrs),
      warnings,
      events: asArray(raw.events).map((e) => {
        const eo = asObject(e);
        return {
          timeUnixNano: readUnixNano(field(eo, 'timeUnixNano', 'time_unix_nano')),
          name: readString(eo.name),
          attributes: keyValuesToRecord(eo.attributes),
        };
      }),
    },
    ctx,
    c,
  );
}

/** Spans converted per step of a stepped conversion (see decodeOtlpRequestSteps). */
const SPANS_PER_STEP = 32;

/**
 * Converts an ExportTraceServiceRequest, as protobufjs decoded it or as parsed OTLP/JSON
 * (hex or base64 ids, int or named enums, int64 as strings or numbers, camelCase or
 * snake_case field names). Throws TRC_INGEST_MALFORMED when the shape is not a request.
 */
export function convertOtlpRequest(request: unknown, options: OtlpDecodeOptions = {}): ConvertResult {
  return runSteps(convertOtlpRequestSteps(request, options));
}

/** convertOtlpRequest in steps of SPANS_PER_STEP spans, so a caller can interleave other work. */
export function* convertOtlpRequestSteps(request: unknown, options: OtlpDecodeOptions = {}): Generator<void, ConvertResult, undefined> {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw malformed('OTLP request must be an object with resourceSpans');
  }
  const origin = options.origin ?? 'otlp';
  const req = request as Record<string, unknown>;
  const rss = field(req, 'resourceSpans', 'resource_spans');
  if (rss !== undefined && !Array.isArray(rss)) throw malformed('resourceSpans must be an array');
  const c = new ConvertCollector();
  let sinceYield = 0;
  for (const rs of asArray(rss)) {
    const rso = asObject(rs);
    const { service, resource: resAttrs } = splitServiceName(keyValuesToRecord(asObject(rso.resource).attributes));
    const scopes = field(rso, 'scopeSpans', 'scope_spans') ?? field(rso, 'instrumentationLibrarySpans', 'instrumentation_library_spans');
    for (const ss of asArray(scopes)) {
      const sso = asObject(ss);
      const scope = asObject(sso.scope ?? field(sso, 'instrumentationLibrary', 'instrumentation_library'));
      const ctx: OtlpSpanContext = { service, resource: resAttrs, scopeName: readString(scope.name), scopeVersion: readString(scope.version), origin };
      for (const sp of asArray(sso.spans)) {
        if (typeof sp !== 'object' || sp === null) c.reject('span is not an object');
        else convertSpan(sp as Record<string, unknown>, ctx, c);
        if (++sinceYield >= SPANS_PER_STEP) {
          sinceYield = 0;
          yield;
        }
      }
    }
  }
  return c.result();
}

/**
 * Decodes protobuf ExportTraceServiceRequest bytes. Throws TRC_INGEST_MALFORMED on bad bytes.
 * The hot path: walks Span/KeyValue/AnyValue on the wire straight into span parts (see
 * otlp-fast-decode.ts); equal to decodeOtlpProtobufReference on every valid request.
 */
export function decodeOtlpProtobuf(bytes: Uint8Array, options: OtlpDecodeOptions = {}): ConvertResult {
  return runSteps(decodeOtlpProtobufSteps(bytes, options));
}

/** decodeOtlpProtobuf in steps of a few dozen spans (the server runs them in its CPU queue's turns). */
export function* decodeOtlpProtobufSteps(bytes: Uint8Array, options: OtlpDecodeOptions = {}): Generator<void, ConvertResult, undefined> {
  try {
    return yield* decodeOtlpRequestSteps(bytes, options.origin ?? 'otlp');
  } catch (err) {
    if (err instanceof TracingError) throw err;
    throw malformed(`invalid OTLP protobuf: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}

/**
 * The reference decoder: protobufjs reflection decode of the whole message, then the loose
 * converter. Kept as the oracle for the fast path's property tests and benchmarks.
 */
export function decodeOtlpProtobufReference(bytes: Uint8Array, options: OtlpDecodeOptions = {}): ConvertResult {
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
  return runSteps(decodeOtlpJsonSteps(body, options));
}

/**
 * decodeOtlpJson in steps: the parse (json-steps.ts: a large body member by member, pieces by
 * JSON.parse), then the conversion a few dozen spans a step.
 */
export function* decodeOtlpJsonSteps(body: string | Uint8Array, options: OtlpDecodeOptions = {}): Generator<void, ConvertResult, undefined> {
  let parsed: unknown;
  try {
    parsed = yield* parseJsonSteps(typeof body === 'string' ? Buffer.from(body) : body);
  } catch (err) {
    throw malformed(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  return yield* convertOtlpRequestSteps(parsed, options);
}
