/**
 * @module The scale-out store: ClickHouse (18.16 or current) through @clickhouse/client.
 *
 * Writes: one RowBinary INSERT into `spans` and one into `span_keys` per batch (plus new
 * attribute keys); `write` resolves when ClickHouse has accepted both, which is the
 * acknowledgement point (on a cluster, with `insert_distributed_sync`, when every shard has).
 * Reads: link-key lookups ask `span_keys` in which seconds a key's spans started, then read
 * those seconds of `spans` by primary key with the exact key condition; time-window reads are
 * primary-key ranges. Every value in SQL goes through `sqlLiteral`. A server that is down,
 * restarting or too slow turns into `TRC_STORE_UNAVAILABLE` (503, retryable), and the next call
 * simply tries again: nothing needs a restart. Schema and numbers: docs/adr/004-clickhouse-store.md.
 */
import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import type { Logger } from 'pino';
import { TracingError } from '../../../model/index.js';
import type { SpanRecord } from '../../../model/index.js';
import { linkKeyFingerprint } from '../duckdb/link-key-index.js';
import { KINDS } from '../duckdb/span-rows.js';
import { effectiveLimit, matchesSpanQuery, spanIdentity } from '../span-query-match.js';
import { StoreUnavailableError } from '../store-errors.js';
import { linkKeysOf } from '../store.js';
import type { LinkKey, LinkKeyLookup, OperationInfo, SpanQuery, Store, TimeRange, TraceIdQuery, WriteResult } from '../store.js';
import { linkKeyCondition, spanQueryConditions, usableLinkKeys } from './query-conditions.js';
import { LONG_CLASSES, LongSpanMarkerCache } from './long-span-markers.js';
import type { MarkerRegion } from './long-span-markers.js';
import { RowBinaryWriter } from './row-binary.js';
import { localTableRef, schemaStatements, tableRef } from './schema.js';
import type { SchemaNames, TableName } from './schema.js';
import { SELECT_COLUMNS, rowToSpan, writeSpanRow } from './span-columns.js';
import { sqlIdentifier, sqlList, sqlLiteral } from './sql-literal.js';

export interface ClickHouseStoreOptions {
  /** `http[s]://[user:password@]host:port[/database]`; the database defaults to `weft`. */
  url: string;
  /** `--cluster NAME`: local tables on this server plus Distributed tables over the cluster. */
  cluster?: string | null;
  logger?: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** Longest wait for one ClickHouse request before it counts as unavailable (default 15 s). */
  requestTimeoutMs?: number;
  /**
   * `--retention`: day partitions wholly older than this many days (before today, UTC) are
   * dropped at open and then hourly. null or undefined keeps everything.
   */
  retentionDays?: number | null;
  /** Wall clock for retention, ms since the epoch (tests move it). */
  nowMs?: () => number;
}

const DEFAULT_DATABASE = 'weft';
const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
/** Retention runs this often; partitions are days, so an hour's delay is immaterial. */
const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
const MS_PER_DAY = 24 * 60 * 60 * 1000;
const NANOS_PER_SECOND = 1_000_000_000n;
/**
 * A window read covers spans starting up to this long before the window by primary-key range.
 * Longer spans are listed in `span_keys` under a duration-class marker: class k holds spans
 * lasting (LONG_SPAN_NANO·2^k, LONG_SPAN_NANO·2^(k+1)], so a window only asks each class for the
 * seconds that can still reach it. One second of lookback keeps a window read to about a
 * second of extra spans; 60 s read 60x that (measured: 1M spans, 40-span walk p50 325 ms).
 */
export const LONG_SPAN_NANO = NANOS_PER_SECOND;
/** The `span_keys` fingerprint of duration class k (small numbers; a collision only costs a read). */
const longClassKey = (k: number): number => k;
/** Long-span markers are fetched for the window plus this much either side (see long-span-markers.ts). */
const MARKER_PAD_NANO = 5n * NANOS_PER_SECOND;
/** How long fetched markers answer window reads (long spans written through other servers show after it). */
const MARKER_TTL_MS = 2_000;

