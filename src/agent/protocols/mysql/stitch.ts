/**
 * @module MySQL pairing: one connection runs one command at a time, so responses pair in order.
 * Commands that get no answer (COM_STMT_CLOSE, COM_QUIT, SEND_LONG_DATA) become spans at once.
 */
import type { Exchange, Framed, StitchResult } from '../protocol.js';
import { COM_INIT_DB, COM_STMT_CLOSE, MYSQL_LOGIN, type MysqlCommandFrame, type MysqlFrame, type MysqlResponseFrame, type MysqlState } from './parse.js';

export type MysqlRecord = Exchange<MysqlCommandFrame, MysqlResponseFrame>;

/**
 * Statement ids are resolved to SQL here, in request order, because the PREPARE answer that
 * names a statement is parsed with the responses, possibly after later commands were parsed.
 */
function resolveStatement(req: MysqlCommandFrame, state: MysqlState): void {
  if (req.statementId === null) return;
  if (!req.sql) req.sql = state.statements.get(req.statementId) ?? '';
  if (req.command === COM_STMT_CLOSE) state.statements.delete(req.statementId);
}

/**
 * The schema a paired command ran in, tracked in request order: the parser learns a
 * COM_INIT_DB's success only when it reads the answer, which may be after later commands were
 * parsed. A LOGIN starts from the handshake's database; a successful COM_INIT_DB changes it.
 */
function resolveDatabase(req: MysqlCommandFrame, resp: MysqlResponseFrame | null, state: MysqlState): void {
  if (req.command === MYSQL_LOGIN) {
    state.stitchedDatabase = req.database;
    return;
  }
  req.database = state.stitchedDatabase;
  if (req.command === COM_INIT_DB && resp?.kind === 'ok') state.stitchedDatabase = req.sql;
}

export function stitchMysql(requests: Framed<MysqlFrame>[], responses: Framed<MysqlFrame>[], state: MysqlState): StitchResult<MysqlRecord> {
  const records: MysqlRecord[] = [];
  let errors = 0;
  let ri = 0;
  let si = 0;
  for (;;) {
    const req = requests[ri] as Framed<MysqlCommandFrame> | undefined;
    if (req && !req.frame.expectsResponse) {
      resolveStatement(req.frame, state);
      resolveDatabase(req.frame, null, state);
      ri++;
      continue; // fire-and-forget: no span (nothing to time), as DeepFlow does for COM_STMT_CLOSE
    }
    const resp = responses[si] as Framed<MysqlResponseFrame> | undefined;
    if (!resp) break;
    if (!req || resp.frame.refusedLogin) {
      // A refused connection's ERR answers no request, but is the login's outcome: keep it.
      if (resp.frame.refusedLogin) records.push({ request: null, response: resp });
      else errors++;
      si++;
      continue;
    }
    resolveStatement(req.frame, state);
    resolveDatabase(req.frame, resp.frame, state);
    records.push({ request: req, response: resp });
    ri++;
    si++;
  }
  requests.splice(0, ri);
  responses.splice(0, si);
  return { records, errors };
}
