/** @module The HTTP/1.x parser, as the registry lists it. */
import type { Framed, ProtocolParser } from '../protocol.js';
import { detectHttp, newHttpState, parseHttp, type HttpFrame, type HttpRequestFrame, type HttpState } from './parse.js';
import { stitchHttp, type HttpRecord } from './stitch.js';
import { httpToSpan } from './to-span.js';

export const http1Parser: ProtocolParser<HttpFrame, HttpState, HttpRecord> = {
  name: 'http',
  defaultPorts: [80, 8080, 8000, 3000],
  newState: newHttpState,
  detect: detectHttp,
  parse: parseHttp,
  stitch: (reqs, resps) => stitchHttp(reqs, resps),
  toSpan: httpToSpan,
  unanswered: (request) => ({ request: request as Framed<HttpRequestFrame>, response: null }),
};