/** Per duration class, the first second whose spans can reach the window (the last class: any). */
function markerRegion(window: TimeRange): MarkerRegion {
  const fromBucket: number[] = [];
  for (let k = 0; k < LONG_CLASSES; k++) {
    const reach = LONG_SPAN_NANO * 2n ** BigInt(k + 1);
    fromBucket.push(k === LONG_CLASSES - 1 ? 0 : bucketOf(window.startUnixNano - reach < 0n ? 0n : window.startUnixNano - reach));
  }
  return { fromBucket, toBucket: bucketOf(window.endUnixNano) };
}

/** The duration class of a span longer than LONG_SPAN_NANO. */
function longClassOf(durationNano: bigint): number {
  let k = 0;
  let limit = LONG_SPAN_NANO * 2n;
  while (durationNano > limit && k < LONG_CLASSES - 1) {
    k++;
    limit *= 2n;
  }
  return k;
}
/** Distinct attribute keys remembered for autocompletion, as in the DuckDB store. */
const MAX_ATTRIBUTE_KEYS = 100_000;
/** Above this many rows countSpans answers count() (duplicates included), as the contract allows. */
const EXACT_COUNT_MAX_ROWS = 1_000_000;
/** Queries carry long IN lists (a trace walk round); 18.16's default max_query_size is 256 KiB. */
const MAX_QUERY_BYTES = 16 * 1024 * 1024;
const IDENTITY = 'trace_id, span_id, source, observation_point';
const U32_MAX = 0xffffffff;

type Cell = string | number | null | Cell[];

/**
 * Keys indexed in `span_keys`. Time-bound keys (tcp seqs, syscall ids, X-Request-IDs) are not:
 * the trace walk always looks them up inside a time window, which the time-sorted primary key of
 * `spans` serves, and leaving them out keeps the side table at a row or two a span instead of six
 * (measured 31 → ~6 bytes a SYS span on disk, BENCHMARKS.md). Without a window they are a scan.
 */
const ID_KEY_TYPES: ReadonlySet<LinkKey['type']> = new Set(['trace', 'span', 'parent']);

/** Connection-level failures: the server is not there (yet) or did not answer. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET']);

function isConnectionFailure(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  const msg = typeof e.message === 'string' ? e.message : '';
  if (/timeout|socket hang up|ECONNREFUSED|ECONNRESET|EPIPE/i.test(msg)) return true;
  return e.cause !== undefined && e.cause !== err && isConnectionFailure(e.cause);
}

/** A ClickHouse failure as a store error: unreachable → TRC_STORE_UNAVAILABLE, else the given code. */
function storeError(code: 'TRC_STORE_WRITE' | 'TRC_STORE_READ', what: string, cause: unknown): TracingError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  if (isConnectionFailure(cause)) return new StoreUnavailableError(`ClickHouse unavailable (${what}): ${detail}`, cause);
  return new TracingError(code, `ClickHouse ${what} failed: ${detail}`, { httpStatus: 503, retryable: true, cause });
}

function closedError(): TracingError {
  return new TracingError('TRC_STORE_CLOSED', 'the ClickHouse store is closed', { httpStatus: 503 });
}

/** Database name and client options from `clickhouse:URL`. Throws TRC_CONFIG_INVALID on a bad URL. */
export function parseClickHouseUrl(url: string): { origin: string; username: string; password: string; database: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch (cause) {
    throw new TracingError('TRC_CONFIG_INVALID', `clickhouse:URL is not a URL (actual: '${url}')`, { httpStatus: 400, cause });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new TracingError('TRC_CONFIG_INVALID', `clickhouse:URL needs http:// or https:// (actual: '${url}')`, { httpStatus: 400 });
  }
  const path = decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, ''));
  const database = path === '' ? DEFAULT_DATABASE : path;
  try {
    sqlIdentifier(database);
  } catch (cause) {
    throw new TracingError('TRC_CONFIG_INVALID', `clickhouse:URL database must be a plain identifier (actual: '${database}')`, { httpStatus: 400, cause });
  }
  return { origin: u.origin, username: decodeURIComponent(u.username) || 'default', password: decodeURIComponent(u.password), database };
}

/** The seconds (start_ns / 1e9, capped to UInt32) a bucket holds. */
function bucketOf(ns: bigint): number {
  const s = ns / NANOS_PER_SECOND;
  return s > BigInt(U32_MAX) ? U32_MAX : s < 0n ? 0 : Number(s);
}

