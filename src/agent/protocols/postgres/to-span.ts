/** @module PostgreSQL record → SpanRecord: SQL verb and text, database, SQLSTATE errors. */
import type { SpanRecord } from '../../../model/index.js';
import { redactSql } from '../../spans/redact.js';
import { finishStatus, spanBase, truncate } from '../../spans/span-base.js';
import { traceContextFromSql } from '../../spans/trace-context.js';
import type { ConnInfo } from '../protocol.js';
import { sqlVerb } from '../sql-text.js';
import type { PgRecord } from './stitch.js';

/**
 * Whether the batch only prepared (Parse without Execute). A batch cut by the capture (the agent
 * keeps 4 KiB of a message) may have lost its Execute with the rest of the bytes, so for a cut
 * batch the answer decides: a command tag or rows mean something ran.
 */
function preparedOnly(rec: PgRecord): boolean {
  const req = rec.request?.frame;
  if (!req?.prepareOnly) return false;
  if (!req.partial) return true;
  const resp = rec.response?.frame;
  return resp !== undefined && resp.tag === '' && resp.rows === 0 && !resp.partial;
}

export function postgresToSpan(rec: PgRecord, conn: ConnInfo): SpanRecord {
  const span = spanBase(conn, rec.request?.meta ?? null, rec.response?.meta ?? null);
  span.protocol = 'postgresql';
  span.attributes['db.system'] = 'postgresql';
  const req = rec.request?.frame;
  if (req) {
    span.requestDomain = req.database;
    span.requestType = preparedOnly(rec) ? 'PREPARE' : sqlVerb(req.sql);
    span.requestResource = truncate(redactSql(req.sql));
    if (req.statement) span.attributes['db.postgresql.statement_name'] = req.statement;
    if (req.mode === 'extended') span.attributes['weft.postgresql.extended'] = true;
    if (req.partial) span.attributes['weft.payload_truncated'] = true;
    const ctx = traceContextFromSql(req.sql);
    if (ctx) {
      span.traceId = ctx.traceId;
      span.parentSpanId = ctx.parentSpanId;
    }
  }
  const resp = rec.response?.frame;
  if (resp) {
    if (resp.errorCode) {
      span.responseStatus = 'server_error';
      span.responseException = `${resp.errorCode} ${resp.errorMessage}`;
      // SQLSTATEs are 5 characters; all-digit ones (23505 unique_violation, …) also fit a number.
      span.responseCode = /^\d{5}$/.test(resp.errorCode) ? Number(resp.errorCode) : null;
      span.attributes['db.response.status_code'] = resp.errorCode;
    } else {
      span.responseStatus = 'ok';
      if (resp.tag) span.attributes['weft.postgresql.command_tag'] = resp.tag;
      if (resp.rows > 0) span.attributes['db.response.returned_rows'] = resp.rows;
    }
  }
  span.name = span.requestType || span.protocol;
  finishStatus(span);
  return span;
}
