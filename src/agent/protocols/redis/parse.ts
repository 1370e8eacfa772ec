/**
 * @module Redis RESP2 and RESP3 framing (redis.io/docs/reference/protocol-spec): commands as
 * arrays of bulk strings or inline text, replies of every RESP3 type including maps, sets,
 * attributes (which prefix a reply) and out-of-band pushes (which are not replies).
 */
import { asBuffer, latin1 } from '../byte-view.js';
import type { ParseDirection, ParseResult } from '../protocol.js';

export interface RedisCommandFrame {
  type: 'command';
  /** Uppercased command name. */
  command: string;
  /** First argument (usually the key); '' when none. */
  firstArg: string;
  argCount: number;
  partial: boolean;
}

export interface RedisReplyFrame {
  type: 'reply';
  /** The RESP type byte of the reply ('+', '-', '$', '*', '%', …). */
  replyType: string;
  /** Error text for '-' and '!' replies; '' otherwise. */
  error: string;
  partial: boolean;
}

export type RedisFrame = RedisCommandFrame | RedisReplyFrame;
export type RedisState = Record<string, never>;

const CR = 0x0d;
const LF = 0x0a;
/** Nesting we follow before calling the input hostile. */
const MAX_DEPTH = 32;
/** Aggregates larger than this are not replies we can frame cheaply (proto-max-multibulk-len is 1M). */
const MAX_ELEMENTS = 1024 * 1024;
/** Longest inline command line (redis' PROTO_INLINE_MAX_SIZE is 64 KiB). */
const MAX_INLINE_BYTES = 64 * 1024;
/** Characters kept of an argument we report. */
const MAX_ARG_CHARS = 256;

const NEED = -1;
const BAD = -2;

/** Reads a signed decimal line starting at `pos`; returns [value, offset after CRLF] or NEED/BAD. */
function readInt(b: Buffer, pos: number): [number, number] | number {
  const eol = b.indexOf(LF, pos);
  if (eol < 0) return b.length - pos > 24 ? BAD : NEED;
  if (eol === pos || b[eol - 1] !== CR) return BAD;
  let i = pos;
  let neg = false;
  if (b[i] === 0x2d) {
    neg = true;
    i++;
  }
  if (i >= eol - 1 || eol - 1 - i > 19) return BAD;
  let n = 0;
  for (; i < eol - 1; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x39) return BAD;
    n = n * 10 + (c - 0x30);
  }
  return [neg ? -n : n, eol + 1];
}

/** Offset just past the RESP value at `pos`, or NEED / BAD. */
function skipValue(b: Buffer, pos: number, depth: number): number {
  if (depth > MAX_DEPTH) return BAD;
  const t = b[pos];
  if (t === undefined) return NEED;
  switch (t) {
    case 0x2b: // + simple string
    case 0x2d: // - error
    case 0x3a: // : integer
    case 0x5f: // _ null
    case 0x2c: // , double
    case 0x23: // # boolean
    case 0x28: {
      // ( big number
      const eol = b.indexOf(LF, pos + 1);
      if (eol < 0) return NEED;
      return b[eol - 1] === CR ? eol + 1 : BAD;
    }
    case 0x24: // $ bulk string
    case 0x21: // ! bulk error
    case 0x3d: {
      // = verbatim string
      const r = readInt(b, pos + 1);
      if (typeof r === 'number') return r;
      const [len, at] = r;
      if (len === -1 && t === 0x24) return at; // RESP2 null bulk
      if (len < 0) return BAD;
      const end = at + len + 2;
      if (end > b.length) return NEED;
      return b[end - 2] === CR && b[end - 1] === LF ? end : BAD;
    }
    case 0x2a: // * array
    case 0x7e: // ~ set
    case 0x3e: // > push
    case 0x25: // % map
    case 0x7c: {
      // | attribute
      const r = readInt(b, pos + 1);
      if (typeof r === 'number') return r;
      const [count, at] = r;
      if (count === -1 && t === 0x2a) return at; // RESP2 null array
      if (count < 0 || count > MAX_ELEMENTS) return BAD;
      const n = t === 0x25 || t === 0x7c ? count * 2 : count;
      let p = at;
      for (let i = 0; i < n; i++) {
        p = skipValue(b, p, depth + 1);
        if (p < 0) return p;
      }
      // An attribute is metadata for the value that follows it.
      return t === 0x7c ? skipValue(b, p, depth + 1) : p;
    }
    default:
      return BAD;
  }
}

