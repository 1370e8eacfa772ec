/**
 * @module Trace and span id helpers: hex normalisation and conversion at the wire edge.
 *
 * Ids stay lowercase hex strings from the wire edge inward (as opentelemetry-js does).
 */

const HEX_RE = /^[0-9a-f]*$/;
const ALL_ZERO_RE = /^0*$/;

/** Lowercase hex of bytes; '' for an empty or all-zero id (OTLP's "absent"). */
export function bytesToHexId(bytes: Uint8Array | null | undefined): string {
  if (!bytes || bytes.length === 0) return '';
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return ALL_ZERO_RE.test(hex) ? '' : hex;
}

/** Bytes of a hex id ('' gives an empty array). Throws on non-hex input. */
export function hexIdToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !HEX_RE.test(hex)) {
    throw new RangeError(`not an even-length lowercase hex id: ${JSON.stringify(hex.slice(0, 80))}`);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/**
 * Normalises a hex id from JSON or headers: lowercases, strips dashes (UUID-style trace ids),
 * and left-pads 64-bit trace ids to 128 bits as Zipkin and Jaeger do. Returns '' when the input
 * is not hex or is all zeros.
 */
export function normalizeHexId(raw: string, widthChars: 16 | 32): string {
  const s = raw.trim().toLowerCase().replaceAll('-', '');
  if (s.length === 0 || s.length > widthChars || !HEX_RE.test(s)) return '';
  if (ALL_ZERO_RE.test(s)) return '';
  return s.padStart(widthChars, '0');
}

export function isHexTraceId(s: string): boolean {
  return s.length === 32 && HEX_RE.test(s) && !ALL_ZERO_RE.test(s);
}

/** Base64 (as Tempo's gogo-jsonpb writes ids) → lowercase hex. '' when invalid. */
export function base64ToHexId(b64: string): string {
  try {
    const buf = Buffer.from(b64, 'base64');
    return buf.length === 0 ? '' : buf.toString('hex');
  } catch {
    return '';
  }
}

export function hexToBase64Id(hex: string): string {
  return hex === '' ? '' : Buffer.from(hex, 'hex').toString('base64');
}
