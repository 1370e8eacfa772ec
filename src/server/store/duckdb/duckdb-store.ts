/**
 * @module The embedded default store: one DuckDB file, appender writes, a link-key skip index.
 *
 * Writes are serialised: each `write` appends data chunks inside one transaction and resolves
 * after COMMIT, which writes and fsyncs DuckDB's WAL (verified with strace, and by the kill -9
 * test), so an acknowledged span survives a crash. Reads run on their own connections and see
 * committed data only. Decisions and numbers: docs/adr/001-embedded-store.md.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance, blobValue } from '@duckdb/node-api';
import type { DuckDBAppender, DuckDBBlobValue, DuckDBConnection, DuckDBDataChunk, DuckDBValue } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { TracingError, emptySpan } from '../../../model/index.js';
import { inTurns } from '../../cpu-turns.js';
import { writeChunkColumn } from './chunk-columns.js';
import type { SpanRecord } from '../../../model/index.js';
import type { LinkKey, LinkKeyLookup, OperationInfo, SpanQuery, Store, TimeRange, TraceIdQuery, WriteResult } from '../store.js';
import { TAGGABLE_FIELDS, effectiveLimit, matchesSpanQuery } from '../span-query-match.js';
import { BLOCK_SPANS, LinkKeyBlockIndex, decodeFingerprints, encodeFingerprints } from './link-key-index.js';
import type { OrdRange, SealedBlock } from './link-key-index.js';
import {
  COLUMN_OF_FIELD,
  KINDS,
  ORIGINS,
  POINTS,
  RESPONSES,
  SELECT_COLUMNS,
  SOURCES,
  SPAN_TABLE_DDL,
  STATUS_CODES,
  TRANSPORTS,
  fillSpanChunk,
  newSpanChunk,
  releaseSpanChunk,
  rowToSpan,
} from './span-rows.js';
import type { SpanRow } from './span-rows.js';
import { inListCondition } from './sql-in-list.js';

export interface DuckDbStoreOptions {
  /** The database file; its directory is created when missing. */
  path: string;
  logger?: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** Spans per link-index block; tests lower it to exercise sealing. */
  blockSpans?: number;
  /** DuckDB worker threads (default: DuckDB's own choice). */
  threads?: number;
  /**
   * DuckDB's buffer pool limit, bytes (default DuckDB's: 80% of the machine's RAM). The server
   * gives it a share of --max-memory: searches over a large store otherwise cache up to it.
   */
  memoryLimitBytes?: number;
}

/** A DuckDB task that peaked over this returns its allocator's free pages (DuckDB's default: 128 MiB). */
const ALLOCATOR_FLUSH_THRESHOLD = '8MiB';
/** WAL size that triggers a checkpoint (DuckDB's default is 16MB); see open(). */
export const CHECKPOINT_THRESHOLD = '64MB';
/** Distinct attribute keys remembered for autocompletion; beyond this, new keys are not added. */
const MAX_ATTRIBUTE_KEYS = 100_000;
/** Above this many rows countSpans answers count(*) (duplicates included), as the contract allows. */
const EXACT_COUNT_MAX_ROWS = 1_000_000;
/** Rows per page when a search must filter in JS after SQL (attribute tags, duplicates). */
const SEARCH_PAGE_ROWS = 1000;
const MAX_READ_CONNECTIONS = 4;
/** Ordinals further apart than this are fetched by separate range-pruned SELECTs (one DuckDB vector). */
const FETCH_CLUSTER_GAP = 2048n;

const LINK_BLOCKS_DDL = `CREATE TABLE IF NOT EXISTS link_blocks (
  lo UBIGINT, hi UBIGINT, min_start_ns BIGINT, max_end_ns BIGINT, fingerprints BLOB
)`;
const ATTRIBUTE_KEYS_DDL = 'CREATE TABLE IF NOT EXISTS attribute_keys (key VARCHAR)';

/**
 * 64-bit hash of a span's identity: of the text `traceId NUL spanId NUL source NUL
 * observationPoint`, hashed part by part (the same value as hashing the joined text, without
 * building it for every span). The value is stored (`sid`): never change what it computes.
 */
