/**
 * @module HPACK header-block decoding (RFC 7541) that knows what it does not know.
 *
 * Why not an npm HPACK library: a capture can start in the middle of a connection, or miss a
 * header block (a payload prefix cut, a lost segment). Every later block may then refer to
 * dynamic-table entries we never saw. Libraries either throw or, worse, resolve such an index
 * against a table that is not the peer's, and return a wrong header. This decoder tracks only
 * the entries it saw inserted since it was last in sync, and reports a reference to anything
 * else as unknown, never guessed.
 *
 * Why that is sound: HPACK indexes dynamic entries from the newest (62 = last inserted). The
 * entries we saw inserted since the last reset are exactly the newest ones of the peer's table,
 * in the same order, so an index into them names the same entry the encoder meant. An index
 * beyond them is unknown. Eviction only has to never drop an entry the peer still has, so when
 * an entry's size is unknown (its name came from an unknown entry) the smallest possible size
 * is counted: we may keep entries longer than the peer, which it never references, but we never
 * forget one it does.
 */
import { huffmanDecode } from './huffman.js';

/** RFC 7541 Appendix A. Index 1..61; [name, value]. */
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  ['', ''],
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_COUNT = 61;

/** RFC 7541 §4.1: an entry's size is its name and value lengths plus 32. */
const ENTRY_OVERHEAD = 32;
/** The HTTP/2 default SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2). */
export const DEFAULT_TABLE_SIZE = 4096;
/** We never hold more than this per table, whatever the peer allows: dropping only makes entries unknown. */
const MAX_TRACKED_TABLE_SIZE = 65_536;
/** Longest string literal accepted; longer is treated as a decoding error. */
const MAX_STRING_BYTES = 64 * 1024;

interface Entry {
  /** null: inserted with a name we could not resolve. */
  name: string | null;
  value: string;
  size: number;
}

/** One direction's dynamic table, as far as it is known. */
export class HpackTable {
  /** Oldest first; the newest (index 62) is last. */
  private entries: Entry[] = [];
  private size = 0;
  maxSize = DEFAULT_TABLE_SIZE;
  /** Entries the peer may hold that we never saw: set after a reset, cleared never. */
  incomplete: boolean;

  constructor(fromConnectionStart: boolean) {
    this.incomplete = !fromConnectionStart;
  }

  /** Forget everything: a header block was lost, so any entry's position is unknown. */
  reset(): void {
    this.entries = [];
    this.size = 0;
    this.incomplete = true;
  }

  get length(): number {
    return this.entries.length;
  }

  /** Dynamic entry by HPACK index (62 = newest), or undefined when it is not known. */
  at(index: number): Entry | undefined {
    const i = this.entries.length - 1 - (index - STATIC_COUNT - 1);
    return i >= 0 && i < this.entries.length ? this.entries[i] : undefined;
  }

  insert(name: string | null, value: string): void {
    const size = (name === null ? 0 : name.length) + value.length + ENTRY_OVERHEAD;
    const cap = Math.min(this.maxSize, MAX_TRACKED_TABLE_SIZE);
    if (size > cap) {
      // RFC 7541 §4.4: an entry larger than the table empties it and is not added. With an
      // unknown name we cannot know that it was too large, so the table's state is unknown.
      this.entries = [];
      this.size = 0;
      if (name === null) this.incomplete = true;
      return;
    }
    this.entries.push({ name, value, size });
    this.size += size;
    this.evict(cap);
  }

  setMaxSize(n: number): void {
    this.maxSize = n;
    this.evict(Math.min(n, MAX_TRACKED_TABLE_SIZE));
  }

  private evict(cap: number): void {
    let drop = 0;
    while (this.size > cap && drop < this.entries.length) this.size -= this.entries[drop++]!.size;
    if (drop > 0) this.entries.splice(0, drop);
  }
}

export interface DecodedBlock {
  /** Header fields in block order: names are lowercase as HTTP/2 requires. */
  names: string[];
  values: string[];
  /** Fields whose name or value could not be known (they refer to unknown table entries). */
  unknown: number;
}

/** Why a block could not be decoded; the caller treats the table as out of sync. */
export type HpackError = { error: string };

