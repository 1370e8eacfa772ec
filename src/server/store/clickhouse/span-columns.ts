/**
 * @module The ClickHouse span table's columns, and SpanRecord ↔ row conversion (Jaeger's dbmodel).
 *
 * One schema for ClickHouse 18.16 and current servers: times are UInt64 nanoseconds (no
 * DateTime64), attributes are parallel arrays of keys, values and type codes (no Map/JSON),
 * enums are UInt8 codes shared with the DuckDB store, and no LowCardinality or codecs. Rows go
 * in as RowBinary and come back as JSONCompact. A value outside its column's domain (a negative
 * port, a time before 1970) is stored as the field's absent value and the span gets a warning,
 * as in the DuckDB store, so one bad field never fails a batch.
 */
import type { AttributeValue, SpanRecord } from '../../../model/index.js';
import {
  COLUMN_OF_FIELD as DUCKDB_COLUMN_OF_FIELD,
  KINDS,
  ORIGINS,
  POINTS,
  RESPONSES,
  SOURCES,
  STATUS_CODES,
  TRANSPORTS,
  eventsFromJson,
  eventsToJson,
} from '../duckdb/span-rows.js';
import type { RowBinaryWriter } from './row-binary.js';

/** Column name and ClickHouse type, in table (and RowBinary) order. */
export const SPAN_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['trace_id', 'String'],
  ['span_id', 'String'],
  ['parent_span_id', 'String'],
  ['name', 'String'],
  ['kind', 'UInt8'],
  ['service', 'String'],
  ['start_ns', 'UInt64'],
  ['end_ns', 'UInt64'],
  ['status_code', 'UInt8'],
  ['status_message', 'String'],
  ['attr_keys', 'Array(String)'],
  ['attr_values', 'Array(String)'],
  ['attr_types', 'Array(UInt8)'],
  ['res_keys', 'Array(String)'],
  ['res_values', 'Array(String)'],
  ['res_types', 'Array(UInt8)'],
  ['events', 'String'],
  ['source', 'UInt8'],
  ['origin', 'UInt8'],
  ['observation_point', 'UInt8'],
  ['protocol', 'String'],
  ['request_type', 'String'],
  ['request_domain', 'String'],
  ['request_resource', 'String'],
  ['endpoint', 'String'],
  ['request_id', 'Nullable(Int64)'],
  ['response_status', 'UInt8'],
  ['response_code', 'Nullable(Int64)'],
  ['response_exception', 'String'],
  ['ip_version', 'UInt8'],
  ['client_ip', 'String'],
  ['server_ip', 'String'],
  ['client_port', 'UInt16'],
  ['server_port', 'UInt16'],
  ['transport', 'UInt8'],
  ['req_tcp_seq', 'UInt32'],
  ['resp_tcp_seq', 'UInt32'],
  ['host_id', 'String'],
  ['process_id', 'UInt32'],
  ['process_name', 'String'],
  ['thread_id_req', 'UInt32'],
  ['thread_id_resp', 'UInt32'],
  ['interface_name', 'String'],
  ['x_request_id_req', 'String'],
  ['x_request_id_resp', 'String'],
  ['syscall_trace_id_req', 'UInt64'],
  ['syscall_trace_id_resp', 'UInt64'],
  ['warnings', 'Array(String)'],
];

export const SELECT_COLUMNS = SPAN_COLUMNS.map(([n]) => n).join(', ');

/**
 * The column each SpanRecord field lives in: the DuckDB names (the same schema), except the
 * maps, which are spread over parallel arrays here and named by their key array.
 */
export const COLUMN_OF_FIELD: Readonly<Record<keyof SpanRecord, string>> = {
  ...DUCKDB_COLUMN_OF_FIELD,
  attributes: 'attr_keys',
  resource: 'res_keys',
};

/** Attribute value type codes in `attr_types` / `res_types`. Persisted: never reorder. */
const ATTR_STRING = 0;
const ATTR_NUMBER = 1;
const ATTR_BOOL = 2;

