/** @module Memcached record → SpanRecord: command, key, result, hits, errors. */
import type { SpanRecord } from '../../../model/index.js';
import { finishStatus, spanBase, truncate } from '../../spans/span-base.js';
import type { ConnInfo } from '../protocol.js';
import type { McRecord } from './stitch.js';

export function memcachedToSpan(rec: McRecord, conn: ConnInfo): SpanRecord {
  const span = spanBase(conn, rec.request?.meta ?? null, rec.response?.meta ?? null);
  span.protocol = 'memcached';
  span.attributes['db.system'] = 'memcached';
  const req = rec.request?.frame;
  if (req) {
    span.requestType = req.command.toUpperCase();
    span.requestResource = truncate(req.key);
    if (req.keyCount > 1) span.attributes['weft.memcached.keys'] = req.keyCount;
    if (req.binary) span.attributes['weft.memcached.binary'] = true;
    if (req.partial) span.attributes['weft.payload_truncated'] = true;
  }
  const resp = rec.response?.frame;
  if (resp) {
    span.attributes['weft.memcached.result'] = resp.result;
    if (resp.status !== null) span.responseCode = resp.status;
    if (resp.errorKind) {
      span.responseStatus = resp.errorKind === 'server' ? 'server_error' : 'client_error';
      span.responseException = resp.errorMessage || resp.result;
    } else {
      // A miss (END, NOT_FOUND) is an answer, not an error.
      span.responseStatus = 'ok';
      if (req && /^(get|gets|gat|gats|getk|getq|getkq|gatk|gatq|gatkq|mg)$/.test(req.command)) span.attributes['weft.memcached.hits'] = resp.hits;
    }
  } else if (rec.quietDone) {
    span.responseStatus = 'ok';
  }
  span.name = span.requestType || span.protocol;
  finishStatus(span);
  return span;
}
