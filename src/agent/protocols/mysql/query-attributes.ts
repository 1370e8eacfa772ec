/**
 * @module MySQL 8 query attributes (CLIENT_QUERY_ATTRIBUTES, dev.mysql.com/doc/dev/mysql-server/
 * latest/page_protocol_com_query.html): with the capability on, COM_QUERY carries a parameter
 * count and a parameter set count before the SQL, and, when there are parameters, a null bitmap,
 * the new-params-bound flag, each parameter's type and name, and the values in the binary
 * protocol. Decoding them gives the clean SQL and the attributes (OTel puts `traceparent` there).
 */

export interface QueryAttributes {
  /** Offset of the SQL text in the buffer. */
  sqlAt: number;
  /** Attribute name → value as text, as MySQL prints it (null for SQL NULL). */
  values: Record<string, string | null>;
  count: number;
}

/** Attributes a frame keeps; names and values are client-chosen, so bound them. */
const MAX_ATTRIBUTES = 32;
const MAX_VALUE_CHARS = 256;

function lenenc(b: Uint8Array, p: number, end: number): [number, number] | null {
  const f = b[p];
  if (f === undefined || p >= end) return null;
  if (f < 0xfb) return [f, 1];
  if (f === 0xfc && p + 3 <= end) return [b[p + 1]! | (b[p + 2]! << 8), 3];
  if (f === 0xfd && p + 4 <= end) return [b[p + 1]! | (b[p + 2]! << 8) | (b[p + 3]! << 16), 4];
  return null; // 8-byte counts and lengths are not credible here
}

/** Fixed sizes of binary-protocol values (MYSQL_TYPE_* → bytes); the rest are length-prefixed. */
const FIXED: Record<number, number> = { 0x01: 1, 0x02: 2, 0x0d: 2, 0x03: 4, 0x09: 4, 0x04: 4, 0x05: 8, 0x08: 8 };
/** Date/time types: one length byte, then that many bytes. */
const TEMPORAL = new Set([0x07, 0x0a, 0x0b, 0x0c]);

function renderFixed(b: Buffer, p: number, type: number, unsigned: boolean): string {
  switch (type) {
    case 0x01:
      return String(unsigned ? b.readUInt8(p) : b.readInt8(p));
    case 0x02:
    case 0x0d:
      return String(unsigned ? b.readUInt16LE(p) : b.readInt16LE(p));
    case 0x03:
    case 0x09:
      return String(unsigned ? b.readUInt32LE(p) : b.readInt32LE(p));
    case 0x04:
      return String(b.readFloatLE(p));
    case 0x05:
      return String(b.readDoubleLE(p));
    default:
      return String(unsigned ? b.readBigUInt64LE(p) : b.readBigInt64LE(p));
  }
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/**
 * A binary-protocol date or time as MySQL prints it. DATE/DATETIME/TIMESTAMP: a length of 0, 4
 * (date), 7 (+ time) or 11 (+ microseconds); TIME: 0, 8 (sign, days, time) or 12 (+ microseconds).
 * '' for a length the protocol does not define.
 */
function renderTemporal(b: Buffer, p: number, len: number, type: number): string {
  if (type === 0x0b) {
    if (len === 0) return '00:00:00';
    if (len !== 8 && len !== 12) return '';
    const hours = b.readUInt32LE(p + 1) * 24 + b[p + 5]!;
    const time = `${b[p] === 1 ? '-' : ''}${pad(hours)}:${pad(b[p + 6]!)}:${pad(b[p + 7]!)}`;
    return len === 12 ? `${time}.${pad(b.readUInt32LE(p + 8), 6)}` : time;
  }
  if (len === 0) return type === 0x0a ? '0000-00-00' : '0000-00-00 00:00:00';
  if (len !== 4 && len !== 7 && len !== 11) return '';
  const date = `${pad(b.readUInt16LE(p), 4)}-${pad(b[p + 2]!)}-${pad(b[p + 3]!)}`;
  if (len === 4) return type === 0x0a ? date : `${date} 00:00:00`;
  const time = `${date} ${pad(b[p + 4]!)}:${pad(b[p + 5]!)}:${pad(b[p + 6]!)}`;
  return len === 11 ? `${time}.${pad(b.readUInt32LE(p + 7), 6)}` : time;
}

/**
 * Decodes the attribute block of a COM_QUERY payload that starts at `p` (just after the command
 * byte) and ends at `end`. Null when the bytes do not hold together as one.
 */
export function readQueryAttributes(b: Buffer, p: number, end: number): QueryAttributes | null {
  const count = lenenc(b, p, end);
  if (!count) return null;
  let at = p + count[1];
  const sets = lenenc(b, at, end);
  // The parameter set count is always 1 (the protocol reserves it for future batches).
  if (!sets || sets[0] !== 1) return null;
  at += sets[1];
  const n = count[0];
  const values: Record<string, string | null> = {};
  if (n === 0) return { sqlAt: at, values, count: 0 };
  if (n > 0xffff) return null;
  const bitmap = at;
  at += (n + 7) >> 3;
  if (at >= end || b[at] !== 1) return null; // new_params_bind_flag: types and names follow
  at++;
  const params: { type: number; unsigned: boolean; name: string }[] = [];
  for (let i = 0; i < n; i++) {
    if (at + 2 > end) return null;
    const type = b[at]!;
    const unsigned = (b[at + 1]! & 0x80) !== 0;
    at += 2;
    const len = lenenc(b, at, end);
    if (!len || at + len[1] + len[0] > end) return null;
    params.push({ type, unsigned, name: b.toString('utf8', at + len[1], at + len[1] + len[0]) });
    at += len[1] + len[0];
  }
  for (let i = 0; i < n; i++) {
    const { type, unsigned, name } = params[i]!;
    const isNull = (b[bitmap + (i >> 3)]! & (1 << (i & 7))) !== 0;
    let text: string | null = null;
    if (!isNull) {
      const fixed = FIXED[type];
      if (fixed !== undefined) {
        if (at + fixed > end) return null;
        text = renderFixed(b, at, type, unsigned);
        at += fixed;
      } else if (TEMPORAL.has(type)) {
        const l = b[at];
        if (l === undefined || at + 1 + l > end) return null;
        text = renderTemporal(b, at + 1, l, type);
        at += 1 + l;
      } else {
        const len = lenenc(b, at, end);
        if (!len || at + len[1] + len[0] > end) return null;
        text = b.toString('utf8', at + len[1], at + len[1] + Math.min(len[0], MAX_VALUE_CHARS));
        at += len[1] + len[0];
      }
    }
    if (i < MAX_ATTRIBUTES) values[name] = text;
  }
  return { sqlAt: at, values, count: n };
}
