/**
 * @module The ClickHouse schema: DDL for a single server and for a cluster (local + Distributed).
 *
 * Three tables, each partitioned by day so retention drops whole partitions (18.16 has no TTL):
 * - `spans`: one row per span, sorted by (start_ns, identity). Time-window reads (the trace walk's
 *   `findInTimeRange`, search newest first) are primary-key ranges. ReplacingMergeTree folds a
 *   re-sent span into one row when parts merge; reads de-duplicate until then.
 * - `span_keys`: the projection-like side table for id-key lookups (trace, span and parent ids):
 *   (32-bit key fingerprint, start second) sorted by fingerprint. A lookup reads one granule per
 *   key and learns in which seconds its spans started; the spans are then read by primary-key
 *   range with the exact key condition. Rows of one key in one second collapse, so a trace's 40
 *   spans cost one `trace` row. Time-bound keys (tcp seqs, syscall ids, X-Request-IDs) are looked
 *   up inside a time window, a primary-key range of `spans`, and are not in this table.
 * - `attribute_keys`: distinct attribute keys for tag autocompletion.
 * With `--cluster NAME` each is a `<name>_local` table on every shard, and `<name>` is a
 * Distributed table over the cluster. Spans shard by (trace id, span id), so a re-sent span lands
 * on the shard that holds it already and de-duplicates there. Why these choices and what was
 * measured: docs/adr/004-clickhouse-store.md.
 */
import { SPAN_COLUMNS } from './span-columns.js';
import { sqlIdentifier } from './sql-literal.js';

export interface SchemaNames {
  database: string;
  /** Cluster name from `--cluster`, or null for one server. */
  cluster: string | null;
  /** Use Replicated*MergeTree (the server defines `{shard}` and `{replica}` macros). */
  replicated: boolean;
}

export const TABLES = ['spans', 'span_keys', 'attribute_keys'] as const;
export type TableName = (typeof TABLES)[number];

/** The table a query reads or an insert writes (the Distributed one on a cluster). */
export function tableRef(n: SchemaNames, t: TableName): string {
  return `${sqlIdentifier(n.database)}.${t}`;
}

/** The MergeTree table that holds the data on this server (where partitions are dropped). */
export function localTableRef(n: SchemaNames, t: TableName): string {
  return `${sqlIdentifier(n.database)}.${n.cluster === null ? t : `${t}_local`}`;
}

const DAY_OF_START = 'toYYYYMMDD(toDateTime(intDiv(start_ns, 1000000000)))';
const DAY_OF_BUCKET = 'toYYYYMMDD(toDateTime(bucket))';

interface TableDef {
  columns: string;
  partition: string | null;
  order: string;
  shardBy: string;
  /** MergeTree settings, or null for the server's defaults. */
  settings: string | null;
}

const DEFS: Record<TableName, TableDef> = {
  spans: {
    columns: SPAN_COLUMNS.map(([n, t]) => `${n} ${t}`).join(',\n  '),
    partition: DAY_OF_START,
    order: '(start_ns, trace_id, span_id, source, observation_point)',
    shardBy: 'cityHash64(trace_id, span_id)',
    // The walk's reads are narrow (a trace's seconds, a window of a few ms plus the long-span
    // lookback), and ClickHouse decodes whole granules: 1024 rows instead of the default 8192
    // decode an eighth of the columns per read (measured in BENCHMARKS.md).
    settings: 'index_granularity = 1024',
  },
  span_keys: {
    columns: 'key_hash UInt32,\n  bucket UInt32',
    partition: DAY_OF_BUCKET,
    order: '(key_hash, bucket)',
    shardBy: 'key_hash',
    settings: null,
  },
  attribute_keys: {
    columns: 'key String',
    partition: null,
    order: 'key',
    shardBy: 'cityHash64(key)',
    settings: null,
  },
};

function engine(n: SchemaNames, t: TableName): string {
  if (!n.replicated) return 'ReplacingMergeTree()';
  // One ZooKeeper path per shard and table; replicas of a shard share it.
  return `ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/${sqlIdentifier(n.database)}/${t}', '{replica}')`;
}

/** The DDL statements, in order, that create everything on the connected server. Idempotent. */
export function schemaStatements(n: SchemaNames): string[] {
  const db = sqlIdentifier(n.database);
  const out = [`CREATE DATABASE IF NOT EXISTS ${db}`];
  for (const t of TABLES) {
    const d = DEFS[t];
    const partition = d.partition === null ? '' : `\nPARTITION BY ${d.partition}`;
    const settings = d.settings === null ? '' : `\nSETTINGS ${d.settings}`;
    out.push(`CREATE TABLE IF NOT EXISTS ${localTableRef(n, t)} (\n  ${d.columns}\n) ENGINE = ${engine(n, t)}${partition}\nORDER BY ${d.order}${settings}`);
    if (n.cluster !== null) {
      out.push(
        `CREATE TABLE IF NOT EXISTS ${tableRef(n, t)} AS ${localTableRef(n, t)}\n` +
          `ENGINE = Distributed(${sqlIdentifier(n.cluster)}, ${db}, ${t}_local, ${d.shardBy})`,
      );
    }
  }
  return out;
}