/** Reads an HPACK integer with an N-bit prefix (RFC 7541 §5.1); [value, next] or null. */
function readInt(buf: Uint8Array, pos: number, end: number, prefixBits: number): [number, number] | null {
  if (pos >= end) return null;
  const mask = (1 << prefixBits) - 1;
  let v = buf[pos]! & mask;
  pos++;
  if (v < mask) return [v, pos];
  let shift = 0;
  for (;;) {
    if (pos >= end || shift > 21) return null; // past 2^28: no real header needs it
    const b = buf[pos++]!;
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return [v, pos];
  }
}

function readString(buf: Uint8Array, pos: number, end: number): [string, number] | null {
  if (pos >= end) return null;
  const huffman = (buf[pos]! & 0x80) !== 0;
  const len = readInt(buf, pos, end, 7);
  if (!len) return null;
  const [n, start] = len;
  if (n > MAX_STRING_BYTES || start + n > end) return null;
  if (huffman) {
    const s = huffmanDecode(buf, start, start + n);
    return s === null ? null : [s, start + n];
  }
  return [Buffer.from(buf.buffer, buf.byteOffset + start, n).toString('latin1'), start + n];
}

/** RFC 9113 §8.2: field names are lowercase tokens; pseudo-headers start with ':'. */
function validName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x3a && i === 0) continue;
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2e || c === 0x21 || c === 0x23 || c === 0x24 || c === 0x25 || c === 0x26 || c === 0x27 || c === 0x2a || c === 0x2b || c === 0x5e || c === 0x60 || c === 0x7c || c === 0x7e;
    if (!ok) return false;
  }
  return true;
}

/**
 * Decodes one complete header block `buf[start, end)` against `table`, updating the table as
 * the encoder did. On an error the table may be half-updated: the caller must reset it.
 */
export function decodeBlock(buf: Uint8Array, start: number, end: number, table: HpackTable): DecodedBlock | HpackError {
  const names: string[] = [];
  const values: string[] = [];
  let unknown = 0;
  let pos = start;
  let fieldsSeen = false;
  while (pos < end) {
    const b = buf[pos]!;
    if (b & 0x80) {
      // §6.1 indexed field.
      const r = readInt(buf, pos, end, 7);
      if (!r || r[0] === 0) return { error: 'bad index' };
      pos = r[1];
      fieldsSeen = true;
      const idx = r[0];
      if (idx <= STATIC_COUNT) {
        const e = STATIC_TABLE[idx]!;
        names.push(e[0]);
        values.push(e[1]);
      } else {
        const e = table.at(idx);
        if (e && e.name !== null) {
          names.push(e.name);
          values.push(e.value);
        } else {
          unknown++;
        }
      }
      continue;
    }
    if ((b & 0xe0) === 0x20) {
      // §6.3 dynamic table size update: only before the first field (§4.2).
      if (fieldsSeen) return { error: 'size update after a field' };
      const r = readInt(buf, pos, end, 5);
      if (!r) return { error: 'bad size update' };
      pos = r[1];
      table.setMaxSize(r[0]);
      continue;
    }
    // §6.2 literal: with incremental indexing (01), without indexing (0000), never indexed (0001).
    const indexing = (b & 0xc0) === 0x40;
    const r = readInt(buf, pos, end, indexing ? 6 : 4);
    if (!r) return { error: 'bad literal' };
    pos = r[1];
    fieldsSeen = true;
    let name: string | null;
    if (r[0] === 0) {
      const s = readString(buf, pos, end);
      if (!s) return { error: 'bad name string' };
      [name, pos] = s;
      if (!validName(name)) return { error: 'bad field name' };
    } else if (r[0] <= STATIC_COUNT) {
      name = STATIC_TABLE[r[0]]![0];
    } else {
      const e = table.at(r[0]);
      name = e ? e.name : null;
    }
    const v = readString(buf, pos, end);
    if (!v) return { error: 'bad value string' };
    pos = v[1];
    if (indexing) table.insert(name, v[0]);
    if (name === null) {
      unknown++;
    } else {
      names.push(name);
      values.push(v[0]);
    }
  }
  return { names, values, unknown };
}
