/**
 * @module `column IN (...)` for the DuckDB store's key lookups, sized to the list.
 *
 * A short list is written as parameters, one each: DuckDB pushes `IN` of constants into the
 * scan as a filter. A long one (the trace walk asks thousands of tcp seqs of a 10k-span trace
 * at once) is one LIST parameter unnested into a semi-join: binding 3,332 parameters one by one
 * took 140-200 ms of a lookup whose query ran in 10-30 ms.
 */
import { listValue } from '@duckdb/node-api';
import type { DuckDBValue } from '@duckdb/node-api';

/** From this many values a list travels as one LIST parameter. */
export const LIST_PARAM_MIN = 64;

/**
 * `(col1 IN (...) OR col2 IN (...))` over `values`, each cast to `sqlType` (values are checked
 * by the caller: canonical decimal strings for numeric types). `p` adds a parameter and returns
 * its placeholder.
 */
export function inListCondition(p: (v: DuckDBValue) => string, columns: readonly string[], values: readonly string[], sqlType: 'VARCHAR' | 'UINTEGER' | 'UBIGINT'): string {
  if (values.length >= LIST_PARAM_MIN) {
    const list = p(listValue([...values]));
    return columns.map((c) => `${c} IN (SELECT unnest(${list}::${sqlType}[]))`).join(' OR ');
  }
  const l = values.map((v) => `${p(v)}::${sqlType}`).join(', ');
  return columns.map((c) => `${c} IN (${l})`).join(' OR ');
}