/** `start_ns` ranges covering the given start seconds, adjacent seconds merged. */
function bucketRanges(buckets: number[]): string {
  const sorted = [...new Set(buckets)].sort((a, b) => a - b);
  const parts: string[] = [];
  let lo = -1;
  let hi = -1;
  const flush = (): void => {
    if (lo < 0) return;
    parts.push(`start_ns BETWEEN ${sqlLiteral(BigInt(lo) * NANOS_PER_SECOND)} AND ${sqlLiteral(BigInt(hi + 1) * NANOS_PER_SECOND - 1n)}`);
  };
  for (const b of sorted) {
    if (lo >= 0 && b === hi + 1) hi = b;
    else {
      flush();
      lo = b;
      hi = b;
    }
  }
  flush();
  return parts.length === 0 ? '0' : `(${parts.join(' OR ')})`;
}

/** A batch encoded for its two inserts, done before the network round trips. */
interface EncodedBatch {
  spans: Buffer;
  keys: Buffer;
  attributeKeys: string[];
  /** Some span lasts longer than LONG_SPAN_NANO (its marker changes what window reads see). */
  hasLong: boolean;
}

class ClickHouseStoreImpl implements Store {
  readonly kind = 'clickhouse';
  private closed = false;
  private readonly attributeKeySet = new Set<string>();
  private readonly insertSettings: ClickHouseSettings;
  private readonly markers = new LongSpanMarkerCache(MARKER_TTL_MS);

  constructor(
    private readonly client: ClickHouseClient,
    readonly names: SchemaNames,
  ) {
    // On a cluster, an INSERT into a Distributed table is acknowledged only when every shard has
    // its rows (otherwise it would be queued on this server's disk and forwarded later).
    this.insertSettings = names.cluster === null ? {} : { insert_distributed_sync: 1 };
  }

  /** Keys already in `attribute_keys` (read at open), so writes do not insert them again. */
  rememberAttributeKeys(keys: readonly string[]): void {
    for (const k of keys) this.attributeKeySet.add(k);
  }

  private ensureOpen(): void {
    if (this.closed) throw closedError();
  }

  private t(name: TableName): string {
    return tableRef(this.names, name);
  }

  async select(sql: string, what = 'read'): Promise<Cell[][]> {
    this.ensureOpen();
    try {
      const rs = await this.client.query({ query: sql, format: 'JSONCompact', clickhouse_settings: { max_query_size: String(MAX_QUERY_BYTES) } });
      const body = (await rs.json()) as unknown as { data: Cell[][] };
      return body.data;
    } catch (cause) {
      throw storeError('TRC_STORE_READ', what, cause);
    }
  }

  /** A statement without a result (DDL, small INSERT … VALUES); values in it via `sqlLiteral` only. */
  async command(sql: string, what = 'command'): Promise<void> {
    this.ensureOpen();
    try {
      await this.client.command({ query: sql });
    } catch (cause) {
      throw storeError('TRC_STORE_WRITE', what, cause);
    }
  }

  private async insertRowBinary(table: TableName, bytes: Buffer): Promise<void> {
    const res = await this.client.exec({
      query: `INSERT INTO ${this.t(table)} FORMAT RowBinary`,
      values: Readable.from([bytes]),
      clickhouse_settings: this.insertSettings,
    });
    // The answer body is empty; reading it to the end frees the socket for the next request.
    for await (const chunk of res.stream as AsyncIterable<unknown>) void chunk;
  }

  private encode(spans: readonly SpanRecord[]): EncodedBatch {
    const rows = new RowBinaryWriter();
    const keys = new RowBinaryWriter();
    const seenKeys = new Set<string>();
    const attributeKeys = new Set<string>();
    let hasLong = false;
    const addKey = (hash: number, bucket: number): void => {
      const id = `${hash}:${bucket}`;
      if (seenKeys.has(id)) return;
      seenKeys.add(id);
      keys.u32(hash);
      keys.u32(bucket);
    };
    for (const s of spans) {
      writeSpanRow(rows, s);
      const bucket = bucketOf(s.startTimeUnixNano < 0n ? 0n : s.startTimeUnixNano);
      // Only id keys go to the side table; time-bound keys are found by time (see ID_KEY_TYPES).
      for (const k of linkKeysOf(s)) if (ID_KEY_TYPES.has(k.type)) addKey(linkKeyFingerprint(k), bucket);
      const duration = s.endTimeUnixNano - s.startTimeUnixNano;
      if (duration > LONG_SPAN_NANO) {
        addKey(longClassKey(longClassOf(duration)), bucket);
        hasLong = true;
      }
      for (const k in s.attributes) if (!this.attributeKeySet.has(k)) attributeKeys.add(k);
      for (const k in s.resource) if (!this.attributeKeySet.has(k)) attributeKeys.add(k);
    }
    return { spans: rows.finish(), keys: keys.finish(), attributeKeys: [...attributeKeys], hasLong };
  }

