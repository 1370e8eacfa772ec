/**
 * @module SpanQuery and link keys → ClickHouse WHERE conditions, every value through `sqlLiteral`.
 *
 * The conditions are exact (the same rules as `matchesSpanQuery`), so a search needs no paging
 * to re-filter in JS; the store still re-checks each row, which costs little and keeps a
 * translation slip from ever showing a wrong span.
 */
import type { SpanRecord } from '../../../model/index.js';
import { KINDS, ORIGINS, POINTS, RESPONSES, SOURCES, STATUS_CODES, TRANSPORTS } from '../duckdb/span-rows.js';
import { TAGGABLE_FIELDS } from '../span-query-match.js';
import type { LinkKey, SpanQuery } from '../store.js';
import { COLUMN_OF_FIELD } from './span-columns.js';
import { sqlList, sqlLiteral } from './sql-literal.js';

const CANONICAL_UINT = /^(0|[1-9][0-9]*)$/;
const CANONICAL_INT = /^-?(0|[1-9][0-9]*)$/;
const U32_MAX = 0xffffffffn;
const U64_MAX = 2n ** 64n - 1n;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

const ENUM_TABLES: Partial<Record<keyof SpanRecord, readonly string[]>> = {
  kind: KINDS,
  statusCode: STATUS_CODES,
  source: SOURCES,
  origin: ORIGINS,
  observationPoint: POINTS,
  responseStatus: RESPONSES,
  transport: TRANSPORTS,
};
const UINT_FIELDS = new Set<keyof SpanRecord>([
  'startTimeUnixNano',
  'endTimeUnixNano',
  'ipVersion',
  'clientPort',
  'serverPort',
  'reqTcpSeq',
  'respTcpSeq',
  'processId',
  'threadIdReq',
  'threadIdResp',
  'syscallTraceIdReq',
  'syscallTraceIdResp',
]);
const NULLABLE_INT_FIELDS = new Set<keyof SpanRecord>(['requestId', 'responseCode']);

/** The exact condition for a tag on a SpanRecord field (`tagValueOf`: String(value), null as ''). */
function fieldTagCondition(field: keyof SpanRecord, want: string): string {
  const column = COLUMN_OF_FIELD[field];
  const table = ENUM_TABLES[field];
  if (table) {
    const code = table.indexOf(want);
    return code < 0 ? '0' : `${column} = ${code}`;
  }
  if (UINT_FIELDS.has(field)) {
    return CANONICAL_UINT.test(want) && BigInt(want) <= U64_MAX ? `${column} = ${sqlLiteral(BigInt(want))}` : '0';
  }
  if (NULLABLE_INT_FIELDS.has(field)) {
    if (want === '') return `isNull(${column})`;
    return CANONICAL_INT.test(want) && BigInt(want) >= I64_MIN && BigInt(want) <= I64_MAX ? `${column} = ${sqlLiteral(BigInt(want))}` : '0';
  }
  return `${column} = ${sqlLiteral(want)}`;
}

/** A tag on an attribute key: its text in span attributes or in the resource equals the value. */
function attributeTagCondition(key: string, want: string): string {
  const k = sqlLiteral(key);
  const v = sqlLiteral(want);
  return `((has(attr_keys, ${k}) AND attr_values[indexOf(attr_keys, ${k})] = ${v}) OR (has(res_keys, ${k}) AND res_values[indexOf(res_keys, ${k})] = ${v}))`;
}

