/**
 * @module Per-connection message assembly: consecutive syscalls in one direction on one socket
 * are one L7 message (DeepFlow's rule; the kernel flags the first syscall of each message).
 *
 * A message keeps the capture metadata of its FIRST syscall (time, tcp seq, syscall trace id,
 * thread) because that is what the correlation keys mean (and the start time of each later
 * syscall, so a second frame in the message starts when its first byte arrived): the seq of the message's first byte,
 * the id the thread held when the message started. Its bytes are the captured prefixes of its
 * syscalls, concatenated while they are contiguous and up to a cap, so headers split across
 * writes are still parsed; a body beyond the cap only counts towards `totalBytes`.
 */
import type { DataEvent, Direction } from '../capture/capture-event.js';
import type { FramePiece } from '../protocols/protocol.js';

/** Pieces a message remembers; past this, later frames take the last piece's time. */
const MAX_PIECES = 256;

export interface Message {
  direction: Direction;
  startUnixNano: bigint;
  /** Exit time of the last syscall seen for this message. */
  endUnixNano: bigint;
  tcpSeq: number;
  syscallTraceId: number;
  tid: number;
  /** Captured bytes, contiguous from the message's first byte. */
  bytes: Uint8Array;
  /** Bytes the message moved in all (may exceed bytes.length). */
  totalBytes: number;
  /** Some bytes of the message were not captured (prefix cap or the per-message cap). */
  truncated: boolean;
  /**
   * Later syscalls or packets of the message: where their bytes start in `bytes` and when they
   * were captured, so a second frame in one message takes its own time. Absent for a message of
   * one syscall; at most MAX_PIECES.
   */
  pieces?: FramePiece[] | undefined;
  /**
   * Completed because no syscall extended it for a while, not because the direction changed or
   * the socket closed: more of the same frame may still come (a request written in pieces).
   */
  endedIdle: boolean;
}

/** The bytes of a message not finished yet (shared: allocating one per message showed in profiles). */
const NO_BYTES = new Uint8Array(0);

/** Mutable builder for the message being received or sent on one socket. */
export class MessageBuilder {
  /** Most messages are one syscall: its bytes alone, and an array only from the second piece. */
  private firstChunk: Uint8Array | null = null;
  private moreChunks: Uint8Array[] | null = null;
  private captured = 0;
  private contiguous = true;
  readonly message: Message;

  constructor(
    first: DataEvent,
    private readonly maxMessageBytes: number,
  ) {
    this.message = {
      direction: first.direction,
      startUnixNano: first.startUnixNano,
      endUnixNano: first.endUnixNano,
      tcpSeq: first.tcpSeq,
      syscallTraceId: first.syscallTraceId,
      tid: first.tid,
      bytes: NO_BYTES,
      totalBytes: 0,
      truncated: false,
      pieces: undefined,
      endedIdle: false,
    };
    this.append(first);
  }

  append(ev: DataEvent): void {
    const m = this.message;
    m.totalBytes += ev.totalBytes;
    if (ev.endUnixNano > m.endUnixNano) m.endUnixNano = ev.endUnixNano;
    if (!this.contiguous) return;
    const room = this.maxMessageBytes - this.captured;
    const take = Math.min(room, ev.payload.length);
    if (take > 0 && this.captured > 0) {
      const pieces = (m.pieces ??= []);
      if (pieces.length < MAX_PIECES) pieces.push({ offset: this.captured, startUnixNano: ev.startUnixNano });
    }
    if (take > 0) {
      const chunk = take === ev.payload.length ? ev.payload : ev.payload.subarray(0, take);
      if (this.firstChunk === null) this.firstChunk = chunk;
      else (this.moreChunks ??= []).push(chunk);
      this.captured += take;
    }
    // Bytes after a gap (a syscall whose payload was cut) cannot be placed, so stop collecting.
    if (take < ev.totalBytes) {
      this.contiguous = false;
      m.truncated = true;
    }
  }

  /** The message with its bytes joined. The builder must not be used afterwards. */
  finish(): Message {
    const m = this.message;
    const first = this.firstChunk;
    if (first === null) m.bytes = NO_BYTES;
    else m.bytes = this.moreChunks === null ? first : Buffer.concat([first, ...this.moreChunks], this.captured);
    this.firstChunk = null;
    this.moreChunks = null;
    return m;
  }
}
