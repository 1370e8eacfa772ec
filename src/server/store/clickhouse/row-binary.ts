/**
 * @module A RowBinary encoder: the insert format both ClickHouse 18.16 and current servers read.
 *
 * RowBinary carries values as bytes (little-endian integers, LEB128-length-prefixed strings,
 * count-prefixed arrays, a null byte before Nullable values), so inserts need no escaping at
 * all and the server parses them without a text lexer. Measured against TSV and JSONEachRow in
 * docs/adr/004-clickhouse-store.md.
 */

const INITIAL_BYTES = 64 * 1024;

export class RowBinaryWriter {
  private buf: Buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  private pos = 0;

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.reserve(2);
    this.buf.writeUInt16LE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }

  u64(v: bigint): void {
    this.reserve(8);
    this.buf.writeBigUInt64LE(v, this.pos);
    this.pos += 8;
  }

  /** A UInt64 from a safe non-negative integer (avoids a BigInt per value on the hot path). */
  u64n(v: number): void {
    this.reserve(8);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.buf.writeUInt32LE(Math.floor(v / 0x1_0000_0000), this.pos + 4);
    this.pos += 8;
  }

  i64(v: bigint): void {
    this.reserve(8);
    this.buf.writeBigInt64LE(v, this.pos);
    this.pos += 8;
  }

  /** LEB128, as RowBinary prefixes string lengths and array sizes. */
  varuint(v: number): void {
    this.reserve(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  string(s: string): void {
    if (s.length === 0) {
      this.u8(0);
      return;
    }
    // The exact byte length first (native, no allocation), so the bytes are written once, in place.
    const n = Buffer.byteLength(s, 'utf8');
    this.varuint(n);
    this.reserve(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  stringArray(items: readonly string[]): void {
    this.varuint(items.length);
    for (const s of items) this.string(s);
  }

  u8Array(items: readonly number[]): void {
    this.varuint(items.length);
    for (const v of items) this.u8(v);
  }

  nullableI64(v: bigint | null): void {
    if (v === null) this.u8(1);
    else {
      this.u8(0);
      this.i64(v);
    }
  }

  get length(): number {
    return this.pos;
  }

  /** The bytes written so far (a view; the writer must not be used afterwards). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
