/**
 * @module HTTP/2 framing (RFC 9113) into stream events: the decoded header blocks, stream ends
 * and resets that pairing needs. DATA payloads are passed over by length without being held, so
 * a large body costs nothing to carry and a payload cut by the capture cap keeps us in step.
 *
 * Each direction has its own HPACK table and position. A direction is in one of four modes:
 * `start` (nothing seen yet: a preface, an h2c upgrade, a SETTINGS frame, or mid-connection
 * frames may come), `preface` (the client upgraded with HTTP/1.1 and its preface follows),
 * `frames` (in step with the frame boundaries), and `lost` (bytes went missing where we could
 * not account for them: every message is then tried as a fresh start of frames, with an HPACK
 * table that knows nothing older).
 */
import { asBuffer, bytesEqualAt } from '../byte-view.js';
import { asksH2cUpgrade, parseHttp, newHttpState, type HttpRequestFrame, type HttpState } from '../http1/parse.js';
import type { ParseDirection, ParseResult } from '../protocol.js';
import { emptyTraceHeaders, type TraceHeaders } from '../../spans/trace-context.js';
import {
  CONTINUATION,
  DATA,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FLAG_PRIORITY,
  FRAME_HEADER_BYTES,
  HEADERS,
  PREFACE,
  PUSH_PROMISE,
  RST_STREAM,
  SETTINGS,
  headerLegal,
  plausibleFrames,
  readFrameHeader,
} from './frames.js';
import { decodeBlock, HpackTable, type DecodedBlock } from './hpack.js';

/** What the spans need from a header block; the rest of the fields are not kept. */
export interface Http2Fields {
  method: string;
  path: string;
  authority: string;
  scheme: string;
  /** `:status`; null when absent or not known. */
  status: number | null;
  contentType: string;
  grpcStatus: number | null;
  grpcMessage: string;
  xRequestId: string;
  trace: TraceHeaders;
  /** Fields of the block that referred to HPACK entries we never saw (capture joined late). */
  unknown: number;
}

export interface Http2Frame {
  /** headers: a header block; end: END_STREAM on DATA; reset: RST_STREAM; promise: PUSH_PROMISE (its request). */
  kind: 'headers' | 'end' | 'reset' | 'promise';
  streamId: number;
  endStream: boolean;
  fields: Http2Fields | null;
  errorCode: number;
  /** The request came as an HTTP/1.1 `Upgrade: h2c` request (stream 1). */
  upgrade: boolean;
  /** The server refused the upgrade: this exchange is plain HTTP/1.1 on a connection we took for h2c. */
  http1?: true;
}

type Mode = 'start' | 'preface' | 'frames' | 'lost' | 'http1';

export interface DirectionState {
  mode: Mode;
  table: HpackTable;
  /** Bytes of the current frame still to pass over (its payload continues in later pushes). */
  skip: number;
}

export interface Http2State {
  request: DirectionState;
  response: DirectionState;
  /** Per-stream pairing, owned by stitch.ts. */
  streams: Map<number, unknown>;
  /** After a refused h2c upgrade: the HTTP/1 parser's state, and the stream ids its requests got, oldest first. */
  http1: HttpState | null;
  http1Streams: number[];
  http1Next: number;
  /** The h2c upgrade request's method (a HEAD's answer has no body). */
  upgradeMethod: string;
}

export function newHttp2State(): Http2State {
  return {
    request: { mode: 'start', table: new HpackTable(true), skip: 0 },
    response: { mode: 'start', table: new HpackTable(true), skip: 0 },
    streams: new Map(),
    http1: null,
    http1Streams: [],
    http1Next: 3,
    upgradeMethod: '',
  };
}

/** Header blocks larger than this are treated as lost rather than carried. */
const MAX_BLOCK_BYTES = 64 * 1024;
/** An h2c upgrade request's head must fit in this. */
const MAX_UPGRADE_HEAD = 16 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const HTTP11_101 = Buffer.from('HTTP/1.1 101', 'latin1');

