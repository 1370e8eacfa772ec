/**
 * @module Memcached framing, both protocols (github.com/memcached/memcached doc/protocol.txt and
 * the binary protocol wiki page). Text: a command line, plus a data block for storage commands
 * (`set k flags exptime bytes` then bytes + CRLF); the answer is one line, or VALUE blocks (STAT
 * lines) up to END. Binary: 24-byte headers (magic 0x80 request, 0x81 response) and a body;
 * requests and responses carry an opaque that pairs them, and quiet commands answer only on a
 * miss or error.
 *
 * Detection claims a stream only on strong evidence: a storage command whose data block has
 * exactly the announced length, a lowercase command word only memcached has, a binary header
 * whose lengths add up, or an answer line only memcached sends. "get k" alone is also valid
 * inline Redis, but memcached only accepts lowercase commands; see detectMemcached.
 */
import { asBuffer, latin1 } from '../byte-view.js';
import type { ParseDirection, ParseResult } from '../protocol.js';

export interface McRequestFrame {
  type: 'request';
  binary: boolean;
  /** Command word (text) or opcode name (binary), lowercase as memcached spells it. */
  command: string;
  /** First key ('' when the command has none). */
  key: string;
  keyCount: number;
  /** Binary: the opaque the answer echoes; 0 for text. */
  opaque: number;
  /** Binary quiet command: no answer means success (or a miss for quiet gets). */
  quiet: boolean;
  partial: boolean;
}

export interface McResponseFrame {
  type: 'response';
  binary: boolean;
  /** Text: the answer's first word (STORED, END, VALUE, NOT_FOUND, ERROR, …); binary: the status name. */
  result: string;
  /** Binary status code; null for text. */
  status: number | null;
  /** Items returned by a retrieval. */
  hits: number;
  /** ERROR / CLIENT_ERROR / SERVER_ERROR and its message. */
  errorKind: 'client' | 'server' | null;
  errorMessage: string;
  opaque: number;
  partial: boolean;
}

export type McFrame = McRequestFrame | McResponseFrame;

export interface McState {
  /** Text commands sent and not answered yet: how to frame the next answer. */
  pending: string[];
}

export function newMcState(): McState {
  return { pending: [] };
}

const CR = 0x0d;
const LF = 0x0a;
const MAX_LINE = 2048;
/** Larger than memcached's largest item (1 MiB default, at most 1 GiB configured, rarely > 128 MiB). */
const MAX_VALUE = 128 * 1024 * 1024;
const BIN_HEADER = 24;
const MAGIC_REQUEST = 0x80;
const MAGIC_RESPONSE = 0x81;

/** Storage commands: `<cmd> <key> <flags> <exptime> <bytes> [cas] [noreply]` + data block. */
const STORAGE = new Set(['set', 'add', 'replace', 'append', 'prepend', 'cas']);
const RETRIEVAL = new Set(['get', 'gets', 'gat', 'gats']);
/** Every text command (classic and meta). */
const TEXT_COMMANDS = new Set([
  ...STORAGE, ...RETRIEVAL, 'delete', 'incr', 'decr', 'touch', 'stats', 'version', 'quit', 'flush_all', 'verbosity',
  'shutdown', 'cache_memlimit', 'slabs', 'lru_crawler', 'watch', 'mn', 'mg', 'ms', 'md', 'ma', 'me',
]);
/** Words both memcached and inline Redis accept: alone they are no evidence of either. */
const SHARED_WITH_REDIS = new Set(['get', 'set', 'incr', 'decr', 'quit']);
const TEXT_ANSWERS = new Set([
  'STORED', 'NOT_STORED', 'EXISTS', 'NOT_FOUND', 'DELETED', 'TOUCHED', 'OK', 'END', 'VALUE', 'STAT', 'VERSION', 'ERROR',
  'CLIENT_ERROR', 'SERVER_ERROR', 'HD', 'VA', 'EN', 'NF', 'NS', 'EX', 'MN', 'ME',
]);

