/**
 * @module Drives one parser over one connection: bytes in (per direction, with capture meta),
 * records out. Carries an unfinished frame's bytes until more arrive, bounds what it keeps, and
 * counts what it could not parse. Sessions, the pcap golden tests and the benchmark all use it,
 * so they exercise the same path.
 */
import type { AnyProtocolParser, FrameMeta, Framed, ParseDirection } from './protocol.js';
import type { Transport } from '../../model/index.js';

/** Bytes carried for an unfinished frame before giving up on it. */
export const MAX_CARRY_BYTES = 256 * 1024;
/** Frames waiting for their partner before the oldest are dropped. */
export const MAX_PENDING_FRAMES = 1024;

export interface StreamStats {
  frames: number;
  invalid: number;
  ignoredBytes: number;
  /** Responses with no request, and frames dropped by the pending cap. */
  stitchErrors: number;
  /** Bytes dropped: an unfinished frame at a message end, or past the carry cap. */
  droppedBytes: number;
  /** `droppedBytes` by why: after an invalid frame, an unfinished frame, past the carry cap. */
  droppedBytesBy: { invalid: number; unfinished: number; carry_cap: number };
  /** `stitchErrors` by why: a response no request matched, frames dropped by the pending cap. */
  stitchErrorsBy: { unmatched_response: number; pending_cap: number };
  /** Frames the parser marked (`markOf`): the sum of `markedFrames`. */
  marked: number;
  /** Frames the parser marked, by reason. */
  markedFrames: Record<string, number>;
  /** Streams (connections) with at least one frame marked for a reason, by reason. */
  markedStreams: Record<string, number>;
}

/** Stats at zero; `markReasons` start at 0 too, so every series exists before the first mark. */
export function emptyStreamStats(markReasons: readonly string[] = []): StreamStats {
  const zeros = (): Record<string, number> => Object.fromEntries(markReasons.map((r) => [r, 0]));
  return {
    frames: 0,
    invalid: 0,
    ignoredBytes: 0,
    stitchErrors: 0,
    droppedBytes: 0,
    droppedBytesBy: { invalid: 0, unfinished: 0, carry_cap: 0 },
    stitchErrorsBy: { unmatched_response: 0, pending_cap: 0 },
    marked: 0,
    markedFrames: zeros(),
    markedStreams: zeros(),
  };
}

export interface ExchangeStream<Rec> {
  /**
   * Feeds bytes of one direction. `end`: the message ends here (the caller saw the direction
   * change or the capture was cut), so a frame still incomplete is emitted as partial or dropped.
   * `missingAfter`: bytes of this message that were not captured after `bytes` (see `gap`).
   */
  push(direction: ParseDirection, bytes: Uint8Array, meta: FrameMeta, end: boolean, missingAfter?: number): Rec[];
  /** Requests that never got a response, as records with no response; they are forgotten. */
  drain(): Rec[];
  pending(): number;
  readonly stats: StreamStats;
}

interface Carry {
  bytes: Uint8Array | null;
  meta: FrameMeta | null;
}

/**
 * The capture facts of the byte at `off` of (carried bytes + this push): the time of the packet
 * or syscall it arrived in (the last piece starting at or before it), and its exact TCP sequence
 * number (that push's first byte's plus the distance, mod 2^32), so a pipelined frame keeps the
 * time and seq its first byte really had. Later pieces stay attached, rebased, for a frame that
 * is carried and continues. Module-level, not a closure: this runs per frame.
 */
function metaAt(off: number, carried: number, carriedMeta: FrameMeta, meta: FrameMeta): FrameMeta {
  const base = off < carried ? carriedMeta : meta;
  const delta = off < carried ? off : off - carried;
  if (delta === 0) return base;
  const out: FrameMeta = base.tcpSeq === 0 ? { ...base } : { ...base, tcpSeq: (base.tcpSeq + delta) >>> 0 };
  const pieces = base.pieces;
  if (pieces && pieces.length > 0) {
    let i = 0;
    while (i < pieces.length && pieces[i]!.offset <= delta) i++;
    if (i > 0) out.startUnixNano = pieces[i - 1]!.startUnixNano;
    if (i === pieces.length) delete out.pieces;
    else out.pieces = pieces.slice(i).map((p) => ({ offset: p.offset - delta, startUnixNano: p.startUnixNano }));
  }
  return out;
}