function fieldsOf(block: DecodedBlock): Http2Fields {
  const f: Http2Fields = {
    method: '',
    path: '',
    authority: '',
    scheme: '',
    status: null,
    contentType: '',
    grpcStatus: null,
    grpcMessage: '',
    xRequestId: '',
    trace: emptyTraceHeaders(),
    unknown: block.unknown,
  };
  for (let i = 0; i < block.names.length; i++) {
    const v = block.values[i]!;
    const name: string = block.names[i]!;
    switch (name) {
      case ':method':
        f.method = v;
        break;
      case ':path':
        f.path = v;
        break;
      case ':authority':
        f.authority = v;
        break;
      case ':scheme':
        f.scheme = v;
        break;
      case ':status':
        f.status = /^\d{3}$/.test(v) ? Number(v) : null;
        break;
      case 'host':
        if (!f.authority) f.authority = v;
        break;
      case 'content-type':
        f.contentType = v;
        break;
      case 'grpc-status':
        f.grpcStatus = /^\d{1,2}$/.test(v) ? Number(v) : null;
        break;
      case 'grpc-message':
        f.grpcMessage = v;
        break;
      case 'x-request-id':
        f.xRequestId = v;
        break;
      case 'traceparent':
        f.trace.traceparent = v.trim();
        break;
      case 'sw8':
        f.trace.sw8 = v.trim();
        break;
      case 'uber-trace-id':
        f.trace.uberTraceId = v.trim();
        break;
      case 'b3':
        f.trace.b3 = v.trim();
        break;
      case 'x-b3-traceid':
        f.trace.xB3TraceId = v.trim();
        break;
      case 'x-b3-spanid':
        f.trace.xB3SpanId = v.trim();
        break;
      default:
        break;
    }
  }
  return f;
}

const ignored = (consumed: number): ParseResult<Http2Frame> => ({ kind: 'ignored', consumed });

/** Out of step: forget the table (a block may be lost) and pass over the rest of this push. */
function lose(d: DirectionState, consumed: number): ParseResult<Http2Frame> {
  d.mode = 'lost';
  d.table.reset();
  d.skip = 0;
  return ignored(consumed);
}

/** Starts reading frames at a message start we cannot place: only if the bytes read as frames. */
function resync(buf: Buffer, d: DirectionState, end: boolean, from: ParseDirection): ParseResult<Http2Frame> {
  // Not one whole frame header yet: wait for more of this message rather than give it up (a
  // capture cut a few bytes into a frame header picked up one message later).
  if (buf.length < FRAME_HEADER_BYTES && !end) return { kind: 'needMore' };
  if (!plausibleFrames(buf, from)) return lose(d, buf.length);
  const before = d.mode;
  d.mode = 'frames';
  if (before !== 'start') d.table.reset();
  else d.table.incomplete = true;
  const r = parseFrame(buf, d, end);
  // Undo on needMore so re-parsing with more bytes decides afresh (parse's contract).
  if (r.kind === 'needMore') d.mode = before;
  return r;
}

/** The header-block fragment of a HEADERS/PUSH_PROMISE payload [start, end), or null if padding is bad. */
function fragmentOf(buf: Buffer, start: number, end: number, flags: number, extra: number): [number, number] | null {
  let s = start;
  let e = end;
  if (flags & FLAG_PADDED) {
    if (s >= e) return null;
    const pad = buf[s]!;
    s++;
    e -= pad;
  }
  s += extra;
  return s <= e ? [s, e] : null;
}

function parseFrame(buf: Buffer, d: DirectionState, end: boolean): ParseResult<Http2Frame> {
  if (buf.length < FRAME_HEADER_BYTES) return { kind: 'needMore' };
  const h = readFrameHeader(buf, 0);
  if (!h || !headerLegal(h, 0xffffff)) return lose(d, buf.length);
  const total = FRAME_HEADER_BYTES + h.length;
  switch (h.type) {
    case DATA: {
      const consumed = Math.min(total, buf.length);
      d.skip = total - consumed;
      if (h.flags & FLAG_END_STREAM) {
        return { kind: 'frame', consumed, frame: { kind: 'end', streamId: h.streamId, endStream: true, fields: null, errorCode: 0, upgrade: false } };
      }
      return ignored(consumed);
    }
    case RST_STREAM: {
      if (buf.length < total) return end ? lose(d, buf.length) : { kind: 'needMore' };
      const errorCode = buf.readUInt32BE(FRAME_HEADER_BYTES);
      return { kind: 'frame', consumed: total, frame: { kind: 'reset', streamId: h.streamId, endStream: true, fields: null, errorCode, upgrade: false } };
    }
    case HEADERS:
    case PUSH_PROMISE:
      return parseBlock(buf, h.type, h.flags, h.streamId, total, d, end);
    case CONTINUATION:
      // A continuation whose HEADERS we did not decode: that block is lost to the table.
      d.table.reset();
      return passOver(buf, d, total);
    default:
      return passOver(buf, d, total);
  }
}

