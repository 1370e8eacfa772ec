/**
 * @module The DuckDB span table: its DDL, and SpanRecord ↔ column conversion (Jaeger's dbmodel).
 *
 * Compact by construction: enums are UTINYINT codes, '' strings are stored as NULL (a validity
 * bit, no string write), numbers use the narrowest type of their documented domain, and the
 * maps (attributes, resource, events, warnings) are JSON text, NULL when empty. A value outside
 * its column's domain (a negative port, a fractional pid) is stored as the field's absent value
 * and the span gets a warning, so one bad field never fails a batch.
 */
import {
  BIGINT,
  DuckDBDataChunk,
  UBIGINT,
  UINTEGER,
  USMALLINT,
  UTINYINT,
  VARCHAR,
} from '@duckdb/node-api';
import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { writeChunkColumn } from './chunk-columns.js';
import type { ChunkCell, ChunkColumnKind } from './chunk-columns.js';
import { OBSERVATION_POINTS, RESPONSE_STATUSES, SPAN_KINDS } from '../../../model/index.js';
import type {
  AttributeValue,
  ObservationPoint,
  ResponseStatus,
  SpanEvent,
  SpanKind,
  SpanOrigin,
  SpanRecord,
  SpanSource,
  StatusCode,
  Transport,
} from '../../../model/index.js';

// Enum codes are persisted: append new values at the end, never reorder (enum-codes.test.ts
// keeps the stored order as a snapshot).
export const STATUS_CODES: readonly StatusCode[] = ['unset', 'ok', 'error'];
export const SOURCES: readonly SpanSource[] = ['app', 'sys', 'net'];
export const ORIGINS: readonly SpanOrigin[] = ['otlp', 'skywalking', 'zipkin', 'apm-api', 'ebpf', 'packet', 'pcap'];
export const TRANSPORTS: readonly Transport[] = ['', 'tcp', 'udp'];
export const KINDS: readonly SpanKind[] = SPAN_KINDS;
export const POINTS: readonly ObservationPoint[] = OBSERVATION_POINTS;
export const RESPONSES: readonly ResponseStatus[] = RESPONSE_STATUSES;

type ColumnKind = 'str' | 'u8' | 'u16' | 'u32' | 'u64' | 'i64' | 'i64null' | 'time';

interface Column {
  name: string;
  kind: ColumnKind;
  sqlType: string;
  duckType: DuckDBType;
}

const SQL_TYPE: Record<ColumnKind, [string, DuckDBType]> = {
  str: ['VARCHAR', VARCHAR],
  u8: ['UTINYINT', UTINYINT],
  u16: ['USMALLINT', USMALLINT],
  u32: ['UINTEGER', UINTEGER],
  u64: ['UBIGINT', UBIGINT],
  i64: ['BIGINT', BIGINT],
  i64null: ['BIGINT', BIGINT],
  time: ['BIGINT', BIGINT],
};

const col = (name: string, kind: ColumnKind): Column => {
  const [sqlType, duckType] = SQL_TYPE[kind];
  return { name, kind, sqlType, duckType };
};

/**
 * Columns in table order. `ord` is the store's write ordinal (the link-key index addresses
 * blocks of it); `sid` is the 64-bit hash of the span's identity, for read-time de-duplication.
 */
export const SPAN_COLUMNS: readonly Column[] = [
  col('ord', 'u64'),
  col('sid', 'u64'),
  col('trace_id', 'str'),
  col('span_id', 'str'),
  col('parent_span_id', 'str'),
  col('name', 'str'),
  col('kind', 'u8'),
  col('service', 'str'),
  col('start_ns', 'time'),
  col('end_ns', 'time'),
  col('status_code', 'u8'),
  col('status_message', 'str'),
  col('attributes', 'str'),
  col('resource', 'str'),
  col('events', 'str'),
  col('source', 'u8'),
  col('origin', 'u8'),
  col('observation_point', 'u8'),
  col('protocol', 'str'),
  col('request_type', 'str'),
  col('request_domain', 'str'),
  col('request_resource', 'str'),
  col('endpoint', 'str'),
  col('request_id', 'i64null'),
  col('response_status', 'u8'),
  col('response_code', 'i64null'),
  col('response_exception', 'str'),
  col('ip_version', 'u8'),
  col('client_ip', 'str'),
  col('server_ip', 'str'),
  col('client_port', 'u16'),
  col('server_port', 'u16'),
  col('transport', 'u8'),
  col('req_tcp_seq', 'u32'),
  col('resp_tcp_seq', 'u32'),
  col('host_id', 'str'),
  col('process_id', 'u32'),
  col('process_name', 'str'),
  col('thread_id_req', 'u32'),
  col('thread_id_resp', 'u32'),
  col('interface_name', 'str'),
  col('x_request_id_req', 'str'),
  col('x_request_id_resp', 'str'),
  col('syscall_trace_id_req', 'u64'),
  col('syscall_trace_id_resp', 'u64'),
  col('warnings', 'str'),
];