/** WHERE conditions for a SpanQuery (without the limit). */
export function spanQueryConditions(q: SpanQuery): string[] {
  const c: string[] = [];
  if (q.service !== undefined) c.push(`service = ${sqlLiteral(q.service)}`);
  if (q.operation !== undefined) {
    const op = sqlLiteral(q.operation);
    c.push(`(name = ${op} OR endpoint = ${op})`);
  }
  if (q.protocol !== undefined) c.push(`protocol = ${sqlLiteral(q.protocol)}`);
  if (q.source !== undefined) c.push(`source = ${SOURCES.indexOf(q.source)}`);
  if (q.observationPoint !== undefined) c.push(`observation_point = ${POINTS.indexOf(q.observationPoint)}`);
  if (q.kind !== undefined) c.push(`kind = ${KINDS.indexOf(q.kind)}`);
  if (q.timeRange !== undefined) {
    const lo = q.timeRange.startUnixNano;
    const hi = q.timeRange.endUnixNano;
    if (hi < 0n || lo > hi) c.push('0');
    else c.push(`start_ns BETWEEN ${sqlLiteral(lo < 0n ? 0n : lo)} AND ${sqlLiteral(hi > U64_MAX ? U64_MAX : hi)}`);
  }
  // Duration as the model defines it: end - start, 0 when the end is before the start.
  const duration = 'if(end_ns > start_ns, end_ns - start_ns, 0)';
  if (q.minDurationNano !== undefined && q.minDurationNano > 0n) {
    c.push(q.minDurationNano > U64_MAX ? '0' : `${duration} >= ${sqlLiteral(q.minDurationNano)}`);
  }
  if (q.maxDurationNano !== undefined) {
    if (q.maxDurationNano < 0n) c.push('0');
    else if (q.maxDurationNano <= U64_MAX) c.push(`${duration} <= ${sqlLiteral(q.maxDurationNano)}`);
  }
  if (q.errorsOnly === true) {
    c.push(
      `(status_code = ${STATUS_CODES.indexOf('error')} OR response_status NOT IN (${RESPONSES.indexOf('ok')}, ${RESPONSES.indexOf('unknown')}))`,
    );
  }
  for (const [k, v] of Object.entries(q.tags ?? {})) {
    c.push(TAGGABLE_FIELDS.has(k) ? fieldTagCondition(k as keyof SpanRecord, v) : attributeTagCondition(k, v));
  }
  return c;
}

/** The keys a lookup can match at all: absent values (0, '') and malformed numbers match nothing. */
export function usableLinkKeys(keys: readonly LinkKey[]): LinkKey[] {
  return keys.filter((k) => {
    if (k.value === '') return false;
    if (k.type === 'tcp_seq') return CANONICAL_UINT.test(k.value) && k.value !== '0' && BigInt(k.value) <= U32_MAX;
    if (k.type === 'syscall') return CANONICAL_UINT.test(k.value) && k.value !== '0' && BigInt(k.value) <= U64_MAX;
    return true;
  });
}

/** The exact condition "has any of these (usable) link keys"; null when the list is empty. */
export function linkKeyCondition(keys: readonly LinkKey[]): string | null {
  const by: Record<LinkKey['type'], string[]> = { trace: [], span: [], parent: [], tcp_seq: [], syscall: [], x_request_id: [] };
  for (const k of usableLinkKeys(keys)) by[k.type].push(k.value);
  const ors: string[] = [];
  if (by.trace.length) ors.push(`trace_id IN (${sqlList(by.trace)})`);
  if (by.span.length) ors.push(`span_id IN (${sqlList(by.span)})`);
  if (by.parent.length) ors.push(`parent_span_id IN (${sqlList(by.parent)})`);
  if (by.x_request_id.length) {
    const l = sqlList(by.x_request_id);
    ors.push(`x_request_id_req IN (${l})`, `x_request_id_resp IN (${l})`);
  }
  if (by.tcp_seq.length) {
    const l = sqlList(by.tcp_seq.map((v) => BigInt(v)));
    ors.push(`req_tcp_seq IN (${l})`, `resp_tcp_seq IN (${l})`);
  }
  if (by.syscall.length) {
    const l = sqlList(by.syscall.map((v) => BigInt(v)));
    ors.push(`syscall_trace_id_req IN (${l})`, `syscall_trace_id_resp IN (${l})`);
  }
  return ors.length === 0 ? null : `(${ors.join(' OR ')})`;
}