function passOver(buf: Buffer, d: DirectionState, total: number): ParseResult<Http2Frame> {
  const consumed = Math.min(total, buf.length);
  d.skip = total - consumed;
  return ignored(consumed);
}

/** HEADERS or PUSH_PROMISE with its CONTINUATION frames, decoded once all of them are here. */
function parseBlock(buf: Buffer, type: number, flags: number, streamId: number, total: number, d: DirectionState, end: boolean): ParseResult<Http2Frame> {
  const priority = type === HEADERS && flags & FLAG_PRIORITY ? 5 : 0;
  const promise = type === PUSH_PROMISE ? 4 : 0;
  const first = fragmentOf(buf, FRAME_HEADER_BYTES, Math.min(total, buf.length), flags, priority + promise);
  if (total > buf.length) {
    if (total - FRAME_HEADER_BYTES > MAX_BLOCK_BYTES || end) {
      // Cannot be decoded: whatever it inserted is unknown from now on.
      d.table.reset();
      return passOver(buf, d, total);
    }
    return { kind: 'needMore' };
  }
  if (!first) return lose(d, buf.length);
  const promisedId = promise ? buf.readUInt32BE(first[0] - 4) & 0x7fffffff : 0;
  const parts: Buffer[] = [buf.subarray(first[0], first[1])];
  let pos = total;
  let endHeaders = (flags & FLAG_END_HEADERS) !== 0;
  let size = first[1] - first[0];
  while (!endHeaders) {
    if (pos + FRAME_HEADER_BYTES > buf.length) {
      if (end || size > MAX_BLOCK_BYTES) {
        d.table.reset();
        return ignored(buf.length);
      }
      return { kind: 'needMore' };
    }
    const c = readFrameHeader(buf, pos);
    // RFC 9113 §6.10: only CONTINUATION frames of the same stream may follow.
    if (!c || c.type !== CONTINUATION || c.streamId !== streamId) return lose(d, buf.length);
    const cEnd = pos + FRAME_HEADER_BYTES + c.length;
    size += c.length;
    if (cEnd > buf.length) {
      if (end || size > MAX_BLOCK_BYTES) {
        d.table.reset();
        d.skip = cEnd - buf.length;
        return ignored(buf.length);
      }
      return { kind: 'needMore' };
    }
    parts.push(buf.subarray(pos + FRAME_HEADER_BYTES, cEnd));
    endHeaders = (c.flags & FLAG_END_HEADERS) !== 0;
    pos = cEnd;
  }
  const block = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  const decoded = decodeBlock(block, 0, block.length, d.table);
  if ('error' in decoded) return lose(d, pos);
  d.skip = 0;
  const fields = fieldsOf(decoded);
  const frame: Http2Frame =
    type === PUSH_PROMISE
      ? { kind: 'promise', streamId: promisedId, endStream: false, fields, errorCode: 0, upgrade: false }
      : { kind: 'headers', streamId, endStream: (flags & FLAG_END_STREAM) !== 0, fields, errorCode: 0, upgrade: false };
  return { kind: 'frame', consumed: pos, frame };
}

/** The HTTP/1.1 `Upgrade: h2c` request: it is stream 1's request (RFC 7540 §3.2). */
function parseUpgradeRequest(buf: Buffer, d: DirectionState, state: Http2State, end: boolean): ParseResult<Http2Frame> | null {
  const headEnd = buf.indexOf(HEAD_END);
  if (headEnd < 0) return buf.length > MAX_UPGRADE_HEAD || end ? null : { kind: 'needMore' };
  if (!asksH2cUpgrade(buf, headEnd)) return null;
  const r = parseHttp(buf, 'request', newHttpState(), end);
  if (r.kind === 'needMore') return r;
  if (r.kind !== 'frame' || r.frame.type !== 'request') return null;
  d.mode = 'preface';
  state.upgradeMethod = r.frame.method;
  return { kind: 'frame', consumed: r.consumed, frame: { kind: 'headers', streamId: 1, endStream: true, fields: http1Fields(r.frame), errorCode: 0, upgrade: true } };
}

