/**
 * @module Column values written straight into a DuckDB data chunk's vectors through
 * `@duckdb/node-bindings`: numbers into a typed array copied in one call, NULLs into a byte
 * bitmap, strings one call each.
 *
 * Why not `DuckDBDataChunk.setColumns`: its vector wrappers keep the validity mask as a
 * BigUint64Array and allocate several BigInts per cell once a column holds a NULL (most span
 * columns do), and one more per BIGINT cell for its range check. Under ingest that was ~45% of
 * the server's allocated bytes, and the scavenges it caused were the largest single holder of
 * the event loop (measured with a sampling heap profile and `PerformanceObserver('gc')`).
 * Here a cell allocates nothing: 64-bit numbers are written as two 32-bit words.
 */
import duckdb from '@duckdb/node-bindings';
import type { DuckDBDataChunk } from '@duckdb/node-api';

/** How a column's values are laid out in its vector. */
export type ChunkColumnKind = 'str' | 'u8' | 'u16' | 'u32' | 'u64' | 'i64';

/** A cell: a string (str), a number or bigint (numeric kinds), or null / undefined (NULL). */
export type ChunkCell = string | number | bigint | null | undefined;

const TWO_32 = 2 ** 32;

/** Bytes one row takes in a numeric column's vector. */
const ROW_BYTES: Record<Exclude<ChunkColumnKind, 'str'>, number> = { u8: 1, u16: 2, u32: 4, u64: 8, i64: 8 };

/** Marks row `i` NULL in a validity bitmap (DuckDB's uint64 words, little-endian: bit i%8 of byte i/8). */
function clearBit(validity: Uint8Array, i: number): void {
  validity[i >> 3] = (validity[i >> 3] as number) & ~(1 << (i & 7));
}

function newValidity(rows: number): Uint8Array {
  return new Uint8Array(Math.ceil(rows / 64) * 8).fill(0xff);
}

/**
 * Writes `values` (one per row, `rows` of them) into column `index` of `chunk`, from row
 * `rowOffset` on (a multiple of 64, so NULL bits go in whole validity words; the rows after
 * `rowOffset + rows` in the last word are marked valid and must be written later or not be in
 * the chunk). Numbers must be integers in the column's domain (the caller checks; span-rows.ts
 * turns out-of-domain values into NULL or 0 with a warning). A bigint is written by its low 64 bits.
 */
export function writeChunkColumn(chunk: DuckDBDataChunk, index: number, kind: ChunkColumnKind, values: readonly ChunkCell[], rows: number, rowOffset = 0): void {
  if (rowOffset % 64 !== 0) throw new RangeError(`rowOffset ${rowOffset} is not a multiple of 64`);
  // The copies below are raw memory writes: never past the chunk's rows.
  if (rowOffset + rows > duckdb.data_chunk_get_size(chunk.chunk)) throw new RangeError(`rows ${rowOffset}..${rowOffset + rows} are past the chunk's ${duckdb.data_chunk_get_size(chunk.chunk)}`);
  if (values.length < rows) throw new RangeError(`${values.length} values for ${rows} rows`);
  const vector = duckdb.data_chunk_get_vector(chunk.chunk, index);
  let validity: Uint8Array | null = null;
  if (kind === 'str') {
    for (let i = 0; i < rows; i++) {
      const v = values[i];
      if (v === null || v === undefined) clearBit((validity ??= newValidity(rows)), i);
      else duckdb.vector_assign_string_element(vector, rowOffset + i, v as string);
    }
  } else {
    let data: Uint8Array | Uint16Array | Uint32Array;
    if (kind === 'u64' || kind === 'i64') {
      const words = new Uint32Array(rows * 2);
      let big: BigInt64Array | null = null;
      for (let i = 0; i < rows; i++) {
        const v = values[i];
        if (v === null || v === undefined) clearBit((validity ??= newValidity(rows)), i);
        else if (typeof v === 'bigint') (big ??= new BigInt64Array(words.buffer))[i] = v;
        else {
          const n = v as number;
          const hi = Math.floor(n / TWO_32);
          words[2 * i] = n - hi * TWO_32;
          words[2 * i + 1] = hi >>> 0;
        }
      }
      data = words;
    } else {
      data = kind === 'u8' ? new Uint8Array(rows) : kind === 'u16' ? new Uint16Array(rows) : new Uint32Array(rows);
      for (let i = 0; i < rows; i++) {
        const v = values[i];
        if (v === null || v === undefined) clearBit((validity ??= newValidity(rows)), i);
        else data[i] = Number(v);
      }
    }
    // Fresh arrays: their buffer is a plain ArrayBuffer, never shared.
    duckdb.copy_data_to_vector(vector, rowOffset * ROW_BYTES[kind], data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  }
  if (validity) {
    duckdb.vector_ensure_validity_writable(vector);
    duckdb.copy_data_to_vector_validity(vector, rowOffset / 8, validity.buffer as ArrayBuffer, validity.byteOffset, validity.byteLength);
  }
}
