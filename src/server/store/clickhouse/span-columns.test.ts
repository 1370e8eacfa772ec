/** @module Every SpanRecord field has a ClickHouse column, and the DDL declares each column once. */
import { describe, expect, it } from 'vitest';
import { SPAN_RECORD_FIELDS } from '../../../model/index.js';
import { schemaStatements } from './schema.js';
import { COLUMN_OF_FIELD, SPAN_COLUMNS } from './span-columns.js';

describe('ClickHouse span columns', () => {
  it('cover every SpanRecord field', () => {
    const columns = new Set(SPAN_COLUMNS.map(([n]) => n));
    expect(columns.size).toBe(SPAN_COLUMNS.length);
    for (const f of SPAN_RECORD_FIELDS) expect(columns.has(COLUMN_OF_FIELD[f]), `${f} → ${COLUMN_OF_FIELD[f]}`).toBe(true);
  });

  it('single-server and cluster DDL name every column and partition by day', () => {
    const single = schemaStatements({ database: 'weft', cluster: null, replicated: false }).join('\n');
    const cluster = schemaStatements({ database: 'weft', cluster: 'c', replicated: true }).join('\n');
    for (const [n, t] of SPAN_COLUMNS) expect(single).toContain(`${n} ${t}`);
    expect(single).toContain('PARTITION BY toYYYYMMDD(toDateTime(intDiv(start_ns, 1000000000)))');
    expect(single).not.toContain('Distributed');
    expect(cluster).toContain('CREATE TABLE IF NOT EXISTS weft.spans_local');
    expect(cluster).toContain('ENGINE = Distributed(c, weft, spans_local, cityHash64(trace_id, span_id))');
    expect(cluster).toContain("ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/weft/spans', '{replica}')");
    expect(() => schemaStatements({ database: 'weft', cluster: 'c; DROP', replicated: false })).toThrow(RangeError);
  });
});