function http1Fields(req: HttpRequestFrame): Http2Fields {
  return {
    method: req.method,
    path: req.target,
    authority: req.host,
    scheme: 'http',
    status: null,
    contentType: '',
    grpcStatus: null,
    grpcMessage: '',
    xRequestId: req.xRequestId,
    trace: req.trace,
    unknown: 0,
  };
}

const HTTP1_PREFIX = Buffer.from('HTTP/1.', 'latin1');

/**
 * The server answered the upgrade request with a plain HTTP/1.x response (it does not speak
 * h2c, as nginx without http2): the connection stays HTTP/1.1. Its exchanges are parsed by the
 * HTTP/1 parser and given stream ids in request order (the upgrade request was stream 1), so
 * pairing and spans still work; the spans say http.
 */
function parseHttp1(buf: Buffer, direction: ParseDirection, state: Http2State, end: boolean): ParseResult<Http2Frame> {
  const h1 = state.http1!;
  const r = parseHttp(buf, direction, h1, end);
  if (r.kind !== 'frame') return r.kind === 'invalid' ? lose(state[direction], buf.length) : r;
  const f = r.frame;
  if (f.type === 'request') {
    const streamId = state.http1Next;
    state.http1Next += 2;
    state.http1Streams.push(streamId);
    return { kind: 'frame', consumed: r.consumed, frame: { kind: 'headers', streamId, endStream: true, fields: http1Fields(f), errorCode: 0, upgrade: false, http1: true } };
  }
  const streamId = state.http1Streams.shift() ?? 0;
  const fields: Http2Fields = { ...http1Fields({ type: 'request', method: '', target: '', version: f.version, host: '', xRequestId: f.xRequestId, trace: f.trace, partial: f.partial }), scheme: '', status: f.status };
  return { kind: 'frame', consumed: r.consumed, frame: { kind: 'headers', streamId, endStream: true, fields, errorCode: 0, upgrade: false, http1: true } };
}

/** A non-101 HTTP/1 response to our upgrade request: switch both directions to HTTP/1. */
function refusedUpgrade(buf: Buffer, state: Http2State, end: boolean): ParseResult<Http2Frame> | null {
  if (state.request.mode !== 'preface' || !bytesEqualAt(buf, 0, HTTP1_PREFIX) || bytesEqualAt(buf, 0, HTTP11_101)) return null;
  const h1 = newHttpState();
  h1.pendingMethods.push(state.upgradeMethod || 'GET');
  const before = { http1: state.http1, streams: state.http1Streams };
  state.http1 = h1;
  state.http1Streams = [1];
  const r = parseHttp1(buf, 'response', state, end);
  if (r.kind === 'needMore') {
    state.http1 = before.http1;
    state.http1Streams = before.streams;
    return r;
  }
  state.request.mode = 'http1';
  state.response.mode = 'http1';
  return r;
}

function startRequest(buf: Buffer, d: DirectionState, state: Http2State, end: boolean): ParseResult<Http2Frame> {
  const n = Math.min(buf.length, PREFACE.length);
  if (bytesEqualAt(PREFACE.subarray(0, n), 0, buf.subarray(0, n))) {
    if (buf.length < PREFACE.length) return end ? lose(d, buf.length) : { kind: 'needMore' };
    d.mode = 'frames';
    return ignored(PREFACE.length);
  }
  if (d.mode === 'start' && buf[0]! >= 0x41 && buf[0]! <= 0x5a) {
    const up = parseUpgradeRequest(buf, d, state, end);
    if (up) return up;
  }
  return resync(buf, d, end, 'request');
}

