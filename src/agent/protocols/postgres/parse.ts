/**
 * @module PostgreSQL frontend/backend protocol v3 framing (postgresql.org/docs/15/protocol.html).
 * Startup, SSLRequest and authentication are skipped (the startup's database is remembered). A
 * request is a simple Query ('Q') or an extended-query batch up to Sync ('P'/'B'/'D'/'E'… 'S');
 * a response is every backend message up to ReadyForQuery ('Z').
 */
import { asBuffer } from '../byte-view.js';
import type { ParseDirection, ParseResult } from '../protocol.js';

export interface PgRequestFrame {
  type: 'request';
  /** 'query' (simple) or 'extended'. */
  mode: 'query' | 'extended';
  /** The SQL run: the Query text, the Parse text, or the prepared statement Bind named. */
  sql: string;
  /** Prepared statement name used by Bind ('' = unnamed). */
  statement: string;
  /** The batch only prepared a statement (Parse without Execute). */
  prepareOnly: boolean;
  database: string;
  partial: boolean;
}

export interface PgResponseFrame {
  type: 'response';
  /** Last CommandComplete tag ("SELECT 1", "INSERT 0 1"); '' when none. */
  tag: string;
  rows: number;
  /** SQLSTATE of an ErrorResponse; '' when none. */
  errorCode: string;
  errorMessage: string;
  errorSeverity: string;
  partial: boolean;
}

export type PgFrame = PgRequestFrame | PgResponseFrame;

export interface PgState {
  /** Prepared statement name → SQL. */
  statements: Map<string, string>;
  database: string;
  /** An SSLRequest/GSSENCRequest was sent: the answer is one unframed byte. */
  encryptionAsked: boolean;
}

export function newPgState(): PgState {
  return { statements: new Map(), database: '', encryptionAsked: false };
}

/** Protocol version 3.0 and the special request codes (§55.7 StartupMessage, SSLRequest, …). */
const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** Longest message we frame; bigger lengths are garbage (a Query this size is not SQL we keep). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Prepared statements remembered per connection. */
const MAX_STATEMENTS = 4096;
const SQL_MAX_CHARS = 4096;
/** Backend message types (§55.7). */
const BACKEND_TYPES = new Set('R S K Z T D C E N I 1 2 3 n t s A G H W c d V v'.split(' ').map((c) => c.charCodeAt(0)));
const FRONTEND_TYPES = new Set('Q P B D E S H C X p F d c f'.split(' ').map((c) => c.charCodeAt(0)));

function i32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

function cstr(b: Buffer, p: number, end: number, max = SQL_MAX_CHARS): [string, number] | null {
  const z = b.indexOf(0, p);
  if (z < 0 || z >= end) return null;
  return [b.toString('utf8', p, Math.min(z, p + max)), z + 1];
}

function parseStartup(b: Buffer, state: PgState, end: boolean | undefined): ParseResult<PgFrame> {
  if (b.length < 8) return { kind: 'needMore' };
  const len = i32(b, 0);
  const code = i32(b, 4);
  if (len < 8 || len > 10_000) return { kind: 'invalid', reason: 'bad startup length' };
  if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
    state.encryptionAsked = true;
    return { kind: 'ignored', consumed: 8 };
  }
  if (code !== PROTOCOL_3 && code !== CANCEL_REQUEST) return { kind: 'invalid', reason: 'unknown startup code' };
  if (len > b.length) return end ? { kind: 'ignored', consumed: b.length } : { kind: 'needMore' };
  let p = 8;
  let user = '';
  let database = '';
  while (code === PROTOCOL_3 && p < len - 1) {
    const k = cstr(b, p, len);
    if (!k) break;
    const v = cstr(b, k[1], len);
    if (!v) break;
    if (k[0] === 'database') database = v[0];
    else if (k[0] === 'user') user = v[0];
    p = v[1];
  }
  if (code === PROTOCOL_3) state.database = database || user; // libpq's default database is the user name
  return { kind: 'ignored', consumed: len };
}