  async write(spans: readonly SpanRecord[]): Promise<WriteResult> {
    this.ensureOpen();
    if (spans.length === 0) return { accepted: 0 };
    let batch: EncodedBatch;
    try {
      batch = this.encode(spans);
    } catch (cause) {
      throw new TracingError('TRC_STORE_WRITE', `encoding ${spans.length} spans for ClickHouse failed: ${String(cause)}`, { httpStatus: 503, retryable: true, cause });
    }
    try {
      // Spans and keys in parallel: the batch is acknowledged only when both are accepted, and a
      // retry after a partial failure is harmless (both tables fold duplicates).
      try {
        await Promise.all([this.insertRowBinary('spans', batch.spans), this.insertRowBinary('span_keys', batch.keys)]);
      } finally {
        // Even a failed insert may have landed in part; remembered markers may now lack it.
        if (batch.hasLong) this.markers.invalidate();
      }
      const fresh = batch.attributeKeys.filter((k) => !this.attributeKeySet.has(k)).slice(0, Math.max(0, MAX_ATTRIBUTE_KEYS - this.attributeKeySet.size));
      if (fresh.length > 0) {
        const w = new RowBinaryWriter();
        for (const k of fresh) w.string(k);
        await this.insertRowBinary('attribute_keys', w.finish());
        for (const k of fresh) this.attributeKeySet.add(k);
      }
    } catch (cause) {
      throw storeError('TRC_STORE_WRITE', `insert of ${spans.length} spans`, cause);
    }
    return { accepted: spans.length };
  }

  /**
   * From `span_keys` in one query: the start seconds of spans having any of the id-key
   * fingerprints (no later than `maxBucket`), and, when `window` is given, those of long spans
   * that can overlap it (each duration class only as far back as its longest span reaches).
   * Long-span markers come from the marker cache when it covers the window; otherwise the query
   * asks for a region padded around the window and the cache keeps the answer.
   */
  private async keyBuckets(idHashes: number[], window?: TimeRange, maxBucket?: number): Promise<{ id: number[]; long: number[] }> {
    const wanted = new Set(idHashes);
    const ors: string[] = [];
    if (wanted.size > 0) ors.push(`(key_hash IN (${sqlList([...wanted])})${maxBucket === undefined ? '' : ` AND bucket <= ${maxBucket}`})`);
    const want = window === undefined ? null : markerRegion(window);
    let long = want === null ? [] : this.markers.lookup(want);
    let fetch: MarkerRegion | null = null;
    const generation = this.markers.begin();
    if (window !== undefined && long === null) {
      const lo = window.startUnixNano - MARKER_PAD_NANO;
      fetch = markerRegion({ startUnixNano: lo < 0n ? 0n : lo, endUnixNano: window.endUnixNano + MARKER_PAD_NANO });
      for (let k = 0; k < LONG_CLASSES; k++) ors.push(`(key_hash = ${longClassKey(k)} AND bucket BETWEEN ${fetch.fromBucket[k]} AND ${fetch.toBucket})`);
    }
    if (ors.length === 0) return { id: [], long: long ?? [] };
    const rows = await this.select(`SELECT DISTINCT key_hash, bucket FROM ${this.t('span_keys')} WHERE ${ors.join(' OR ')}`, 'key lookup');
    const id: number[] = [];
    const markers: Array<[number, number]> = [];
    for (const [h, b] of rows) {
      const hash = Number(h);
      const bucket = Number(b);
      if (wanted.has(hash) && (maxBucket === undefined || bucket <= maxBucket)) id.push(bucket);
      if (fetch !== null && hash < LONG_CLASSES && bucket >= (fetch.fromBucket[hash] as number) && bucket <= fetch.toBucket) markers.push([hash, bucket]);
    }
    if (fetch !== null && want !== null) {
      this.markers.store(fetch, markers, generation);
      long = LongSpanMarkerCache.select(markers, want);
    }
    return { id, long: long ?? [] };
  }