/** Binary opcode → name (memcached's binary protocol). */
export const BINARY_OPCODES: Record<number, string> = {
  0x00: 'get', 0x01: 'set', 0x02: 'add', 0x03: 'replace', 0x04: 'delete', 0x05: 'incr', 0x06: 'decr', 0x07: 'quit',
  0x08: 'flush', 0x09: 'getq', 0x0a: 'noop', 0x0b: 'version', 0x0c: 'getk', 0x0d: 'getkq', 0x0e: 'append', 0x0f: 'prepend',
  0x10: 'stat', 0x11: 'setq', 0x12: 'addq', 0x13: 'replaceq', 0x14: 'deleteq', 0x15: 'incrq', 0x16: 'decrq', 0x17: 'quitq',
  0x18: 'flushq', 0x19: 'appendq', 0x1a: 'prependq', 0x1b: 'verbosity', 0x1c: 'touch', 0x1d: 'gat', 0x1e: 'gatq',
  0x20: 'sasl_list_mechs', 0x21: 'sasl_auth', 0x22: 'sasl_step', 0x23: 'gatk', 0x24: 'gatkq',
};
const QUIET_OPCODES = new Set([0x09, 0x0d, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1e, 0x24]);
const OPCODE_STAT = 0x10;
/** Binary response status → name. */
const BINARY_STATUS: Record<number, string> = {
  0x00: 'OK', 0x01: 'KEY_NOT_FOUND', 0x02: 'KEY_EXISTS', 0x03: 'VALUE_TOO_LARGE', 0x04: 'INVALID_ARGUMENTS', 0x05: 'NOT_STORED',
  0x06: 'NON_NUMERIC', 0x07: 'WRONG_VBUCKET', 0x08: 'AUTH_ERROR', 0x09: 'AUTH_CONTINUE', 0x81: 'UNKNOWN_COMMAND', 0x82: 'OUT_OF_MEMORY',
  0x83: 'NOT_SUPPORTED', 0x84: 'INTERNAL_ERROR', 0x85: 'BUSY', 0x86: 'TEMPORARY_FAILURE',
};

/** Latin-1 text of b[from, to), clamped to the bytes present (a cut message may end early). */
function text(b: Buffer, from: number, to: number): string {
  const end = Math.min(to, b.length);
  return from >= end ? '' : latin1(b, from, end);
}

/** The line at `from`: [text without CRLF, offset after LF], or null when no LF yet. */
function lineAt(b: Buffer, from: number): [string, number] | null {
  const lf = b.indexOf(LF, from);
  if (lf < 0 || lf - from > MAX_LINE) return null;
  const end = lf > from && b[lf - 1] === CR ? lf - 1 : lf;
  return [latin1(b, from, end), lf + 1];
}

const isUint = (s: string | undefined): boolean => s !== undefined && /^\d{1,20}$/.test(s);

/** Data block length a storage or meta-set line announces, or -1 when it has none / is malformed. */
function dataLength(tokens: readonly string[]): number {
  const cmd = tokens[0]!;
  if (STORAGE.has(cmd)) {
    if (!isUint(tokens[2]) || !isUint(tokens[3]) || !isUint(tokens[4])) return -1;
    if (cmd === 'cas' && !isUint(tokens[5])) return -1;
    return Number(tokens[4]);
  }
  if (cmd === 'ms') return isUint(tokens[2]) ? Number(tokens[2]) : -1;
  return -2; // no data block
}

function request(binary: boolean, command: string): McRequestFrame {
  return { type: 'request', binary, command, key: '', keyCount: 0, opaque: 0, quiet: false, partial: false };
}

function response(binary: boolean, result: string): McResponseFrame {
  return { type: 'response', binary, result, status: null, hits: 0, errorKind: null, errorMessage: '', opaque: 0, partial: false };
}

