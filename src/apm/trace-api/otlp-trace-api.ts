/**
 * @module Jaeger api_v3 `{result: TracesData}` and Tempo `{batches}` / v2 `{trace}` bodies → APP spans.
 *
 * All three carry OTLP ResourceSpans in JSON; they differ in the envelope and the id and enum
 * encodings (api_v3: hex ids, int enums; Tempo: gogo-jsonpb base64 ids and enum names, or
 * upper-case hex in Tempo's own examples). The ingest helper's OTLP decoder reads every one of
 * those encodings, so this module only unwraps the envelope and hands over.
 */
import { convertOtlpRequest } from '../otlp/index.js';
import { finishApiSpans, isPlainObject, parseJsonBody, traceApiFailure } from './trace-api-result.js';
import type { TraceApiResult } from './trace-api-result.js';

const API_ORIGIN = 'apm-api';

function convertResourceSpans(resourceSpans: unknown, what: string): TraceApiResult {
  if (resourceSpans === undefined || resourceSpans === null) return finishApiSpans({ spans: [], rejected: 0, errors: [] }, () => false);
  if (!Array.isArray(resourceSpans)) return traceApiFailure(`${what} is not an array`);
  try {
    const converted = convertOtlpRequest({ resourceSpans }, { origin: API_ORIGIN });
    // Spans not in weft form got origin 'apm-api' from the decoder; any other origin came from weft.*.
    return finishApiSpans(converted, (s) => s.origin !== API_ORIGIN || s.source !== 'app');
  } catch (err) {
    return traceApiFailure(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Jaeger api_v3 `GET /api/v3/traces/{id}` body: `{"result": TracesData}` or `{"error": {...}}`. */
export function convertJaegerV3Trace(body: unknown): TraceApiResult {
  if (!isPlainObject(body)) return traceApiFailure('api_v3 body is not a JSON object');
  if (isPlainObject(body.error)) {
    const msg = typeof body.error.message === 'string' ? body.error.message : JSON.stringify(body.error).slice(0, 200);
    return traceApiFailure(`api_v3 error: ${msg}`);
  }
  if (!isPlainObject(body.result)) return traceApiFailure('api_v3 body has no "result" object');
  return convertResourceSpans(body.result.resourceSpans ?? body.result.resource_spans, 'result.resourceSpans');
}

/**
 * Tempo `GET /api/traces/{id}` body (`{"batches": [ResourceSpans]}`) or `GET /api/v2/traces/{id}`
 * body (`{"trace": {"resourceSpans": [...]}, "status": ...}`).
 */
export function convertTempoTrace(body: unknown): TraceApiResult {
  if (!isPlainObject(body)) return traceApiFailure('Tempo body is not a JSON object');
  if (body.batches !== undefined) return convertResourceSpans(body.batches, 'batches');
  if (isPlainObject(body.trace)) return convertResourceSpans(body.trace.resourceSpans ?? body.trace.batches, 'trace.resourceSpans');
  if (body.trace === undefined && Object.keys(body).length === 0) return convertResourceSpans(undefined, 'batches');
  return traceApiFailure('Tempo body has neither "batches" nor "trace"');
}

export function parseJaegerV3TraceBody(text: string | Uint8Array): TraceApiResult {
  const p = parseJsonBody(text);
  return p.ok ? convertJaegerV3Trace(p.value) : traceApiFailure(p.error);
}

export function parseTempoTraceBody(text: string | Uint8Array): TraceApiResult {
  const p = parseJsonBody(text);
  return p.ok ? convertTempoTrace(p.value) : traceApiFailure(p.error);
}