function identityHash(s: SpanRecord): bigint {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  const parts = [s.traceId, s.spanId, s.source, s.observationPoint];
  for (let p = 0; p < parts.length; p++) {
    const text = parts[p] as string;
    // The separator before every part but the first.
    for (let i = p === 0 ? 0 : -1; i < text.length; i++) {
      const c = i < 0 ? 0 : text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
  }
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h2 ^= h2 >>> 16;
  h2 = Math.imul(h2, 0xc2b2ae35);
  h2 ^= h2 >>> 13;
  return (BigInt(h1 >>> 0) << 32n) | BigInt(h2 >>> 0);
}

/** Collects SQL text and positional parameters together, so values are never spliced in. */
class Sql {
  readonly params: DuckDBValue[] = [];
  p(v: DuckDBValue): string {
    this.params.push(v);
    return `$${this.params.length}`;
  }
  list(vs: readonly DuckDBValue[]): string {
    return vs.map((v) => this.p(v)).join(', ');
  }
}

const CANONICAL_UINT = /^(0|[1-9][0-9]*)$/;
const CANONICAL_INT = /^-?(0|[1-9][0-9]*)$/;
const U32_MAX = 0xffffffffn;
const U64_MAX = 2n ** 64n - 1n;

type FieldColumnKind = 'str' | 'uint' | 'int' | 'intnull' | 'enum';
const ENUM_TABLES: Partial<Record<keyof SpanRecord, readonly string[]>> = {
  kind: KINDS,
  statusCode: STATUS_CODES,
  source: SOURCES,
  origin: ORIGINS,
  observationPoint: POINTS,
  responseStatus: RESPONSES,
  transport: TRANSPORTS,
};
const INT_FIELDS = new Set<keyof SpanRecord>(['startTimeUnixNano', 'endTimeUnixNano']);
const INTNULL_FIELDS = new Set<keyof SpanRecord>(['requestId', 'responseCode']);
const UINT_FIELDS = new Set<keyof SpanRecord>([
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

function fieldKind(f: keyof SpanRecord): FieldColumnKind {
  if (ENUM_TABLES[f]) return 'enum';
  if (INT_FIELDS.has(f)) return 'int';
  if (INTNULL_FIELDS.has(f)) return 'intnull';
  if (UINT_FIELDS.has(f)) return 'uint';
  return 'str';
}

/** The exact SQL condition for a tag on a SpanRecord field (`tagValueOf` semantics). */
function fieldTagCondition(sql: Sql, field: keyof SpanRecord, want: string): string {
  const column = COLUMN_OF_FIELD[field];
  switch (fieldKind(field)) {
    case 'str':
      return `coalesce(${column}, '') = ${sql.p(want)}`;
    case 'enum': {
      const code = (ENUM_TABLES[field] as readonly string[]).indexOf(want);
      return code < 0 ? 'FALSE' : `${column} = ${code}`;
    }
    case 'uint':
      return CANONICAL_UINT.test(want) && BigInt(want) <= U64_MAX ? `${column} = ${sql.p(BigInt(want))}::UBIGINT` : 'FALSE';
    case 'int':
    case 'intnull':
      if (want === '' && fieldKind(field) === 'intnull') return `${column} IS NULL`;
      return CANONICAL_INT.test(want) && BigInt.asIntN(64, BigInt(want)) === BigInt(want)
        ? `${column} = ${sql.p(BigInt(want))}::BIGINT`
        : 'FALSE';
  }
}

/**
 * A necessary condition for an attribute tag: the JSON text of attributes or resource contains
 * `"key":value` in one of the encodings the value could have been stored with. JS re-checks
 * every returned span exactly, so a hostile value that merely contains the pattern costs a row,
 * never a wrong answer.
 */
function attributeTagCondition(sql: Sql, key: string, want: string): string {
  const k = JSON.stringify(key);
  const encodings = [`${k}:${JSON.stringify(want)}`];
  if (want === 'true' || want === 'false') encodings.push(`${k}:${want}`);
  const n = Number(want);
  if (want !== '' && Number.isFinite(n) && String(n) === want) encodings.push(`${k}:${want}`);
  const ors: string[] = [];
  for (const e of encodings) {
    const pe = sql.p(e);
    ors.push(`contains(coalesce(attributes, ''), ${pe})`, `contains(coalesce(resource, ''), ${pe})`);
  }
  return `(${ors.join(' OR ')})`;
}

/** WHERE conditions for a SpanQuery (without limit/order). Exact except attribute tags. */
function queryConditions(sql: Sql, q: SpanQuery): string[] {
  const c: string[] = [];
  if (q.service !== undefined) c.push(`coalesce(service, '') = ${sql.p(q.service)}`);
  if (q.operation !== undefined) {
    const p = sql.p(q.operation);
    c.push(`(coalesce(name, '') = ${p} OR coalesce(endpoint, '') = ${p})`);
  }
  if (q.protocol !== undefined) c.push(`coalesce(protocol, '') = ${sql.p(q.protocol)}`);
  if (q.source !== undefined) c.push(`source = ${SOURCES.indexOf(q.source)}`);
  if (q.observationPoint !== undefined) c.push(`observation_point = ${POINTS.indexOf(q.observationPoint)}`);
  if (q.kind !== undefined) c.push(`kind = ${KINDS.indexOf(q.kind)}`);
  if (q.timeRange !== undefined) {
    c.push(`start_ns BETWEEN ${sql.p(q.timeRange.startUnixNano)}::BIGINT AND ${sql.p(q.timeRange.endUnixNano)}::BIGINT`);
  }
  if (q.minDurationNano !== undefined) c.push(`greatest(end_ns - start_ns, 0) >= ${sql.p(q.minDurationNano)}::BIGINT`);
  if (q.maxDurationNano !== undefined) c.push(`greatest(end_ns - start_ns, 0) <= ${sql.p(q.maxDurationNano)}::BIGINT`);
  if (q.errorsOnly === true) {
    c.push(
      `(status_code = ${STATUS_CODES.indexOf('error')} OR response_status NOT IN (${RESPONSES.indexOf('ok')}, ${RESPONSES.indexOf('unknown')}))`,
    );
  }
  for (const [k, v] of Object.entries(q.tags ?? {})) {
    if (TAGGABLE_FIELDS.has(k)) c.push(fieldTagCondition(sql, k as keyof SpanRecord, v));
    else c.push(attributeTagCondition(sql, k, v));
  }
  return c;
}

/** The exact SQL condition for "has any of these link keys"; null when no key can match. */
function linkKeyCondition(sql: Sql, keys: readonly LinkKey[]): string | null {
  const by = { trace: [] as string[], span: [] as string[], parent: [] as string[], xrid: [] as string[] };
  // Canonical decimal strings, checked in range below.
  const tcp: string[] = [];
  const sys: string[] = [];
  for (const k of keys) {
    if (k.value === '') continue;
    switch (k.type) {
      case 'trace':
        by.trace.push(k.value);
        break;
      case 'span':
        by.span.push(k.value);
        break;
      case 'parent':
        by.parent.push(k.value);
        break;
      case 'x_request_id':
        by.xrid.push(k.value);
        break;
      case 'tcp_seq':
        if (CANONICAL_UINT.test(k.value) && k.value !== '0' && BigInt(k.value) <= U32_MAX) tcp.push(k.value);
        break;
      case 'syscall':
        if (CANONICAL_UINT.test(k.value) && k.value !== '0' && BigInt(k.value) <= U64_MAX) sys.push(k.value);
        break;
    }
  }
  const ors: string[] = [];
  const p = (v: DuckDBValue): string => sql.p(v);
  if (by.trace.length) ors.push(inListCondition(p, ['trace_id'], by.trace, 'VARCHAR'));
  if (by.span.length) ors.push(inListCondition(p, ['span_id'], by.span, 'VARCHAR'));
  if (by.parent.length) ors.push(inListCondition(p, ['parent_span_id'], by.parent, 'VARCHAR'));
  if (by.xrid.length) ors.push(inListCondition(p, ['x_request_id_req', 'x_request_id_resp'], by.xrid, 'VARCHAR'));
  if (tcp.length) ors.push(inListCondition(p, ['req_tcp_seq', 'resp_tcp_seq'], tcp, 'UINTEGER'));
  if (sys.length) ors.push(inListCondition(p, ['syscall_trace_id_req', 'syscall_trace_id_resp'], sys, 'UBIGINT'));
  return ors.length === 0 ? null : `(${ors.join(' OR ')})`;
}

const ORDER_NEWEST_FIRST = "ORDER BY start_ns DESC, coalesce(span_id, '') ASC, coalesce(trace_id, '') ASC, sid ASC";

function writeError(count: number, cause: unknown): TracingError {
  return new TracingError('TRC_STORE_WRITE', `DuckDB write of ${count} spans failed: ${String(cause)}`, {
    httpStatus: 503,
    retryable: true,
    cause,
  });
}

/** A batch converted to data chunks; only the ordinals are filled in when its turn comes. */
interface PreparedWrite {
  rows: SpanRow[];
  chunks: DuckDBDataChunk[];
  attributeKeys: Set<string>;
}

/**
 * Rows converted or indexed per step of the server's CPU queue (cpu-turns.ts), which runs steps
 * until its turn budget (~4 ms) is used. A write of up to --max-batch-spans rows would otherwise
 * hold the event loop for its whole conversion and appender flush (hundreds of ms at 50k spans),
 * and every other request, /healthz included, would wait behind it. 128 rows convert in about
 * 1-2 ms on the 2-core VM.
 */
const ROWS_PER_STEP = 128;

/**
 * Rows per data chunk, each appended and flushed in one step. A chunk and a flush have a fixed
 * cost (45 vectors of 2048 slots allocated; the flush's setup): 128-row chunks cost 22% more CPU
 * per span than 1024-row ones, measured in-process. 512 keeps that within a few % while one
 * flush stays a few ms.
 */
const ROWS_PER_CHUNK = 512;

function* prepareSteps(spans: readonly SpanRecord[]): Generator<void, PreparedWrite, undefined> {
  const rows = new Array<SpanRow>(spans.length);
  const attributeKeys = new Set<string>();
  const chunks: DuckDBDataChunk[] = [];
  let chunk: DuckDBDataChunk | null = null;
  let chunkStart = 0;
  for (let off = 0; off < spans.length; off += ROWS_PER_STEP) {
    if (chunk === null || off - chunkStart >= ROWS_PER_CHUNK) {
      chunk = newSpanChunk(Math.min(ROWS_PER_CHUNK, spans.length - off));
      chunkStart = off;
      chunks.push(chunk);
    }
    const slice: SpanRow[] = [];
    for (let i = off; i < Math.min(spans.length, off + ROWS_PER_STEP); i++) {
      const span = spans[i] as SpanRecord;
      const row: SpanRow = { ord: 0n, sid: identityHash(span), span };
      rows[i] = row;
      slice.push(row);
      for (const k in span.attributes) attributeKeys.add(k);
      for (const k in span.resource) attributeKeys.add(k);
    }
    fillSpanChunk(chunk, off - chunkStart, slice);
    yield;
  }
  return { rows, chunks, attributeKeys };
}

function closedError(): TracingError {
  return new TracingError('TRC_STORE_CLOSED', 'the DuckDB store is closed', { httpStatus: 503 });
}

class DuckDbStoreImpl implements Store {
  readonly kind = 'duckdb';

  private closed = false;
  private writeChain: Promise<unknown> = Promise.resolve();
  private readonly idleReaders: DuckDBConnection[] = [];
  private readers = 0;
  private readonly readerWaiters: ((c: DuckDBConnection) => void)[] = [];

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private appender: DuckDBAppender,
    private readonly index: LinkKeyBlockIndex,
    private nextOrd: number,
    private readonly attributeKeySet: Set<string>,
    private readonly opts: DuckDbStoreOptions,
  ) {}

  static async open(opts: DuckDbStoreOptions): Promise<DuckDbStoreImpl> {
    mkdirSync(dirname(opts.path), { recursive: true });
    let instance: DuckDBInstance;
    try {
      // A checkpoint compresses the rows written since the last one into the file; DuckDB's
      // default (a 16 MB WAL) checkpoints every ~15k APP spans. Fewer, larger checkpoints cost
      // less CPU per span and split fewer row groups into extra segments (SYS spans: 63 vs
      // 79 bytes each at 200k); the price is a WAL of up to this size to replay after a crash
      // (measured at load 18: 5.0 s for 63 MB against 1.7 s for 16 MB). BENCHMARKS.md, ingest.
      const config: Record<string, string> = { checkpoint_threshold: CHECKPOINT_THRESHOLD };
      if (opts.threads !== undefined) config['threads'] = String(opts.threads);
      if (opts.memoryLimitBytes !== undefined) {
        config['memory_limit'] = `${Math.max(64, Math.floor(opts.memoryLimitBytes / (1024 * 1024)))}MiB`;
        // DuckDB's allocator (jemalloc) keeps freed pages for reuse: under ingest it held about
        // twice what the buffer manager reported (~200 MiB resident against ~100 MiB). Returning
        // them after any task that peaked over a few MiB, and from a background thread, keeps
        // the store near its memory_limit in resident terms.
        config['allocator_flush_threshold'] = ALLOCATOR_FLUSH_THRESHOLD;
        config['allocator_background_threads'] = 'true';
      }
      instance = await DuckDBInstance.create(opts.path, config);
    } catch (cause) {
      throw new TracingError('TRC_STORE_OPEN', `cannot open DuckDB database ${opts.path}: ${String(cause)}`, { cause });
    }
    const writer = await instance.connect();
    await writer.run(SPAN_TABLE_DDL);
    await writer.run(LINK_BLOCKS_DDL);
    await writer.run(ATTRIBUTE_KEYS_DDL);

    const index = new LinkKeyBlockIndex(opts.blockSpans ?? BLOCK_SPANS);
    const started = performance.now();
    const blocks = await writer.runAndReadAll('SELECT lo, hi, min_start_ns, max_end_ns, fingerprints FROM link_blocks ORDER BY lo');
    const blockRows = blocks.getRows();
    // A 10M-span store loads ~600 blocks in seconds: say so before the wait, not only after.
    if (blockRows.length >= 100) opts.logger?.info({ blocks: blockRows.length, path: opts.path }, 'loading the link-key index');
    for (const [lo, hi, minStart, maxEnd, fps] of blockRows) {
      index.loadSealed({
        lo: Number(lo),
        hi: Number(hi),
        minStartNano: maxEnd === null ? 0n : (minStart as bigint),
        maxEndNano: (maxEnd as bigint | null) ?? 0n,
        fingerprints: decodeFingerprints((fps as DuckDBBlobValue).bytes),
      });
    }
    const maxOrd = (await writer.runAndReadAll('SELECT max(ord) FROM spans')).getRows()[0]?.[0];
    const nextOrd = maxOrd === null || maxOrd === undefined ? 0 : Number(maxOrd) + 1;

    const keys = await writer.runAndReadAll('SELECT DISTINCT key FROM attribute_keys');
    const attributeKeySet = new Set(keys.getRows().map((r) => r[0] as string));
    const appender = await writer.createAppender('spans');
    const store = new DuckDbStoreImpl(instance, writer, appender, index, nextOrd, attributeKeySet, opts);
    await store.rebuildOpenBlock();
    opts.logger?.info(
      { spans: nextOrd, blocks: index.blockCount, indexBytes: index.fingerprintBytes, openMs: Math.round(performance.now() - started) },
      'duckdb store opened',
    );
    return store;
  }

  /** Re-indexes the spans after the last persisted block (the open block, and any block sealed but not saved). */
  private async rebuildOpenBlock(): Promise<void> {
    const from = this.index.nextUnsealedOrd();
    const res = await this.writer.runAndReadAll(
      `SELECT ord, trace_id, span_id, parent_span_id, req_tcp_seq, resp_tcp_seq, syscall_trace_id_req,
              syscall_trace_id_resp, x_request_id_req, x_request_id_resp, start_ns, end_ns
       FROM spans WHERE ord >= $1::UBIGINT ORDER BY ord`,
      [BigInt(from)],
    );
    const sealed: SealedBlock[] = [];
    for (const r of res.getRows()) {
      const span: SpanRecord = {
        ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: 'app' }),
        traceId: (r[1] as string | null) ?? '',
        spanId: (r[2] as string | null) ?? '',
        parentSpanId: (r[3] as string | null) ?? '',
        reqTcpSeq: Number(r[4] ?? 0),
        respTcpSeq: Number(r[5] ?? 0),
        syscallTraceIdReq: Number(r[6] ?? 0),
        syscallTraceIdResp: Number(r[7] ?? 0),
        xRequestIdReq: (r[8] as string | null) ?? '',
        xRequestIdResp: (r[9] as string | null) ?? '',
        startTimeUnixNano: r[10] as bigint,
        endTimeUnixNano: r[11] as bigint,
      };
      sealed.push(...this.index.add(Number(r[0]), span));
    }
    for (const b of sealed) await this.persistBlock(b);
  }

  private async persistBlock(b: SealedBlock): Promise<void> {
    try {
      await this.writer.run('INSERT INTO link_blocks VALUES ($1::UBIGINT, $2::UBIGINT, $3::BIGINT, $4::BIGINT, $5)', [
        BigInt(b.lo),
        BigInt(b.hi),
        b.minStartNano,
        b.maxEndNano,
        blobValue(encodeFingerprints(b.fingerprints)),
      ]);
    } catch (err) {
      // Not fatal: on the next open the block is rebuilt from the spans it covers.
      this.opts.logger?.warn({ err, lo: b.lo }, 'could not persist a link-key block');
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw closedError();
  }

  write(spans: readonly SpanRecord[]): Promise<WriteResult> {
    if (this.closed) return Promise.reject(closedError());
    if (spans.length === 0) return Promise.resolve({ accepted: 0 });
    // Conversion happens before taking the write turn, so it overlaps the previous COMMIT.
    const prepared = inTurns('store', prepareSteps(spans)).catch((cause: unknown) => {
      throw writeError(spans.length, cause);
    });
    prepared.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    const run = this.writeChain.then(async () => this.writeNow(await prepared));
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  private async writeNow(prepared: PreparedWrite): Promise<WriteResult> {
    if (this.closed) throw closedError();
    const { rows, chunks, attributeKeys } = prepared;
    const first = this.nextOrd;
    const newKeys: string[] = [];
    for (const k of attributeKeys) {
      if (!this.attributeKeySet.has(k) && this.attributeKeySet.size + newKeys.length < MAX_ATTRIBUTE_KEYS) newKeys.push(k);
    }
    try {
      let ord = first;
      for (const chunk of chunks) {
        const rowCount = chunk.rowCount;
        const ords = new Array<number>(rowCount);
        for (let i = 0; i < rowCount; i++) ords[i] = ord++;
        writeChunkColumn(chunk, 0, 'u64', ords, rowCount);
      }
      await this.writer.run('BEGIN TRANSACTION');
      // One chunk per step, flushed as it goes: the appender's flush is synchronous and costs
      // about as much as the conversion, so a large batch flushed once would block the loop.
      // Everything stays in the one transaction, so the commit below is still all or nothing.
      const appender = this.appender;
      await inTurns(
        'store',
        (function* () {
          for (const chunk of chunks) {
            appender.appendDataChunk(chunk);
            appender.flushSync();
            // The appender copied the rows: the chunk can be filled again by a later write.
            releaseSpanChunk(chunk);
            yield;
          }
        })(),
      );
      if (newKeys.length > 0) {
        const sql = new Sql();
        await this.writer.run(`INSERT INTO attribute_keys VALUES ${newKeys.map((k) => `(${sql.p(k)})`).join(', ')}`, sql.params);
      }
      // COMMIT writes the WAL and fsyncs it before returning: this is the durability point.
      await this.writer.run('COMMIT');
    } catch (cause) {
      await this.recoverWriter();
      throw writeError(rows.length, cause);
    }
    this.nextOrd = first + rows.length;
    for (const k of newKeys) this.attributeKeySet.add(k);
    const sealed: SealedBlock[] = [];
    const index = this.index;
    await inTurns(
      'store',
      (function* () {
        for (let off = 0; off < rows.length; off += ROWS_PER_STEP) {
          for (let i = off; i < Math.min(rows.length, off + ROWS_PER_STEP); i++) sealed.push(...index.add(first + i, (rows[i] as SpanRow).span));
          yield;
        }
      })(),
    );
    for (const b of sealed) await this.persistBlock(b);
    return { accepted: rows.length };
  }

  /** After a failed write: roll back and start a fresh appender, so the next write starts clean. */
  private async recoverWriter(): Promise<void> {
    try {
      this.appender.clear();
    } catch {
      // The appender may already be invalid; it is replaced below.
    }
    try {
      await this.writer.run('ROLLBACK');
    } catch {
      // No transaction was open.
    }
    try {
      this.appender.closeSync();
    } catch {
      // Closing a failed appender may throw again; it is discarded either way.
    }
    try {
      this.appender = await this.writer.createAppender('spans');
    } catch (err) {
      this.opts.logger?.error({ err }, 'cannot recreate the DuckDB appender');
    }
  }

  private async withReader<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    this.ensureOpen();
    let conn = this.idleReaders.pop();
    if (conn === undefined) {
      if (this.readers < MAX_READ_CONNECTIONS) {
        this.readers++;
        conn = await this.instance.connect();
      } else {
        conn = await new Promise<DuckDBConnection>((resolve) => this.readerWaiters.push(resolve));
      }
    }
    try {
      return await fn(conn);
    } finally {
      const waiter = this.readerWaiters.shift();
      if (waiter) waiter(conn);
      else if (this.closed) conn.closeSync(); // a read that outlived close() releases its connection
      else this.idleReaders.push(conn);
    }
  }

  private async select(sqlText: string, params: DuckDBValue[]): Promise<DuckDBValue[][]> {
    return rowsOfColumns(await this.selectColumns(sqlText, params));
  }

  /** The answer column by column (no row arrays: a 10k-span trace made 10k of 46 values each). */
  private async selectColumns(sqlText: string, params: DuckDBValue[]): Promise<DuckDBValue[][]> {
    return this.withReader(async (c) => (await c.runAndReadAll(sqlText, params)).getColumns());
  }

  /** Spans in the candidate ranges with any of the keys, de-duplicated, at most `limit` (all when undefined). */
  private async readByKeys(keys: readonly LinkKey[], ranges: OrdRange[], limit: number | undefined, timeRange?: TimeRange, excludeTraceIds: readonly string[] = []): Promise<SpanRecord[]> {
    if (ranges.length === 0 || limit === 0) return [];
    const sql = new Sql();
    const keyCond = linkKeyCondition(sql, keys);
    if (keyCond === null) return [];
    let timeCond = '';
    if (timeRange) {
      timeCond = ` AND start_ns <= ${sql.p(timeRange.endUnixNano)}::BIGINT AND end_ns >= ${sql.p(timeRange.startUnixNano)}::BIGINT`;
    }
    const excluded = excludeTraceIds.filter((t) => t !== '');
    // Empty trace ids are stored as NULL: those spans are never excluded.
    if (excluded.length > 0) timeCond += ` AND (trace_id IS NULL OR trace_id NOT IN (${sql.list(excluded)}))`;
    // Step 1 reads only `ord`, `sid` and the key columns of the candidate blocks. One SELECT per
    // range keeps each filter a plain conjunction, which DuckDB prunes with its min/max zone maps
    // on `ord`. The OR over key columns cannot be pushed into the scan, so selecting every column
    // here would decode all of them for the whole block (measured: ~4x slower).
    const selects = ranges.map(
      (r) => `SELECT ord, sid FROM spans WHERE ord BETWEEN ${sql.p(BigInt(r.lo))}::UBIGINT AND ${sql.p(BigInt(r.hi))}::UBIGINT AND ${keyCond}${timeCond}`,
    );
    const hits = await this.select(selects.join('\nUNION ALL\n'), sql.params);
    const seen = new Set<bigint>();
    const ords: bigint[] = [];
    for (const [ord, sid] of hits) {
      if (seen.has(sid as bigint)) continue;
      seen.add(sid as bigint);
      ords.push(ord as bigint);
      if (limit !== undefined && ords.length >= limit) break;
    }
    if (ords.length === 0) return [];
    // Step 2 fetches whole rows by ordinal, clustered so each SELECT touches a narrow ord range.
    ords.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const fetch = new Sql();
    const parts: string[] = [];
    let cluster: bigint[] = [];
    const flush = (): void => {
      if (cluster.length === 0) return;
      const lo = cluster[0] as bigint;
      const hi = cluster[cluster.length - 1] as bigint;
      parts.push(
        `SELECT ${SELECT_COLUMNS} FROM spans WHERE ord BETWEEN ${fetch.p(lo)}::UBIGINT AND ${fetch.p(hi)}::UBIGINT AND ord IN (${cluster.map((o) => `${fetch.p(o)}::UBIGINT`).join(', ')})`,
      );
      cluster = [];
    };
    for (const o of ords) {
      if (cluster.length > 0 && o - (cluster[cluster.length - 1] as bigint) > FETCH_CLUSTER_GAP) flush();
      cluster.push(o);
    }
    flush();
    const rows = await this.select(parts.join('\nUNION ALL\n'), fetch.params);
    return rows.map(rowToSpan);
  }

  async getTrace(traceId: string, options: { limit?: number } = {}): Promise<SpanRecord[]> {
    this.ensureOpen();
    if (traceId === '') return [];
    const ranges = this.index.candidates([{ type: 'trace', value: traceId }]);
    if (ranges.length === 0) return [];
    // One step, unlike other key lookups: `trace_id = $1` alone is pushed into the scan (zone
    // maps, then only matching rows' other columns), so whole rows come back at once. The
    // two-step read (ordinals, then rows by an IN list of every ordinal) took 2-3 s for a
    // 10k-span trace and 10-20 s for 100k; this takes a fifth of it.
    const sql = new Sql();
    const id = sql.p(traceId);
    const selects = ranges.map((r) => `SELECT ${SELECT_COLUMNS} FROM spans WHERE ord BETWEEN ${sql.p(BigInt(r.lo))}::UBIGINT AND ${sql.p(BigInt(r.hi))}::UBIGINT AND trace_id = ${id}`);
    const limit = options.limit === undefined ? undefined : Math.max(0, Math.floor(options.limit));
    if (limit === 0) return [];
    // The first-written spans, so the same trace cut at a limit is the same spans every time.
    // Re-sent spans are stored once per copy and de-duplicated here by identity: when copies
    // filled the rows read, read again with room for more.
    for (let cap = limit === undefined ? undefined : limit + 64; ; cap = 4 * (cap as number)) {
      const columns = await this.selectColumns(`${selects.join('\nUNION ALL\n')} ORDER BY ord${cap === undefined ? '' : ` LIMIT ${cap}`}`, sql.params);
      const rows = columns[0]?.length ?? 0;
      const seen = new Set<bigint>();
      const out: SpanRecord[] = [];
      // One row array, refilled per row: rowToSpan copies every value out of it.
      const row = new Array<DuckDBValue>(columns.length);
      for (let i = 0; i < rows; i++) {
        const sid = (columns[1] as DuckDBValue[])[i] as bigint;
        if (seen.has(sid)) continue;
        seen.add(sid);
        if (limit !== undefined && out.length >= limit) break;
        for (let c = 0; c < columns.length; c++) row[c] = (columns[c] as DuckDBValue[])[i] as DuckDBValue;
        out.push(rowToSpan(row));
      }
      if (cap === undefined || rows < cap || out.length >= (limit as number)) return out;
    }
  }

  async findByLinkKeys(keys: readonly LinkKey[], options: LinkKeyLookup): Promise<SpanRecord[]> {
    this.ensureOpen();
    const limit = Math.max(0, Math.floor(options.limit));
    if (keys.length === 0 || limit === 0) return [];
    return this.readByKeys(keys, this.index.candidates(keys, options.timeRange), limit, options.timeRange, options.excludeTraceIds);
  }

  async findInTimeRange(timeRange: TimeRange, options: { limit: number }): Promise<SpanRecord[] | null> {
    this.ensureOpen();
    const limit = Math.max(0, Math.floor(options.limit));
    const ranges = this.index.overlapping(timeRange);
    if (ranges.length === 0) return [];
    // One step, unlike key lookups: a time filter is pushed into the scan (min/max zone maps,
    // then only matching rows' other columns), so reading whole rows at once is cheaper than
    // an ordinal fetch (measured at 1M spans, 263 rows: 4 + 26 ms in two steps, 7-24 ms in one).
    const sql = new Sql();
    const lo = sql.p(timeRange.startUnixNano);
    const hi = sql.p(timeRange.endUnixNano);
    const selects = ranges.map(
      (r) =>
        `SELECT ${SELECT_COLUMNS} FROM spans WHERE ord BETWEEN ${sql.p(BigInt(r.lo))}::UBIGINT AND ${sql.p(BigInt(r.hi))}::UBIGINT` +
        ` AND start_ns <= ${hi}::BIGINT AND end_ns >= ${lo}::BIGINT`,
    );
    // Twice the limit in rows leaves room for re-sent duplicates; a range that fills even that
    // is treated as too dense rather than read whole.
    const rowCap = 2 * limit + 2;
    const rows = await this.select(`${selects.join('\nUNION ALL\n')}\nLIMIT ${rowCap}`, sql.params);
    if (rows.length >= rowCap) return null;
    const seen = new Set<bigint>();
    const out: SpanRecord[] = [];
    for (const r of rows) {
      const sid = r[1] as bigint;
      if (seen.has(sid)) continue;
      seen.add(sid);
      if (out.length >= limit) return null;
      out.push(rowToSpan(r));
    }
    return out;
  }

  /**
   * Calls `take` with matching spans newest first, page by page, until it returns false or the
   * store runs out. SQL narrows; `matchesSpanQuery` decides, and duplicates are skipped.
   */
  private async scanMatching(q: SpanQuery, extra: string[], firstPageRows: number, take: (s: SpanRecord) => boolean): Promise<void> {
    const base = new Sql();
    const conds = [...queryConditions(base, q), ...extra];
    const where = conds.length > 0 ? `WHERE ${conds.join(' AND ')}` : '';
    let offset = 0;
    let pageRows = Math.max(firstPageRows, 1);
    let lastSid: bigint | null = null;
    for (;;) {
      const params = [...base.params, BigInt(pageRows), BigInt(offset)];
      const n = base.params.length;
      const rows = await this.select(`SELECT ${SELECT_COLUMNS} FROM spans ${where} ${ORDER_NEWEST_FIRST} LIMIT $${n + 1} OFFSET $${n + 2}`, params);
      for (const r of rows) {
        const sid = r[1] as bigint;
        if (sid === lastSid) continue; // duplicates sort next to each other
        lastSid = sid;
        const span = rowToSpan(r);
        if (!matchesSpanQuery(span, q)) continue;
        if (!take(span)) return;
      }
      if (rows.length < pageRows) return;
      offset += rows.length;
      pageRows = Math.min(pageRows * 4, 64 * SEARCH_PAGE_ROWS);
    }
  }

  async findSpans(q: SpanQuery): Promise<SpanRecord[]> {
    this.ensureOpen();
    const limit = effectiveLimit(q.limit);
    const out: SpanRecord[] = [];
    if (limit === 0) return out;
    await this.scanMatching(q, [], limit, (s) => {
      out.push(s);
      return out.length < limit;
    });
    return out;
  }

  async findTraceIds(q: TraceIdQuery): Promise<string[]> {
    this.ensureOpen();
    const limit = effectiveLimit(q.limit);
    const out: string[] = [];
    if (limit === 0) return out;
    const seen = new Set<string>();
    await this.scanMatching(q, ['trace_id IS NOT NULL'], SEARCH_PAGE_ROWS, (s) => {
      if (!seen.has(s.traceId)) {
        seen.add(s.traceId);
        out.push(s.traceId);
      }
      return out.length < limit;
    });
    return out;
  }

  async services(): Promise<string[]> {
    const rows = await this.select('SELECT DISTINCT service FROM spans WHERE service IS NOT NULL', []);
    return rows.map((r) => r[0] as string).sort();
  }

  async operations(service?: string): Promise<OperationInfo[]> {
    const sql = new Sql();
    const where = service === undefined ? '' : ` AND coalesce(service, '') = ${sql.p(service)}`;
    const rows = await this.select(`SELECT DISTINCT name, kind FROM spans WHERE name IS NOT NULL${where}`, sql.params);
    return rows
      .map((r): OperationInfo => ({ name: r[0] as string, kind: KINDS[Number(r[1])] ?? 'unspecified' }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  }

  async attributeKeys(limit: number): Promise<string[]> {
    this.ensureOpen();
    return [...this.attributeKeySet].sort().slice(0, effectiveLimit(limit));
  }

  async countSpans(): Promise<number> {
    const [row] = await this.select('SELECT count(*) FROM spans', []);
    const total = Number(row?.[0] ?? 0);
    if (total > EXACT_COUNT_MAX_ROWS) return total;
    const [distinct] = await this.select('SELECT count(DISTINCT sid) FROM spans', []);
    return Number(distinct?.[0] ?? 0);
  }

  /**
   * What DuckDB's buffer manager holds (table blocks, appender chunks, query operators); DuckDB
   * memory outside it (the WAL's write buffers, result chunks handed to JavaScript) is not counted.
   */
  async memoryBytes(): Promise<number> {
    const [row] = await this.select('SELECT sum(memory_usage_bytes) FROM duckdb_memory()', []);
    return Number(row?.[0] ?? 0);
  }

  /** Link-index size, for /metrics and benchmarks. */
  indexStats(): { blocks: number; fingerprintBytes: number } {
    return { blocks: this.index.blockCount, fingerprintBytes: this.index.fingerprintBytes };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writeChain;
    try {
      this.appender.closeSync();
    } catch (err) {
      this.opts.logger?.warn({ err }, 'closing the DuckDB appender failed');
    }
    for (const c of this.idleReaders.splice(0)) c.closeSync();
    this.writer.closeSync();
    this.instance.closeSync();
  }
}

/**
 * Rows of a result read column by column: the driver's row reader builds every value through a
 * per-row visitor (about 4x the time of reading each column's vector in one loop).
 */
function rowsOfColumns(columns: DuckDBValue[][]): DuckDBValue[][] {
  const n = columns[0]?.length ?? 0;
  const rows: DuckDBValue[][] = new Array<DuckDBValue[]>(n);
  for (let i = 0; i < n; i++) {
    const row = new Array<DuckDBValue>(columns.length);
    for (let c = 0; c < columns.length; c++) row[c] = (columns[c] as DuckDBValue[])[i] as DuckDBValue;
    rows[i] = row;
  }
  return rows;
}

/** The DuckDB store with its link-key index (`indexStats` is for metrics and benchmarks). */
export type DuckDbStore = Store & { indexStats(): { blocks: number; fingerprintBytes: number } };

/**
 * Opens (creating when missing) the DuckDB store at `opts.path`. Rejects with
 * `TRC_STORE_OPEN` when the file cannot be opened (locked by another process, corrupt).
 */
export async function openDuckDbStore(opts: DuckDbStoreOptions): Promise<DuckDbStore> {
  return DuckDbStoreImpl.open(opts);
}
