/** @module Public surface of storage: the Store contract and its implementations. */
export * from './store.js';
export { createMemoryStore } from './memory/memory-store.js';
export { openDuckDbStore } from './duckdb/duckdb-store.js';
export type { DuckDbStore, DuckDbStoreOptions } from './duckdb/duckdb-store.js';
export { openClickHouseStore } from './clickhouse/clickhouse-store.js';
export type { ClickHouseStore, ClickHouseStoreOptions } from './clickhouse/clickhouse-store.js';
export { StoreUnavailableError, isStoreUnavailable, STORE_RETRY_AFTER_MS } from './store-errors.js';
