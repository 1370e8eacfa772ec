/** @module MySQL record → SpanRecord: SQL verb, statement, statement id, error code. */
import type { SpanRecord } from '../../../model/index.js';
import { redactSql } from '../../spans/redact.js';
import { finishStatus, spanBase, truncate } from '../../spans/span-base.js';
import { parseTraceparent, traceContextFromSql } from '../../spans/trace-context.js';
import type { ConnInfo } from '../protocol.js';
import { sqlVerb } from '../sql-text.js';
import { COM_INIT_DB, COM_QUERY, COM_STMT_EXECUTE, COM_STMT_PREPARE, MYSQL_COMMANDS, MYSQL_LOGIN } from './parse.js';
import type { MysqlRecord } from './stitch.js';

export function mysqlToSpan(rec: MysqlRecord, conn: ConnInfo): SpanRecord {
  const span = spanBase(conn, rec.request?.meta ?? null, rec.response?.meta ?? null);
  span.protocol = 'mysql';
  const cmd = rec.request?.frame;
  const resp = rec.response?.frame;
  span.attributes['db.system'] = 'mysql';
  if (cmd?.command === MYSQL_LOGIN || (!cmd && resp?.refusedLogin)) {
    // The handshake and its authentication result (DeepFlow's LOGIN); a refused connection has
    // only the server's ERR.
    span.requestType = 'LOGIN';
    if (cmd) {
      span.requestDomain = cmd.database;
      if (cmd.user) span.attributes['db.user'] = cmd.user;
    }
  } else if (cmd) {
    span.requestDomain = cmd.database;
    span.attributes['weft.mysql.command'] = `COM_${MYSQL_COMMANDS[cmd.command] ?? 'UNKNOWN'}`;
    const isSql = cmd.command === COM_QUERY || cmd.command === COM_STMT_PREPARE || cmd.command === COM_STMT_EXECUTE;
    if (isSql && cmd.sql) {
      span.requestType = sqlVerb(cmd.sql) || (MYSQL_COMMANDS[cmd.command] ?? '');
      span.requestResource = truncate(redactSql(cmd.sql));
      const ctx = traceContextFromSql(cmd.sql);
      if (ctx) {
        span.traceId = ctx.traceId;
        span.parentSpanId = ctx.parentSpanId;
      }
    } else {
      span.requestType = MYSQL_COMMANDS[cmd.command] ?? '';
      if (cmd.command === COM_INIT_DB) span.requestResource = cmd.sql;
    }
    if (cmd.command === COM_STMT_PREPARE) span.attributes['weft.mysql.prepare'] = true;
    if (cmd.compressed) span.attributes['weft.mysql.compressed'] = true;
    if (cmd.attributes) {
      for (const [k, v] of Object.entries(cmd.attributes)) if (v !== null) span.attributes[`db.mysql.query_attribute.${k}`] = v;
      // OTel's MySQL instrumentation can carry the trace context as a query attribute.
      const tp = cmd.attributes['traceparent'];
      const ctx = typeof tp === 'string' ? parseTraceparent(tp) : null;
      if (ctx && span.traceId === '') {
        span.traceId = ctx.traceId;
        span.parentSpanId = ctx.parentSpanId;
      }
    }
    if (cmd.statementId !== null) span.requestId = cmd.statementId;
    if (cmd.partial) span.attributes['weft.payload_truncated'] = true;
  }
  if (resp) {
    if (resp.statementId !== null) span.requestId = resp.statementId;
    // Rows past the captured prefix were not seen: returned_rows is a lower bound.
    if (resp.partial) span.attributes['weft.payload_truncated'] = true;
    if (resp.kind === 'error') {
      span.responseStatus = 'server_error';
      span.responseCode = resp.errorCode;
      span.responseException = resp.sqlState ? `#${resp.sqlState} ${resp.errorMessage}` : resp.errorMessage;
    } else {
      span.responseStatus = 'ok';
      if (resp.kind === 'resultset') span.attributes['db.response.returned_rows'] = resp.rows;
      else if (resp.kind === 'ok' && span.requestType !== 'LOGIN') span.attributes['db.response.affected_rows'] = resp.affectedRows;
    }
  }
  // SQL text and keys are high-cardinality; the verb or command names the operation.
  span.name = span.requestType || span.protocol;
  finishStatus(span);
  return span;
}
