/**
 * @module Trace-context extraction from request/response headers and SQL comments.
 *
 * Formats (DeepFlow's `TraceType`): W3C `traceparent`, SkyWalking `sw8`, Jaeger `uber-trace-id`,
 * Zipkin `b3` (single header) and `X-B3-TraceId`/`X-B3-SpanId`. First match wins, in that order.
 *
 * The span id a header carries is the CALLER's span id (the APP span that made the call), so for
 * a SYS/NET span it is the parent: Weft stores it in `parentSpanId` and the trace id in `traceId`
 * (DeepFlow stores the same value in its `span_id` column and treats it as the parent when
 * assembling; naming it for what it is avoids a second meaning of `spanId`).
 */

export interface TraceContext {
  traceId: string;
  /** The caller's span id, as the header carries it; '' when absent. */
  parentSpanId: string;
}

/** The raw header values a protocol found (already trimmed); '' when absent. */
export interface TraceHeaders {
  traceparent: string;
  sw8: string;
  uberTraceId: string;
  b3: string;
  xB3TraceId: string;
  xB3SpanId: string;
}

export function emptyTraceHeaders(): TraceHeaders {
  return { traceparent: '', sw8: '', uberTraceId: '', b3: '', xB3TraceId: '', xB3SpanId: '' };
}

const HEX = /^[0-9a-f]+$/;

/** Lowercases and left-pads a 64-bit hex id to 128 bits, as OTel does for B3 and Jaeger ids. */
function normalizeTraceId(raw: string): string {
  const id = raw.toLowerCase();
  if (!HEX.test(id) || id.length > 32 || /^0+$/.test(id)) return '';
  return id.padStart(32, '0');
}

function normalizeSpanId(raw: string): string {
  const id = raw.toLowerCase();
  if (!HEX.test(id) || id.length > 16 || /^0+$/.test(id)) return '';
  return id.padStart(16, '0');
}

/** W3C trace-context §3.2: `version-traceid(32)-parentid(16)-flags`. */
export function parseTraceparent(value: string): TraceContext | null {
  const parts = value.trim().split('-');
  if (parts.length < 4) return null;
  const [version, trace, span] = parts as [string, string, string];
  if (version.length !== 2 || version.toLowerCase() === 'ff' || trace.length !== 32 || span.length !== 16) return null;
  const traceId = normalizeTraceId(trace);
  const parentSpanId = normalizeSpanId(span);
  return traceId && parentSpanId ? { traceId, parentSpanId } : null;
}

function base64Decode(s: string): string {
  if (!/^[A-Za-z0-9+/=_-]*$/.test(s)) return '';
  return Buffer.from(s, 'base64').toString('utf8');
}

/**
 * SkyWalking cross-process propagation v3: `sample-traceId-segmentId-spanId-service-instance-
 * endpoint-peer`, ids base64. The caller span is `{segmentId}-{spanId}`, the form Weft stores
 * SkyWalking span ids in.
 */
export function parseSw8(value: string): TraceContext | null {
  const parts = value.trim().split('-');
  if (parts.length < 8) return null;
  const traceId = base64Decode(parts[1] ?? '');
  const segment = base64Decode(parts[2] ?? '');
  const spanId = parts[3] ?? '';
  if (!traceId || !segment || !/^\d+$/.test(spanId)) return null;
  return { traceId, parentSpanId: `${segment}-${spanId}` };
}

/** Jaeger: `traceid:spanid:parentspanid:flags`; the caller is `spanid`. */
export function parseUberTraceId(value: string): TraceContext | null {
  // Jaeger clients URL-encode the colons in some transports.
  const parts = value.trim().replace(/%3A/gi, ':').split(':');
  if (parts.length !== 4) return null;
  const traceId = normalizeTraceId(parts[0] ?? '');
  const parentSpanId = normalizeSpanId(parts[1] ?? '');
  return traceId && parentSpanId ? { traceId, parentSpanId } : null;
}

/** Zipkin b3 single header: `traceid-spanid[-sampled[-parentspanid]]`. */
export function parseB3(value: string): TraceContext | null {
  const parts = value.trim().split('-');
  if (parts.length < 2) return null;
  const traceId = normalizeTraceId(parts[0] ?? '');
  const parentSpanId = normalizeSpanId(parts[1] ?? '');
  return traceId && parentSpanId ? { traceId, parentSpanId } : null;
}

/** The first trace context the headers carry, or null. */
export function extractTraceContext(h: TraceHeaders): TraceContext | null {
  if (h.traceparent) {
    const c = parseTraceparent(h.traceparent);
    if (c) return c;
  }
  if (h.sw8) {
    const c = parseSw8(h.sw8);
    if (c) return c;
  }
  if (h.uberTraceId) {
    const c = parseUberTraceId(h.uberTraceId);
    if (c) return c;
  }
  if (h.b3) {
    const c = parseB3(h.b3);
    if (c) return c;
  }
  if (h.xB3TraceId) {
    const traceId = normalizeTraceId(h.xB3TraceId.trim());
    if (traceId) return { traceId, parentSpanId: normalizeSpanId(h.xB3SpanId.trim()) };
  }
  return null;
}

const SQL_TRACEPARENT = /traceparent\s*[:=]\s*'?\s*([0-9a-fA-F]{2}-[0-9a-fA-F]{32}-[0-9a-fA-F]{16}-[0-9a-fA-F]{2})/;
/** How far into a statement the leading comments are searched; keeps the regex off big SQL. */
const SQL_COMMENT_SCAN_CHARS = 512;

/**
 * A `traceparent` in the comments that lead a SQL statement (DeepFlow reads MySQL's; sqlcommenter
 * style `traceparent='…'` and `/* traceparent: … *\/` both count). Only leading comments are read.
 */
export function traceContextFromSql(sql: string): TraceContext | null {
  let i = 0;
  const n = Math.min(sql.length, SQL_COMMENT_SCAN_CHARS);
  while (i < n && sql.charCodeAt(i) <= 0x20) i++;
  if (!sql.startsWith('/*', i) && !sql.startsWith('--', i)) return null;
  const m = SQL_TRACEPARENT.exec(sql.slice(i, n));
  return m?.[1] ? parseTraceparent(m[1]) : null;
}
