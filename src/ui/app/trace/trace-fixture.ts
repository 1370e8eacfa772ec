/**
 * @module Small hand-made traces for the UI's unit tests: an ApiSpan with defaults and a builder.
 */
import { emptySpan } from '../../../model/index.js';
import type { ApiSpan, ApiTrace } from '../api/types.js';

const T0 = 1_796_000_000_000_000_000n;

/** A span at [startMs, endMs] from T0, every other field empty (the model's emptySpan). */
export function apiSpan(id: string, parentId: string | null, startMs: number, endMs: number, over: Partial<ApiSpan> = {}): ApiSpan {
  const startNs = T0 + BigInt(Math.round(startMs * 1e6));
  const endNs = T0 + BigInt(Math.round(endMs * 1e6));
  const base = emptySpan({ source: 'app', origin: 'otlp', observationPoint: 's-app' });
  return {
    ...base,
    kind: 'server',
    service: 'svc',
    name: id,
    traceId: 'a'.repeat(32),
    spanId: id,
    startTimeUnixNano: startNs.toString(),
    endTimeUnixNano: endNs.toString(),
    durationNano: (endNs - startNs).toString(),
    events: [],
    id,
    parentId,
    linkReason: parentId === null ? null : 'span_id',
    confidence: parentId === null ? null : 1,
    clockOffsetNano: '0',
    possibleParents: [],
    ...over,
  } as ApiSpan;
}

export function apiTrace(spans: ApiSpan[], warnings: string[] = []): ApiTrace {
  return { traceId: 'a'.repeat(32), spans, services: [...new Set(spans.map((s) => s.service))].sort(), warnings };
}