const U64_MAX = 2n ** 64n - 1n;

function codeOf<T>(table: readonly T[], v: T): number {
  const i = table.indexOf(v);
  return i < 0 ? 0 : i;
}

export function attributeText(v: AttributeValue): string {
  // String(v) exactly, as tag filters compare (`tagValueOf`), so SQL tag matches are exact.
  return String(v);
}

function writeAttributes(w: RowBinaryWriter, attrs: Record<string, AttributeValue>): void {
  const keys = Object.keys(attrs);
  w.stringArray(keys);
  w.varuint(keys.length);
  for (const k of keys) w.string(attributeText(attrs[k] as AttributeValue));
  w.varuint(keys.length);
  for (const k of keys) {
    const v = attrs[k];
    w.u8(typeof v === 'number' ? ATTR_NUMBER : typeof v === 'boolean' ? ATTR_BOOL : ATTR_STRING);
  }
}

function warn(s: SpanRecord, field: string, v: unknown): void {
  s.warnings.push(`store: ${field} ${String(v)} is out of range; stored as absent`);
}

/** An integer field in 0..max, else 0 with a warning. Module-level: no closure per span. */
function uint(s: SpanRecord, field: keyof SpanRecord, max: number): number {
  const v = s[field] as number;
  if (Number.isInteger(v) && v >= 0 && v <= max) return v;
  warn(s, field, v);
  return 0;
}

function time(s: SpanRecord, field: 'startTimeUnixNano' | 'endTimeUnixNano'): bigint {
  const v = s[field];
  if (typeof v === 'bigint' && v >= 0n && v <= U64_MAX) return v;
  warn(s, field, v);
  return 0n;
}

function nullableInt(s: SpanRecord, field: 'requestId' | 'responseCode'): bigint | null {
  const v = s[field];
  if (v === null) return null;
  if (Number.isSafeInteger(v)) return BigInt(v);
  warn(s, field, v);
  return null;
}

function safeU64(s: SpanRecord, field: 'syscallTraceIdReq' | 'syscallTraceIdResp'): number {
  const v = s[field];
  if (Number.isSafeInteger(v) && v >= 0) return v;
  warn(s, field, v);
  return 0;
}

/**
 * Appends one span as a RowBinary row. Out-of-domain numbers become absent values and add a
 * warning to the span before its warnings column (the last one) is written.
 */
export function writeSpanRow(w: RowBinaryWriter, s: SpanRecord): void {
  w.string(s.traceId);
  w.string(s.spanId);
  w.string(s.parentSpanId);
  w.string(s.name);
  w.u8(codeOf(KINDS, s.kind));
  w.string(s.service);
  w.u64(time(s, 'startTimeUnixNano'));
  w.u64(time(s, 'endTimeUnixNano'));
  w.u8(codeOf(STATUS_CODES, s.statusCode));
  w.string(s.statusMessage);
  writeAttributes(w, s.attributes);
  writeAttributes(w, s.resource);
  w.string(s.events.length === 0 ? '' : eventsToJson(s.events));
  w.u8(codeOf(SOURCES, s.source));
  w.u8(codeOf(ORIGINS, s.origin));
  w.u8(codeOf(POINTS, s.observationPoint));
  w.string(s.protocol);
  w.string(s.requestType);
  w.string(s.requestDomain);
  w.string(s.requestResource);
  w.string(s.endpoint);
  w.nullableI64(nullableInt(s, 'requestId'));
  w.u8(codeOf(RESPONSES, s.responseStatus));
  w.nullableI64(nullableInt(s, 'responseCode'));
  w.string(s.responseException);
  w.u8(uint(s, 'ipVersion', 255));
  w.string(s.clientIp);
  w.string(s.serverIp);
  w.u16(uint(s, 'clientPort', 0xffff));
  w.u16(uint(s, 'serverPort', 0xffff));
  w.u8(codeOf(TRANSPORTS, s.transport));
  w.u32(uint(s, 'reqTcpSeq', 0xffffffff));
  w.u32(uint(s, 'respTcpSeq', 0xffffffff));
  w.string(s.hostId);
  w.u32(uint(s, 'processId', 0xffffffff));
  w.string(s.processName);
  w.u32(uint(s, 'threadIdReq', 0xffffffff));
  w.u32(uint(s, 'threadIdResp', 0xffffffff));
  w.string(s.interfaceName);
  w.string(s.xRequestIdReq);
  w.string(s.xRequestIdResp);
  w.u64n(safeU64(s, 'syscallTraceIdReq'));
  w.u64n(safeU64(s, 'syscallTraceIdResp'));
  // Last, after every conversion above had the chance to add a warning.
  w.stringArray(s.warnings);
}

