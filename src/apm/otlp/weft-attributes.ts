/**
 * @module The `weft.*` attribute mapping: every SpanRecord field OTLP has no slot for.
 *
 * The agent ships SYS/NET spans to the server as OTLP spans carrying these attributes, and the
 * OTLP exporter writes the same ones for external backends: one mapping, two uses. A span is
 * in "weft form" when it carries `weft.source`; the decoder then reads every field back from
 * `weft.*` instead of guessing from semantic conventions, so decode(encode(s)) equals s.
 *
 * Keys are `weft.` + the field name in snake_case (`requestType` → `weft.request_type`).
 * Fields at their `emptySpan()` value are omitted, except source/origin/observationPoint.
 * A user attribute whose key already starts with `weft.` travels as `weft.attr.<key>`.
 */
import { OBSERVATION_POINTS, RESPONSE_STATUSES } from '../../model/index.js';
import { setOwn } from '../wire-values.js';
import type { AttributeValue, ObservationPoint, ResponseStatus, SpanOrigin, SpanRecord, SpanSource, Transport } from '../../model/index.js';

export const WEFT_PREFIX = 'weft.';
/** Escape prefix for user attributes that would collide with the mapping. */
export const WEFT_ESCAPED_ATTR_PREFIX = 'weft.attr.';
export const WEFT_SOURCE_KEY = 'weft.source';
/** Original ids that do not fit OTLP's 16/8-byte slots (SkyWalking ids, '' for an all-zero id…). */
export const WEFT_TRACE_ID_KEY = 'weft.trace_id';
export const WEFT_SPAN_ID_KEY = 'weft.span_id';
export const WEFT_PARENT_SPAN_ID_KEY = 'weft.parent_span_id';
export const WEFT_WARNINGS_KEY = 'weft.warnings';

type KeysOfType<T> = { [K in keyof SpanRecord]: SpanRecord[K] extends T ? (T extends SpanRecord[K] ? K : never) : never }[keyof SpanRecord];

const STRING_FIELDS = [
  'protocol',
  'requestType',
  'requestDomain',
  'requestResource',
  'endpoint',
  'responseException',
  'clientIp',
  'serverIp',
  'hostId',
  'processName',
  'interfaceName',
  'xRequestIdReq',
  'xRequestIdResp',
] as const satisfies readonly KeysOfType<string>[];

const INT_FIELDS = [
  'clientPort',
  'serverPort',
  'reqTcpSeq',
  'respTcpSeq',
  'processId',
  'threadIdReq',
  'threadIdResp',
  'syscallTraceIdReq',
  'syscallTraceIdResp',
] as const satisfies readonly KeysOfType<number>[];

const NULLABLE_INT_FIELDS = ['requestId', 'responseCode'] as const satisfies readonly KeysOfType<number | null>[];

const SOURCES: readonly SpanSource[] = ['app', 'sys', 'net'];
const ORIGINS: readonly SpanOrigin[] = ['otlp', 'skywalking', 'zipkin', 'apm-api', 'ebpf', 'packet', 'pcap'];
const TRANSPORTS: readonly Transport[] = ['tcp', 'udp', ''];

export function weftKey(field: string): string {
  return WEFT_PREFIX + field.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}

const K = {
  origin: weftKey('origin'),
  observationPoint: weftKey('observationPoint'),
  responseStatus: weftKey('responseStatus'),
  ipVersion: weftKey('ipVersion'),
  transport: weftKey('transport'),
};

/** An attribute to write: scalar, or a string list (encoded as an OTLP ArrayValue). */
export type WeftAttributeValue = AttributeValue | string[];

