/**
 * @module The wire-independent second half of OTLP span conversion: from the parts of one decoded
 * span (ids, times, attributes already as Weft values) to a kept SpanRecord or a rejection.
 *
 * Both OTLP decoders end here: the loose one over protobufjs/JSON objects (otlp-decode.ts) and
 * the protobuf fast path that walks the wire straight into these parts (otlp-fast-decode.ts).
 * Sharing it is what keeps the two paths' results equal by construction past the wire layer.
 */
import { emptySpan, observationPointForKind, SPAN_KINDS } from '../../model/index.js';
import type { AttributeValue, SpanEvent, SpanKind, SpanOrigin, StatusCode } from '../../model/index.js';
import type { ConvertCollector } from '../convert-result.js';
import { timeProblem } from '../convert-result.js';
import { applySemanticConventions } from '../semconv.js';
import { setOwn } from '../wire-values.js';
import { applyWeftAttributes, WEFT_PARENT_SPAN_ID_KEY, WEFT_SOURCE_KEY, WEFT_SPAN_ID_KEY, WEFT_TRACE_ID_KEY } from './weft-attributes.js';

const STATUS_CODES: readonly StatusCode[] = ['unset', 'ok', 'error'];

/** One span as decoded: ids as readOtlpId gives them (null = malformed), enums as numbers. */
export interface OtlpSpanParts {
  traceId: string | null;
  spanId: string | null;
  parentSpanId: string | null;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  statusCode: number;
  statusMessage: string;
  /** The span's KeyValues as a record (later duplicates win); this function may mutate it. */
  attributes: Record<string, AttributeValue>;
  /** `weft.warnings` as a string array (null when absent; [] when not an array); read only in weft form. */
  warnings: string[] | null;
  events: SpanEvent[];
}

/** What every span of one ScopeSpans shares. */
export interface OtlpSpanContext {
  service: string;
  /** Resource attributes without service.name; copied per span. */
  resource: Record<string, AttributeValue>;
  scopeName: string;
  scopeVersion: string;
  origin: SpanOrigin;
}

/**
 * Validates and maps one span. Spans in weft form (carrying `weft.source`) read every field back
 * from `weft.*`; others take APP defaults and the semantic-convention mapping.
 */
export function finishOtlpSpan(p: OtlpSpanParts, ctx: OtlpSpanContext, c: ConvertCollector): void {
  const attrs = p.attributes;
  const weftForm = attrs[WEFT_SOURCE_KEY] !== undefined;
  const kind: SpanKind = SPAN_KINDS[p.kind] ?? 'unspecified';
  let { traceId, spanId, parentSpanId } = p;
  if (weftForm) {
    const t = attrs[WEFT_TRACE_ID_KEY];
    const s = attrs[WEFT_SPAN_ID_KEY];
    const pa = attrs[WEFT_PARENT_SPAN_ID_KEY];
    if (t !== undefined) traceId = String(t);
    if (s !== undefined) spanId = String(s);
    if (pa !== undefined) parentSpanId = String(pa);
  }
  const name = p.name;
  if (traceId === null) return c.reject(`${label(name)}: trace id is not 16 bytes`);
  if (spanId === null) return c.reject(`${label(name)}: span id is not 8 bytes`);
  if (parentSpanId === null) return c.reject(`${label(name)}: parent span id is not 8 bytes`);
  if (spanId === '') return c.reject(`${label(name)}: missing span id`);
  if (traceId === '' && !weftForm) return c.reject(`${label(name)}: missing trace id`);
  const start = p.startTimeUnixNano;
  const end = p.endTimeUnixNano;
  const bad = timeProblem(start, end);
  if (bad !== null) return c.reject(`${label(name)}: ${bad}`);

  const span = emptySpan({ source: 'app', origin: ctx.origin, observationPoint: observationPointForKind(kind) });
  span.traceId = traceId;
  span.spanId = spanId;
  span.parentSpanId = parentSpanId;
  span.name = name;
  span.kind = kind;
  span.service = ctx.service;
  // Each span gets its own resource copy: SpanRecord owners may mutate theirs.
  const resource = { ...ctx.resource };
  span.resource = resource;
  span.startTimeUnixNano = start;
  span.endTimeUnixNano = end;
  span.statusCode = STATUS_CODES[p.statusCode] ?? 'unset';
  span.statusMessage = p.statusMessage;
  span.events = p.events;

  if (weftForm) {
    applyWeftAttributes(span, attrs, p.warnings ?? []);
  } else {
    if (ctx.scopeName !== '' && attrs['otel.scope.name'] === undefined) attrs['otel.scope.name'] = ctx.scopeName;
    if (ctx.scopeVersion !== '' && attrs['otel.scope.version'] === undefined) attrs['otel.scope.version'] = ctx.scopeVersion;
    applySemanticConventions(span, attrs);
    const pid = resource['process.pid'];
    if (typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0) span.processId = pid;
  }
  c.keep(span);
}

/**
 * Resource attributes → the service name and the rest. Builds a new record instead of deleting
 * the key: a delete turns the object into a dictionary, and every span copies it.
 */
export function splitServiceName(attrs: Record<string, AttributeValue>): { service: string; resource: Record<string, AttributeValue> } {
  const serviceName = attrs['service.name'];
  const resource: Record<string, AttributeValue> = {};
  for (const k of Object.keys(attrs)) if (k !== 'service.name') setOwn(resource, k, attrs[k] as AttributeValue);
  return { service: serviceName === undefined ? '' : String(serviceName), resource };
}

function label(name: string): string {
  return `span ${JSON.stringify(name.slice(0, 60))}`;
}