export interface ExchangeStreamOptions {
  /**
   * Bytes carried for an unfinished frame (default MAX_CARRY_BYTES). Past it, the frame is
   * finished as partial right away (as if its message had ended) rather than carried further.
   */
  maxCarryBytes?: number;
}

export function createExchangeStream<Rec>(parser: AnyProtocolParser, transport: Transport, options: ExchangeStreamOptions = {}): ExchangeStream<Rec> {
  const maxCarry = options.maxCarryBytes ?? MAX_CARRY_BYTES;
  const state: unknown = parser.newState(transport);
  const requests: Framed<unknown>[] = [];
  const responses: Framed<unknown>[] = [];
  const carry: Record<ParseDirection, Carry> = { request: { bytes: null, meta: null }, response: { bytes: null, meta: null } };
  const stats: StreamStats = emptyStreamStats(parser.markReasons);
  const drop = (n: number, why: keyof StreamStats['droppedBytesBy']): void => {
    stats.droppedBytes += n;
    stats.droppedBytesBy[why] += n;
  };
  const markOf = parser.markOf;
  const mark = (frame: unknown): void => {
    const why = markOf ? markOf(frame) : null;
    if (!why) return;
    stats.marked++;
    stats.markedFrames[why] = (stats.markedFrames[why] ?? 0) + 1;
    // This stream counts once per reason.
    if (!stats.markedStreams[why]) stats.markedStreams[why] = 1;
  };

  function parseInto(direction: ParseDirection, input: Uint8Array, meta: FrameMeta, end: boolean): void {
    const out = direction === 'request' ? requests : responses;
    const c = carry[direction];
    let buf = input;
    // Bytes carried from the previous push precede `input`; `carriedMeta` describes their first.
    let carried = 0;
    let carriedMeta = meta;
    if (c.bytes) {
      carried = c.bytes.length;
      carriedMeta = c.meta ?? meta;
      buf = Buffer.concat([c.bytes, input]);
      c.bytes = null;
      c.meta = null;
    }
    let off = 0;
    while (off < buf.length) {
      const view = off === 0 ? buf : buf.subarray(off);
      const r = parser.parse(view, direction, state, end);
      if (r.kind === 'frame') {
        out.push({ frame: r.frame as unknown, meta: metaAt(off, carried, carriedMeta, meta) });
        stats.frames++;
        mark(r.frame);
        off += Math.max(1, r.consumed);
      } else if (r.kind === 'ignored') {
        stats.ignoredBytes += r.consumed;
        off += Math.max(1, r.consumed);
      } else if (r.kind === 'needMore') {
        if (!end && buf.length - off <= maxCarry) {
          c.bytes = Uint8Array.prototype.slice.call(view);
          c.meta = metaAt(off, carried, carriedMeta, meta);
          return;
        }
        if (!end) {
          // Too much to keep waiting on: finish the frame as partial now, as an ended message would.
          const last = parser.parse(view, direction, state, true);
          if (last.kind === 'frame') {
            out.push({ frame: last.frame as unknown, meta: metaAt(off, carried, carriedMeta, meta) });
            stats.frames++;
            mark(last.frame);
            off += Math.max(1, last.consumed);
            if (off < buf.length) drop(buf.length - off, 'carry_cap');
            return;
          }
        }
        drop(buf.length - off, end ? 'unfinished' : 'carry_cap');
        return;
      } else {
        // Resynchronising inside a message is guesswork; drop the rest of it.
        stats.invalid++;
        drop(buf.length - off, 'invalid');
        return;
      }
    }
    if (out.length > MAX_PENDING_FRAMES) {
      const over = out.length - MAX_PENDING_FRAMES;
      out.splice(0, over);
      stats.stitchErrors += over;
      stats.stitchErrorsBy.pending_cap += over;
    }
  }

  return {
    stats,
    push(direction, bytes, meta, end, missingAfter = 0) {
      parseInto(direction, bytes, meta, end);
      if (missingAfter > 0) parser.gap?.(direction, missingAfter, state);
      const r = parser.stitch(requests, responses, state);
      stats.stitchErrors += r.errors;
      stats.stitchErrorsBy.unmatched_response += r.errors;
      return r.records as Rec[];
    },
    drain() {
      const out = requests.map((f) => parser.unanswered(f) as Rec);
      requests.length = 0;
      return out;
    },
    pending: () => requests.length,
  };
}
