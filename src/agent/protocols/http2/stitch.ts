/**
 * @module HTTP/2 pairing by stream id. Streams are concurrent, so FIFO pairing is wrong here:
 * each event goes to its stream, and a stream becomes a record when its response ends
 * (END_STREAM, after the trailers that carry grpc-status) or either side resets it.
 *
 * The request HEADERS that opened a stream stays in `requests` until the stream completes, so
 * the session's pending count and request timeouts see open streams; `unanswered` marks it so
 * the stream's state is dropped here too.
 */
import type { Framed, StitchResult } from '../protocol.js';
import type { Http2Frame, Http2State } from './parse.js';

export interface Http2Record {
  streamId: number;
  request: Framed<Http2Frame> | null;
  /** The first final (non-1xx) response header block. */
  response: Framed<Http2Frame> | null;
  /** Trailers (a second response header block), where gRPC puts its status. */
  trailers: Framed<Http2Frame> | null;
  /** The response's last event (END_STREAM or reset): when the exchange ended. */
  last: Framed<Http2Frame> | null;
  /** RST_STREAM error code, or null when the stream ended normally. */
  resetCode: number | null;
}

interface StreamAcc {
  record: Http2Record;
  opener: Framed<Http2Frame> | null;
}

/** Open streams kept per connection; past it the oldest are dropped (as unanswered). */
export const MAX_OPEN_STREAMS = 1024;
/** Marks request frames given up on by `unanswered` (a timeout or the connection's end). */
const drained = new WeakSet<Http2Frame>();

export function markDrained(frame: Http2Frame): void {
  drained.add(frame);
}

function streamsOf(state: Http2State): Map<number, StreamAcc> {
  return state.streams as Map<number, StreamAcc>;
}

function accFor(streams: Map<number, StreamAcc>, id: number): StreamAcc {
  let acc = streams.get(id);
  if (!acc) {
    acc = { record: { streamId: id, request: null, response: null, trailers: null, last: null, resetCode: null }, opener: null };
    streams.set(id, acc);
  }
  return acc;
}

export function stitchHttp2(requests: Framed<Http2Frame>[], responses: Framed<Http2Frame>[], state: Http2State): StitchResult<Http2Record> {
  const streams = streamsOf(state);
  const records: Http2Record[] = [];
  let errors = 0;
  const done = new Set<StreamAcc>();
  // Streams whose opener was drained as unanswered are forgotten.
  for (const [id, acc] of streams) if (acc.opener && drained.has(acc.opener.frame)) streams.delete(id);

  const keep: Framed<Http2Frame>[] = [];
  for (const ev of requests) {
    if (drained.has(ev.frame)) continue;
    const acc = accFor(streams, ev.frame.streamId);
    const f = ev.frame;
    if (f.kind === 'headers' || f.kind === 'promise') {
      if (!acc.record.request) {
        acc.record.request = ev;
        acc.opener = ev;
        keep.push(ev);
      } else if (acc.opener === ev) {
        keep.push(ev); // still open from an earlier batch
      }
    } else if (f.kind === 'reset') {
      acc.record.resetCode = f.errorCode;
      acc.record.last = ev;
      done.add(acc);
    }
  }
  requests.length = 0;
  for (const ev of responses) {
    const f = ev.frame;
    if (f.kind === 'promise') {
      // A server push: the promise carries the request of the (even) promised stream.
      const acc = accFor(streams, f.streamId);
      if (!acc.record.request) {
        acc.record.request = ev;
        acc.opener = ev;
        keep.push(ev);
      }
      continue;
    }
    const acc = accFor(streams, f.streamId);
    if (f.kind === 'headers') {
      const status = f.fields?.status ?? null;
      if (!acc.record.response) {
        // 1xx are interim (RFC 9113 §8.1): the final response follows on the same stream.
        if (status !== null && status >= 100 && status < 200) continue;
        acc.record.response = ev;
      } else {
        acc.record.trailers = ev;
      }
    } else if (f.kind === 'reset') {
      acc.record.resetCode = f.errorCode;
    }
    if (f.endStream) {
      acc.record.last = ev;
      done.add(acc);
    }
  }
  responses.length = 0;

  for (const acc of done) {
    streams.delete(acc.record.streamId);
    if (!acc.record.request) {
      // Joined after the request went by: nothing to say what was asked.
      errors++;
      continue;
    }
    records.push(acc.record);
  }
  for (const ev of keep) {
    const acc = streams.get(ev.frame.streamId);
    if (acc && acc.opener === ev) requests.push(ev);
  }
  if (streams.size > MAX_OPEN_STREAMS) {
    const over = streams.size - MAX_OPEN_STREAMS;
    let n = 0;
    for (const [id] of streams) {
      if (n++ >= over) break;
      streams.delete(id);
      errors++;
    }
  }
  // Completion order (the order END_STREAM and resets appear in the bytes), not request order:
  // it is the same however the bytes were cut into pieces, and a long stream (server streaming)
  // does not hold back the short ones that started after it.
  return { records, errors };
}