function parseTextRequest(b: Buffer, state: McState, end: boolean | undefined): ParseResult<McFrame> {
  const line = lineAt(b, 0);
  if (!line) return b.length > MAX_LINE ? { kind: 'invalid', reason: 'command line too long' } : end ? { kind: 'ignored', consumed: b.length } : { kind: 'needMore' };
  const tokens = line[0].split(' ').filter((t) => t !== '');
  const cmd = tokens[0];
  if (cmd === undefined || !TEXT_COMMANDS.has(cmd)) return { kind: 'invalid', reason: `unknown command ${JSON.stringify(line[0].slice(0, 20))}` };
  const f = request(false, cmd);
  const keys = RETRIEVAL.has(cmd) ? tokens.slice(cmd.startsWith('gat') ? 2 : 1) : tokens.length > 1 && !['stats', 'verbosity', 'flush_all', 'version', 'quit', 'mn', 'slabs', 'lru_crawler', 'watch', 'cache_memlimit'].includes(cmd) ? [tokens[1]!] : [];
  f.key = keys[0] ?? '';
  f.keyCount = keys.length;
  let consumed = line[1];
  const len = dataLength(tokens);
  if (len === -1) return { kind: 'invalid', reason: `bad ${cmd} line` };
  if (len >= 0) {
    if (len > MAX_VALUE) return { kind: 'invalid', reason: 'data block too large' };
    consumed += len + 2;
    if (consumed > b.length) {
      if (!end) return { kind: 'needMore' };
      f.partial = true;
      consumed = b.length;
    }
  }
  // noreply (classic) and the q flag (meta) ask for no answer; quit closes instead of answering.
  const silent = tokens[tokens.length - 1] === 'noreply' || cmd === 'quit' || (cmd.length === 2 && cmd.startsWith('m') && tokens.slice(2).includes('q'));
  if (silent) return { kind: 'ignored', consumed };
  state.pending.push(cmd);
  return { kind: 'frame', frame: f, consumed };
}

/** Reads `VALUE`/`VA` data blocks and `STAT` lines up to `END`; one line otherwise. */
function parseTextResponse(b: Buffer, state: McState, end: boolean | undefined): ParseResult<McFrame> {
  const first = lineAt(b, 0);
  if (!first) return b.length > MAX_LINE ? { kind: 'invalid', reason: 'answer line too long' } : end ? { kind: 'ignored', consumed: b.length } : { kind: 'needMore' };
  const word = first[0].split(' ', 1)[0]!;
  const cmd = state.pending[0] ?? (word === 'VALUE' ? 'get' : word === 'STAT' ? 'stats' : '');
  const f = response(false, word);
  const done = (consumed: number): ParseResult<McFrame> => {
    state.pending.shift();
    return { kind: 'frame', frame: f, consumed };
  };
  if (word === 'ERROR' || word === 'CLIENT_ERROR' || word === 'SERVER_ERROR') {
    f.errorKind = word === 'SERVER_ERROR' ? 'server' : 'client';
    f.errorMessage = first[0];
    return done(first[1]);
  }
  if (!TEXT_ANSWERS.has(word) && !/^\d+$/.test(word)) return { kind: 'invalid', reason: `unknown answer ${JSON.stringify(first[0].slice(0, 20))}` };
  const multi = RETRIEVAL.has(cmd) || cmd === 'stats';
  if (!multi) {
    if (word === 'VA') {
      const size = first[0].split(' ')[1];
      if (!isUint(size)) return { kind: 'invalid', reason: 'bad VA line' };
      const consumed = first[1] + Number(size) + 2;
      if (consumed > b.length) {
        if (!end) return { kind: 'needMore' };
        f.partial = true;
        return done(b.length);
      }
      f.hits = 1;
      return done(consumed);
    }
    return done(first[1]);
  }
  let p = 0;
  for (;;) {
    const l = lineAt(b, p);
    if (!l) break;
    const w = l[0].split(' ', 1)[0]!;
    if (w === 'END') {
      f.result = f.hits > 0 ? 'VALUE' : 'END';
      return done(l[1]);
    }
    if (w === 'SERVER_ERROR' || w === 'CLIENT_ERROR' || w === 'ERROR') {
      f.errorKind = w === 'SERVER_ERROR' ? 'server' : 'client';
      f.errorMessage = l[0];
      f.result = w;
      return done(l[1]);
    }
    if (w === 'VALUE') {
      const size = l[0].split(' ')[3];
      if (!isUint(size)) return { kind: 'invalid', reason: 'bad VALUE line' };
      p = l[1] + Number(size) + 2;
      if (p > b.length) break;
      f.hits++;
    } else if (w === 'STAT') p = l[1];
    else return { kind: 'invalid', reason: `unexpected ${JSON.stringify(w.slice(0, 20))} in a multi-line answer` };
  }
  if (!end) return { kind: 'needMore' };
  f.partial = true;
  return done(b.length);
}

