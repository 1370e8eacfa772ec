/**
 * @module HTTP/1.x framing (RFC 9112): request and status lines, the headers Weft needs, and
 * message bodies by Content-Length, chunked coding, or connection close. Headers are scanned with
 * `indexOf` on the Buffer; only header values Weft uses are decoded to strings.
 */
import { emptyTraceHeaders, type TraceHeaders } from '../../spans/trace-context.js';
import { asBuffer, bytesEqualAt, equalsLowerAscii, isDigit, isUpperAlpha, latin1 } from '../byte-view.js';
import type { ParseDirection, ParseResult } from '../protocol.js';

export interface HttpRequestFrame {
  type: 'request';
  method: string;
  /** The request-target as sent (origin-form path+query, or absolute-form). */
  target: string;
  /** '1.0' or '1.1'. */
  version: string;
  host: string;
  xRequestId: string;
  trace: TraceHeaders;
  /** The capture ended inside the head or body. */
  partial: boolean;
}

export interface HttpResponseFrame {
  type: 'response';
  version: string;
  status: number;
  reason: string;
  xRequestId: string;
  trace: TraceHeaders;
  partial: boolean;
}

export type HttpFrame = HttpRequestFrame | HttpResponseFrame;

export interface HttpState {
  /** Methods of requests parsed but not yet answered: a response to HEAD has no body. */
  pendingMethods: string[];
  /** A close-delimited body began: the rest of the response stream is that body. */
  bodyUntilClose: boolean;
  /** A 101 (Switching Protocols) was seen: the stream is no longer HTTP/1. */
  upgraded: boolean;
}

export function newHttpState(): HttpState {
  return { pendingMethods: [], bodyUntilClose: false, upgraded: false };
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const COLON = 0x3a;
/** Heads larger than this are not HTTP we can use (nginx's default large_client_header_buffers is 8k). */
const MAX_HEAD_BYTES = 64 * 1024;
/** Longest method token we accept (RFC 9110 §9 methods are short; WebDAV's are ≤ 16). */
const MAX_METHOD_LEN = 16;
/** How many request methods to remember while responses lag (pipelining depth). */
const MAX_PENDING_METHODS = 256;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const HTTP_SLASH_1 = Buffer.from('HTTP/1.', 'latin1');

interface HeadFacts {
  host: string;
  xRequestId: string;
  trace: TraceHeaders;
  contentLength: number;
  chunked: boolean;
}

/** Reads header lines in [from, to) into facts. Returns false on a malformed line. */
function readHeaders(buf: Buffer, from: number, to: number, facts: HeadFacts): boolean {
  let pos = from;
  while (pos < to) {
    let eol = buf.indexOf(LF, pos);
    if (eol < 0 || eol > to) eol = to;
    const lineEnd = eol > pos && buf[eol - 1] === CR ? eol - 1 : eol;
    if (lineEnd === pos) break;
    const colon = buf.indexOf(COLON, pos);
    if (colon < 0 || colon >= lineEnd) {
      // Obsolete line folding (RFC 9112 §5.2) continues the previous value: skip it.
      if (buf[pos] === SP || buf[pos] === 0x09) {
        pos = eol + 1;
        continue;
      }
      return false;
    }
    const nameLen = colon - pos;
    // Only the headers Weft reads are compared, by length first.
    let field: keyof HeadFacts | keyof TraceHeaders | 'transfer-encoding' | '' = '';
    switch (nameLen) {
      case 2:
        if (equalsLowerAscii(buf, pos, 'b3')) field = 'b3';
        break;
      case 3:
        if (equalsLowerAscii(buf, pos, 'sw8')) field = 'sw8';
        break;
      case 4:
        if (equalsLowerAscii(buf, pos, 'host')) field = 'host';
        break;
      case 11:
        if (equalsLowerAscii(buf, pos, 'traceparent')) field = 'traceparent';
        else if (equalsLowerAscii(buf, pos, 'x-b3-spanid')) field = 'xB3SpanId';
        break;
      case 12:
        if (equalsLowerAscii(buf, pos, 'x-request-id')) field = 'xRequestId';
        else if (equalsLowerAscii(buf, pos, 'x-b3-traceid')) field = 'xB3TraceId';
        break;
      case 13:
        if (equalsLowerAscii(buf, pos, 'uber-trace-id')) field = 'uberTraceId';
        break;
      case 14:
        if (equalsLowerAscii(buf, pos, 'content-length')) field = 'contentLength';
        break;
      case 17:
        if (equalsLowerAscii(buf, pos, 'transfer-encoding')) field = 'transfer-encoding';
        break;
      default:
        break;
    }
    if (field !== '') {
      let vs = colon + 1;
      let ve = lineEnd;
      while (vs < ve && (buf[vs] === SP || buf[vs] === 0x09)) vs++;
      while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === 0x09)) ve--;
      switch (field) {
        case 'contentLength': {
          let n = 0;
          for (let i = vs; i < ve; i++) {
            const c = buf[i]!;
            if (c < 0x30 || c > 0x39) return false;
            n = n * 10 + (c - 0x30);
          }
          if (ve === vs || n > Number.MAX_SAFE_INTEGER / 16) return false;
          facts.contentLength = n;
          break;
        }
        case 'transfer-encoding':
          // chunked must be the last coding (RFC 9112 §6.1).
          facts.chunked = ve - vs >= 7 && equalsLowerAscii(buf, ve - 7, 'chunked');
          break;
        case 'host':
          facts.host = latin1(buf, vs, ve);
          break;
        case 'xRequestId':
          facts.xRequestId = latin1(buf, vs, ve);
          break;
        case 'traceparent':
        case 'sw8':
        case 'uberTraceId':
        case 'b3':
        case 'xB3TraceId':
        case 'xB3SpanId':
          facts.trace[field] = latin1(buf, vs, ve);
          break;
        default:
          break;
      }
    }
    pos = eol + 1;
  }
  return true;
}

