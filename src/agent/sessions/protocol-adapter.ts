/**
 * @module Turns a protocol parser (src/agent/protocols) into the sessions' L7 port: detection
 * with the parser's default ports as a tie-breaker, and one ExchangeStream per connection fed
 * whole messages.
 */
import type { SpanRecord } from '../../model/index.js';
import { createExchangeStream, emptyStreamStats, type StreamStats } from '../protocols/exchange-stream.js';
import type { AnyProtocolParser, ConnInfo, FrameMeta } from '../protocols/protocol.js';
import type { L7Connection, L7Protocol } from './l7-port.js';
import type { DataEvent } from '../capture/capture-event.js';
import type { Message } from './messages.js';

function metaOf(m: Message): FrameMeta {
  const meta: FrameMeta = {
    startUnixNano: m.startUnixNano,
    endUnixNano: m.endUnixNano,
    tcpSeq: m.tcpSeq,
    syscallTraceId: m.syscallTraceId,
    tid: m.tid,
  };
  if (m.pieces) meta.pieces = m.pieces;
  return meta;
}

/** The event's meta for its bytes from `offset` on (the seq moves with them; 0 stays unknown). */
function metaOfEvent(ev: DataEvent, offset = 0): FrameMeta {
  const tcpSeq = ev.tcpSeq === 0 || offset === 0 ? ev.tcpSeq : (ev.tcpSeq + offset) >>> 0;
  return { startUnixNano: ev.startUnixNano, endUnixNano: ev.endUnixNano, tcpSeq, syscallTraceId: ev.syscallTraceId, tid: ev.tid };
}

/** Bytes of an unfinished frame a connection carries between messages, per direction. */
const CARRY_BYTES_PER_CONNECTION = 16 * 1024;
const NO_BYTES = new Uint8Array(0);
/** Meta of an empty push: only carried bytes are parsed, and they keep their own meta. */
const NO_META: FrameMeta = { startUnixNano: 0n, endUnixNano: 0n, tcpSeq: 0, syscallTraceId: 0, tid: 0 };

/** Per-reason counts: adds what `now` counted since `seen` to `totals`, and remembers it. */
function addReasons<K extends string>(totals: Record<K, number>, seen: Record<K, number>, now: Record<K, number>): void {
  for (const k of Object.keys(now) as K[]) {
    totals[k] += now[k] - seen[k];
    seen[k] = now[k];
  }
}

/** Adds what `now` counted since `seen` to `totals`, and remembers `now` in `seen`. */
function addDelta(totals: StreamStats, seen: StreamStats, now: StreamStats): void {
  totals.frames += now.frames - seen.frames;
  totals.invalid += now.invalid - seen.invalid;
  totals.ignoredBytes += now.ignoredBytes - seen.ignoredBytes;
  seen.frames = now.frames;
  seen.invalid = now.invalid;
  seen.ignoredBytes = now.ignoredBytes;
  // The per-reason counts move only with their sums (exchange-stream.ts): most messages skip them.
  if (now.droppedBytes !== seen.droppedBytes) {
    totals.droppedBytes += now.droppedBytes - seen.droppedBytes;
    seen.droppedBytes = now.droppedBytes;
    addReasons(totals.droppedBytesBy, seen.droppedBytesBy, now.droppedBytesBy);
  }
  if (now.stitchErrors !== seen.stitchErrors) {
    totals.stitchErrors += now.stitchErrors - seen.stitchErrors;
    seen.stitchErrors = now.stitchErrors;
    addReasons(totals.stitchErrorsBy, seen.stitchErrorsBy, now.stitchErrorsBy);
  }
  if (now.marked !== seen.marked) {
    seen.marked = now.marked;
    for (const [k, v] of Object.entries(now.markedFrames)) {
      totals.markedFrames[k] = (totals.markedFrames[k] ?? 0) + v - (seen.markedFrames[k] ?? 0);
      totals.markedStreams[k] = (totals.markedStreams[k] ?? 0) + (now.markedStreams[k] ?? 0) - (seen.markedStreams[k] ?? 0);
      seen.markedFrames[k] = v;
      seen.markedStreams[k] = now.markedStreams[k] ?? 0;
    }
  }
}

export function l7ProtocolOf(parser: AnyProtocolParser): L7Protocol {
  // Parse errors, dropped bytes, stitch errors and marked frames of every connection, for /metrics.
  const totals = emptyStreamStats(parser.markReasons);
  return {
    name: parser.name,
    parseStats: () => totals,
    detect(bytes, role, serverPort) {
      const verdict = parser.detect(bytes, role);
      // Bytes that merely could be this protocol count when they go to its usual port.
      if (verdict === 'maybe') return parser.defaultPorts.includes(serverPort) ? 'yes' : 'maybe';
      return verdict;
    },
    open(conn: ConnInfo): L7Connection {
      // A few messages' worth: a frame still unfinished after that is finished as partial, so a
      // slow upload cannot make every connection hold a large carry.
      const stream = createExchangeStream<unknown>(parser, conn.transport, { maxCarryBytes: CARRY_BYTES_PER_CONNECTION });
      const seen = emptyStreamStats();
      const toSpans = (records: unknown[]): SpanRecord[] => {
        addDelta(totals, seen, stream.stats);
        return records.map((r) => parser.toSpan(r, conn) as SpanRecord);
      };
      const l7: L7Connection = {
        // A message ends its frames, unless it only went idle with all its bytes captured: then
        // an unfinished frame waits for the rest (a request written in pieces, a slow body).
        // Bytes missing from a truncated message can never arrive, so it ends its frames.
        onMessage: (role, message) =>
          toSpans(stream.push(role, message.bytes, metaOf(message), !message.endedIdle || message.truncated, message.truncated ? message.totalBytes - message.bytes.length : 0)),
        // A chunk cut short (payload prefix cap) ends what can be parsed of it: the carry must
        // not be joined to bytes after the gap; the parser learns how many bytes it missed.
        endStreams: () => toSpans([...stream.push('request', NO_BYTES, NO_META, true), ...stream.push('response', NO_BYTES, NO_META, true)]),
        drain: () => toSpans(stream.drain()),
        pending: () => stream.pending(),
      };
      if (parser.selfDelimiting) {
        // A chunk cut short (payload prefix cap) ends what can be parsed of it: the carry must
        // not be joined to bytes after the gap; the parser learns how many bytes it missed.
        l7.onChunk = (role, ev) => {
          const kept = ev.kept;
          if (!kept) {
            const missing = ev.totalBytes - ev.payload.length;
            return toSpans(stream.push(role, ev.payload, metaOfEvent(ev), missing > 0, missing > 0 ? missing : 0));
          }
          // Runs left out inside the chunk (DATA payloads, eBPF's HTTP/2 walk): each kept run is
          // pushed at its own byte position, then its gap is reported, so the parser passes over
          // the gap if it falls inside a payload it is skipping, and otherwise knows it is lost.
          const records: unknown[] = [];
          let from = 0;
          let offset = 0;
          for (const gap of kept.gaps) {
            records.push(...stream.push(role, kept.data.subarray(from, gap.at), metaOfEvent(ev, offset), true, gap.len));
            offset += gap.at - from + gap.len;
            from = gap.at;
          }
          const rest = kept.data.subarray(from);
          const missing = ev.totalBytes - offset - rest.length;
          records.push(...stream.push(role, rest, metaOfEvent(ev, offset), missing > 0, missing > 0 ? missing : 0));
          return toSpans(records);
        };
      }
      return l7;
    },
  };
}
