/**
 * @module Copies a DuckDB data dir into ClickHouse (`weft migrate`), resumably.
 *
 * Spans are read in write order (the DuckDB store's `ord`), a batch at a time, and written with
 * the ClickHouse store's normal `write`. After each batch is acknowledged, the next ordinal to copy
 * is recorded in ClickHouse (`weft_migrations`, keyed by the source file), so a migration that is
 * interrupted (killed, ClickHouse away) starts again where the last acknowledged batch ended. A
 * batch that was written but not yet recorded is written again on resume, which is harmless:
 * writes are idempotent (ReplacingMergeTree folds the duplicates, reads de-duplicate before that).
 */
import { existsSync, realpathSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { TracingError } from '../../../model/index.js';
import { openClickHouseStore } from '../clickhouse/clickhouse-store.js';
import type { ClickHouseStore } from '../clickhouse/clickhouse-store.js';
import { sqlIdentifier, sqlLiteral } from '../clickhouse/sql-literal.js';
import { SELECT_COLUMNS, rowToSpan } from '../duckdb/span-rows.js';

import { DEFAULT_MIGRATION_BATCH_SPANS } from './migration-defaults.js';

export { DEFAULT_MIGRATION_BATCH_SPANS };

export interface MigrationProgress {
  /** Spans copied so far, this run and earlier runs (DuckDB rows, duplicates included). */
  copied: number;
  /** DuckDB rows in all. */
  total: number;
  /** Rows copied by earlier, interrupted runs (0 on a fresh migration). */
  resumedFrom: number;
}

export interface MigrationOptions {
  /** The DuckDB file (`duckdb:PATH`). */
  from: string;
  /** `clickhouse:URL`'s URL. */
  to: string;
  cluster?: string | null;
  batchSpans?: number;
  onProgress?: (p: MigrationProgress) => void;
  /** Stops after the current batch when aborted (SIGINT); the checkpoint allows a resume. */
  signal?: AbortSignal;
}

export interface MigrationResult extends MigrationProgress {
  /** True when every row was copied; false when stopped by the signal. */
  complete: boolean;
  /** ClickHouse's distinct span count at the end (approximate above 1M). */
  spansInClickHouse: number;
}

const PROGRESS_TABLE = 'weft_migrations';

async function openSource(path: string): Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }> {
  if (!existsSync(path)) throw new TracingError('TRC_CONFIG_INVALID', `--from duckdb:PATH: no such file ${JSON.stringify(path)}`, { httpStatus: 400 });
  try {
    const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
    return { instance, conn: await instance.connect() };
  } catch (cause) {
    throw new TracingError(
      'TRC_STORE_OPEN',
      `cannot open the DuckDB store ${path} read-only (is a Weft server still running on it? stop it first): ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/** The checkpoint table lives on the server migrated to (not distributed: one row per source). */
async function progressTable(store: ClickHouseStore): Promise<string> {
  const table = `${sqlIdentifier(store.names.database)}.${PROGRESS_TABLE}`;
  await store.command(`CREATE TABLE IF NOT EXISTS ${table} (source String, next_ord UInt64, copied UInt64) ENGINE = ReplacingMergeTree() ORDER BY (source, next_ord)`);
  return table;
}

export async function migrateDuckDbToClickHouse(opts: MigrationOptions): Promise<MigrationResult> {
  const batch = Math.max(1, Math.floor(opts.batchSpans ?? DEFAULT_MIGRATION_BATCH_SPANS));
  const source = realpathSync.native(existsSync(opts.from) ? opts.from : '.');
  const { instance, conn } = await openSource(opts.from);
  let target: ClickHouseStore | null = null;
  try {
    const [stats] = (await conn.runAndReadAll('SELECT count(*), coalesce(max(ord) + 1, 0) FROM spans')).getRows();
    const total = Number(stats?.[0] ?? 0);
    const endOrd = BigInt((stats?.[1] as bigint | number | undefined) ?? 0);
    target = await openClickHouseStore({ url: opts.to, cluster: opts.cluster ?? null });
    const table = await progressTable(target);
    const [done] = await target.select(`SELECT max(next_ord), argMax(copied, next_ord) FROM ${table} WHERE source = ${sqlLiteral(source)}`, 'migration checkpoint');
    let nextOrd = BigInt(String(done?.[0] ?? 0));
    let copied = Number(done?.[1] ?? 0);
    const resumedFrom = copied;
    opts.onProgress?.({ copied, total, resumedFrom });
    while (nextOrd < endOrd) {
      if (opts.signal?.aborted) break;
      const rows = (
        await conn.runAndReadAll(`SELECT ${SELECT_COLUMNS} FROM spans WHERE ord >= $1::UBIGINT ORDER BY ord LIMIT $2`, [nextOrd, BigInt(batch)])
      ).getRows();
      if (rows.length === 0) break;
      const spans = rows.map(rowToSpan);
      await target.write(spans);
      nextOrd = BigInt(rows[rows.length - 1]?.[0] as bigint) + 1n;
      copied += rows.length;
      await target.command(`INSERT INTO ${table} VALUES (${sqlLiteral(source)}, ${sqlLiteral(nextOrd)}, ${sqlLiteral(copied)})`);
      opts.onProgress?.({ copied, total, resumedFrom });
    }
    const complete = nextOrd >= endOrd;
    return { copied, total, resumedFrom, complete, spansInClickHouse: await target.countSpans() };
  } finally {
    await target?.close();
    conn.closeSync();
    instance.closeSync();
  }
}