function upperAscii(s: string): string {
  return s.toUpperCase();
}

function parseCommand(b: Buffer, end: boolean | undefined): ParseResult<RedisFrame> {
  if (b[0] === 0x2a) {
    const r = readInt(b, 1);
    if (r === NEED) return { kind: 'needMore' };
    if (typeof r === 'number') return { kind: 'invalid', reason: 'bad array header' };
    const [count, at] = r;
    if (count < 1 || count > MAX_ELEMENTS) return { kind: 'invalid', reason: 'bad argument count' };
    let p = at;
    let command = '';
    let firstArg = '';
    for (let i = 0; i < count; i++) {
      if (p >= b.length) return partialCommand(end, command, firstArg, count, b.length);
      if (b[p] !== 0x24) return { kind: 'invalid', reason: 'command argument is not a bulk string' };
      const lr = readInt(b, p + 1);
      if (lr === NEED) return partialCommand(end, command, firstArg, count, b.length);
      if (typeof lr === 'number') return { kind: 'invalid', reason: 'bad bulk length' };
      const [len, bodyAt] = lr;
      if (len < 0) return { kind: 'invalid', reason: 'null argument' };
      if (i < 2) {
        const s = latin1(b, bodyAt, Math.min(bodyAt + Math.min(len, MAX_ARG_CHARS), b.length));
        if (i === 0) command = upperAscii(s);
        else firstArg = s;
      }
      const next = bodyAt + len + 2;
      if (next > b.length) return partialCommand(end, command, firstArg, count, b.length);
      if (b[next - 2] !== CR || b[next - 1] !== LF) return { kind: 'invalid', reason: 'bulk string not terminated' };
      p = next;
    }
    return { kind: 'frame', frame: { type: 'command', command, firstArg, argCount: count, partial: false }, consumed: p };
  }
  // Inline command: one line of space-separated words.
  const eol = b.indexOf(LF);
  if (eol < 0) return b.length > MAX_INLINE_BYTES ? { kind: 'invalid', reason: 'inline command too long' } : end ? inline(b, b.length, b.length) : { kind: 'needMore' };
  return inline(b, eol > 0 && b[eol - 1] === CR ? eol - 1 : eol, eol + 1);
}

function inline(b: Buffer, lineEnd: number, consumed: number): ParseResult<RedisFrame> {
  for (let i = 0; i < lineEnd; i++) {
    const c = b[i]!;
    if (c < 0x20 && c !== 0x09) return { kind: 'invalid', reason: 'control byte in inline command' };
  }
  const words = latin1(b, 0, Math.min(lineEnd, MAX_INLINE_BYTES)).trim().split(/\s+/);
  const command = upperAscii(words[0] ?? '');
  if (command === '') return { kind: 'ignored', consumed }; // redis ignores empty lines
  if (!/^[A-Z][A-Z0-9_.|-]*$/.test(command)) return { kind: 'invalid', reason: 'not a command name' };
  return { kind: 'frame', frame: { type: 'command', command, firstArg: (words[1] ?? '').slice(0, MAX_ARG_CHARS), argCount: words.length, partial: false }, consumed };
}

function partialCommand(end: boolean | undefined, command: string, firstArg: string, count: number, len: number): ParseResult<RedisFrame> {
  if (!end || command === '') return { kind: 'needMore' };
  return { kind: 'frame', frame: { type: 'command', command, firstArg, argCount: count, partial: true }, consumed: len };
}

function errorText(b: Buffer): string {
  const t = b[0];
  if (t === 0x2d) {
    const eol = b.indexOf(CR, 1);
    return latin1(b, 1, eol < 0 ? Math.min(b.length, 1 + MAX_ARG_CHARS) : Math.min(eol, 1 + MAX_ARG_CHARS));
  }
  // '!' bulk error: !<len>\r\n<text>\r\n
  const r = readInt(b, 1);
  if (typeof r === 'number') return '';
  const [len, at] = r;
  return latin1(b, at, Math.min(at + len, b.length, at + MAX_ARG_CHARS));
}