type BodyEnd = number | 'needMore' | 'invalid';

/** End offset of a chunked body starting at `from` (RFC 9112 §7.1), trailers included. */
function chunkedEnd(buf: Buffer, from: number): BodyEnd {
  let pos = from;
  for (;;) {
    const eol = buf.indexOf(LF, pos);
    if (eol < 0) return buf.length - pos > 1024 ? 'invalid' : 'needMore';
    let size = 0;
    let digits = 0;
    for (let i = pos; i < eol; i++) {
      const c = buf[i]!;
      let v: number;
      if (c >= 0x30 && c <= 0x39) v = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) v = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) v = c - 0x37;
      else break; // chunk extensions or CR
      size = size * 16 + v;
      digits++;
      if (digits > 12) return 'invalid';
    }
    if (digits === 0) return 'invalid';
    pos = eol + 1;
    if (size === 0) {
      // Trailer section ends with an empty line.
      for (;;) {
        const tEol = buf.indexOf(LF, pos);
        if (tEol < 0) return 'needMore';
        const empty = tEol === pos || (tEol === pos + 1 && buf[pos] === CR);
        pos = tEol + 1;
        if (empty) return pos;
      }
    }
    pos += size;
    if (pos + 2 > buf.length) return 'needMore';
    if (buf[pos] === CR) pos++;
    if (buf[pos] !== LF) return 'invalid';
    pos++;
  }
}

