/** @module The HTTP/2 (and gRPC) parser, as the registry lists it. */
import type { Framed, ProtocolParser } from '../protocol.js';
import { detectHttp2, http2Gap, newHttp2State, parseHttp2, type Http2Frame, type Http2State } from './parse.js';
import { markDrained, stitchHttp2, type Http2Record } from './stitch.js';
import { http2ToSpan } from './to-span.js';

export const http2Parser: ProtocolParser<Http2Frame, Http2State, Http2Record> = {
  name: 'http2',
  defaultPorts: [50051, 8443],
  newState: newHttp2State,
  detect: detectHttp2,
  parse: parseHttp2,
  gap: http2Gap,
  selfDelimiting: true,
  stitch: stitchHttp2,
  toSpan: http2ToSpan,
  unanswered: (request: Framed<Http2Frame>) => {
    markDrained(request.frame);
    return { streamId: request.frame.streamId, request, response: null, trailers: null, last: null, resetCode: null };
  },
};
