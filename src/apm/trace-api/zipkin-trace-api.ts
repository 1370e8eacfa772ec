/**
 * @module Zipkin `GET /api/v2/trace/{id}` body (a v2 span array) → APP spans, through the ingest
 * helper's Zipkin v2 converter.
 */
import { convertZipkinSpans } from '../zipkin/index.js';
import { finishApiSpans, parseJsonBody, traceApiFailure } from './trace-api-result.js';
import type { TraceApiResult } from './trace-api-result.js';

export function convertZipkinTrace(body: unknown): TraceApiResult {
  if (!Array.isArray(body)) return traceApiFailure('Zipkin body is not a JSON array of spans');
  return finishApiSpans(convertZipkinSpans(body), () => false);
}

export function parseZipkinTraceBody(text: string | Uint8Array): TraceApiResult {
  const p = parseJsonBody(text);
  return p.ok ? convertZipkinTrace(p.value) : traceApiFailure(p.error);
}