interface BinaryHeader {
  opcode: number;
  keyLength: number;
  extrasLength: number;
  status: number;
  bodyLength: number;
  opaque: number;
}

function binaryHeader(b: Uint8Array, p: number): BinaryHeader | null {
  if (p + BIN_HEADER > b.length) return null;
  const v = Buffer.from(b.buffer, b.byteOffset, b.length);
  return { opcode: v[p + 1]!, keyLength: v.readUInt16BE(p + 2), extrasLength: v[p + 4]!, status: v.readUInt16BE(p + 6), bodyLength: v.readUInt32BE(p + 8), opaque: v.readUInt32BE(p + 12) };
}

/** Whether a header's lengths hold together (key and extras inside the body, data type 0). */
function credible(b: Uint8Array, p: number, h: BinaryHeader): boolean {
  return b[p + 5] === 0 && h.keyLength + h.extrasLength <= h.bodyLength && h.bodyLength <= MAX_VALUE;
}

function parseBinary(b: Buffer, direction: ParseDirection, end: boolean | undefined): ParseResult<McFrame> {
  const magic = direction === 'request' ? MAGIC_REQUEST : MAGIC_RESPONSE;
  if (b[0] !== magic) return { kind: 'invalid', reason: `bad magic 0x${(b[0] ?? 0).toString(16)}` };
  const h = binaryHeader(b, 0);
  if (!h) return end ? { kind: 'ignored', consumed: b.length } : { kind: 'needMore' };
  if (!credible(b, 0, h)) return { kind: 'invalid', reason: 'binary header lengths do not add up' };
  const name = BINARY_OPCODES[h.opcode] ?? `opcode_0x${h.opcode.toString(16)}`;
  let consumed = BIN_HEADER + h.bodyLength;
  let partial = false;
  if (consumed > b.length) {
    if (!end) return { kind: 'needMore' };
    partial = true;
    consumed = b.length;
  }
  if (direction === 'request') {
    const f = request(true, name);
    const keyAt = BIN_HEADER + h.extrasLength;
    f.key = text(b, keyAt, keyAt + h.keyLength);
    f.keyCount = h.keyLength > 0 ? 1 : 0;
    f.opaque = h.opaque;
    f.quiet = QUIET_OPCODES.has(h.opcode);
    f.partial = partial;
    return { kind: 'frame', frame: f, consumed };
  }
  const f = response(true, BINARY_STATUS[h.status] ?? `STATUS_0x${h.status.toString(16)}`);
  f.status = h.status;
  f.opaque = h.opaque;
  f.partial = partial;
  if (h.status !== 0 && h.status !== 0x01 && h.status !== 0x02 && h.status !== 0x05) {
    f.errorKind = h.status >= 0x80 ? 'server' : 'client';
    const valueAt = BIN_HEADER + h.extrasLength + h.keyLength;
    f.errorMessage = text(b, valueAt, Math.min(BIN_HEADER + h.bodyLength, valueAt + 256));
  } else if (h.status === 0 && /^(get|getk|getq|getkq|gat|gatk|gatq|gatkq)$/.test(name)) f.hits = 1;
  // A stat answer is one packet per statistic, ended by one with no key and no body.
  if (h.opcode === OPCODE_STAT && h.status === 0 && h.keyLength > 0 && !partial) {
    let p = consumed;
    for (;;) {
      const next = binaryHeader(b, p);
      if (!next) return end ? { kind: 'frame', frame: { ...f, partial: true }, consumed: b.length } : { kind: 'needMore' };
      if (b[p] !== MAGIC_RESPONSE || next.opcode !== OPCODE_STAT || !credible(b, p, next)) return { kind: 'invalid', reason: 'bad stat packet' };
      p += BIN_HEADER + next.bodyLength;
      if (p > b.length) return end ? { kind: 'frame', frame: { ...f, partial: true }, consumed: b.length } : { kind: 'needMore' };
      if (next.keyLength === 0 && next.bodyLength === 0) return { kind: 'frame', frame: f, consumed: p };
    }
  }
  return { kind: 'frame', frame: f, consumed };
}

