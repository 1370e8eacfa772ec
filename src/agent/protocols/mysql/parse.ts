/**
 * @module MySQL/MariaDB client/server protocol framing (dev.mysql.com/doc/dev/mysql-server/latest/
 * PAGE_PROTOCOL.html; mariadb.com/kb/en/clientserver-protocol). Packets are a 3-byte length and a
 * sequence id. A request is one command packet (sequence 0); a response is every packet of the
 * answer: OK, ERR, a text or binary result set, a COM_FIELD_LIST answer (column definitions up to
 * EOF), or a COM_STMT_PREPARE answer with its parameter and column definitions.
 *
 * The login is an exchange too (DeepFlow's LOGIN): the client's handshake response is its
 * request, the server's final OK or ERR its answer; a server that refuses the connection outright
 * ("Too many connections") sends an ERR instead of its greeting, which becomes a LOGIN span with
 * no request. The handshake response also tells which capabilities the connection uses: query
 * attributes (MySQL 8) and the compressed protocol are decoded from then on.
 */
import { asBuffer, latin1 } from '../byte-view.js';
import type { ParseDirection, ParseResult } from '../protocol.js';
import { compressedFrames, inflateFrames, inflatePrefix } from './compression.js';
import { readQueryAttributes } from './query-attributes.js';

export interface MysqlCommandFrame {
  type: 'command';
  /** Command byte (COM_QUERY = 0x03, …). */
  command: number;
  /** SQL of COM_QUERY/COM_STMT_PREPARE, or of the prepared statement COM_STMT_EXECUTE runs. */
  sql: string;
  /** COM_STMT_EXECUTE/CLOSE/RESET statement id; null otherwise. */
  statementId: number | null;
  /** The schema in use when the command was sent ('' when unknown). */
  database: string;
  /** Whether the server answers this command (COM_STMT_CLOSE and COM_QUIT get no answer). */
  expectsResponse: boolean;
  partial: boolean;
  /** MySQL 8 query attributes sent with a COM_QUERY (name → value), or null when none. */
  attributes: Record<string, string | null> | null;
  /** LOGIN: the user name the client logged in as. */
  user: string;
  /** The frame travelled inside the compressed protocol. */
  compressed: boolean;
}

export interface MysqlResponseFrame {
  type: 'response';
  kind: 'ok' | 'error' | 'eof' | 'resultset' | 'prepare_ok';
  errorCode: number | null;
  sqlState: string;
  errorMessage: string;
  affectedRows: number;
  rows: number;
  /** Statement id a COM_STMT_PREPARE answer assigned. */
  statementId: number | null;
  partial: boolean;
  /** An ERR the server sent instead of its greeting: a refused login with no request. */
  refusedLogin: boolean;
  /** The frame travelled inside the compressed protocol. */
  compressed: boolean;
}

export type MysqlFrame = MysqlCommandFrame | MysqlResponseFrame;

export interface MysqlState {
  /** Commands sent and not answered yet: how to frame the next response. */
  pending: { command: number; sql: string }[];
  /** Prepared statement id → SQL (per connection, as the server numbers them). */
  statements: Map<number, string>;
  /** The schema as far as the parser has read (handshake, COM_INIT_DB answers): a request that never gets an answer keeps it. */
  database: string;
  /**
   * The schema as of the last exchange paired, in request order: what a paired command's span
   * says (stitch.ts), so it does not depend on how requests and answers were interleaved.
   */
  stitchedDatabase: string;
  /** CLIENT_QUERY_ATTRIBUTES as the handshake set it; null when the handshake was not seen. */
  queryAttributes: boolean | null;
  /** Capabilities the server's greeting offered; null when the greeting was not seen. */
  serverCaps: number | null;
  /** The client asked for compression: it starts after the server accepts the login. */
  compressAfterLogin: boolean;
  /** Packets travel in compressed frames. */
  compressed: boolean;
}

export function newMysqlState(): MysqlState {
  return { pending: [], statements: new Map(), database: '', stitchedDatabase: '', queryAttributes: null, serverCaps: null, compressAfterLogin: false, compressed: false };
}