function parseRequest(b: Buffer, state: PgState, end: boolean | undefined): ParseResult<PgFrame> {
  if (b[0] === 0) return parseStartup(b, state, end);
  const f: PgRequestFrame = { type: 'request', mode: 'extended', sql: '', statement: '', prepareOnly: true, database: state.database, partial: false };
  let p = 0;
  let messages = 0;
  const parsed = new Map<string, string>();
  while (p < b.length) {
    if (p + 5 > b.length) break;
    const t = b[p]!;
    if (!FRONTEND_TYPES.has(t)) return { kind: 'invalid', reason: `unknown frontend message ${t}` };
    const len = i32(b, p + 1);
    if (len < 4 || len > MAX_MESSAGE_BYTES) return { kind: 'invalid', reason: 'bad message length' };
    const bodyAt = p + 5;
    const next = p + 1 + len;
    if (next > b.length) {
      // Only the statement text matters; take it from a message cut by the capture.
      if (end && (t === 0x51 || t === 0x50) && messages === 0) {
        const text = b.toString('utf8', t === 0x51 ? bodyAt : Math.max(bodyAt, b.indexOf(0, bodyAt) + 1), Math.min(b.length, bodyAt + SQL_MAX_CHARS));
        return { kind: 'frame', frame: { ...f, mode: t === 0x51 ? 'query' : 'extended', sql: text.replace(/\0.*$/s, ''), prepareOnly: t !== 0x51, partial: true }, consumed: b.length };
      }
      break;
    }
    messages++;
    switch (t) {
      case 0x51: {
        // 'Q' Query: a whole request on its own.
        if (messages > 1) return { kind: 'invalid', reason: 'Query inside an extended batch' };
        const q = cstr(b, bodyAt, next);
        f.mode = 'query';
        f.sql = q ? q[0] : '';
        f.prepareOnly = false;
        return { kind: 'frame', frame: f, consumed: next };
      }
      case 0x50: {
        // 'P' Parse: name, query, parameter types.
        const name = cstr(b, bodyAt, next, 256);
        const q = name ? cstr(b, name[1], next) : null;
        if (!name || !q) return { kind: 'invalid', reason: 'bad Parse' };
        parsed.set(name[0], q[0]);
        if (!f.sql) f.sql = q[0];
        break;
      }
      case 0x42: {
        // 'B' Bind: portal, statement, …
        const portal = cstr(b, bodyAt, next, 256);
        const stmt = portal ? cstr(b, portal[1], next, 256) : null;
        if (!stmt) return { kind: 'invalid', reason: 'bad Bind' };
        f.statement = stmt[0];
        f.sql = parsed.get(stmt[0]) ?? state.statements.get(stmt[0]) ?? f.sql;
        break;
      }
      case 0x45: // 'E' Execute
        f.prepareOnly = false;
        break;
      case 0x43: {
        // 'C' Close: forget a statement ('S') when the batch completes.
        break;
      }
      case 0x53: {
        // 'S' Sync ends the batch: the backend answers it with ReadyForQuery.
        commitStatements(state, parsed);
        return { kind: 'frame', frame: f, consumed: next };
      }
      case 0x58: // 'X' Terminate
      case 0x70: // 'p' password / SASL
      case 0x46: // 'F' function call
      case 0x64: // 'd' CopyData
      case 0x63: // 'c' CopyDone
      case 0x66: // 'f' CopyFail
        if (messages === 1) return { kind: 'ignored', consumed: next };
        break;
      default:
        break; // 'D' Describe, 'H' Flush
    }
    p = next;
  }
  if (!end) return { kind: 'needMore' };
  if (messages === 0) return { kind: 'ignored', consumed: b.length };
  // The message ended without Sync (a Flush-driven client, or a cut capture): a partial batch.
  commitStatements(state, parsed);
  f.partial = p < b.length;
  return { kind: 'frame', frame: f, consumed: b.length };
}

function commitStatements(state: PgState, parsed: Map<string, string>): void {
  for (const [name, sql] of parsed) {
    if (name === '') continue; // the unnamed statement lives only until the next Parse
    if (state.statements.size >= MAX_STATEMENTS && !state.statements.has(name)) continue;
    state.statements.set(name, sql);
  }
}