  /**
   * The condition "overlaps [lo, hi]" bounded for the primary key: spans starting up to
   * LONG_SPAN_NANO before the window are a key range; longer ones start in `longBuckets`.
   */
  private static windowCondition(lo: bigint, hi: bigint, longBuckets: number[]): string {
    const from = lo - LONG_SPAN_NANO < 0n ? 0n : lo - LONG_SPAN_NANO;
    const early = longBuckets.filter((b) => BigInt(b) * NANOS_PER_SECOND < from);
    const window = `start_ns BETWEEN ${sqlLiteral(from)} AND ${sqlLiteral(hi)}`;
    const bounded = early.length === 0 ? window : `(${window} OR ${bucketRanges(early)})`;
    return `${bounded} AND start_ns <= ${sqlLiteral(hi)} AND end_ns >= ${sqlLiteral(lo < 0n ? 0n : lo)}`;
  }

  /** Spans matching `where`, each once, at most `limit`. */
  private async readSpans(where: string, limit: number | undefined, what: string): Promise<SpanRecord[]> {
    const cap = limit === undefined ? '' : ` LIMIT ${limit}`;
    const rows = await this.select(`SELECT ${SELECT_COLUMNS} FROM ${this.t('spans')} WHERE ${where} LIMIT 1 BY ${IDENTITY}${cap}`, what);
    return dedupe(rows.map(rowToSpan), limit);
  }

  async getTrace(traceId: string, options: { limit?: number } = {}): Promise<SpanRecord[]> {
    this.ensureOpen();
    if (traceId === '') return [];
    const { id } = await this.keyBuckets([linkKeyFingerprint({ type: 'trace', value: traceId })]);
    if (id.length === 0) return [];
    const limit = options.limit === undefined ? undefined : Math.max(0, Math.floor(options.limit));
    return this.readSpans(`${bucketRanges(id)} AND trace_id = ${sqlLiteral(traceId)}`, limit, 'trace read');
  }

  async findByLinkKeys(keys: readonly LinkKey[], options: LinkKeyLookup): Promise<SpanRecord[]> {
    this.ensureOpen();
    const limit = Math.max(0, Math.floor(options.limit));
    const usable = usableLinkKeys(keys);
    if (usable.length === 0 || limit === 0) return [];
    const tr = options.timeRange;
    if (tr !== undefined && (tr.endUnixNano < 0n || tr.startUnixNano > tr.endUnixNano)) return [];
    const idKeys = usable.filter((k) => ID_KEY_TYPES.has(k.type));
    const timedKeys = usable.filter((k) => !ID_KEY_TYPES.has(k.type));
    const buckets = await this.keyBuckets(idKeys.map(linkKeyFingerprint), timedKeys.length > 0 ? tr : undefined, tr === undefined ? undefined : bucketOf(tr.endUnixNano));
    const branches: string[] = [];
    if (idKeys.length > 0 && buckets.id.length > 0) {
      const timeCond = tr === undefined ? '' : ` AND start_ns <= ${sqlLiteral(tr.endUnixNano)} AND end_ns >= ${sqlLiteral(tr.startUnixNano < 0n ? 0n : tr.startUnixNano)}`;
      branches.push(`(${bucketRanges(buckets.id)} AND ${linkKeyCondition(idKeys) ?? '0'}${timeCond})`);
    }
    if (timedKeys.length > 0) {
      const cond = linkKeyCondition(timedKeys) ?? '0';
      branches.push(tr === undefined ? cond : `(${ClickHouseStoreImpl.windowCondition(tr.startUnixNano, tr.endUnixNano, buckets.long)} AND ${cond})`);
    }
    if (branches.length === 0) return [];
    const excluded = (options.excludeTraceIds ?? []).filter((t) => t !== '');
    const where = excluded.length === 0 ? branches.join(' OR ') : `(${branches.join(' OR ')}) AND trace_id NOT IN (${excluded.map(sqlLiteral).join(', ')})`;
    return this.readSpans(where, limit, 'key read');
  }