export const SPAN_TABLE_DDL = `CREATE TABLE IF NOT EXISTS spans (\n  ${SPAN_COLUMNS.map((c) => `${c.name} ${c.sqlType}`).join(',\n  ')}\n)`;

/** The SpanRecord field each column holds (ord/sid are the store's own). Used by the schema test. */
export const COLUMN_OF_FIELD: Readonly<Record<Exclude<keyof SpanRecord, never>, string>> = {
  traceId: 'trace_id',
  spanId: 'span_id',
  parentSpanId: 'parent_span_id',
  name: 'name',
  kind: 'kind',
  service: 'service',
  startTimeUnixNano: 'start_ns',
  endTimeUnixNano: 'end_ns',
  statusCode: 'status_code',
  statusMessage: 'status_message',
  attributes: 'attributes',
  resource: 'resource',
  events: 'events',
  source: 'source',
  origin: 'origin',
  observationPoint: 'observation_point',
  protocol: 'protocol',
  requestType: 'request_type',
  requestDomain: 'request_domain',
  requestResource: 'request_resource',
  endpoint: 'endpoint',
  requestId: 'request_id',
  responseStatus: 'response_status',
  responseCode: 'response_code',
  responseException: 'response_exception',
  ipVersion: 'ip_version',
  clientIp: 'client_ip',
  serverIp: 'server_ip',
  clientPort: 'client_port',
  serverPort: 'server_port',
  transport: 'transport',
  reqTcpSeq: 'req_tcp_seq',
  respTcpSeq: 'resp_tcp_seq',
  hostId: 'host_id',
  processId: 'process_id',
  processName: 'process_name',
  threadIdReq: 'thread_id_req',
  threadIdResp: 'thread_id_resp',
  interfaceName: 'interface_name',
  xRequestIdReq: 'x_request_id_req',
  xRequestIdResp: 'x_request_id_resp',
  syscallTraceIdReq: 'syscall_trace_id_req',
  syscallTraceIdResp: 'syscall_trace_id_resp',
  warnings: 'warnings',
};

export const SELECT_COLUMNS = SPAN_COLUMNS.map((c) => c.name).join(', ');

/** Each column's layout in a data chunk (64-bit signed kinds share one). */
const CHUNK_KINDS: readonly ChunkColumnKind[] = SPAN_COLUMNS.map((c) => (c.kind === 'i64null' || c.kind === 'time' ? 'i64' : c.kind));

/** DuckDB's vector size: a data chunk holds at most this many rows. */
export const CHUNK_ROWS = 2048;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function codeOf<T>(table: readonly T[], v: T): number {
  const i = table.indexOf(v);
  return i < 0 ? 0 : i;
}

function nonEmpty(s: string): string | null {
  return s === '' ? null : s;
}

function jsonOrNull(o: Record<string, AttributeValue>): string | null {
  for (const _k in o) return JSON.stringify(o);
  return null;
}

/** Same own keys in the same order with the same values (what makes JSON.stringify give the same text). */
function sameRecord(a: Record<string, AttributeValue>, b: Record<string, AttributeValue>): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i] as string;
    if (k !== kb[i] || a[k] !== b[k]) return false;
  }
  return true;
}

/**
 * Resource JSON per row: the spans of one request share one resource (each span holds its own
 * copy, equal to the previous span's), so its text is reused while the copies are equal instead
 * of serialized again for every span (~290 bytes for an SDK resource).
 */
function resourceColumn(part: readonly SpanRow[]): ChunkCell[] {
  const out = new Array<ChunkCell>(part.length);
  let last: Record<string, AttributeValue> | null = null;
  let lastJson: string | null = null;
  for (let i = 0; i < part.length; i++) {
    const r = (part[i] as SpanRow).span.resource;
    if (last === null || (r !== last && !sameRecord(r, last))) lastJson = jsonOrNull(r);
    last = r;
    out[i] = lastJson;
  }
  return out;
}

/** A span plus the store's ordinal and identity hash, ready to become one row. */
export interface SpanRow {
  ord: bigint;
  sid: bigint;
  span: SpanRecord;
}

/** The span table's column types for create_data_chunk, made once (each make is a native allocation). */
let logicalTypes: duckdb.LogicalType[] | null = null;

/**
 * Chunks whose rows were appended, reset for reuse. A new chunk allocates 46 vectors of
 * CHUNK_ROWS slots (~1 MB) whatever its row count, and the first writes into that fresh memory
 * fault its pages in: reusing a few chunks cut the store's CPU per span (BENCHMARKS.md, ingest).
 * Bounded: a larger write allocates the rest and lets them go.
 */
