/** @module Zero-copy Buffer views over captured bytes, and the ASCII tests parsers share. */

/** A Buffer over the same memory (no copy), for indexOf/latin1Slice on Uint8Array input. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

export function isUpperAlpha(c: number | undefined): boolean {
  return c !== undefined && c >= 0x41 && c <= 0x5a;
}

/** Lowercases an ASCII byte. */
export function lowerByte(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** Case-insensitive compare of buf[start, start+lowerAscii.length) with a lowercase ASCII name. */
export function equalsLowerAscii(buf: Uint8Array, start: number, lowerAscii: string): boolean {
  const n = lowerAscii.length;
  if (start + n > buf.length) return false;
  for (let i = 0; i < n; i++) {
    if (lowerByte(buf[start + i]!) !== lowerAscii.charCodeAt(i)) return false;
  }
  return true;
}

type Latin1Sliceable = Buffer & { latin1Slice(start: number, end: number): string };

/**
 * Decodes bytes [start, end) as latin1. Uses Buffer's own `latin1Slice` (present on every Node
 * Buffer, not in its typings): it skips `toString`'s argument normalisation, which shows in the
 * header hot path.
 */
export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as Latin1Sliceable).latin1Slice(start, end);
}

/** Whether `buf` holds `expected` at `pos` (no allocation, unlike subarray().equals()). */
export function bytesEqualAt(buf: Uint8Array, pos: number, expected: Uint8Array): boolean {
  const n = expected.length;
  if (pos < 0 || pos + n > buf.length) return false;
  for (let i = 0; i < n; i++) if (buf[pos + i] !== expected[i]) return false;
  return true;
}
