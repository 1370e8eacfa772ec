/**
 * @module The L7 parser interface (Pixie's shape): detect, parse one frame, stitch requests to
 * responses, and turn a record into a SpanRecord.
 *
 * Contract for every implementation:
 * - Pure: no clock, no logger, no I/O, no randomness. Times come from `FrameMeta`, which the
 *   caller (sessions, the pcap reader, tests) attaches to each frame.
 * - Never throws on any input: malformed bytes are `{kind:'invalid'}`, never an exception.
 * - `parse` looks at `buf` from offset 0 and reports how many bytes one frame used. It may keep
 *   per-connection facts in `state` (prepared statements, the method a response answers), but it
 *   only mutates `state` when it returns `frame` or `ignored`, so re-parsing after `needMore`
 *   with more bytes gives the same result as parsing the whole input once.
 * - `end` tells `parse` no more bytes will follow for this message (a captured prefix was cut, or
 *   the peer closed). It may then return a frame whose body is incomplete, consuming all of `buf`.
 */
import type { ObservationPoint, SpanOrigin, SpanRecord, SpanSource, Transport } from '../../model/index.js';

/** Which side of the exchange a byte stream carries. */
export type ParseDirection = 'request' | 'response';

export type ParseResult<F> =
  | { kind: 'frame'; frame: F; consumed: number }
  | { kind: 'needMore' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'ignored'; consumed: number };

/** Capture facts of the message a frame came from (its first syscall or packet). */
export interface FrameMeta {
  startUnixNano: bigint;
  endUnixNano: bigint;
  /** TCP sequence number of the message's first byte; 0 when unknown or UDP. */
  tcpSeq: number;
  /** Per-thread syscall trace id; 0 when none. */
  syscallTraceId: number;
  /** Thread id; 0 when unknown. */
  tid: number;
  /**
   * Later packets or syscalls of the same message, by the offset of their first byte (ascending,
   * all > 0): a frame that starts inside one takes its time, not the message's first.
   */
  pieces?: readonly FramePiece[];
}

/** Where a later packet or syscall of a message starts, and when it was captured. */
export interface FramePiece {
  offset: number;
  startUnixNano: bigint;
}

export interface Framed<F> {
  frame: F;
  meta: FrameMeta;
}

/** A request paired with its response; either side may be missing (timeout, unsolicited). */
export interface Exchange<Req, Resp> {
  request: Framed<Req> | null;
  response: Framed<Resp> | null;
}

export interface StitchResult<Rec> {
  records: Rec[];
  /** Responses that matched no request (dropped), counted for metrics. */
  errors: number;
}

/** What `toSpan` needs to know about the connection; everything per-message is in FrameMeta. */
export interface ConnInfo {
  source: SpanSource;
  origin: SpanOrigin;
  observationPoint: ObservationPoint;
  ipVersion: 0 | 4 | 6;
  transport: Transport;
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  processId: number;
  processName: string;
  hostId: string;
  interfaceName: string;
}

export interface ProtocolParser<Frame, State, Rec> {
  /** Lowercase protocol name as written to `SpanRecord.protocol`. */
  readonly name: string;
  /** Ports the protocol usually listens on; detection uses them to break ties. */
  readonly defaultPorts: readonly number[];
  /** Fresh per-connection state. UDP sockets get one each, too. */
  newState(transport: Transport): State;
  /**
   * Whether `bytes` look like the start of a message of this protocol in `direction`.
   * Cheap and pure; looks at a prefix only. 'maybe' when the bytes are valid but not distinctive.
   */
  detect(bytes: Uint8Array, direction: ParseDirection): 'yes' | 'no' | 'maybe';
  /** Parses one frame from the start of `buf`. Never throws. */
  parse(buf: Uint8Array, direction: ParseDirection, state: State, end?: boolean): ParseResult<Frame>;
  /**
   * Optional: `missing` bytes of `direction` were not captured right after the bytes pushed so
   * far (a payload prefix cap, or a run the kernel's HTTP/2 walk left out: a DATA payload).
   * Parsers that frame by length (HTTP/2) can stay in step when the missing bytes fall inside a
   * payload they pass over; the others just see the next message.
   */
  gap?(direction: ParseDirection, missing: number, state: State): void;
  /**
   * Frames say their own length and streams interleave in them (HTTP/2): the sessions feed each
   * syscall's or segment's bytes as they come, with their own time and seq, instead of joining
   * a direction's bytes into a message first (which caps its size and blurs which frame came when).
   */
  readonly selfDelimiting?: boolean;
  /**
   * Optional: frames read with a caveat worth counting (MySQL: `compressed`, read through the
   * compressed protocol). Lists every reason `markOf` can return, so /metrics shows each series
   * from 0; the span says it on its own too.
   */
  readonly markReasons?: readonly string[];
  markOf?(frame: Frame): string | null;
  /**
   * Pairs frames. Consumes from the front of both arrays (they are mutated): matched and
   * unmatchable frames are removed, requests still waiting for a response stay. Order of
   * `records` is request order.
   */
  stitch(requests: Framed<Frame>[], responses: Framed<Frame>[], state: State): StitchResult<Rec>;
  /** Builds the span for one record. `spanId` is left '' (the caller assigns ids). */
  toSpan(record: Rec, conn: ConnInfo): SpanRecord;
  /** Wraps a request that never got an answer, so it can become a `timeout` span. */
  unanswered(request: Framed<Frame>): Rec;
}

/** A parser of any protocol, as the registry holds them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- heterogeneous registry: each entry is used only with its own state and frames
export type AnyProtocolParser = ProtocolParser<any, any, any>;
