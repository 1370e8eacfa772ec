/**
 * @module Background SYS spans made inside each store's engine, for `npm run bench -- clickhouse`
 * at 10M spans: writing them through Weft (JS generation + encoding + the write path) takes an
 * hour on this VM, while `INSERT … SELECT` from ClickHouse's `numbers()` or DuckDB's `range()`
 * makes the same rows in minutes. The write path itself is measured on a sample written through
 * `store.write` (bench/clickhouse.ts); this fills the rest.
 *
 * One row spec, two SQL dialects: every column is a function of the row number `i` built from
 * integer arithmetic both engines evaluate identically (a 32-bit mix with no overflow in either's
 * signed 64-bit range), so both stores get byte-for-byte the same spans; the bench reads samples
 * back from both and compares them. The rows are shaped like the eBPF agent's SYS spans
 * (bench/sys-spans.ts): HTTP/MySQL/Redis exchanges, agent-minted span ids (a per-host prefix and a
 * counter, as src/agent/spans/span-ids.ts makes them), tcp seqs uniform over 32 bits, syscall ids
 * in the range the 40-span traces use, 1k spans per simulated second. Next to each 40-span trace,
 * background spans on other hosts carry that trace's syscall ids, so the walk's window lookups
 * find them and assembly must drop them, as with hosts whose per-thread counters collide.
 *
 * Indexes are each store's own: ClickHouse's `span_keys` rows are computed in SQL with the same
 * fingerprint as `linkKeyFingerprint` (checked by span-id lookups through the store); DuckDB's
 * link-key blocks are rebuilt by the store itself when it opens (its recovery path for rows past
 * the last persisted block).
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { KINDS, ORIGINS, POINTS, RESPONSES, SOURCES, TRANSPORTS, SPAN_COLUMNS as DUCK_COLUMNS } from '../src/server/store/duckdb/span-rows.js';
import type { ClickHouseStore } from '../src/server/store/clickhouse/clickhouse-store.js';
import { SPAN_COLUMNS as CH_COLUMNS } from '../src/server/store/clickhouse/span-columns.js';

export const T0 = 1_700_000_000_000_000_000n;
/** 1k spans per simulated second, as bench/assembly.ts. */
export const GAP = 1_000_000n;
/** The 40-span traces: trace k starts at row position k · (rows / TRACES). */
export const TRACES = 100;
/** Background rows right after a trace's start that carry its syscall ids (on other hosts). */
const COLLIDING_ROWS = 200;

/** Span-id prefixes of the three background hosts: ≥ 0x10000000 so ids are 16 hex digits. */
const HOST_PREFIXES = [0x5a17c3e1, 0x6b29d4f2, 0x7c3ae503];
const PROTOCOLS = [
  { protocol: 'http', requestType: 'GET', resource: '/api/cart/', port: 8080 },
  { protocol: 'http', requestType: 'POST', resource: '/api/orders', port: 8080 },
  { protocol: 'mysql', requestType: 'SELECT', resource: 'SELECT * FROM cart WHERE id = ?', port: 3306 },
  { protocol: 'redis', requestType: 'GET', resource: 'cart:', port: 6379 },
] as const;
const PROCESSES = ['nginx', 'frontend', 'backend', 'mysqld', 'redis-server'];

/** The background span id of row i (what the bench looks up to compare the stores). */
export function backgroundSpanId(i: number): string {
  const prefix = HOST_PREFIXES[i % 3] as number;
  return (BigInt(prefix) * 2n ** 32n + BigInt(Math.floor(i / 3) + 1)).toString(16);
}

/** The SQL each engine needs for the same value. */
interface Dialect {
  xor(a: string, b: string): string;
  shr(a: string, n: number): string;
  idiv(a: string, b: number): string;
  concat(...parts: string[]): string;
  dec(x: string): string;
  hex8(x: string): string;
  hex(x: string): string;
  pick(idx: string, values: readonly string[]): string;
  pickNumber(idx: string, values: readonly number[]): string;
  when(cond: string, a: string, b: string): string;
  /** A string column's absent value: '' in ClickHouse, NULL in DuckDB. */
  noStr: string;
  nullInt: string;
  noCodeIfNegative(x: string): string;
}