export function parseRedis(bytes: Uint8Array, direction: ParseDirection, _state: RedisState, end?: boolean): ParseResult<RedisFrame> {
  const b = asBuffer(bytes);
  if (b.length === 0) return { kind: 'needMore' };
  if (direction === 'request') return parseCommand(b, end);
  let p = 0;
  // Attributes describe the reply after them; look through them for the reply's type.
  const e = skipValue(b, 0, 0);
  if (e === BAD) return { kind: 'invalid', reason: 'bad RESP value' };
  if (b[0] === 0x7c && e !== NEED) {
    const attrEnd = skipAttributeOnly(b);
    if (attrEnd > 0) p = attrEnd;
  }
  const t = b[p];
  if (t === 0x3e) {
    // Out-of-band push (RESP3): not an answer to any command.
    if (e === NEED) return end ? { kind: 'ignored', consumed: b.length } : { kind: 'needMore' };
    return { kind: 'ignored', consumed: e };
  }
  if (e === NEED && !end) return { kind: 'needMore' };
  const sub = p === 0 ? b : b.subarray(p);
  const frame: RedisReplyFrame = {
    type: 'reply',
    replyType: t === undefined ? '|' : String.fromCharCode(t),
    error: t === 0x2d || t === 0x21 ? errorText(sub) : '',
    partial: e === NEED,
  };
  return { kind: 'frame', frame, consumed: e === NEED ? b.length : e };
}

/** End of the attribute map alone (without the value it annotates), or a negative code. */
function skipAttributeOnly(b: Buffer): number {
  const r = readInt(b, 1);
  if (typeof r === 'number') return r;
  const [count, at] = r;
  let p = at;
  for (let i = 0; i < count * 2; i++) {
    p = skipValue(b, p, 1);
    if (p < 0) return p;
  }
  return p;
}

const KNOWN_INLINE = new Set(['PING', 'INFO', 'GET', 'SET', 'DEL', 'KEYS', 'HELLO', 'AUTH', 'SELECT', 'QUIT', 'MONITOR', 'DBSIZE', 'FLUSHALL', 'EXISTS', 'INCR']);

/** Lowercase inline words memcached also accepts (it only accepts lowercase). */
const MEMCACHED_SHARED = new Set(['get', 'set', 'incr', 'decr', 'quit']);

export function detectRedis(bytes: Uint8Array, direction: ParseDirection): 'yes' | 'no' | 'maybe' {
  const b = asBuffer(bytes);
  if (b.length < 3) return 'no';
  if (direction === 'request') {
    if (b[0] === 0x2a) {
      const r = parseCommand(b, true);
      return r.kind === 'frame' && r.frame.type === 'command' && /^[A-Z][A-Z0-9_.|-]*$/.test(r.frame.command) ? 'yes' : 'no';
    }
    // Inline commands (what `redis-cli --pipe` and telnet users send): a known command word on a
    // CRLF-terminated line. "GET / HTTP/1.1" is HTTP's, so a line naming HTTP/1 is not ours.
    const lf = b.indexOf(LF);
    const lineEnd = lf < 0 ? Math.min(b.length, MAX_INLINE_BYTES) : lf;
    const sp = b.indexOf(0x20);
    const wordEnd = sp < 0 || sp > lineEnd ? lineEnd : sp;
    const word = latin1(b, 0, Math.min(wordEnd, 16)).replace(/\r$/, '').toUpperCase();
    if (!KNOWN_INLINE.has(word)) return 'no';
    const crlfLine = lf > 0 && b[lf - 1] === CR;
    if (!crlfLine || b.subarray(0, lineEnd).includes('HTTP/1.')) return 'maybe';
    // Memcached speaks lines too: `set k 0 0 5` + a data block is its storage command, and GET
    // takes exactly one key in Redis. A lowercase word both accept (`get k`) is no evidence either
    // way (memcached only takes lowercase); the answer will tell.
    const args = latin1(b, 0, Math.min(lineEnd, MAX_INLINE_BYTES)).replace(/\r$/, '').split(' ').filter((t) => t !== '');
    if (word === 'SET' && args.length >= 5 && args.slice(2, 5).every((t) => /^\d+$/.test(t))) return 'no';
    if (word === 'GET' && args.length !== 2) return 'no';
    if (MEMCACHED_SHARED.has(args[0] ?? '')) return 'maybe';
    return 'yes';
  }
  const e = skipValue(b, 0, 0);
  return e === b.length ? 'maybe' : 'no';
}
