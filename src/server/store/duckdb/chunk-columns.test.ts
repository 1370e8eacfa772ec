/** @module Values written by writeChunkColumn read back unchanged through a real DuckDB table (every kind, NULLs, 64-bit extremes). */
import { BIGINT, DuckDBDataChunk, DuckDBInstance, UBIGINT, UINTEGER, USMALLINT, UTINYINT, VARCHAR } from '@duckdb/node-api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { writeChunkColumn } from './chunk-columns.js';
import type { ChunkCell } from './chunk-columns.js';

const KINDS = ['str', 'u8', 'u16', 'u32', 'u64', 'i64', 'i64'] as const;
const TYPES = [VARCHAR, UTINYINT, USMALLINT, UINTEGER, UBIGINT, BIGINT, BIGINT];

const row = fc.tuple(
  // Short (inline in DuckDB's string_t) and long strings, non-ASCII, and lone surrogates (stored
  // as U+FFFD, as node-api's own string conversion does).
  fc.option(fc.oneof(fc.string({ maxLength: 40, unit: 'grapheme' }), fc.string({ maxLength: 300, unit: 'binary' }), fc.string({ minLength: 10, maxLength: 30 })), { nil: null }),
  fc.option(fc.integer({ min: 0, max: 255 }), { nil: null }),
  fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: null }),
  fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: null }),
  fc.option(fc.oneof(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.constant(2 ** 32), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })), { nil: null }),
  fc.option(fc.oneof(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), fc.constant(-1)), { nil: null }),
  fc.option(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { nil: null }),
);

describe('writeChunkColumn', () => {
  it('round-trips every column kind through an appender, NULLs included, whole or in 64-row-aligned steps', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      await conn.run('CREATE TABLE t (i INTEGER, s VARCHAR, a UTINYINT, b USMALLINT, c UINTEGER, d UBIGINT, e BIGINT, f BIGINT)');
      await fc.assert(
        fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 300 }), fc.constantFrom(64, 128, 2048), async (rows, step) => {
          await conn.run('DELETE FROM t');
          const appender = await conn.createAppender('t');
          const chunk = DuckDBDataChunk.create([BIGINT, ...TYPES], rows.length);
          writeChunkColumn(chunk, 0, 'i64', rows.map((_, i) => i), rows.length);
          // In steps of `step` rows from row offsets, as the store fills a chunk across turns.
          for (let off = 0; off < rows.length; off += step) {
            const part = rows.slice(off, off + step);
            KINDS.forEach((k, c) => writeChunkColumn(chunk, c + 1, k, part.map((r) => r[c] as ChunkCell), part.length, off));
          }
          appender.appendDataChunk(chunk);
          appender.closeSync();
          const got = (await conn.runAndReadAll('SELECT s, a, b, c, d, e, f FROM t ORDER BY i')).getRows();
          // DuckDB reads UTINYINT/USMALLINT/UINTEGER back as numbers and 64-bit columns as bigints.
          const want = rows.map((r) => r.map((v, c) => (typeof v === 'number' && c >= 4 ? BigInt(v) : typeof v === 'string' ? Buffer.from(v).toString() : v)));
          expect(got).toStrictEqual(want);
        }),
        { numRuns: 60 },
      );
      // Raw memory writes: a row offset off the 64-row grid or rows past the chunk are refused.
      const small = DuckDBDataChunk.create([BIGINT], 100);
      expect(() => writeChunkColumn(small, 0, 'i64', [1], 1, 32)).toThrow(/multiple of 64/);
      expect(() => writeChunkColumn(small, 0, 'i64', new Array<number>(64).fill(1), 64, 64)).toThrow(/past the chunk/);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });
});
