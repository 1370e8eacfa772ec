/** @module The Memcached parser (text and binary protocols), as the registry lists it. */
import type { Framed, ProtocolParser } from '../protocol.js';
import { detectMemcached, newMcState, parseMemcached, type McFrame, type McRequestFrame, type McState } from './parse.js';
import { stitchMemcached, type McRecord } from './stitch.js';
import { memcachedToSpan } from './to-span.js';

export const memcachedParser: ProtocolParser<McFrame, McState, McRecord> = {
  name: 'memcached',
  defaultPorts: [11211],
  newState: newMcState,
  detect: detectMemcached,
  parse: parseMemcached,
  stitch: (reqs, resps) => stitchMemcached(reqs, resps),
  toSpan: memcachedToSpan,
  unanswered: (request) => ({ request: request as Framed<McRequestFrame>, response: null }),
};
