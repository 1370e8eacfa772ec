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

/** Whether `id` is non-empty lowercase hex, not all zeros (W3C: an all-zero id is invalid). */
function isHexId(id: string): boolean {
  let nonZero = false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
    if (c !== 0x30) nonZero = true;
  }
  return nonZero;
}

/**
 * `raw` as a lowercase hex id left-padded to `width` digits (as OTel pads 64-bit B3 and Jaeger
 * trace ids to 128 bits), or '' when it is empty, longer, not hex, or all zeros. One pass, and
 * no new string for the usual already-lowercase full-width id: this runs for every traced
 * request the agent sees.
 */
function normalizeHexId(raw: string, width: number): string {
  const n = raw.length;
  if (n === 0 || n > width) return '';
  let nonZero = false;
  let upper = false;
  for (let i = 0; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (c !== 0x30) nonZero = true;
    } else if (c >= 0x61 && c <= 0x66) nonZero = true;
    else if (c >= 0x41 && c <= 0x46) nonZero = upper = true;
    else return '';
  }
  if (!nonZero) return '';
  const id = upper ? raw.toLowerCase() : raw;
  return n === width ? id : id.padStart(width, '0');
}

const normalizeTraceId = (raw: string): string => normalizeHexId(raw, 32);
const normalizeSpanId = (raw: string): string => normalizeHexId(raw, 16);

/** W3C trace-context §3.2: `version-traceid(32)-parentid(16)-flags`. */
export function parseTraceparent(value: string): TraceContext | null {
  const v = value.trim();
  // Fixed layout: 2 + 1 + 32 + 1 + 16 + 1 + 2 (later versions may append fields).
  if (v.length < 55 || v.charCodeAt(2) !== 0x2d || v.charCodeAt(35) !== 0x2d || v.charCodeAt(52) !== 0x2d) return null;
  if (v.length > 55 && v.charCodeAt(55) !== 0x2d) return null;
  const version = v.slice(0, 2).toLowerCase();
  if (version === 'ff' || !isHexId(version) && version !== '00') return null;
  const traceId = normalizeTraceId(v.slice(3, 35));
  const parentSpanId = normalizeSpanId(v.slice(36, 52));
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
