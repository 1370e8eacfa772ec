/**
 * @module The MySQL compressed protocol (CLIENT_COMPRESS; dev.mysql.com/doc/dev/mysql-server/
 * latest/page_protocol_basic_compression.html): after the handshake every packet travels inside
 * frames with a 7-byte header (compressed length 3, sequence 1, uncompressed length 3). An
 * uncompressed length of 0 means the payload was sent as is (small packets); otherwise it is
 * zlib. Inflating is pure computation, so the parser stays pure.
 */
import { constants, inflateSync } from 'node:zlib';

const FRAME_HEADER = 7;
/** A frame never holds more than one maximum-size packet (16 MiB) of uncompressed data. */
const MAX_UNCOMPRESSED = 0xffffff + 4;

/**
 * End offsets of the complete frames at the start of `b` (a trailing incomplete frame is left
 * out), or null when a header is not credible.
 */
export function compressedFrames(b: Buffer): number[] | null {
  const ends: number[] = [];
  let p = 0;
  while (p + FRAME_HEADER <= b.length) {
    const clen = b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16);
    const ulen = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16);
    if (ulen > MAX_UNCOMPRESSED) return null;
    if (p + FRAME_HEADER + clen > b.length) break;
    p += FRAME_HEADER + clen;
    ends.push(p);
  }
  return ends;
}

/** The plain bytes of the frames in b[0, end); null when a payload does not inflate. */
export function inflateFrames(b: Buffer, end: number): Buffer | null {
  const parts: Buffer[] = [];
  let p = 0;
  while (p + FRAME_HEADER <= end) {
    const clen = b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16);
    const ulen = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16);
    const body = b.subarray(p + FRAME_HEADER, p + FRAME_HEADER + clen);
    if (ulen === 0) parts.push(body);
    else {
      try {
        const out = inflateSync(body, { maxOutputLength: MAX_UNCOMPRESSED });
        if (out.length !== ulen) return null;
        parts.push(out);
      } catch {
        return null;
      }
    }
    p += FRAME_HEADER + clen;
  }
  return Buffer.concat(parts);
}

/**
 * The plain bytes of every frame in `b`, the last one possibly cut short (a capture's prefix cap
 * or a cut): what inflates of it is kept (sync flush: no error for the missing end). Null when a
 * header is not credible or a payload does not inflate at all.
 */
export function inflatePrefix(b: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let p = 0;
  while (p + FRAME_HEADER <= b.length) {
    const clen = b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16);
    const ulen = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16);
    if (ulen > MAX_UNCOMPRESSED) return null;
    const body = b.subarray(p + FRAME_HEADER, Math.min(b.length, p + FRAME_HEADER + clen));
    if (ulen === 0) parts.push(body);
    else {
      try {
        parts.push(inflateSync(body, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: MAX_UNCOMPRESSED }));
      } catch {
        return null;
      }
    }
    p += FRAME_HEADER + clen;
  }
  return Buffer.concat(parts);
}