const chunkPool: DuckDBDataChunk[] = [];
const MAX_POOLED_CHUNKS = 8;

/** An empty data chunk of the span table's columns, `rows` rows long (at most CHUNK_ROWS). */
export function newSpanChunk(rows: number): DuckDBDataChunk {
  const pooled = chunkPool.pop();
  if (pooled !== undefined) {
    pooled.rowCount = rows;
    return pooled;
  }
  logicalTypes ??= SPAN_COLUMNS.map((c) => c.duckType.toLogicalType().logical_type);
  const chunk = new DuckDBDataChunk(duckdb.create_data_chunk(logicalTypes));
  chunk.rowCount = rows;
  return chunk;
}

/**
 * Gives back a chunk from newSpanChunk once the appender has copied its rows (after the flush):
 * reset (every row valid again, string heaps dropped, vectors kept) for the next newSpanChunk.
 */
export function releaseSpanChunk(chunk: DuckDBDataChunk): void {
  if (chunkPool.length >= MAX_POOLED_CHUNKS) return;
  duckdb.data_chunk_reset(chunk.chunk);
  chunkPool.push(chunk);
}

/**
 * Writes `part` into rows [rowOffset, rowOffset + part.length) of a chunk from newSpanChunk
 * (rowOffset a multiple of 64: NULL bits are written in whole 64-row words), so one chunk can be
 * filled in several short steps.
 */
export function fillSpanChunk(chunk: DuckDBDataChunk, rowOffset: number, part: readonly SpanRow[]): void {
  // Out-of-domain numbers become absent values and add a warning to the span before its
  // warnings column is written (warnings is the last column for that reason).
  const n = part.length;
  const warn = (i: number, field: string, v: unknown): void => {
    (part[i] as SpanRow).span.warnings.push(`store: ${field} ${String(v)} is out of range; stored as absent`);
  };
  const u = (field: keyof SpanRecord, max: number): ChunkCell[] => {
    const out = new Array<ChunkCell>(n);
    for (let i = 0; i < n; i++) {
      const v = (part[i] as SpanRow).span[field] as number;
      if (Number.isInteger(v) && v >= 0 && v <= max) out[i] = v;
      else {
        out[i] = 0;
        warn(i, field, v);
      }
    }
    return out;
  };
  // A JS number is exact up to 2^53: past that an unsigned 64-bit value was already rounded.
  const u64 = (field: keyof SpanRecord): ChunkCell[] => u(field, Number.MAX_SAFE_INTEGER);
  const i64null = (field: keyof SpanRecord): ChunkCell[] => {
    const out = new Array<ChunkCell>(n);
    for (let i = 0; i < n; i++) {
      const v = (part[i] as SpanRow).span[field] as number | null;
      if (v === null) out[i] = null;
      else if (Number.isSafeInteger(v)) out[i] = v;
      else {
        out[i] = null;
        warn(i, field, v);
      }
    }
    return out;
  };
  const time = (field: 'startTimeUnixNano' | 'endTimeUnixNano'): ChunkCell[] => {
    const out = new Array<ChunkCell>(n);
    for (let i = 0; i < n; i++) {
      const v = (part[i] as SpanRow).span[field];
      if (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX) out[i] = v;
      else {
        out[i] = 0n;
        warn(i, field, v);
      }
    }
    return out;
  };
  const str = (f: (s: SpanRecord) => string | null): ChunkCell[] => part.map((r) => f(r.span));
  const enumCol = <T>(table: readonly T[], f: (s: SpanRecord) => T): ChunkCell[] => part.map((r) => codeOf(table, f(r.span)));

  const columns: ChunkCell[][] = [
    part.map((r) => r.ord),
    part.map((r) => r.sid),
    str((s) => nonEmpty(s.traceId)),
    str((s) => nonEmpty(s.spanId)),
    str((s) => nonEmpty(s.parentSpanId)),
    str((s) => nonEmpty(s.name)),
    enumCol(KINDS, (s) => s.kind),
    str((s) => nonEmpty(s.service)),
    time('startTimeUnixNano'),
    time('endTimeUnixNano'),
    enumCol(STATUS_CODES, (s) => s.statusCode),
    str((s) => nonEmpty(s.statusMessage)),
    str((s) => jsonOrNull(s.attributes)),
    resourceColumn(part),
    str((s) => (s.events.length === 0 ? null : eventsToJson(s.events))),
    enumCol(SOURCES, (s) => s.source),
    enumCol(ORIGINS, (s) => s.origin),
    enumCol(POINTS, (s) => s.observationPoint),
    str((s) => nonEmpty(s.protocol)),
    str((s) => nonEmpty(s.requestType)),
    str((s) => nonEmpty(s.requestDomain)),
    str((s) => nonEmpty(s.requestResource)),
    str((s) => nonEmpty(s.endpoint)),
    i64null('requestId'),
    enumCol(RESPONSES, (s) => s.responseStatus),
    i64null('responseCode'),
    str((s) => nonEmpty(s.responseException)),
    u('ipVersion', 255),
    str((s) => nonEmpty(s.clientIp)),
    str((s) => nonEmpty(s.serverIp)),
    u('clientPort', 0xffff),
    u('serverPort', 0xffff),
    enumCol(TRANSPORTS, (s) => s.transport),
    u('reqTcpSeq', 0xffffffff),
    u('respTcpSeq', 0xffffffff),
    str((s) => nonEmpty(s.hostId)),
    u('processId', 0xffffffff),
    str((s) => nonEmpty(s.processName)),
    u('threadIdReq', 0xffffffff),
    u('threadIdResp', 0xffffffff),
    str((s) => nonEmpty(s.interfaceName)),
    str((s) => nonEmpty(s.xRequestIdReq)),
    str((s) => nonEmpty(s.xRequestIdResp)),
    u64('syscallTraceIdReq'),
    u64('syscallTraceIdResp'),
  ];
  // Last, after every conversion above had the chance to add a warning.
  columns.push(str((s) => (s.warnings.length === 0 ? null : JSON.stringify(s.warnings))));
  for (let c = 0; c < columns.length; c++) writeChunkColumn(chunk, c, CHUNK_KINDS[c] as ChunkColumnKind, columns[c] as ChunkCell[], n, rowOffset);
}

