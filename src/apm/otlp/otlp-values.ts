/**
 * @module OTLP AnyValue/KeyValue ↔ Weft attribute values, and OTLP ids in bytes, hex or base64.
 */
import { bytesToHexId } from '../../model/index.js';
import type { AttributeValue } from '../../model/index.js';
import { asArray, asObject, own, readBigInt, readBool, setOwn } from '../wire-values.js';

const HEX_RE = /^[0-9a-fA-F]+$/;

/**
 * An id from protobuf bytes or from JSON (hex per the OTLP/JSON spec, or base64 as some
 * clients and Tempo send). `byteLength` is 16 for trace ids and 8 for span ids. Returns
 * lowercase hex, '' for empty/all-zero, or null when the value is present but malformed.
 */
export function readOtlpId(v: unknown, byteLength: 8 | 16): string | null {
  // protobufjs leaves absent bytes fields at a shared empty plain array on the prototype.
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return '';
  if (v instanceof Uint8Array) {
    if (v.length === 0) return '';
    return v.length === byteLength ? bytesToHexId(v) : null;
  }
  if (typeof v !== 'string') return null;
  if (v === '') return '';
  if (v.length === byteLength * 2 && HEX_RE.test(v)) {
    const hex = v.toLowerCase();
    return /^0+$/.test(hex) ? '' : hex;
  }
  const buf = Buffer.from(v, 'base64');
  if (buf.length === byteLength && buf.toString('base64').replace(/=+$/, '') === v.replace(/=+$/, '')) {
    return bytesToHexId(buf);
  }
  return null;
}

/** A field under its JSON (camelCase) name or its proto (snake_case) name, as protobuf JSON parsers accept. */
function oneOf(o: Record<string, unknown>, camel: string, snake: string): unknown {
  return own(o, camel) ?? own(o, snake);
}

/** Plain JS form of an AnyValue, for nested values flattened to JSON strings. */
function anyToPlain(v: unknown, depth: number): unknown {
  const o = asObject(v);
  if (depth > 16) return null;
  const s = oneOf(o, 'stringValue', 'string_value');
  if (s !== undefined) return s;
  const b = oneOf(o, 'boolValue', 'bool_value');
  if (b !== undefined) return readBool(b);
  const i = oneOf(o, 'intValue', 'int_value');
  if (i !== undefined) {
    const big = readBigInt(i);
    if (big === null) return null;
    const n = Number(big);
    return Number.isSafeInteger(n) ? n : big.toString();
  }
  const d = oneOf(o, 'doubleValue', 'double_value');
  if (d !== undefined) return typeof d === 'number' ? d : Number(d);
  const a = oneOf(o, 'arrayValue', 'array_value');
  if (a !== undefined) return asArray(asObject(a).values).map((x) => anyToPlain(x, depth + 1));
  const kv = oneOf(o, 'kvlistValue', 'kvlist_value');
  if (kv !== undefined) {
    const out: Record<string, unknown> = {};
    for (const e of asArray(asObject(kv).values)) {
      const eo = asObject(e);
      setOwn(out, String(eo.key ?? ''), anyToPlain(eo.value, depth + 1));
    }
    return out;
  }
  const by = oneOf(o, 'bytesValue', 'bytes_value');
  if (by !== undefined) return by instanceof Uint8Array ? Buffer.from(by).toString('base64') : String(by);
  return null;
}

/**
 * An AnyValue as an attribute value: scalars as they are, int64 beyond 2^53 as a decimal
 * string, arrays and maps as JSON strings, bytes as base64. undefined when empty.
 */
export function anyValueToAttribute(v: unknown): AttributeValue | undefined {
  const plain = anyToPlain(v, 0);
  if (plain === null || plain === undefined) return undefined;
  if (typeof plain === 'string' || typeof plain === 'boolean') return plain;
  if (typeof plain === 'number') return Number.isFinite(plain) ? plain : String(plain);
  return JSON.stringify(plain);
}

/** KeyValue[] → record. Later duplicates win, as most OTLP consumers do. */
export function keyValuesToRecord(list: unknown): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of asArray(list)) {
    const o = asObject(kv);
    const key = o.key;
    if (typeof key !== 'string') continue;
    const v = anyValueToAttribute(o.value);
    if (v !== undefined) setOwn(out, key, v);
  }
  return out;
}

/** An AnyValue's array of strings (weft.warnings); [] when not an array. */
export function anyValueToStringArray(v: unknown): string[] {
  const a = oneOf(asObject(v), 'arrayValue', 'array_value');
  if (a === undefined) return [];
  return asArray(asObject(a).values).map((x) => {
    const p = anyToPlain(x, 1);
    return typeof p === 'string' ? p : JSON.stringify(p);
  });
}