/** The weft.* attributes of a span, plus its user attributes (escaped where needed). */
export function weftAttributesOf(span: SpanRecord): Map<string, WeftAttributeValue> {
  const out = new Map<string, WeftAttributeValue>();
  for (const [k, v] of Object.entries(span.attributes)) {
    out.set(k.startsWith(WEFT_PREFIX) ? WEFT_ESCAPED_ATTR_PREFIX + k : k, v);
  }
  out.set(WEFT_SOURCE_KEY, span.source);
  out.set(K.origin, span.origin);
  out.set(K.observationPoint, span.observationPoint);
  for (const f of STRING_FIELDS) if (span[f] !== '') out.set(weftKey(f), span[f]);
  for (const f of INT_FIELDS) if (span[f] !== 0) out.set(weftKey(f), span[f]);
  for (const f of NULLABLE_INT_FIELDS) {
    const v = span[f];
    if (v !== null) out.set(weftKey(f), v);
  }
  if (span.responseStatus !== 'unknown') out.set(K.responseStatus, span.responseStatus);
  if (span.ipVersion !== 0) out.set(K.ipVersion, span.ipVersion);
  if (span.transport !== '') out.set(K.transport, span.transport);
  if (span.warnings.length > 0) out.set(WEFT_WARNINGS_KEY, span.warnings);
  return out;
}

function oneOf<T extends string>(v: AttributeValue | undefined, allowed: readonly T[]): T | undefined {
  return typeof v === 'string' && (allowed as readonly string[]).includes(v) ? (v as T) : undefined;
}

function intOf(v: AttributeValue | undefined): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

/**
 * Reads a weft-form span's fields back from its attributes into `span`, sets
 * `span.attributes` to the user attributes (unescaped) and returns the id overrides.
 * Values of the wrong type or outside their enum keep the default and add a warning.
 */
export function applyWeftAttributes(
  span: SpanRecord,
  attrs: Record<string, AttributeValue>,
  warnings: string[],
): void {
  const bad = (key: string): void => {
    span.warnings.push(`ignored invalid ${key}`);
  };
  const get = (key: string): AttributeValue | undefined => attrs[key];

  span.source = oneOf(get(WEFT_SOURCE_KEY), SOURCES) ?? (bad(WEFT_SOURCE_KEY), span.source);
  if (get(K.origin) !== undefined) span.origin = oneOf(get(K.origin), ORIGINS) ?? (bad(K.origin), span.origin);
  if (get(K.observationPoint) !== undefined) {
    span.observationPoint = oneOf<ObservationPoint>(get(K.observationPoint), OBSERVATION_POINTS) ?? (bad(K.observationPoint), span.observationPoint);
  }
  for (const f of STRING_FIELDS) {
    const v = get(weftKey(f));
    if (v !== undefined) span[f] = String(v);
  }
  for (const f of INT_FIELDS) {
    const key = weftKey(f);
    const v = get(key);
    if (v !== undefined) span[f] = intOf(v) ?? (bad(key), 0);
  }
  for (const f of NULLABLE_INT_FIELDS) {
    const key = weftKey(f);
    const v = get(key);
    if (v !== undefined) span[f] = intOf(v) ?? (bad(key), null);
  }
  const rs = get(K.responseStatus);
  if (rs !== undefined) span.responseStatus = oneOf<ResponseStatus>(rs, RESPONSE_STATUSES) ?? (bad(K.responseStatus), 'unknown');
  const ipv = get(K.ipVersion);
  if (ipv !== undefined) {
    const n = intOf(ipv);
    if (n === 4 || n === 6 || n === 0) span.ipVersion = n;
    else bad(K.ipVersion);
  }
  const tr = get(K.transport);
  if (tr !== undefined) span.transport = oneOf(tr, TRANSPORTS) ?? (bad(K.transport), '');

  const user: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith(WEFT_ESCAPED_ATTR_PREFIX)) setOwn(user, k.slice(WEFT_ESCAPED_ATTR_PREFIX.length), v);
    else if (!k.startsWith(WEFT_PREFIX)) setOwn(user, k, v);
  }
  span.attributes = user;
  // Warnings carried on the wire come first, then any found while reading.
  if (warnings.length > 0) span.warnings = [...warnings, ...span.warnings];
}
