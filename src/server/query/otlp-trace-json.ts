/**
 * @module Assembled traces → OTLP/JSON for api_v3 (hex ids, int enums) and Tempo (base64 ids,
 * enum names), through the one encoder in src/apm/otlp with the assembled parents applied.
 */
import { toOtlpJson } from '../../apm/otlp/index.js';
import type { OtlpJsonOptions } from '../../apm/otlp/index.js';
import type { AssembledTrace } from '../tracing/trace.js';
import { extraAttributesLookup, toWireSpans } from './wire-trace.js';
import type { WireSpan } from './wire-trace.js';

/** `{resourceSpans}` of one or more assembled traces. */
export function tracesToOtlpJson(traces: readonly AssembledTrace[], encoding: Pick<OtlpJsonOptions, 'idEncoding' | 'enumEncoding'>): { resourceSpans: Record<string, unknown>[] } {
  const wire: WireSpan[] = traces.flatMap((t) => toWireSpans(t));
  return toOtlpJson(
    wire.map((w) => w.span),
    { ...encoding, extraSpanAttributes: extraAttributesLookup(wire) },
  );
}
