/**
 * @module What the UI reads from the query API. The span and trace shapes are the server's own
 * types (`src/server/query`, type-only imports, erased from the bundle), so a change there fails
 * type-checking here. Fields a newer server may add (per-span `possibleParents`, structured
 * warnings) are read through the normalisers below, which accept what they know and ignore the
 * rest, so an older or newer server never breaks the page.
 */
import type { ApiSpan, ApiTrace } from '../../../server/query/index.js';
import type { TraceColumn, TraceColumns } from '../../../server/query/trace-columns.js';
import type { TraceSearchAnswer, TraceSummary } from '../../../server/query/trace-search.js';

export type { ApiSpan, ApiTrace, TraceColumn, TraceColumns, TraceSearchAnswer, TraceSummary };

/** An ambiguous candidate parent the assembly did not use. */
export interface PossibleParent {
  /** Node id of the candidate when it is in this trace; null when it is not (another request's trace). */
  id: string | null;
  spanId: string;
  traceId: string;
  service: string;
  name: string;
  /** Link reason it would have had (`syscall`, `x_request_id`, …), when given. */
  reason: string | null;
  confidence: number | null;
  /** The server's own words on why it was not used, when given. */
  why: string | null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/**
 * A span's `possibleParents`, whatever of it is well-formed:
 * `[{id, spanId?, traceId?, service?, name?, reason?, confidence?, why?}]` or plain node ids.
 */
export function possibleParentsOf(span: ApiSpan): PossibleParent[] {
  const raw = (span as unknown as { possibleParents?: unknown }).possibleParents;
  if (!Array.isArray(raw)) return [];
  const out: PossibleParent[] = [];
  for (const p of raw) {
    if (typeof p === 'string' && p !== '') {
      out.push({ id: p, spanId: '', traceId: '', service: '', name: '', reason: null, confidence: null, why: null });
      continue;
    }
    if (typeof p !== 'object' || p === null) continue;
    const o = p as Record<string, unknown>;
    const id = str(o.id) ?? str(o.parentId);
    const spanId = str(o.spanId) ?? '';
    if (id === null && spanId === '') continue;
    const confidence = typeof o.confidence === 'number' && Number.isFinite(o.confidence) ? o.confidence : null;
    out.push({
      id,
      spanId,
      traceId: str(o.traceId) ?? '',
      service: str(o.service) ?? '',
      name: str(o.name) ?? '',
      reason: str(o.reason) ?? str(o.linkReason),
      confidence,
      why: str(o.why) ?? str(o.message) ?? str(o.detail),
    });
  }
  return out;
}

/** A trace or span warning as text: strings as they are, `{message}`/`{code}` objects by their words. */
export function warningText(w: unknown): string {
  if (typeof w === 'string') return w;
  if (typeof w === 'object' && w !== null) {
    const o = w as Record<string, unknown>;
    const msg = str(o.message) ?? str(o.text) ?? str(o.detail);
    const code = str(o.code) ?? str(o.kind) ?? str(o.type);
    if (msg !== null) return code !== null ? `${msg} (${code})` : msg;
    if (code !== null) return code;
  }
  try {
    return JSON.stringify(w);
  } catch {
    return String(w);
  }
}

/** The query API's error body. */
export interface ApiErrorBody {
  error?: { code?: string; message?: string } | string;
  message?: string;
}

/**
 * The empty defaults of span fields that `?compact=true` may leave out (json-stream.ts on the
 * server: '' , 0, null, [] and {} are dropped, the contract's fields kept). The client asks for
 * compact traces (a third of the bytes, so a third of the parse) and puts these back.
 */
const EMPTY_STRING_FIELDS = [
  'kind', 'service', 'statusMessage', 'protocol', 'requestType', 'requestDomain', 'requestResource', 'endpoint', 'responseException',
  'traceId', 'spanId', 'parentSpanId', 'clientIp', 'serverIp', 'transport', 'hostId', 'processName', 'interfaceName', 'xRequestIdReq', 'xRequestIdResp', 'origin',
] as const;
const ZERO_FIELDS = ['ipVersion', 'clientPort', 'serverPort', 'reqTcpSeq', 'respTcpSeq', 'processId', 'threadIdReq', 'threadIdResp', 'syscallTraceIdReq', 'syscallTraceIdResp'] as const;
const NULL_FIELDS = ['parentId', 'linkReason', 'confidence', 'requestId', 'responseCode'] as const;

/** Fills, in place, what a compact answer left out; a full answer passes through unchanged. */
export function fillSpanDefaults(trace: ApiTrace): ApiTrace {
  for (const span of trace.spans) {
    const s = span as unknown as Record<string, unknown>;
    for (const k of EMPTY_STRING_FIELDS) if (s[k] === undefined) s[k] = '';
    for (const k of ZERO_FIELDS) if (s[k] === undefined) s[k] = 0;
    for (const k of NULL_FIELDS) if (s[k] === undefined) s[k] = null;
    if (s.attributes === undefined) s.attributes = {};
    if (s.resource === undefined) s.resource = {};
    if (s.events === undefined) s.events = [];
    if (s.warnings === undefined) s.warnings = [];
    if (s.possibleParents === undefined) s.possibleParents = [];
    if (s.clockOffsetNano === undefined) s.clockOffsetNano = '0';
    if (s.statusCode === undefined) s.statusCode = 'unset';
    if (s.responseStatus === undefined) s.responseStatus = 'unknown';
  }
  if (!Array.isArray(trace.warnings)) (trace as { warnings: unknown[] }).warnings = [];
  if (!Array.isArray(trace.services)) (trace as { services: string[] }).services = [];
  return trace;
}