const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

const CLICKHOUSE: Dialect = {
  xor: (a, b) => `bitXor(${a}, ${b})`,
  shr: (a, n) => `bitShiftRight(${a}, ${n})`,
  idiv: (a, b) => `intDiv(${a}, ${b})`,
  concat: (...p) => `concat(${p.join(', ')})`,
  dec: (x) => `toString(${x})`,
  hex8: (x) => `substring(lower(hex(toUInt64(4294967296 + (${x})))), 3)`,
  hex: (x) => `lower(hex(toUInt64(${x})))`,
  pick: (idx, values) => `arrayElement([${values.map(lit).join(', ')}], (${idx}) + 1)`,
  pickNumber: (idx, values) => `arrayElement([${values.join(', ')}], (${idx}) + 1)`,
  when: (c, a, b) => `if(${c}, ${a}, ${b})`,
  noStr: "''",
  nullInt: 'CAST(NULL AS Nullable(Int64))',
  noCodeIfNegative: (x) => `nullIf(toInt64(${x}), -1)`,
};

const DUCKDB: Dialect = {
  xor: (a, b) => `xor(${a}, ${b})`,
  shr: (a, n) => `(${a} >> ${n})`,
  idiv: (a, b) => `(${a} // ${b})`,
  concat: (...p) => `(${p.join(' || ')})`,
  dec: (x) => `CAST(${x} AS VARCHAR)`,
  hex8: (x) => `lpad(lower(hex(CAST(${x} AS BIGINT))), 8, '0')`,
  hex: (x) => `lower(hex(CAST(${x} AS BIGINT)))`,
  pick: (idx, values) => `([${values.map(lit).join(', ')}])[(${idx}) + 1]`,
  pickNumber: (idx, values) => `([${values.join(', ')}])[(${idx}) + 1]`,
  when: (c, a, b) => `CASE WHEN ${c} THEN ${a} ELSE ${b} END`,
  noStr: 'NULL',
  nullInt: 'CAST(NULL AS BIGINT)',
  noCodeIfNegative: (x) => `nullif(CAST(${x} AS BIGINT), -1)`,
};

const U32 = 4294967296;
/** A 32-bit mix of i and a salt; every product stays below 2^63 (DuckDB checks overflow). */
function mix(d: Dialect, salt: number): string {
  const a = `((i * 2654435761 + ${(salt * 0x9e3779b1) % U32}) % ${U32})`;
  const b = `((${d.xor(a, d.shr(a, 16))} * 2146121005) % ${U32})`;
  const c = `((${d.xor(b, d.shr(b, 15))} * 1911520717) % ${U32})`;
  return d.xor(c, d.shr(c, 16));
}

const code = <T>(table: readonly T[], v: T): number => {
  const n = table.indexOf(v);
  if (n < 0) throw new Error(`no code for ${String(v)}`);
  return n;
};

/**
 * Column name → SQL over `i` (the row number) for rows `i` of a store holding `rows` row
 * positions; the 40-span trace k sits at position k · rows / TRACES.
 */