/** A JSONCompact cell: ClickHouse quotes 64-bit integers, so numbers may arrive as strings. */
type Cell = string | number | null | Cell[];

const str = (v: Cell | undefined): string => (typeof v === 'string' ? v : '');
const num = (v: Cell | undefined): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: Cell | undefined): number | null => (v === null || v === undefined ? null : Number(v));
const big = (v: Cell | undefined): bigint => BigInt(typeof v === 'string' || typeof v === 'number' ? v : 0);
const pick = <T>(table: readonly T[], v: Cell | undefined): T => table[num(v)] ?? (table[0] as T);

function readAttributes(keys: Cell | undefined, values: Cell | undefined, types: Cell | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  const ks = (keys ?? []) as string[];
  const vs = (values ?? []) as string[];
  const ts = (types ?? []) as (number | string)[];
  for (let i = 0; i < ks.length; i++) {
    const text = vs[i] ?? '';
    const t = Number(ts[i] ?? ATTR_STRING);
    out[ks[i] as string] = t === ATTR_NUMBER ? Number(text) : t === ATTR_BOOL ? text === 'true' : text;
  }
  return out;
}

/** One JSONCompact row selected with `SELECT_COLUMNS`, back to a fresh SpanRecord. */
export function rowToSpan(r: readonly Cell[]): SpanRecord {
  const events = str(r[16]);
  return {
    traceId: str(r[0]),
    spanId: str(r[1]),
    parentSpanId: str(r[2]),
    name: str(r[3]),
    kind: pick(KINDS, r[4]),
    service: str(r[5]),
    startTimeUnixNano: big(r[6]),
    endTimeUnixNano: big(r[7]),
    statusCode: pick(STATUS_CODES, r[8]),
    statusMessage: str(r[9]),
    attributes: readAttributes(r[10], r[11], r[12]),
    resource: readAttributes(r[13], r[14], r[15]),
    events: events === '' ? [] : eventsFromJson(events),
    source: pick(SOURCES, r[17]),
    origin: pick(ORIGINS, r[18]),
    observationPoint: pick(POINTS, r[19]),
    protocol: str(r[20]),
    requestType: str(r[21]),
    requestDomain: str(r[22]),
    requestResource: str(r[23]),
    endpoint: str(r[24]),
    requestId: numOrNull(r[25]),
    responseStatus: pick(RESPONSES, r[26]),
    responseCode: numOrNull(r[27]),
    responseException: str(r[28]),
    ipVersion: num(r[29]) as SpanRecord['ipVersion'],
    clientIp: str(r[30]),
    serverIp: str(r[31]),
    clientPort: num(r[32]),
    serverPort: num(r[33]),
    transport: pick(TRANSPORTS, r[34]),
    reqTcpSeq: num(r[35]),
    respTcpSeq: num(r[36]),
    hostId: str(r[37]),
    processId: num(r[38]),
    processName: str(r[39]),
    threadIdReq: num(r[40]),
    threadIdResp: num(r[41]),
    interfaceName: str(r[42]),
    xRequestIdReq: str(r[43]),
    xRequestIdResp: str(r[44]),
    syscallTraceIdReq: num(r[45]),
    syscallTraceIdResp: num(r[46]),
    warnings: ((r[47] ?? []) as string[]).slice(),
  };
}

