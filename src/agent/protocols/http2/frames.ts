/** @module HTTP/2 frame layout (RFC 9113 §4.1, §6): the 9-byte header and what each type must look like. */

export const FRAME_HEADER_BYTES = 9;
/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const DATA = 0;
export const HEADERS = 1;
export const PRIORITY = 2;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PUSH_PROMISE = 5;
export const PING = 6;
export const GOAWAY = 7;
export const WINDOW_UPDATE = 8;
export const CONTINUATION = 9;

export const FLAG_END_STREAM = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;

/** SETTINGS_MAX_FRAME_SIZE's initial value: peers rarely raise it, so resync expects no more. */
export const DEFAULT_MAX_FRAME = 16_384;

export interface FrameHeader {
  length: number;
  type: number;
  flags: number;
  streamId: number;
}

/** The header at `pos`; the caller checks that 9 bytes are there. Reserved bit set → null. */
export function readFrameHeader(buf: Uint8Array, pos: number): FrameHeader | null {
  const b5 = buf[pos + 5]!;
  if (b5 & 0x80) return null;
  return {
    length: (buf[pos]! << 16) | (buf[pos + 1]! << 8) | buf[pos + 2]!,
    type: buf[pos + 3]!,
    flags: buf[pos + 4]!,
    streamId: ((b5 << 24) | (buf[pos + 6]! << 16) | (buf[pos + 7]! << 8) | buf[pos + 8]!) >>> 0,
  };
}

/**
 * Whether a header is legal for its type (RFC 9113 §6): stream 0 only for connection frames,
 * fixed lengths where the RFC fixes them. Unknown types are legal (extensions are ignored).
 */
export function headerLegal(h: FrameHeader, maxLength: number): boolean {
  if (h.length > maxLength) return false;
  switch (h.type) {
    case DATA:
    case HEADERS:
    case CONTINUATION:
      return h.streamId !== 0;
    case PUSH_PROMISE:
      return h.streamId !== 0 && h.length >= 4;
    case PRIORITY:
      return h.streamId !== 0 && h.length === 5;
    case RST_STREAM:
      return h.streamId !== 0 && h.length === 4;
    case SETTINGS:
      return h.streamId === 0 && h.length % 6 === 0 && ((h.flags & 1) === 0 || h.length === 0);
    case PING:
      return h.streamId === 0 && h.length === 8;
    case GOAWAY:
      return h.streamId === 0 && h.length >= 8;
    case WINDOW_UPDATE:
      return h.length === 4;
    default:
      return true;
  }
}

/**
 * The flags each frame type defines (RFC 9113 §6): a sender leaves every other flag unset (§4.1),
 * so a header with one set is not where a frame starts.
 */
const DEFINED_FLAGS = [
  /* DATA */ FLAG_END_STREAM | FLAG_PADDED,
  /* HEADERS */ FLAG_END_STREAM | FLAG_END_HEADERS | FLAG_PADDED | FLAG_PRIORITY,
  /* PRIORITY */ 0,
  /* RST_STREAM */ 0,
  /* SETTINGS (ACK) */ 0x1,
  /* PUSH_PROMISE */ FLAG_END_HEADERS | FLAG_PADDED,
  /* PING (ACK) */ 0x1,
  /* GOAWAY */ 0,
  /* WINDOW_UPDATE */ 0,
  /* CONTINUATION */ FLAG_END_HEADERS,
];

/**
 * Whether a frame of this header can come from this side: the client opens odd streams and
 * sends HEADERS and DATA only on them (a pushed stream is closed to it), and never PUSH_PROMISE;
 * the server answers on odd streams and pushes on even ones.
 */
function sideLegal(h: FrameHeader, from: 'request' | 'response'): boolean {
  if (from === 'response') return true;
  if (h.type === PUSH_PROMISE) return false;
  return (h.type !== HEADERS && h.type !== DATA && h.type !== CONTINUATION) || (h.streamId & 1) === 1;
}

/**
 * Whether `buf` (a capture that may start anywhere) reads as whole frames from offset 0: every
 * header legal with a known type, no undefined flag, at most the default frame size, a stream
 * the sending side may use (when `from` is known), the last frame possibly cut. Used to pick up
 * a connection mid-way: a false start would decode garbage, so this is strict.
 */
export function plausibleFrames(buf: Uint8Array, from?: 'request' | 'response'): boolean {
  let pos = 0;
  let frames = 0;
  while (pos + FRAME_HEADER_BYTES <= buf.length) {
    const h = readFrameHeader(buf, pos);
    if (!h || h.type > CONTINUATION || !headerLegal(h, DEFAULT_MAX_FRAME)) return false;
    if ((h.flags & ~DEFINED_FLAGS[h.type]!) !== 0 || (from !== undefined && !sideLegal(h, from))) return false;
    frames++;
    pos += FRAME_HEADER_BYTES + h.length;
  }
  return frames > 0 && (pos >= buf.length || buf.length - pos < FRAME_HEADER_BYTES);
}