function rowExpressions(d: Dialect, rows: number): Record<string, string> {
  const m = (salt: number): string => mix(d, salt);
  const p = '(i % 4)';
  const isHttp = `(i % 4) < 2`;
  const isMysql = `(i % 4) = 2`;
  const client = `(i % 2) = 0`;
  const err = `(${m(4)} % 50) = 0`;
  const perTrace = Math.floor(rows / TRACES);
  // Rows just after a trace's start borrow its syscall ids (sysBase + 0..15, bench/assembly.ts).
  const colliding = `(i % ${perTrace}) < ${COLLIDING_ROWS}`;
  const sysReq = d.when(colliding, `(${d.idiv('i', perTrace)} * 1000000 + 1 + (i % 16))`, `(1 + ${m(14)} % 100000000)`);
  const start = `(1700000000000000000 + i * 1000000)`;
  return {
    trace_id: d.noStr,
    span_id: d.hex(`(${d.when('i % 3 = 0', String(HOST_PREFIXES[0]), d.when('i % 3 = 1', String(HOST_PREFIXES[1]), String(HOST_PREFIXES[2])))} * ${U32} + ${d.idiv('i', 3)} + 1)`),
    parent_span_id: d.noStr,
    name: d.concat(d.pick(p, PROTOCOLS.map((x) => x.requestType)), "' '", d.pick(p, PROTOCOLS.map((x) => x.resource))),
    kind: d.when(client, String(code(KINDS, 'client')), String(code(KINDS, 'server'))),
    service: d.pick(`${m(1)} % 5`, PROCESSES),
    start_ns: start,
    end_ns: `(${start} + 200000 + ${m(2)} % 5000000)`,
    status_code: '0',
    status_message: d.noStr,
    events: d.noStr,
    source: String(code(SOURCES, 'sys')),
    origin: String(code(ORIGINS, 'ebpf')),
    observation_point: d.when(client, String(code(POINTS, 'c-p')), String(code(POINTS, 's-p'))),
    protocol: d.pick(p, PROTOCOLS.map((x) => x.protocol)),
    request_type: d.pick(p, PROTOCOLS.map((x) => x.requestType)),
    request_domain: d.when(isHttp, lit('backend:8080'), d.noStr),
    request_resource: d.when(isMysql, lit(PROTOCOLS[2].resource), d.concat(d.pick(p, PROTOCOLS.map((x) => x.resource)), d.dec(`${m(3)} % 1000`))),
    endpoint: d.noStr,
    request_id: d.nullInt,
    response_status: d.when(err, String(code(RESPONSES, 'server_error')), String(code(RESPONSES, 'ok'))),
    // -1 stands for "no code" (18.16's if() takes no two nullable constants).
    response_code: d.noCodeIfNegative(d.when(isHttp, d.when(err, '500', '200'), d.when(isMysql, '0', '-1'))),
    response_exception: d.noStr,
    ip_version: '4',
    client_ip: d.concat("'10.0.'", d.dec(`${m(5)} % 4 + 1`), "'.'", d.dec(`${m(6)} % 200 + 1`)),
    server_ip: d.concat("'10.0.9.'", d.dec('i % 4 + 1')),
    client_port: `(32768 + ${m(7)} % 28000)`,
    server_port: d.pickNumber(p, PROTOCOLS.map((x) => x.port)),
    transport: String(code(TRANSPORTS, 'tcp')),
    req_tcp_seq: `(1 + ${m(8)} % 4294967294)`,
    resp_tcp_seq: `(1 + ${m(9)} % 4294967294)`,
    host_id: d.concat("'host-'", d.dec('i % 3')),
    process_id: `(1000 + ${m(10)} % 5000)`,
    process_name: d.pick(`${m(1)} % 5`, PROCESSES),
    thread_id_req: `(1000 + ${m(11)} % 64)`,
    thread_id_resp: `(1000 + ${m(12)} % 64)`,
    interface_name: d.noStr,
    x_request_id_req: d.when(isHttp, d.concat(d.hex8(m(13)), "'-'", d.dec('i')), d.noStr),
    x_request_id_resp: d.noStr,
    syscall_trace_id_req: sysReq,
    syscall_trace_id_resp: d.when(client, `(${sysReq} + 1)`, '0'),
  };
}

export type FillProgress = (line: string) => void;

