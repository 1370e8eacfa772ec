/**
 * @module Pure helpers every store shares: span identity, deep copy, and the `SpanQuery` predicate.
 *
 * The memory store evaluates queries with `matchesSpanQuery`; SQL stores translate the same
 * rules, and the conformance suite holds both to them.
 */
import { SPAN_RECORD_FIELDS, type AttributeValue, type SpanRecord } from '../../model/index.js';
import { MAX_QUERY_LIMIT } from './store.js';
import type { SpanQuery, TimeRange } from './store.js';

/**
 * The identity under which writes are idempotent: (traceId, spanId, source, observationPoint).
 * The separator cannot occur in hex ids or in the enum values, so keys never collide.
 */
export function spanIdentity(span: Pick<SpanRecord, 'traceId' | 'spanId' | 'source' | 'observationPoint'>): string {
  return `${span.traceId}\u0000${span.spanId}\u0000${span.source}\u0000${span.observationPoint}`;
}

function copyAttributes(a: Record<string, AttributeValue>): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const k of Object.keys(a)) {
    const v = a[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** A deep copy of a span: no object or array is shared with the input. */
export function copySpan(span: SpanRecord): SpanRecord {
  return {
    ...span,
    attributes: copyAttributes(span.attributes),
    resource: copyAttributes(span.resource),
    events: span.events.map((e) => ({ timeUnixNano: e.timeUnixNano, name: e.name, attributes: copyAttributes(e.attributes) })),
    warnings: [...span.warnings],
  };
}

/** `min(limit, MAX_QUERY_LIMIT)`, and 0 for a non-positive or non-finite limit. */
export function effectiveLimit(limit: number): number {
  if (!Number.isFinite(limit) || limit <= 0) return 0;
  return Math.min(Math.floor(limit), MAX_QUERY_LIMIT);
}

/** True when the span's [start, end] overlaps the range (both ends inclusive). */
export function overlapsRange(span: Pick<SpanRecord, 'startTimeUnixNano' | 'endTimeUnixNano'>, r: TimeRange): boolean {
  return span.startTimeUnixNano <= r.endUnixNano && span.endTimeUnixNano >= r.startUnixNano;
}

const STRUCTURED_FIELDS: ReadonlySet<keyof SpanRecord> = new Set<keyof SpanRecord>(['attributes', 'resource', 'events', 'warnings']);

/**
 * SpanRecord fields a tag filter may name (derived from SPAN_RECORD_FIELDS, so a new scalar
 * field is taggable without another list to edit). Structured fields (attributes, resource, events,
 * warnings) are not scalars and are not matchable by name; their keys fall through to the
 * attribute lookup.
 */
export const TAGGABLE_FIELDS: ReadonlySet<string> = new Set<string>(SPAN_RECORD_FIELDS.filter((f) => !STRUCTURED_FIELDS.has(f)));

/**
 * The strings a tag filter compares against: a field's value (numbers and bigints in decimal,
 * null as '') or the attribute's value in the span attributes and in the resource (booleans as
 * 'true'/'false'). A tag matches when any of them equals it; [] when the key names neither.
 */
export function tagValueOf(span: SpanRecord, key: string): string[] {
  if (TAGGABLE_FIELDS.has(key)) {
    const v = span[key as keyof SpanRecord];
    return [v === null ? '' : String(v)];
  }
  const out: string[] = [];
  const a = span.attributes[key];
  if (a !== undefined) out.push(String(a));
  const r = span.resource[key];
  if (r !== undefined) out.push(String(r));
  return out;
}

export function isErrorSpan(span: Pick<SpanRecord, 'responseStatus' | 'statusCode'>): boolean {
  return span.statusCode === 'error' || (span.responseStatus !== 'ok' && span.responseStatus !== 'unknown');
}

/** Every narrowing of `SpanQuery` except the limit. */
export function matchesSpanQuery(span: SpanRecord, q: SpanQuery): boolean {
  if (q.service !== undefined && span.service !== q.service) return false;
  if (q.operation !== undefined && span.name !== q.operation && span.endpoint !== q.operation) return false;
  if (q.protocol !== undefined && span.protocol !== q.protocol) return false;
  if (q.source !== undefined && span.source !== q.source) return false;
  if (q.observationPoint !== undefined && span.observationPoint !== q.observationPoint) return false;
  if (q.kind !== undefined && span.kind !== q.kind) return false;
  if (q.timeRange !== undefined) {
    if (span.startTimeUnixNano < q.timeRange.startUnixNano || span.startTimeUnixNano > q.timeRange.endUnixNano) {
      return false;
    }
  }
  if (q.minDurationNano !== undefined || q.maxDurationNano !== undefined) {
    const d = span.endTimeUnixNano - span.startTimeUnixNano;
    const duration = d < 0n ? 0n : d;
    if (q.minDurationNano !== undefined && duration < q.minDurationNano) return false;
    if (q.maxDurationNano !== undefined && duration > q.maxDurationNano) return false;
  }
  if (q.errorsOnly === true && !isErrorSpan(span)) return false;
  if (q.tags !== undefined) {
    for (const [k, want] of Object.entries(q.tags)) {
      if (!tagValueOf(span, k).includes(want)) return false;
    }
  }
  return true;
}

/** Newest start first; ties broken by spanId then traceId so results are deterministic. */
export function newestFirst(a: SpanRecord, b: SpanRecord): number {
  if (a.startTimeUnixNano !== b.startTimeUnixNano) return a.startTimeUnixNano > b.startTimeUnixNano ? -1 : 1;
  if (a.spanId !== b.spanId) return a.spanId < b.spanId ? -1 : 1;
  if (a.traceId !== b.traceId) return a.traceId < b.traceId ? -1 : 1;
  return 0;
}