  async findInTimeRange(timeRange: TimeRange, options: { limit: number }): Promise<SpanRecord[] | null> {
    this.ensureOpen();
    const limit = Math.max(0, Math.floor(options.limit));
    const { startUnixNano: lo, endUnixNano: hi } = timeRange;
    if (hi < 0n || lo > hi) return [];
    const { long } = await this.keyBuckets([], timeRange);
    // Twice the limit in rows leaves room for duplicates; a window that fills even that is too dense.
    const rowCap = 2 * limit + 2;
    const rows = await this.select(
      `SELECT ${SELECT_COLUMNS} FROM ${this.t('spans')} WHERE ${ClickHouseStoreImpl.windowCondition(lo, hi, long)} LIMIT ${rowCap}`,
      'window read',
    );
    if (rows.length >= rowCap) return null;
    const out = dedupe(rows.map(rowToSpan), undefined);
    return out.length > limit ? null : out;
  }

  private whereOf(q: SpanQuery, extra: string[] = []): string {
    const conds = [...spanQueryConditions(q), ...extra];
    return conds.length === 0 ? '' : `WHERE ${conds.join(' AND ')}`;
  }

  async findSpans(q: SpanQuery): Promise<SpanRecord[]> {
    this.ensureOpen();
    const limit = effectiveLimit(q.limit);
    if (limit === 0) return [];
    const rows = await this.select(
      `SELECT ${SELECT_COLUMNS} FROM ${this.t('spans')} ${this.whereOf(q)} ORDER BY start_ns DESC, span_id ASC, trace_id ASC LIMIT 1 BY ${IDENTITY} LIMIT ${limit}`,
      'search',
    );
    return dedupe(rows.map(rowToSpan), limit).filter((s) => matchesSpanQuery(s, q));
  }

  async findTraceIds(q: TraceIdQuery): Promise<string[]> {
    this.ensureOpen();
    const limit = effectiveLimit(q.limit);
    if (limit === 0) return [];
    const rows = await this.select(
      `SELECT trace_id, max(start_ns) AS newest FROM ${this.t('spans')} ${this.whereOf(q, ["trace_id != ''"])} GROUP BY trace_id ORDER BY newest DESC, trace_id ASC LIMIT ${limit}`,
      'trace search',
    );
    return rows.map((r) => r[0] as string);
  }

  async services(): Promise<string[]> {
    const rows = await this.select(`SELECT DISTINCT service FROM ${this.t('spans')} WHERE service != ''`, 'services');
    return rows.map((r) => r[0] as string).sort();
  }

