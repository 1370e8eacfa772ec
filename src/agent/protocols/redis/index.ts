/** @module The Redis (RESP2/RESP3) parser, as the registry lists it. */
import type { Framed, ProtocolParser } from '../protocol.js';
import { detectRedis, parseRedis, type RedisCommandFrame, type RedisFrame, type RedisState } from './parse.js';
import { stitchRedis, type RedisRecord } from './stitch.js';
import { redisToSpan } from './to-span.js';

export const redisParser: ProtocolParser<RedisFrame, RedisState, RedisRecord> = {
  name: 'redis',
  defaultPorts: [6379],
  newState: () => ({}),
  detect: detectRedis,
  parse: parseRedis,
  stitch: (reqs, resps) => stitchRedis(reqs, resps),
  toSpan: redisToSpan,
  unanswered: (request) => ({ request: request as Framed<RedisCommandFrame>, response: null }),
};