/** Events as compact JSON (times as decimal strings); shared with the ClickHouse store. */
export function eventsToJson(events: readonly SpanEvent[]): string {
  return JSON.stringify(events.map((e) => [String(e.timeUnixNano), e.name, e.attributes]));
}

export function eventsFromJson(text: string): SpanEvent[] {
  const raw = JSON.parse(text) as [string, string, Record<string, AttributeValue>][];
  return raw.map(([t, name, attributes]) => ({ timeUnixNano: BigInt(t), name, attributes }));
}

const s = (v: DuckDBValue | undefined): string => (v === null || v === undefined ? '' : (v as string));
const num = (v: DuckDBValue | undefined): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: DuckDBValue | undefined): number | null => (v === null || v === undefined ? null : Number(v));
const big = (v: DuckDBValue | undefined): bigint => (typeof v === 'bigint' ? v : BigInt((v as number | null) ?? 0));
const pick = <T>(table: readonly T[], v: DuckDBValue | undefined): T => table[num(v)] ?? (table[0] as T);

/** One row, selected with `SELECT_COLUMNS`, back to a fresh SpanRecord. */
export function rowToSpan(r: readonly DuckDBValue[]): SpanRecord {
  const attributes = r[12] === null ? {} : (JSON.parse(r[12] as string) as Record<string, AttributeValue>);
  const resource = r[13] === null ? {} : (JSON.parse(r[13] as string) as Record<string, AttributeValue>);
  return {
    traceId: s(r[2]),
    spanId: s(r[3]),
    parentSpanId: s(r[4]),
    name: s(r[5]),
    kind: pick(KINDS, r[6]),
    service: s(r[7]),
    startTimeUnixNano: big(r[8]),
    endTimeUnixNano: big(r[9]),
    statusCode: pick(STATUS_CODES, r[10]),
    statusMessage: s(r[11]),
    attributes,
    resource,
    events: r[14] === null ? [] : eventsFromJson(r[14] as string),
    source: pick(SOURCES, r[15]),
    origin: pick(ORIGINS, r[16]),
    observationPoint: pick(POINTS, r[17]),
    protocol: s(r[18]),
    requestType: s(r[19]),
    requestDomain: s(r[20]),
    requestResource: s(r[21]),
    endpoint: s(r[22]),
    requestId: numOrNull(r[23]),
    responseStatus: pick(RESPONSES, r[24]),
    responseCode: numOrNull(r[25]),
    responseException: s(r[26]),
    ipVersion: num(r[27]) as SpanRecord['ipVersion'],
    clientIp: s(r[28]),
    serverIp: s(r[29]),
    clientPort: num(r[30]),
    serverPort: num(r[31]),
    transport: pick(TRANSPORTS, r[32]),
    reqTcpSeq: num(r[33]),
    respTcpSeq: num(r[34]),
    hostId: s(r[35]),
    processId: num(r[36]),
    processName: s(r[37]),
    threadIdReq: num(r[38]),
    threadIdResp: num(r[39]),
    interfaceName: s(r[40]),
    xRequestIdReq: s(r[41]),
    xRequestIdResp: s(r[42]),
    syscallTraceIdReq: num(r[43]),
    syscallTraceIdResp: num(r[44]),
    warnings: r[45] === null ? [] : (JSON.parse(r[45] as string) as string[]),
  };
}