  async operations(service?: string): Promise<OperationInfo[]> {
    const where = service === undefined ? '' : ` AND service = ${sqlLiteral(service)}`;
    const rows = await this.select(`SELECT DISTINCT name, kind FROM ${this.t('spans')} WHERE name != ''${where}`, 'operations');
    return rows
      .map((r): OperationInfo => ({ name: r[0] as string, kind: KINDS[Number(r[1])] ?? 'unspecified' }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  }

  async attributeKeys(limit: number): Promise<string[]> {
    const n = effectiveLimit(limit);
    if (n === 0) return [];
    const rows = await this.select(`SELECT DISTINCT key FROM ${this.t('attribute_keys')}`, 'attribute keys');
    return rows.map((r) => r[0] as string).sort().slice(0, n);
  }

  async countSpans(): Promise<number> {
    const [row] = await this.select(`SELECT count() FROM ${this.t('spans')}`, 'count');
    const total = Number(row?.[0] ?? 0);
    if (total > EXACT_COUNT_MAX_ROWS) return total;
    const [distinct] = await this.select(`SELECT uniqExact(${IDENTITY}) FROM ${this.t('spans')}`, 'count');
    return Number(distinct?.[0] ?? 0);
  }

  /**
   * Drops every day partition (of this server's local tables) that ended before `cutoffNano`.
   * Returns the partition ids dropped. On a cluster each Weft server prunes the shard it talks
   * to; data on a shard no Weft server talks to is pruned by none (docs/clickhouse.md).
   */
  async dropPartitionsBefore(cutoffNano: bigint): Promise<string[]> {
    this.ensureOpen();
    const cutoffDay = Number(new Date(Number(cutoffNano / 1_000_000n)).toISOString().slice(0, 10).replaceAll('-', ''));
    const dropped: string[] = [];
    for (const t of ['spans', 'span_keys'] as const) {
      const local = localTableRef(this.names, t);
      const [db, table] = local.split('.') as [string, string];
      const rows = await this.select(
        `SELECT DISTINCT partition_id FROM system.parts WHERE database = ${sqlLiteral(db)} AND table = ${sqlLiteral(table)} AND active`,
        'partition list',
      );
      for (const [id] of rows) {
        const pid = String(id);
        // Day partitions are YYYYMMDD; anything else is not ours to drop.
        if (!/^\d{8}$/.test(pid) || Number(pid) >= cutoffDay) continue;
        try {
          await this.client.command({ query: `ALTER TABLE ${local} DROP PARTITION ID ${sqlLiteral(pid)}` });
        } catch (cause) {
          throw storeError('TRC_STORE_WRITE', `drop of partition ${pid}`, cause);
        }
        if (t === 'spans') dropped.push(pid);
      }
    }
    return dropped;
  }

  /** Bytes on disk of each table on this server (compressed, active parts), for benchmarks. */
  async diskBytes(): Promise<Record<TableName, number>> {
    const out: Record<string, number> = { spans: 0, span_keys: 0, attribute_keys: 0 };
    for (const t of ['spans', 'span_keys', 'attribute_keys'] as const) {
      const [db, table] = localTableRef(this.names, t).split('.') as [string, string];
      const [row] = await this.select(
        `SELECT sum(bytes_on_disk) FROM system.parts WHERE database = ${sqlLiteral(db)} AND table = ${sqlLiteral(table)} AND active`,
        'disk size',
      );
      out[t] = Number(row?.[0] ?? 0);
    }
    return out as Record<TableName, number>;
  }

  /** Merges parts now (benchmarks measure settled sizes; ReplacingMergeTree folds duplicates). */
  async optimize(): Promise<void> {
    for (const t of ['spans', 'span_keys', 'attribute_keys'] as const) {
      await this.client.command({ query: `OPTIMIZE TABLE ${localTableRef(this.names, t)} FINAL`, clickhouse_settings: {} });
    }
  }

  private retentionTimer: NodeJS.Timeout | null = null;

  /**
   * Drops what `days` of retention no longer covers, now and every hour. Failures (ClickHouse
   * away) are logged and retried at the next tick; they never affect ingest.
   */
  startRetention(days: number, nowMs: () => number, logger: ClickHouseStoreOptions['logger']): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.closed) return;
      // Keep today and the `days` days before it: a partition is dropped once all of it is older.
      const todayStartMs = Math.floor(nowMs() / MS_PER_DAY) * MS_PER_DAY;
      const cutoff = BigInt(todayStartMs - days * MS_PER_DAY) * 1_000_000n;
      try {
        const dropped = await this.dropPartitionsBefore(cutoff);
        if (dropped.length > 0) logger?.info({ dropped, retentionDays: days }, 'retention dropped day partitions');
      } catch (err) {
        logger?.warn({ err }, 'retention: dropping old partitions failed; will retry');
      }
    };
    this.retentionTimer = setInterval(() => void run(), RETENTION_INTERVAL_MS);
    this.retentionTimer.unref();
    return run();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retentionTimer !== null) clearInterval(this.retentionTimer);
    await this.client.close();
  }
}

/** Spans each once by identity, at most `limit`. */
function dedupe(spans: SpanRecord[], limit: number | undefined): SpanRecord[] {
  const seen = new Set<string>();
  const out: SpanRecord[] = [];
  for (const s of spans) {
    const id = spanIdentity(s);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(s);
    if (limit !== undefined && out.length >= limit) break;
  }
  return out;
}

export type ClickHouseStore = Store & {
  readonly names: SchemaNames;
  /** Rows of a SELECT (JSONCompact cells); for tools (migration, benchmarks), not the query path. */
  select(sql: string, what?: string): Promise<Cell[][]>;
  command(sql: string, what?: string): Promise<void>;
  dropPartitionsBefore(cutoffNano: bigint): Promise<string[]>;
  diskBytes(): Promise<Record<TableName, number>>;
  optimize(): Promise<void>;
};