export function parseHttp(bytes: Uint8Array, direction: ParseDirection, state: HttpState, end?: boolean): ParseResult<HttpFrame> {
  const buf = asBuffer(bytes);
  if (buf.length === 0) return { kind: 'needMore' };
  if (direction === 'response' && (state.bodyUntilClose || state.upgraded)) return { kind: 'ignored', consumed: buf.length };
  // Tolerate stray CRLF between messages (RFC 9112 §2.2).
  if (buf[0] === CR || buf[0] === LF) {
    let i = 0;
    while (i < buf.length && (buf[i] === CR || buf[i] === LF)) i++;
    return { kind: 'ignored', consumed: i };
  }
  const lineEol = buf.indexOf(LF);
  if (lineEol < 0) {
    if (buf.length > MAX_HEAD_BYTES) return { kind: 'invalid', reason: 'start line too long' };
    return validPrefix(buf, direction) ? { kind: 'needMore' } : { kind: 'invalid', reason: 'not an HTTP/1 start line' };
  }
  const lineEnd = lineEol > 0 && buf[lineEol - 1] === CR ? lineEol - 1 : lineEol;
  let headEnd = buf.indexOf(HEAD_END, lineEnd);
  let bodyStart: number;
  let headComplete = true;
  if (headEnd < 0) {
    // A bare-LF head end is legal but rare; check for it only at the start line.
    if (buf[lineEol + 1] === LF || (buf[lineEol + 1] === CR && buf[lineEol + 2] === LF)) {
      headEnd = lineEol;
      bodyStart = buf[lineEol + 1] === LF ? lineEol + 2 : lineEol + 3;
    } else {
      if (buf.length > MAX_HEAD_BYTES) return { kind: 'invalid', reason: 'head too long' };
      headComplete = false;
      // Read only the complete header lines; the last one may still be arriving.
      headEnd = buf.lastIndexOf(LF);
      bodyStart = buf.length;
    }
  } else {
    bodyStart = headEnd + 4;
  }
  const facts: HeadFacts = { host: '', xRequestId: '', trace: emptyTraceHeaders(), contentLength: -1, chunked: false };

  if (direction === 'request') {
    const sp1 = buf.indexOf(SP);
    if (sp1 <= 0 || sp1 > MAX_METHOD_LEN || sp1 >= lineEnd) return { kind: 'invalid', reason: 'bad request line' };
    for (let i = 0; i < sp1; i++) {
      const c = buf[i]!;
      if (!isUpperAlpha(c) && c !== 0x2d && c !== 0x5f) return { kind: 'invalid', reason: 'bad method' };
    }
    const sp2 = buf.lastIndexOf(SP, lineEnd - 1);
    if (sp2 <= sp1 || lineEnd - sp2 !== 9 || !bytesEqualAt(buf, sp2 + 1, HTTP_SLASH_1)) {
      return { kind: 'invalid', reason: 'bad request line' };
    }
    if (!headComplete && !end) return { kind: 'needMore' };
    if (!readHeaders(buf, lineEol + 1, headEnd, facts)) return { kind: 'invalid', reason: 'bad header line' };
    const method = latin1(buf, 0, sp1);
    const target = latin1(buf, sp1 + 1, sp2);
    const version = buf[sp2 + 8] === 0x30 ? '1.0' : '1.1';
    let consumed: number;
    let partial = false;
    if (!headComplete) {
      partial = true;
      consumed = buf.length;
    } else {
      let bodyEnd: BodyEnd = bodyStart;
      if (facts.chunked) bodyEnd = chunkedEnd(buf, bodyStart);
      else if (facts.contentLength > 0) bodyEnd = bodyStart + facts.contentLength;
      if (bodyEnd === 'invalid') return { kind: 'invalid', reason: 'bad chunked body' };
      if (bodyEnd === 'needMore' || bodyEnd > buf.length) {
        if (!end) return { kind: 'needMore' };
        partial = true;
        consumed = buf.length;
      } else {
        consumed = bodyEnd;
      }
    }
    if (state.pendingMethods.length < MAX_PENDING_METHODS) state.pendingMethods.push(method);
    const frame: HttpRequestFrame = { type: 'request', method, target, version, host: facts.host, xRequestId: facts.xRequestId, trace: facts.trace, partial };
    return { kind: 'frame', frame, consumed };
  }

  // Status line: HTTP/1.x SP 3DIGIT SP reason
  if (lineEnd < 12 || !bytesEqualAt(buf, 0, HTTP_SLASH_1) || buf[8] !== SP) return { kind: 'invalid', reason: 'bad status line' };
  if (!isDigit(buf[9]) || !isDigit(buf[10]) || !isDigit(buf[11]) || (lineEnd > 12 && buf[12] !== SP)) {
    return { kind: 'invalid', reason: 'bad status code' };
  }
  const status = (buf[9]! - 0x30) * 100 + (buf[10]! - 0x30) * 10 + (buf[11]! - 0x30);
  if (!headComplete && !end) return { kind: 'needMore' };
  if (!readHeaders(buf, lineEol + 1, headEnd, facts)) return { kind: 'invalid', reason: 'bad header line' };
  if (!headComplete) return { kind: 'frame', frame: answered(state, status, responseFrame(buf, lineEnd, status, facts, true)), consumed: buf.length };
  // 1xx are interim: the final response to the same request follows (RFC 9110 §15.2).
  if (status >= 100 && status < 200 && status !== 101) return { kind: 'ignored', consumed: bodyStart };
  const method = state.pendingMethods[0];
  const noBody = method === 'HEAD' || status === 101 || status === 204 || status === 304 || (method === 'CONNECT' && status < 300);
  let bodyEnd: BodyEnd = bodyStart;
  let untilClose = false;
  if (!noBody) {
    if (facts.chunked) bodyEnd = chunkedEnd(buf, bodyStart);
    else if (facts.contentLength >= 0) bodyEnd = bodyStart + facts.contentLength;
    else untilClose = true; // RFC 9112 §6.3 rule 8: the body runs until the connection closes.
  }
  if (bodyEnd === 'invalid') return { kind: 'invalid', reason: 'bad chunked body' };
  if (untilClose) {
    const f = answered(state, status, responseFrame(buf, lineEnd, status, facts, false));
    state.bodyUntilClose = true;
    return { kind: 'frame', frame: f, consumed: buf.length };
  }
  if (bodyEnd === 'needMore' || bodyEnd > buf.length) {
    if (!end) return { kind: 'needMore' };
    return { kind: 'frame', frame: answered(state, status, responseFrame(buf, lineEnd, status, facts, true)), consumed: buf.length };
  }
  return { kind: 'frame', frame: answered(state, status, responseFrame(buf, lineEnd, status, facts, false)), consumed: bodyEnd };
}

