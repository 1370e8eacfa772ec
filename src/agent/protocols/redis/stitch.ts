/** @module Redis pairing: replies come back in command order (pipelining keeps order). */
import { fifoStitch } from '../fifo-stitch.js';
import type { Exchange, Framed, StitchResult } from '../protocol.js';
import type { RedisCommandFrame, RedisFrame, RedisReplyFrame } from './parse.js';

export type RedisRecord = Exchange<RedisCommandFrame, RedisReplyFrame>;

export function stitchRedis(requests: Framed<RedisFrame>[], responses: Framed<RedisFrame>[]): StitchResult<RedisRecord> {
  return fifoStitch(requests, responses) as StitchResult<RedisRecord>;
}