function readError(b: Buffer, from: number, to: number, f: PgResponseFrame): void {
  let p = from;
  while (p < to && b[p] !== 0) {
    const field = b[p]!;
    const v = cstr(b, p + 1, to, 512);
    if (!v) return;
    if (field === 0x43) f.errorCode = v[0]; // 'C' SQLSTATE
    else if (field === 0x4d) f.errorMessage = v[0]; // 'M' message
    else if (field === 0x56 || (field === 0x53 && !f.errorSeverity)) f.errorSeverity = v[0]; // 'V'/'S' severity
    p = v[1];
  }
}

function parseResponse(b: Buffer, state: PgState, end: boolean | undefined): ParseResult<PgFrame> {
  if (state.encryptionAsked && (b[0] === 0x4e || b[0] === 0x53 || b[0] === 0x47)) {
    // One byte answers SSLRequest/GSSENCRequest ('N' no, 'S'/'G' yes).
    state.encryptionAsked = false;
    return { kind: 'ignored', consumed: 1 };
  }
  const f: PgResponseFrame = { type: 'response', tag: '', rows: 0, errorCode: '', errorMessage: '', errorSeverity: '', partial: false };
  let p = 0;
  let startup = false;
  let messages = 0;
  while (p + 5 <= b.length) {
    const t = b[p]!;
    if (!BACKEND_TYPES.has(t)) return { kind: 'invalid', reason: `unknown backend message ${t}` };
    const len = i32(b, p + 1);
    if (len < 4 || len > MAX_MESSAGE_BYTES) return { kind: 'invalid', reason: 'bad message length' };
    const next = p + 1 + len;
    if (next > b.length) break;
    messages++;
    switch (t) {
      case 0x52: // 'R' authentication
      case 0x4b: // 'K' BackendKeyData
        startup = true;
        break;
      case 0x43: {
        const tag = cstr(b, p + 5, next, 256);
        if (tag) f.tag = tag[0];
        break;
      }
      case 0x44: // 'D' DataRow
        f.rows++;
        break;
      case 0x45: // 'E' ErrorResponse
        if (!f.errorCode) readError(b, p + 5, next, f);
        if (startup) return { kind: 'ignored', consumed: next }; // auth failed; the server closes
        break;
      case 0x5a: // 'Z' ReadyForQuery ends the answer
        if (startup) return { kind: 'ignored', consumed: next };
        return { kind: 'frame', frame: f, consumed: next };
      default:
        break;
    }
    p = next;
  }
  if (!end) return { kind: 'needMore' };
  if (messages === 0 || startup) return { kind: 'ignored', consumed: b.length };
  f.partial = true;
  return { kind: 'frame', frame: f, consumed: b.length };
}

export function parsePostgres(bytes: Uint8Array, direction: ParseDirection, state: PgState, end?: boolean): ParseResult<PgFrame> {
  const b = asBuffer(bytes);
  if (b.length === 0) return { kind: 'needMore' };
  return direction === 'request' ? parseRequest(b, state, end) : parseResponse(b, state, end);
}

export function detectPostgres(bytes: Uint8Array, direction: ParseDirection): 'yes' | 'no' | 'maybe' {
  if (bytes.length < 8) return direction === 'response' && bytes.length === 1 && (bytes[0] === 0x4e || bytes[0] === 0x53) ? 'maybe' : 'no';
  if (direction === 'request') {
    if (bytes[0] === 0) {
      const code = i32(bytes, 4);
      const len = i32(bytes, 0);
      return (code === PROTOCOL_3 || code === SSL_REQUEST || code === GSSENC_REQUEST) && len >= 8 && len <= 10_000 ? 'yes' : 'no';
    }
    const t = bytes[0]!;
    const len = i32(bytes, 1);
    if ((t === 0x51 || t === 0x50) && len >= 5 && len + 1 <= Math.max(bytes.length, len + 1) && bytes[len] === 0 && len + 1 <= bytes.length) return 'yes';
    return FRONTEND_TYPES.has(t) && len >= 4 && len < MAX_MESSAGE_BYTES ? 'maybe' : 'no';
  }
  const t = bytes[0]!;
  const len = i32(bytes, 1);
  if (t === 0x52 && (len === 8 || len === 12 || len > 8) && len < 1024) return 'yes';
  return BACKEND_TYPES.has(t) && len >= 4 && len < MAX_MESSAGE_BYTES ? 'maybe' : 'no';
}