export const COM_QUIT = 0x01;
export const COM_INIT_DB = 0x02;
export const COM_QUERY = 0x03;
export const COM_FIELD_LIST = 0x04;
export const COM_PING = 0x0e;
export const COM_STMT_PREPARE = 0x16;
export const COM_STMT_EXECUTE = 0x17;
export const COM_STMT_SEND_LONG_DATA = 0x18;
export const COM_STMT_CLOSE = 0x19;
export const COM_STMT_RESET = 0x1a;
/** Not a command byte: the login exchange (handshake response → OK/ERR). Above any real byte. */
export const MYSQL_LOGIN = 0x100;

/** Command byte → name (without the COM_ prefix). */
export const MYSQL_COMMANDS: Record<number, string> = {
  0x01: 'QUIT', 0x02: 'INIT_DB', 0x03: 'QUERY', 0x04: 'FIELD_LIST', 0x05: 'CREATE_DB', 0x06: 'DROP_DB', 0x07: 'REFRESH',
  0x08: 'SHUTDOWN', 0x09: 'STATISTICS', 0x0a: 'PROCESS_INFO', 0x0c: 'PROCESS_KILL', 0x0d: 'DEBUG', 0x0e: 'PING',
  0x11: 'CHANGE_USER', 0x16: 'STMT_PREPARE', 0x17: 'STMT_EXECUTE', 0x18: 'STMT_SEND_LONG_DATA', 0x19: 'STMT_CLOSE',
  0x1a: 'STMT_RESET', 0x1b: 'SET_OPTION', 0x1c: 'STMT_FETCH', 0x1f: 'RESET_CONNECTION',
};

const HEADER_BYTES = 4;
/** A payload of 0xffffff bytes continues in the next packet (split packets). */
const MAX_PAYLOAD = 0xffffff;
/** An EOF packet is exactly this long (0xfe, warnings, status). */
const EOF_PAYLOAD = 5;
/** SQL characters kept. */
const MAX_SQL_CHARS = 4096;
/** Capability flags in the handshake response (Protocol::HandshakeResponse41). */
const CLIENT_CONNECT_WITH_DB = 0x8;
const CLIENT_COMPRESS = 0x20;
const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_SSL = 0x800;
const CLIENT_QUERY_ATTRIBUTES = 0x8000000;
const CLIENT_SECURE_CONNECTION = 0x8000;
const CLIENT_PLUGIN_AUTH_LENENC = 0x200000;

interface Packet {
  len: number;
  seq: number;
  start: number; // payload offset
  end: number; // payload end
}

function packetAt(b: Uint8Array, pos: number): Packet | null {
  if (pos + HEADER_BYTES > b.length) return null;
  const len = b[pos]! | (b[pos + 1]! << 8) | (b[pos + 2]! << 16);
  return { len, seq: b[pos + 3]!, start: pos + HEADER_BYTES, end: pos + HEADER_BYTES + len };
}

/** Length-encoded integer: [value, bytes used] or null. */
function lenenc(b: Uint8Array, pos: number, end: number): [number, number] | null {
  const f = b[pos];
  if (f === undefined || pos >= end) return null;
  if (f < 0xfb) return [f, 1];
  if (f === 0xfc && pos + 3 <= end) return [b[pos + 1]! | (b[pos + 2]! << 8), 3];
  if (f === 0xfd && pos + 4 <= end) return [b[pos + 1]! | (b[pos + 2]! << 8) | (b[pos + 3]! << 16), 4];
  if (f === 0xfe && pos + 9 <= end) {
    let v = 0;
    for (let i = 8; i >= 1; i--) v = v * 256 + b[pos + i]!;
    return [v, 9];
  }
  return null;
}

function u32le(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
}

function cstring(b: Buffer, p: number, end: number): [string, number] | null {
  const z = b.indexOf(0, p);
  if (z < 0 || z >= end) return null;
  return [b.toString('utf8', p, z), z + 1];
}

interface HandshakeFacts {
  caps: number;
  user: string;
  database: string;
}

/** Capabilities, user and database of a HandshakeResponse41; null when it is not one. */
function readHandshake(b: Buffer, pk: Packet): HandshakeFacts | null {
  const end = Math.min(pk.end, b.length);
  if (pk.start + 32 > end) return null;
  const caps = u32le(b, pk.start);
  if ((caps & CLIENT_PROTOCOL_41) === 0) return null;
  // 23 reserved bytes follow the capabilities, max packet size and charset: zero, except that
  // MariaDB puts its extended capabilities in the last 4.
  for (let i = pk.start + 9; i < pk.start + 28; i++) if (b[i] !== 0) return null;
  const user = cstring(b, pk.start + 32, end);
  const facts: HandshakeFacts = { caps, user: user ? user[0] : '', database: '' };
  if (!user || (caps & CLIENT_CONNECT_WITH_DB) === 0) return facts;
  facts.database = handshakeDatabase(b, user[1], end, caps);
  return facts;
}

