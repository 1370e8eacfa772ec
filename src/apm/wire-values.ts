/**
 * @module Loose readers for values that arrive either from protobufjs decoding or from JSON.
 *
 * protobufjs gives int64/fixed64 as `Long` (low/high words), bytes as Uint8Array and enums as
 * numbers; JSON gives int64 as decimal strings or numbers, bytes as base64 and enums as names
 * or numbers. Each reader accepts all of them and never throws: a bad value reads as absent.
 */

interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}

function isLongLike(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && typeof (v as LongLike).low === 'number' && typeof (v as LongLike).high === 'number';
}

const DECIMAL_RE = /^-?\d{1,20}$/;
const U64_MAX = (1n << 64n) - 1n;

/** A 64-bit integer as bigint; null when absent or not an integer. */
export function readBigInt(v: unknown): bigint | null {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : Number.isInteger(v) ? BigInt(v) : null;
  if (typeof v === 'string') return DECIMAL_RE.test(v) ? BigInt(v) : null;
  if (isLongLike(v)) {
    const u = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
    return v.unsigned ? u : BigInt.asIntN(64, u);
  }
  return null;
}

/** Unsigned nanoseconds (fixed64); 0n when absent or malformed, so time checks reject it. */
export function readUnixNano(v: unknown): bigint {
  const b = readBigInt(v);
  if (b === null) return 0n;
  // A Long decoded from fixed64 without the unsigned flag can read negative; fold it back.
  const u = b < 0n ? BigInt.asUintN(64, b) : b;
  return u > U64_MAX ? 0n : u;
}

/** A safe integer; null when absent, not an integer, or beyond 2^53. */
export function readInt(v: unknown): number | null {
  const b = readBigInt(v);
  if (b === null) return null;
  const n = Number(b);
  return Number.isSafeInteger(n) ? n : null;
}

export function readString(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function readBool(v: unknown): boolean {
  return v === true || v === 'true';
}

/** An enum given as a number or a name; names are looked up in `names` (index = value). */
export function readEnum(v: unknown, names: readonly string[]): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') {
    const i = names.indexOf(v);
    if (i >= 0) return i;
    if (/^\d+$/.test(v)) return Number(v);
  }
  return 0;
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function asObject(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** Own property only: protobufjs keeps proto3 defaults on the prototype, so presence = own. */
export function own(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/**
 * Sets a key on a plain record, safely for hostile keys: `__proto__` becomes an own property
 * instead of replacing the prototype.
 */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}
