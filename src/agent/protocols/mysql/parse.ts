/**
 * @module MySQL/MariaDB client/server protocol framing (dev.mysql.com/doc/dev/mysql-server/latest/
 * PAGE_PROTOCOL.html; mariadb.com/kb/en/clientserver-protocol). Packets are a 3-byte length and a
 * sequence id. The handshake is skipped except for the database name; a request is one command
 * packet (sequence 0); a response is every packet of the answer: OK, ERR, a text or binary result
 * set, or a COM_STMT_PREPARE answer with its parameter and column definitions.
 */
import { asBuffer, latin1 } from '../byte-view.js';
import type { ParseDirection, ParseResult } from '../protocol.js';

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
}

export type MysqlFrame = MysqlCommandFrame | MysqlResponseFrame;

export interface MysqlState {
  /** Commands sent and not answered yet: how to frame the next response. */
  pending: { command: number; sql: string }[];
  /** Prepared statement id → SQL (per connection, as the server numbers them). */
  statements: Map<number, string>;
  database: string;
}

export function newMysqlState(): MysqlState {
  return { pending: [], statements: new Map(), database: '' };
}

export const COM_QUIT = 0x01;
export const COM_INIT_DB = 0x02;
export const COM_QUERY = 0x03;
export const COM_PING = 0x0e;
export const COM_STMT_PREPARE = 0x16;
export const COM_STMT_EXECUTE = 0x17;
export const COM_STMT_SEND_LONG_DATA = 0x18;
export const COM_STMT_CLOSE = 0x19;
export const COM_STMT_RESET = 0x1a;

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
const CLIENT_PROTOCOL_41 = 0x200;
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

/** Reads the database name from a HandshakeResponse41, if the client sent one. */
function handshakeDatabase(b: Buffer, pk: Packet): string {
  const end = Math.min(pk.end, b.length);
  if (pk.start + 32 > end) return '';
  const caps = u32le(b, pk.start);
  if ((caps & CLIENT_PROTOCOL_41) === 0 || (caps & CLIENT_CONNECT_WITH_DB) === 0) return '';
  const user = cstring(b, pk.start + 32, end);
  if (!user) return '';
  let p = user[1];
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

function parseCommand(b: Buffer, state: MysqlState, end: boolean | undefined): ParseResult<MysqlFrame> {
  const pk = packetAt(b, 0);
  if (!pk) return { kind: 'needMore' };
  if (pk.len === 0) return { kind: 'invalid', reason: 'empty packet' };
  const complete = pk.end <= b.length;
  if (pk.seq !== 0) {
    // Handshake response (seq 1), auth data and continuations of large packets: not commands.
    if (!complete) return end ? { kind: 'ignored', consumed: b.length } : { kind: 'needMore' };
    if (pk.seq === 1 && pk.len >= 32) {
      const db = handshakeDatabase(b, pk);
      if (db) state.database = db;
    }
    return { kind: 'ignored', consumed: pk.end };
  }
  if (!complete && !end) return { kind: 'needMore' };
  const cmd = b[pk.start];
  if (cmd === undefined) return end ? { kind: 'ignored', consumed: b.length } : { kind: 'needMore' };
  if (MYSQL_COMMANDS[cmd] === undefined) return { kind: 'invalid', reason: `unknown command 0x${cmd.toString(16)}` };
  const payloadEnd = Math.min(pk.end, b.length);
  let sql = '';
  let statementId: number | null = null;
  let expectsResponse = true;
  switch (cmd) {
    case COM_QUERY:
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
  const frame: MysqlCommandFrame = { type: 'command', command: cmd, sql, statementId, database: state.database, expectsResponse, partial: !complete };
  return { kind: 'frame', frame, consumed: complete ? pk.end : b.length };
}

function response(kind: MysqlResponseFrame['kind']): MysqlResponseFrame {
  return { type: 'response', kind, errorCode: null, sqlState: '', errorMessage: '', affectedRows: 0, rows: 0, statementId: null, partial: false };
}

function readError(b: Buffer, pk: Packet, f: MysqlResponseFrame): void {
  const end = Math.min(pk.end, b.length);
  f.kind = 'error';
  if (pk.start + 3 > end) return;
  f.errorCode = b[pk.start + 1]! | (b[pk.start + 2]! << 8);
  let p = pk.start + 3;
  if (b[p] === 0x23 /* '#' */ && p + 6 <= end) {
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

/** Skips `n` definition packets and an optional EOF after them; offset after, or -1 (need more). */
function skipDefinitions(b: Buffer, pos: number, n: number): number {
  let p = pos;
  for (let i = 0; i < n; i++) {
    const pk = packetAt(b, p);
    if (!pk || pk.end > b.length) return -1;
    p = pk.end;
  }
  if (n > 0) {
    const pk = packetAt(b, p);
    if (!pk || pk.end > b.length) return -1;
    if (b[pk.start] === 0xfe && pk.len === EOF_PAYLOAD) p = pk.end;
  }
  return p;
}

function parseResponse(b: Buffer, state: MysqlState, end: boolean | undefined): ParseResult<MysqlFrame> {
  const pk = packetAt(b, 0);
  if (!pk) return { kind: 'needMore' };
  if (pk.len === 0) return { kind: 'invalid', reason: 'empty packet' };
  const first = pk.end <= b.length;
  if (!first && !end) return { kind: 'needMore' };
  const lead = b[pk.start];
  if (lead === undefined) return { kind: 'ignored', consumed: b.length };
  if (pk.seq === 0 || state.pending.length === 0 || pk.seq !== 1) {
    // Server greeting (seq 0), auth exchange (seq ≥ 2), or a reply we have no command for.
    return { kind: 'ignored', consumed: first ? pk.end : b.length };
  }
  const pending = state.pending[0]!;
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
  let p = first ? skipDefinitions(b, pk.end, cc[0]) : -1;
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

export function parseMysql(bytes: Uint8Array, direction: ParseDirection, state: MysqlState, end?: boolean): ParseResult<MysqlFrame> {
  const b = asBuffer(bytes);
  return direction === 'request' ? parseCommand(b, state, end) : parseResponse(b, state, end);
}

export function detectMysql(bytes: Uint8Array, direction: ParseDirection): 'yes' | 'no' | 'maybe' {
  const pk = packetAt(bytes, 0);
  if (!pk || pk.len === 0 || pk.len > MAX_PAYLOAD) return 'no';
  const lead = bytes[pk.start];
  if (direction === 'response') {
    // Initial handshake (Protocol::HandshakeV10): seq 0, protocol version 10, version string.
    if (pk.seq === 0 && lead === 0x0a && pk.end === bytes.length && bytes.indexOf(0, pk.start + 1) > pk.start + 1) return 'yes';
    return pk.seq === 1 && (lead === 0x00 || lead === 0xff) ? 'maybe' : 'no';
  }
  if (pk.seq !== 0 || lead === undefined || MYSQL_COMMANDS[lead] === undefined) return 'no';
  if (pk.end !== bytes.length && pk.end < bytes.length) return 'maybe';
  if (lead === COM_QUERY || lead === COM_STMT_PREPARE) {
    const c = bytes[pk.start + 1];
    // SQL starts with a letter, a comment, a parenthesis or whitespace.
    return c !== undefined && ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a || c === 0x2f || c === 0x28 || c === 0x20 || c === 0x0a) ? 'yes' : 'no';
  }
  return 'maybe';
}