/** The database name after the auth data of a HandshakeResponse41, or ''. */
function handshakeDatabase(b: Buffer, afterUser: number, end: number, caps: number): string {
  let p = afterUser;
  if (caps & CLIENT_PLUGIN_AUTH_LENENC) {
    const l = lenenc(b, p, end);
    if (!l) return '';
    p += l[1] + l[0];
  } else if (caps & CLIENT_SECURE_CONNECTION) {
    p += 1 + (b[p] ?? 0);
  } else {
    const a = cstring(b, p, end);
    if (!a) return '';
    p = a[1];
  }
  const db = cstring(b, p, end);
  return db ? db[0] : '';
}

function commandFrame(command: number, state: MysqlState): MysqlCommandFrame {
  return { type: 'command', command, sql: '', statementId: null, database: state.database, expectsResponse: true, partial: false, attributes: null, user: '', compressed: false };
}

/**
 * The capabilities a HandshakeV10 greeting offers: protocol 10, server version, thread id (4),
 * auth data part 1 (8), a filler, the low 2 bytes, charset (1), status (2), the high 2 bytes.
 */
function greetingCaps(b: Buffer, pk: Packet): number | null {
  const z = b.indexOf(0, pk.start + 1);
  if (z < 0 || z + 1 + 4 + 8 + 1 + 2 + 1 + 2 + 2 > pk.end) return null;
  const at = z + 1 + 4 + 8 + 1;
  const low = b[at]! | (b[at + 1]! << 8);
  const high = b[at + 5]! | (b[at + 6]! << 8);
  return (low | (high << 16)) >>> 0;
}

