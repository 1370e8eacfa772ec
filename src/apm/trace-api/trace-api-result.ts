/**
 * @module What a Trace-API converter returns: the APP spans it read, or why the body is unusable.
 *
 * Converters of APM query responses never throw. A body that is not the expected shape is an
 * `{ok: false}` value with a reason; single bad spans are counted in `rejected`, as the ingest
 * converters do (src/apm/convert-result.ts), and the rest of the trace is kept.
 */
import type { SpanRecord } from '../../model/index.js';
import type { ConvertResult } from '../convert-result.js';

export type TraceApiResult =
  | {
      ok: true;
      /** APP spans with origin 'apm-api'. Empty when the APM does not know the trace. */
      spans: SpanRecord[];
      /** Spans dropped for bad ids or times. */
      rejected: number;
      /** Reasons for the rejections (bounded, see MAX_REPORTED_ERRORS). */
      errors: string[];
      /** Spans skipped because Weft exported them itself (already in the store). */
      echoes: number;
    }
  | { ok: false; error: string };

export function traceApiFailure(error: string): TraceApiResult {
  return { ok: false, error };
}

/**
 * Final step of every converter: stamps origin 'apm-api' and skips echoes. An APM that also
 * receives Weft's OTLP export returns Weft's own SYS/NET spans (weft form: their source and
 * origin come back from `weft.*`); merging those again would place every such span twice.
 */
export function finishApiSpans(result: ConvertResult, weftFormDetected: (s: SpanRecord) => boolean): TraceApiResult {
  const spans: SpanRecord[] = [];
  let echoes = 0;
  for (const s of result.spans) {
    if (weftFormDetected(s)) {
      echoes++;
      continue;
    }
    s.source = 'app';
    s.origin = 'apm-api';
    spans.push(s);
  }
  return { ok: true, spans, rejected: result.rejected, errors: result.errors, echoes };
}

/** Parses JSON text without throwing. */
export function parseJsonBody(body: string | Uint8Array): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8')) };
  } catch (err) {
    return { ok: false, error: `invalid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
