/**
 * @module Defaults of the DuckDB → ClickHouse migration that the CLI shows in its help, apart
 * from the migration itself so that `weft --help` does not load both database clients.
 */

/** Spans per ClickHouse insert. */
export const DEFAULT_MIGRATION_BATCH_SPANS = 50_000;