/** Whether the byte can start SQL text: a letter, a comment, a parenthesis or whitespace. */
function sqlStart(c: number | undefined): boolean {
  return c !== undefined && (((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x2f || c === 0x28 || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x2d);
}

function parseCommand(b: Buffer, state: MysqlState, end: boolean | undefined): ParseResult<MysqlFrame> {
  const pk = packetAt(b, 0);
  if (!pk) return { kind: 'needMore' };
  if (pk.len === 0) return { kind: 'invalid', reason: 'empty packet' };
  const complete = pk.end <= b.length;
  if (pk.seq !== 0) {
    // Handshake response (seq 1), auth data and continuations of large packets: not commands.
    if (!complete) return end ? { kind: 'ignored', consumed: b.length } : { kind: 'needMore' };
    const hs = pk.seq === 1 && pk.len >= 32 ? readHandshake(b, pk) : null;
    if (!hs) return { kind: 'ignored', consumed: pk.end };
    if (hs.database) state.database = hs.database;
    // An SSL request is the 32-byte head of a handshake response; TLS follows, unreadable here.
    if ((hs.caps & CLIENT_SSL) !== 0 && pk.len === 32) return { kind: 'ignored', consumed: pk.end };
    // A capability is in use only when both ends have it (some clients set bits the server lacks).
    const caps = hs.caps & (state.serverCaps ?? 0xffffffff);
    state.queryAttributes = (caps & CLIENT_QUERY_ATTRIBUTES) !== 0;
    state.compressAfterLogin = (caps & CLIENT_COMPRESS) !== 0;
    state.pending.push({ command: MYSQL_LOGIN, sql: '' });
    const frame = commandFrame(MYSQL_LOGIN, state);
    frame.user = hs.user;
    return { kind: 'frame', frame, consumed: pk.end };
  }
  if (!complete && !end) return { kind: 'needMore' };
  const cmd = b[pk.start];
  if (cmd === undefined) return end ? { kind: 'ignored', consumed: b.length } : { kind: 'needMore' };
  if (MYSQL_COMMANDS[cmd] === undefined) return { kind: 'invalid', reason: `unknown command 0x${cmd.toString(16)}` };
  const payloadEnd = Math.min(pk.end, b.length);
  let sql = '';
  let statementId: number | null = null;
  let expectsResponse = true;
  let attributes: Record<string, string | null> | null = null;
  switch (cmd) {
    case COM_QUERY: {
      // With query attributes the SQL follows a parameter block. Mid-connection (no handshake
      // seen) the block shows itself: plain SQL never starts with a control byte.
      let sqlAt = pk.start + 1;
      if (state.queryAttributes === true || (state.queryAttributes === null && !sqlStart(b[sqlAt]))) {
        const qa = readQueryAttributes(b, sqlAt, payloadEnd);
        if (qa) {
          sqlAt = qa.sqlAt;
          if (qa.count > 0) attributes = qa.values;
        }
      }
      sql = b.toString('utf8', sqlAt, Math.min(payloadEnd, sqlAt + MAX_SQL_CHARS));
      break;
    }
    case COM_STMT_PREPARE:
      sql = b.toString('utf8', pk.start + 1, Math.min(payloadEnd, pk.start + 1 + MAX_SQL_CHARS));
      break;
    case COM_INIT_DB:
      sql = b.toString('utf8', pk.start + 1, payloadEnd);
      break;
    case COM_STMT_EXECUTE:
    case COM_STMT_CLOSE:
    case COM_STMT_RESET:
    case COM_STMT_SEND_LONG_DATA:
      if (pk.start + 5 > payloadEnd) return { kind: 'invalid', reason: 'short statement command' };
      // The SQL is looked up when stitched: the PREPARE answer may not be parsed yet.
      statementId = u32le(b, pk.start + 1);
      expectsResponse = cmd === COM_STMT_EXECUTE || cmd === COM_STMT_RESET;
      break;
    case COM_QUIT:
      expectsResponse = false;
      break;
    default:
      break;
  }
  if (expectsResponse) state.pending.push({ command: cmd, sql });
  const frame: MysqlCommandFrame = { ...commandFrame(cmd, state), sql, statementId, expectsResponse, partial: !complete, attributes };
  return { kind: 'frame', frame, consumed: complete ? pk.end : b.length };
}

function response(kind: MysqlResponseFrame['kind']): MysqlResponseFrame {
  return { type: 'response', kind, errorCode: null, sqlState: '', errorMessage: '', affectedRows: 0, rows: 0, statementId: null, partial: false, refusedLogin: false, compressed: false };
}

function readError(b: Buffer, pk: Packet, f: MysqlResponseFrame, withState = true): void {
  const end = Math.min(pk.end, b.length);
  f.kind = 'error';
  if (pk.start + 3 > end) return;
  f.errorCode = b[pk.start + 1]! | (b[pk.start + 2]! << 8);
  let p = pk.start + 3;
  // An ERR sent before the handshake has no SQL state marker.
  if (withState && b[p] === 0x23 /* '#' */ && p + 6 <= end) {
    f.sqlState = latin1(b, p + 1, p + 6);
    p += 6;
  }
  f.errorMessage = b.toString('utf8', p, Math.min(end, p + 512));
}

function isTerminator(b: Buffer, pk: Packet): boolean {
  // 0xfe starts an EOF, or an OK with CLIENT_DEPRECATE_EOF; a row starting with 0xfe would be an
  // 8-byte length, so at least 9 bytes long and in practice a max-size packet.
  return b[pk.start] === 0xfe && pk.len < MAX_PAYLOAD && pk.len < 0xffff;
}

/** Skips an EOF packet at `pos` if there is one; offset after, or -1 (need more). */
function skipEof(b: Buffer, pos: number): number {
  const pk = packetAt(b, pos);
  if (!pk || pk.end > b.length) return -1;
  return b[pk.start] === 0xfe && pk.len === EOF_PAYLOAD ? pk.end : pos;
}

/** Skips `n` definition packets and an optional EOF after them; offset after, or -1 (need more). */
function skipDefinitions(b: Buffer, pos: number, n: number): number {
  let p = pos;
  for (let i = 0; i < n; i++) {
    const pk = packetAt(b, p);
    if (!pk || pk.end > b.length) return -1;
    p = pk.end;
  }
  return n > 0 ? skipEof(b, p) : p;
}

function parseResponse(b: Buffer, state: MysqlState, end: boolean | undefined): ParseResult<MysqlFrame> {
  const pk = packetAt(b, 0);
  if (!pk) return { kind: 'needMore' };
  if (pk.len === 0) return { kind: 'invalid', reason: 'empty packet' };
  const first = pk.end <= b.length;
  if (!first && !end) return { kind: 'needMore' };
  const lead = b[pk.start];
  if (lead === undefined) return { kind: 'ignored', consumed: b.length };
  if (pk.seq === 0 && lead === 0xff && state.pending.length === 0) {
    // An ERR instead of the greeting: the server refused the connection before any login.
    const f = response('error');
    readError(b, pk, f, false);
    f.refusedLogin = true;
    return { kind: 'frame', frame: f, consumed: first ? pk.end : b.length };
  }
  if (pk.seq === 0 && lead === 0x0a && first) state.serverCaps = greetingCaps(b, pk);
  const pending = state.pending[0];
  if (pending?.command === MYSQL_LOGIN && pk.seq >= 2) {
    // The login's answer: OK or ERR ends it; an auth switch (0xfe) or more auth data (0x01)
    // continues the exchange.
    if (lead !== 0x00 && lead !== 0xff) return { kind: 'ignored', consumed: first ? pk.end : b.length };
    state.pending.shift();
    const f = response(lead === 0x00 ? 'ok' : 'error');
    if (lead === 0xff) readError(b, pk, f);
    else if (state.compressAfterLogin) state.compressed = true;
    return { kind: 'frame', frame: f, consumed: first ? pk.end : b.length };
  }
  if (pk.seq === 0 || !pending || pk.seq !== 1 || pending.command === MYSQL_LOGIN) {
    // Server greeting (seq 0), auth exchange (seq ≥ 2), or a reply we have no command for.
    return { kind: 'ignored', consumed: first ? pk.end : b.length };
  }
  const f = response('ok');
  const done = (consumed: number): ParseResult<MysqlFrame> => {
    state.pending.shift();
    if (pending.command === COM_INIT_DB && f.kind === 'ok') state.database = pending.sql;
    if (f.kind === 'prepare_ok' && f.statementId !== null) state.statements.set(f.statementId, pending.sql);
    return { kind: 'frame', frame: f, consumed };
  };
  if (lead === 0xff) {
    readError(b, pk, f);
    return done(first ? pk.end : b.length);
  }
  if (pending.command === COM_FIELD_LIST) {
    // Column definitions up to an EOF (no column count first), or an ERR.
    f.kind = 'resultset';
    let p = 0;
    for (;;) {
      const def = packetAt(b, p);
      if (!def || def.end > b.length) break;
      if (def.len > 0 && b[def.start] === 0xff) {
        readError(b, def, f);
        return done(def.end);
      }
      if (def.len > 0 && isTerminator(b, def)) return done(def.end);
      f.rows++;
      p = def.end;
    }
    f.partial = true;
    return end ? done(b.length) : { kind: 'needMore' };
  }
  if (lead === 0x00 && pending.command === COM_STMT_PREPARE) {
    // COM_STMT_PREPARE_OK: status, stmt id(4), columns(2), params(2), filler, warnings(2).
    f.kind = 'prepare_ok';
    if (pk.start + 9 > Math.min(pk.end, b.length)) return end ? done(b.length) : { kind: 'needMore' };
    f.statementId = u32le(b, pk.start + 1);
    const cols = b[pk.start + 5]! | (b[pk.start + 6]! << 8);
    const params = b[pk.start + 7]! | (b[pk.start + 8]! << 8);
    let p = skipDefinitions(b, pk.end, params);
    if (p >= 0) p = skipDefinitions(b, p, cols);
    if (p < 0) {
      f.partial = true;
      return end ? done(b.length) : { kind: 'needMore' };
    }
    return done(p);
  }
  if (lead === 0x00 || (lead === 0xfe && pk.len < 9)) {
    f.kind = lead === 0x00 ? 'ok' : 'eof';
    const ar = lead === 0x00 ? lenenc(b, pk.start + 1, Math.min(pk.end, b.length)) : null;
    if (ar) f.affectedRows = ar[0];
    return done(first ? pk.end : b.length);
  }
  if (lead === 0xfb) {
    // LOCAL INFILE request: the client sends the file next; we don't follow that exchange.
    return done(first ? pk.end : b.length);
  }
  // Result set: column count, column definitions [EOF], rows, EOF/OK (or ERR mid-stream).
  f.kind = 'resultset';
  const cc = lenenc(b, pk.start, Math.min(pk.end, b.length));
  if (!cc || cc[0] === 0) return { kind: 'invalid', reason: 'bad column count' };
  // MariaDB's metadata cache (MARIADB_CLIENT_CACHE_METADATA) adds a byte after the count: 0
  // means the column definitions are not sent again (the client kept them); their EOF still is.
  const noMetadata = pk.len === cc[1] + 1 && b[pk.start + cc[1]] === 0;
  let p = first ? skipDefinitions(b, pk.end, noMetadata ? 0 : cc[0]) : -1;
  if (p >= 0 && noMetadata) p = skipEof(b, p);
  while (p >= 0) {
    const row = packetAt(b, p);
    if (!row || row.end > b.length) {
      p = -1;
      break;
    }
    if (row.len > 0 && b[row.start] === 0xff) {
      readError(b, row, f);
      return done(row.end);
    }
    if (row.len > 0 && isTerminator(b, row)) return done(row.end);
    f.rows++;
    p = row.end;
  }
  f.partial = true;
  return end ? done(b.length) : { kind: 'needMore' };
}

/**
 * Parses one frame out of compressed frames: the fewest whole frames whose plain packets make a
 * complete command or response. A parse that returns `needMore` mutates nothing, so trying one
 * more frame at a time is safe.
 */
function parseCompressed(b: Buffer, direction: ParseDirection, state: MysqlState, end: boolean | undefined): ParseResult<MysqlFrame> {
  const ends = compressedFrames(b);
  if (ends === null) return { kind: 'invalid', reason: 'bad compressed frame header' };
  const parse = direction === 'request' ? parseCommand : parseResponse;
  for (let k = 0; k < ends.length; k++) {
    const last = k === ends.length - 1;
    const plain = inflateFrames(b, ends[k]!);
    if (plain === null) return { kind: 'invalid', reason: 'compressed frame does not inflate' };
    const r = parse(plain, state, end === true && last && ends[k] === b.length);
    if (r.kind === 'needMore') continue;
    if (r.kind === 'frame') {
      r.frame.compressed = true;
      return { kind: 'frame', frame: r.frame, consumed: ends[k]! };
    }
    if (r.kind === 'ignored') return { kind: 'ignored', consumed: ends[k]! };
    return r;
  }
  if (!end) return { kind: 'needMore' };
  // The message ended inside a frame (a large answer past the capture's prefix cap): read what
  // inflates of it, so the answer is still this command's (partial), not skipped for the next.
  const plain = inflatePrefix(b);
  if (plain === null) return { kind: 'invalid', reason: 'compressed frame does not inflate' };
  const r = plain.length > 0 ? parse(plain, state, true) : null;
  if (r?.kind === 'frame') {
    r.frame.compressed = true;
    return { kind: 'frame', frame: r.frame, consumed: b.length };
  }
  return r?.kind === 'invalid' ? r : { kind: 'ignored', consumed: b.length };
}

/** Inflating a frame only to recognise it: small frames (a command) are enough. */
const MAX_DETECT_INFLATE = 64 * 1024;

/**
 * The command packet a compressed-protocol frame at the start of `b` carries (a capture joined
 * after the handshake that turned compression on), or null: a 7-byte frame header whose
 * sequence is 0, holding, as is or zlib-deflated, exactly one packet of sequence 0 with a known
 * command byte. Plain packets do not read this way: their 4th byte would have to be 0 and the
 * whole frame a well-formed packet again.
 */
function compressedCommand(b: Buffer): Buffer | null {
  if (b.length < 7 + 5 || b[3] !== 0) return null;
  const clen = b[0]! | (b[1]! << 8) | (b[2]! << 16);
  const ulen = b[4]! | (b[5]! << 8) | (b[6]! << 16);
  if (clen === 0 || 7 + clen > b.length || ulen > MAX_DETECT_INFLATE) return null;
  // zlib's first byte (deflate, 32 KiB window) for a deflated payload.
  if (ulen > 0 && b[7] !== 0x78) return null;
  const inner = ulen > 0 ? inflateFrames(b, 7 + clen) : b.subarray(7, 7 + clen);
  if (!inner) return null;
  const pk = packetAt(inner, 0);
  if (!pk || pk.seq !== 0 || pk.len === 0 || pk.end !== inner.length) return null;
  return MYSQL_COMMANDS[inner[pk.start]!] === undefined ? null : inner;
}

/**
 * Whether `b` may be the start of a compressed frame that has not fully arrived (so whether it
 * is one cannot be told yet): a credible header of sequence 0 whose payload is cut, and either
 * stored as is or starting like zlib.
 */
function unfinishedCompressedFrame(b: Buffer): boolean {
  if (b.length < 7 || b[3] !== 0) return false;
  const clen = b[0]! | (b[1]! << 8) | (b[2]! << 16);
  const ulen = b[4]! | (b[5]! << 8) | (b[6]! << 16);
  return clen > 0 && 7 + clen > b.length && (ulen === 0 || b.length === 7 || b[7] === 0x78);
}

export function parseMysql(bytes: Uint8Array, direction: ParseDirection, state: MysqlState, end?: boolean): ParseResult<MysqlFrame> {
  const b = asBuffer(bytes);
  if (state.compressed) return parseCompressed(b, direction, state, end);
  if (direction === 'request' && state.serverCaps === null && state.queryAttributes === null) {
    if (compressedCommand(b)) {
      // Joined mid-connection (no greeting or handshake seen) on a compressed connection: read
      // the frames from here on, both directions.
      const r = parseCompressed(b, direction, state, end);
      if (r.kind === 'frame' || r.kind === 'ignored') state.compressed = true;
      return r;
    }
    if (!end && unfinishedCompressedFrame(b)) return { kind: 'needMore' };
  }
  return direction === 'request' ? parseCommand(b, state, end) : parseResponse(b, state, end);
}

export function detectMysql(bytes: Uint8Array, direction: ParseDirection): 'yes' | 'no' | 'maybe' {
  const pk = packetAt(bytes, 0);
  if (!pk || pk.len === 0 || pk.len > MAX_PAYLOAD) return 'no';
  const lead = bytes[pk.start];
  if (direction === 'response') {
    // Initial handshake (Protocol::HandshakeV10): seq 0, protocol version 10, version string.
    if (pk.seq === 0 && lead === 0x0a && pk.end === bytes.length && bytes.indexOf(0, pk.start + 1) > pk.start + 1) return 'yes';
    // An ERR instead of the greeting ("Too many connections", host blocked): exactly one packet,
    // a server error code (1000-1999) and text.
    if (pk.seq === 0 && lead === 0xff && pk.end === bytes.length && pk.len > 4) {
      const code = bytes[pk.start + 1]! | (bytes[pk.start + 2]! << 8);
      const text = asBuffer(bytes).subarray(pk.start + 3, pk.end);
      if (code >= 1000 && code < 2000 && text.every((c) => c >= 0x20 && c < 0x7f)) return 'yes';
    }
    return pk.seq === 1 && (lead === 0x00 || lead === 0xff) ? 'maybe' : 'no';
  }
  const inner = compressedCommand(asBuffer(bytes));
  // A command inside a compressed frame counts as the command would.
  if (inner) return detectMysql(inner, 'request') === 'yes' ? 'yes' : 'maybe';
  if (pk.seq !== 0 || lead === undefined || MYSQL_COMMANDS[lead] === undefined) return 'no';
  if (pk.end !== bytes.length && pk.end < bytes.length) return 'maybe';
  // A lone COM_PING or COM_QUIT is five exact bytes (01 00 00 00 0e): a connection caught
  // mid-stream that starts with pings is recognised there, not after its detection budget.
  if (pk.len === 1 && pk.end === bytes.length && (lead === COM_PING || lead === COM_QUIT)) return 'yes';
  if (lead === COM_QUERY || lead === COM_STMT_PREPARE) {
    let c = bytes[pk.start + 1];
    if (lead === COM_QUERY && !sqlStart(c)) {
      // MySQL 8 query attributes before the SQL (the handshake that announced them is unseen).
      const qa = readQueryAttributes(asBuffer(bytes), pk.start + 1, Math.min(pk.end, bytes.length));
      if (qa) c = bytes[qa.sqlAt];
    }
    return sqlStart(c) ? 'yes' : 'no';
  }
  return 'maybe';
}
