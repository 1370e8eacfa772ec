/** @module HTTP/1.x pairing: responses come back in request order (RFC 9112 §9.3.2 pipelining). */
import { fifoStitch } from '../fifo-stitch.js';
import type { Exchange, Framed, StitchResult } from '../protocol.js';
import type { HttpFrame, HttpRequestFrame, HttpResponseFrame } from './parse.js';

export type HttpRecord = Exchange<HttpRequestFrame, HttpResponseFrame>;

export function stitchHttp(requests: Framed<HttpFrame>[], responses: Framed<HttpFrame>[]): StitchResult<HttpRecord> {
  // Parsing guarantees a request stream yields only request frames and vice versa.
  return fifoStitch(requests, responses) as StitchResult<HttpRecord>;
}
