/** @module Redis record → SpanRecord: command, key (secrets redacted), error replies. */
import type { SpanRecord } from '../../../model/index.js';
import { finishStatus, spanBase, truncate } from '../../spans/span-base.js';
import { REDACTED, redisSecretArgsFrom } from '../../spans/redact.js';
import type { ConnInfo } from '../protocol.js';
import type { RedisRecord } from './stitch.js';

export function redisToSpan(rec: RedisRecord, conn: ConnInfo): SpanRecord {
  const span = spanBase(conn, rec.request?.meta ?? null, rec.response?.meta ?? null);
  span.protocol = 'redis';
  const cmd = rec.request?.frame;
  if (cmd) {
    span.requestType = cmd.command;
    const secretFrom = redisSecretArgsFrom(cmd.command);
    const arg = secretFrom === 1 && cmd.argCount > 1 ? REDACTED : cmd.firstArg;
    span.requestResource = truncate(arg || cmd.command);
    if (cmd.partial) span.attributes['weft.payload_truncated'] = true;
  }
  const reply = rec.response?.frame;
  if (reply) {
    if (reply.replyType === '-' || reply.replyType === '!') {
      span.responseStatus = 'server_error';
      span.responseException = reply.error;
    } else {
      span.responseStatus = 'ok';
    }
  }
  // SQL text and keys are high-cardinality; the verb or command names the operation.
  span.name = span.requestType || span.protocol;
  finishStatus(span);
  return span;
}