/** ClickHouse: rows [from, to) of a `rows`-position store into `spans` and `span_keys`. */
export async function fillClickHouse(store: ClickHouseStore, rows: number, from: number, to: number, log: FillProgress): Promise<void> {
  const ex = rowExpressions(CLICKHOUSE, rows);
  const db = store.names.database;
  const chunk = 1_000_000;
  for (let a = from; a < to; a += chunk) {
    const b = Math.min(to, a + chunk);
    const cols = CH_COLUMNS.map(([name, type]) => {
      if (name in ex) return `CAST(${ex[name]} AS ${type}) AS ${name}`;
      if (type.startsWith('Array(')) return `CAST([] AS ${type}) AS ${name}`;
      throw new Error(`no expression for ClickHouse column ${name}`);
    });
    const rowsFrom = `(SELECT toUInt64(number) AS i FROM system.numbers LIMIT ${b - a} OFFSET ${a})`;
    await store.command(`INSERT INTO ${db}.spans SELECT ${cols.join(', ')} FROM ${rowsFrom}`, 'bench fill');
    // The side table: one row per (span-id fingerprint, start second), as the store writes it.
    const fp = fingerprintSql('span_id', 16, 0x02);
    await store.command(
      `INSERT INTO ${db}.span_keys SELECT ${fp} AS key_hash, toUInt32(intDiv(start_ns, 1000000000)) AS bucket FROM (SELECT ${ex['span_id']} AS span_id, ${ex['start_ns']} AS start_ns FROM ${rowsFrom})`,
      'bench fill keys',
    );
    log(`  clickhouse: generated rows ${b}/${to}`);
  }
}

/** murmur3 fmix32 after FNV-1a, as nested ClickHouse expressions (each step reads the last twice). */
function fingerprintSql(value: string, length: number, salt: number): string {
  let h = `${Math.imul(0x811c9dc5 ^ salt, 0x01000193) >>> 0}`;
  for (let j = 1; j <= length; j++) h = `((bitXor(${h}, reinterpretAsUInt8(substring(${value}, ${j}, 1))) * 16777619) % ${U32})`;
  // Steps as lambdas over arrayMap keep the expression linear instead of doubling at each step.
  const step = (x: string, body: (v: string) => string): string => `arrayElement(arrayMap(v -> ${body('v')}, [toUInt64(${x})]), 1)`;
  let x = step(h, (v) => `bitXor(${v}, bitShiftRight(${v}, 16))`);
  x = step(x, (v) => `((${v} * 2246822507) % ${U32})`);
  x = step(x, (v) => `bitXor(${v}, bitShiftRight(${v}, 13))`);
  x = step(x, (v) => `((${v} * 3266489909) % ${U32})`);
  x = step(x, (v) => `bitXor(${v}, bitShiftRight(${v}, 16))`);
  return `toUInt32(${x})`;
}

/**
 * DuckDB: rows [from, to) appended to the store file's `spans` table (the store closed), with
 * write ordinals after the last one there. The store's next open indexes them (its own rebuild);
 * the caller opens it once per chunk so the rebuild's read stays a chunk's size.
 */
export async function fillDuckDbChunk(path: string, rows: number, from: number, to: number): Promise<void> {
  const ex = rowExpressions(DUCKDB, rows);
  const db = await DuckDBInstance.create(path);
  const conn = await db.connect();
  const last = (await conn.runAndReadAll('SELECT max(ord) FROM spans')).getRows()[0]?.[0];
  const firstOrd = last === null || last === undefined ? 0 : Number(last) + 1;
  const cols = DUCK_COLUMNS.map((c) => {
    if (c.name === 'ord') return `CAST(${firstOrd} + (i - ${from}) AS UBIGINT)`;
    // Identity hashes only de-duplicate; any value unique per span serves (real ones are hashes).
    if (c.name === 'sid') return `CAST(4611686018427387904 + i AS UBIGINT)`;
    if (c.name === 'attributes' || c.name === 'resource' || c.name === 'warnings') return 'NULL';
    const e = ex[c.name];
    if (e === undefined) throw new Error(`no expression for DuckDB column ${c.name}`);
    return `CAST(${e} AS ${c.sqlType})`;
  });
  try {
    await conn.run(`INSERT INTO spans SELECT ${cols.join(', ')} FROM range(${from}, ${to}) t(i)`);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}