export function parseMemcached(bytes: Uint8Array, direction: ParseDirection, state: McState, end?: boolean): ParseResult<McFrame> {
  const b = asBuffer(bytes);
  if (b.length === 0) return { kind: 'needMore' };
  if (b[0] === MAGIC_REQUEST || b[0] === MAGIC_RESPONSE) return parseBinary(b, direction, end);
  return direction === 'request' ? parseTextRequest(b, state, end) : parseTextResponse(b, state, end);
}

/**
 * Strong evidence only. Binary: the right magic, a known opcode, data type 0 and lengths that
 * add up to the message (or past it, for a cut message). Text requests: a lowercase command
 * line of the right shape, with a storage command's data block exactly as long as announced;
 * words inline Redis also accepts are 'maybe' unless lowercase and well-formed for memcached
 * (memcached rejects uppercase commands; an inline Redis client typing lowercase `get k` to a
 * Redis server on a non-Redis port is the one case this gets wrong). Text answers: a line only
 * memcached sends (STORED, END, VALUE k f n + block, …).
 */
export function detectMemcached(bytes: Uint8Array, direction: ParseDirection): 'yes' | 'no' | 'maybe' {
  const b = asBuffer(bytes);
  if (b.length === 0) return 'no';
  if (b[0] === MAGIC_REQUEST || b[0] === MAGIC_RESPONSE) {
    if ((b[0] === MAGIC_REQUEST) !== (direction === 'request')) return 'no';
    const h = binaryHeader(b, 0);
    if (!h || BINARY_OPCODES[h.opcode] === undefined || !credible(b, 0, h)) return 'no';
    if (direction === 'request' && h.status !== 0) return 'no'; // vbucket id: 0 outside Couchbase
    if (direction === 'response' && BINARY_STATUS[h.status] === undefined) return 'no';
    return BIN_HEADER + h.bodyLength <= b.length || b.length >= 4096 ? 'yes' : 'no';
  }
  const line = lineAt(b, 0);
  if (!line || b[line[1] - 2] !== CR) return 'no';
  const tokens = line[0].split(' ').filter((t) => t !== '');
  const word = tokens[0];
  if (word === undefined) return 'no';
  if (direction === 'response') {
    if (!TEXT_ANSWERS.has(word)) return 'no';
    if (word === 'VALUE') {
      const size = tokens[3];
      if (!isUint(tokens[2]) || !isUint(size)) return 'no';
      const blockEnd = line[1] + Number(size);
      return blockEnd + 2 > b.length ? 'maybe' : b[blockEnd] === CR && b[blockEnd + 1] === LF ? 'yes' : 'no';
    }
    // A bare OK or ERROR line is something many protocols could send.
    return word === 'OK' || word === 'ERROR' ? 'maybe' : tokens.length === 1 || word === 'STAT' || word === 'VERSION' || word.endsWith('_ERROR') ? 'yes' : 'maybe';
  }
  if (!TEXT_COMMANDS.has(word)) return 'no';
  const len = dataLength(tokens);
  if (len === -1) return 'no';
  if (len >= 0) {
    if (line[1] + len + 2 > b.length) return 'maybe'; // the block may be cut; its shape was right
    return b[line[1] + len] === CR && b[line[1] + len + 1] === LF ? 'yes' : 'no';
  }
  if (RETRIEVAL.has(word) || word === 'delete' || word === 'touch') {
    if (tokens.length < 2) return 'no';
  }
  if (word === 'incr' || word === 'decr') return tokens.length >= 3 && isUint(tokens[2]) ? 'yes' : 'no';
  if (!SHARED_WITH_REDIS.has(word)) return 'yes';
  // get k / quit: lowercase and well formed is memcached's shape; Redis would take it too.
  return word === 'quit' ? 'maybe' : 'yes';
}