function responseFrame(buf: Buffer, lineEnd: number, status: number, facts: HeadFacts, partial: boolean): HttpResponseFrame {
  return {
    type: 'response',
    version: buf[7] === 0x30 ? '1.0' : '1.1',
    status,
    reason: lineEnd > 13 ? latin1(buf, 13, lineEnd) : '',
    xRequestId: facts.xRequestId,
    trace: facts.trace,
    partial,
  };
}

/** Records that a final response was framed: its request's method is no longer pending. */
function answered(state: HttpState, status: number, f: HttpResponseFrame): HttpResponseFrame {
  state.pendingMethods.shift();
  if (status === 101) state.upgraded = true;
  return f;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'];

/** Whether a buffer without a full line so far can still become a valid start line. */
function validPrefix(buf: Buffer, direction: ParseDirection): boolean {
  const n = Math.min(buf.length, 8);
  if (direction === 'response') {
    for (let i = 0; i < Math.min(n, 7); i++) if (buf[i] !== HTTP_SLASH_1[i]) return false;
    return true;
  }
  for (let i = 0; i < n; i++) {
    const c = buf[i]!;
    if (c === SP) return i > 0;
    if (!isUpperAlpha(c) && c !== 0x2d && c !== 0x5f) return false;
  }
  return true;
}

export function detectHttp(bytes: Uint8Array, direction: ParseDirection): 'yes' | 'no' | 'maybe' {
  const buf = asBuffer(bytes);
  if (direction === 'response') {
    if (buf.length < 12) return 'no';
    return bytesEqualAt(buf, 0, HTTP_SLASH_1) && buf[8] === SP && isDigit(buf[9]) ? 'yes' : 'no';
  }
  const sp = buf.indexOf(SP);
  if (sp <= 0 || sp > 8) return 'no';
  const method = latin1(buf, 0, sp);
  if (!METHODS.includes(method)) return 'no';
  const eol = buf.indexOf(LF);
  const lineEnd = eol < 0 ? Math.min(buf.length, 2048) : eol;
  if (!buf.subarray(sp, lineEnd).includes(HTTP_SLASH_1)) return 'maybe';
  // An h2c upgrade belongs to the HTTP/2 parser, which follows the connection into HTTP/2 (or
  // stays on HTTP/1.1 when the server refuses).
  const headEnd = buf.indexOf(HEAD_END);
  return headEnd > 0 && asksH2cUpgrade(buf, headEnd) ? 'no' : 'yes';
}

/** Whether the HTTP/1.1 head `buf[0, headEnd)` carries `Upgrade: h2c` (RFC 7540 §3.2). */
export function asksH2cUpgrade(buf: Buffer, headEnd: number): boolean {
  let pos = buf.indexOf(LF) + 1;
  while (pos > 0 && pos < headEnd) {
    const eol = buf.indexOf(LF, pos);
    const lineEnd = eol < 0 || eol > headEnd ? headEnd : eol;
    if (equalsLowerAscii(buf, pos, 'upgrade:')) {
      const value = latin1(buf, pos + 8, lineEnd).toLowerCase();
      if (value.split(',').some((t) => t.trim() === 'h2c')) return true;
    }
    pos = lineEnd + 1;
  }
  return false;
}