/**
 * Connects, creates the database and tables when missing (idempotent, so several Weft servers
 * may start at once) and loads the known attribute keys. Rejects with `TRC_STORE_OPEN` when
 * ClickHouse cannot be reached or refuses the schema.
 */
export async function openClickHouseStore(opts: ClickHouseStoreOptions): Promise<ClickHouseStore> {
  const { origin, username, password, database } = parseClickHouseUrl(opts.url);
  const cluster = opts.cluster ?? null;
  if (cluster !== null) sqlIdentifier(cluster);
  const client = newClient(origin, username, password, opts.requestTimeoutMs);
  const fail = async (what: string, cause: unknown): Promise<never> => {
    await client.close();
    throw new TracingError('TRC_STORE_OPEN', `cannot open ClickHouse store at ${origin} (${what}): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  };
  let replicated = false;
  let nodes: string[] = [];
  try {
    if (cluster !== null) {
      const rs = await client.query({ query: `SELECT DISTINCT host_address FROM system.clusters WHERE cluster = ${sqlLiteral(cluster)}`, format: 'JSONEachRow' });
      nodes = (await rs.json<{ host_address: string }>()).map((r) => r.host_address);
      if (nodes.length === 0) return await fail('cluster', new Error(`cluster '${cluster}' is not defined in this server's remote_servers`));
      const macros = await client.query({ query: "SELECT count() AS n FROM system.macros WHERE macro IN ('shard', 'replica')", format: 'JSONEachRow' });
      const [m] = await macros.json<{ n: string }>();
      replicated = Number(m?.n ?? 0) === 2;
    }
  } catch (cause) {
    return fail('connect', cause);
  }
  const names: SchemaNames = { database, cluster, replicated };
  try {
    for (const ddl of schemaStatements(names)) await client.command({ query: ddl });
  } catch (cause) {
    return fail('schema', cause);
  }
  // Without distributed DDL (ZooKeeper), every node needs its local tables before a Distributed
  // query reaches it: create them over HTTP at each node's address on this URL's port (nodes of a
  // cluster share their ports). A node that cannot be reached is reported, not fatal: a Weft
  // server pointed at it creates them, and until then queries that touch it answer 503.
  for (const host of nodes) {
    const nodeUrl = new URL(origin);
    nodeUrl.hostname = host.includes(':') ? `[${host}]` : host;
    if (nodeUrl.origin === origin) continue;
    const node = newClient(nodeUrl.origin, username, password, opts.requestTimeoutMs);
    try {
      for (const ddl of schemaStatements(names)) await node.command({ query: ddl });
    } catch (err) {
      opts.logger?.warn({ err, node: nodeUrl.origin }, 'could not create the tables on a cluster node; a Weft server pointed at it will');
    } finally {
      await node.close();
    }
  }
  const store = new ClickHouseStoreImpl(client, names);
  try {
    const rows = await store.select(`SELECT DISTINCT key FROM ${tableRef(names, 'attribute_keys')} LIMIT ${MAX_ATTRIBUTE_KEYS}`);
    store.rememberAttributeKeys(rows.map((r) => String(r[0])));
  } catch (err) {
    // Only an optimisation (known keys are not re-inserted); a shard still starting must not stop us.
    opts.logger?.warn({ err }, 'could not read the known attribute keys');
  }
  if (opts.retentionDays !== undefined && opts.retentionDays !== null) {
    await store.startRetention(opts.retentionDays, opts.nowMs ?? Date.now, opts.logger);
  }
  opts.logger?.info({ url: origin, database, cluster, replicated, retentionDays: opts.retentionDays ?? null }, 'clickhouse store opened');
  return store;
}

function newClient(origin: string, username: string, password: string, requestTimeoutMs: number | undefined): ClickHouseClient {
  return createClient({
    url: origin,
    username,
    password,
    request_timeout: requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    compression: { request: false, response: false },
    // A connection per request. Pooled sockets race 18.16's 3 s keep-alive close and are all dead
    // after a ClickHouse restart, so reuse turned into ECONNRESETs (the failure test took 22 s
    // with a pool, 8 s without); a fresh LAN connection costs well under a millisecond next to an
    // insert (20-150 ms: 18.16 writes every column of a part as its own files).
    keep_alive: { enabled: false },
    // Failures reach the caller as store errors (and the server log once, at the API edge).
    log: { level: ClickHouseLogLevel.OFF },
  });
}