function startResponse(buf: Buffer, d: DirectionState, state: Http2State, end: boolean): ParseResult<Http2Frame> {
  const refused = refusedUpgrade(buf, state, end);
  if (refused) return refused;
  if (buf.length < HTTP11_101.length && bytesEqualAt(HTTP11_101.subarray(0, buf.length), 0, buf)) return end ? lose(d, buf.length) : { kind: 'needMore' };
  if (bytesEqualAt(buf, 0, HTTP11_101)) {
    // 101 Switching Protocols: HTTP/2 frames follow its head, from the connection's start.
    const headEnd = buf.indexOf(HEAD_END);
    if (headEnd < 0) return buf.length > MAX_UPGRADE_HEAD || end ? lose(d, buf.length) : { kind: 'needMore' };
    d.mode = 'frames';
    return ignored(headEnd + HEAD_END.length);
  }
  if (buf.length >= FRAME_HEADER_BYTES) {
    const h = readFrameHeader(buf, 0);
    // A server's connection preface is a SETTINGS frame (RFC 9113 §3.4): we see it from the start.
    if (h && h.type === SETTINGS && h.flags === 0 && headerLegal(h, 0xffffff)) {
      d.mode = 'frames';
      return parseFrame(buf, d, end);
    }
  } else if (!end) {
    return { kind: 'needMore' };
  }
  return resync(buf, d, end, 'response');
}

export function parseHttp2(bytes: Uint8Array, direction: ParseDirection, state: Http2State, end = false): ParseResult<Http2Frame> {
  const buf = asBuffer(bytes);
  if (buf.length === 0) return { kind: 'needMore' };
  const d = state[direction];
  if (d.skip > 0) {
    const n = Math.min(d.skip, buf.length);
    d.skip -= n;
    return ignored(n);
  }
  switch (d.mode) {
    case 'frames':
      return parseFrame(buf, d, end);
    case 'lost':
      return resync(buf, d, end, direction);
    case 'start':
    case 'preface':
      return direction === 'request' ? startRequest(buf, d, state, end) : startResponse(buf, d, state, end);
    case 'http1':
      return parseHttp1(buf, direction, state, end);
  }
}

/**
 * `missing` bytes of `direction` were not captured right after what was pushed. Inside the
 * payload we are passing over, nothing is lost; past it, frame boundaries are unknown.
 */
export function http2Gap(direction: ParseDirection, missing: number, state: Http2State): void {
  const d = state[direction];
  if (missing <= 0) return;
  if (d.mode === 'frames' && d.skip >= missing) {
    d.skip -= missing;
    return;
  }
  d.mode = 'lost';
  d.table.reset();
  d.skip = 0;
}

/** A scratch decode for detection: the message's frames hold a request (or response) header block. */
function framesShowRole(buf: Buffer, direction: ParseDirection): boolean {
  if (!plausibleFrames(buf, direction)) return false;
  const table = new HpackTable(false);
  let pos = 0;
  while (pos + FRAME_HEADER_BYTES <= buf.length) {
    const h = readFrameHeader(buf, pos)!;
    const total = FRAME_HEADER_BYTES + h.length;
    if (h.type === HEADERS && pos + total <= buf.length) {
      const frag = fragmentOf(buf, pos + FRAME_HEADER_BYTES, pos + total, h.flags, h.flags & FLAG_PRIORITY ? 5 : 0);
      if (frag) {
        const block = decodeBlock(buf, frag[0], frag[1], table);
        if ('error' in block) return false;
        const f = fieldsOf(block);
        if (direction === 'request' ? f.method !== '' && (h.streamId & 1) === 1 : f.status !== null) return true;
      }
    }
    pos += total;
  }
  return false;
}

export function detectHttp2(bytes: Uint8Array, direction: ParseDirection): 'yes' | 'no' | 'maybe' {
  const buf = asBuffer(bytes);
  if (buf.length === 0) return 'no';
  if (direction === 'request') {
    const n = Math.min(buf.length, PREFACE.length);
    if (n >= 4 && bytesEqualAt(buf, 0, PREFACE.subarray(0, n))) return 'yes';
    if (buf[0]! >= 0x41 && buf[0]! <= 0x5a) {
      const headEnd = buf.indexOf(HEAD_END);
      return headEnd > 0 && asksH2cUpgrade(buf, headEnd) ? 'yes' : 'no';
    }
  } else {
    if (bytesEqualAt(buf, 0, HTTP11_101)) {
      const headEnd = buf.indexOf(HEAD_END);
      return headEnd > 0 && buf.subarray(0, headEnd).toString('latin1').toLowerCase().includes('h2c') ? 'yes' : 'no';
    }
    if (buf.length >= FRAME_HEADER_BYTES) {
      const h = readFrameHeader(buf, 0);
      if (h && h.type === SETTINGS && h.flags === 0 && plausibleFrames(buf, 'response')) return 'yes';
    }
  }
  return framesShowRole(buf, direction) ? 'yes' : 'no';
}
