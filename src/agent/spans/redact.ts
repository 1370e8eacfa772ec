/**
 * @module Redaction of secrets in captured data, on by default: credential headers, passwords in
 * SQL, and Redis AUTH arguments never reach a span.
 */

export const REDACTED = '[REDACTED]';

/** Header names (lowercase) whose values are credentials. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']);

export function isSecretHeader(lowerName: string): boolean {
  return SECRET_HEADERS.has(lowerName);
}

export function redactHeaderValue(lowerName: string, value: string): string {
  return SECRET_HEADERS.has(lowerName) ? REDACTED : value;
}

// `IDENTIFIED BY 'x'`, `IDENTIFIED WITH plugin BY 'x'`, `PASSWORD 'x'`, `PASSWORD('x')`,
// `PASSWORD = 'x'`, `SET PASSWORD … = 'x'`. Quotes: '…' or "…" with doubled-quote escapes.
const SQL_SECRET = /(\bIDENTIFIED\b(?:\s+(?:WITH|VIA)\s+\S+)?\s+(?:BY|USING|AS)\s+(?:PASSWORD\s*\(?\s*)?|\bPASSWORD\b\s*(?:=\s*|\(\s*)?(?:PASSWORD\s*\(\s*)?)('(?:[^'\\]|''|\\.)*'|"(?:[^"\\]|""|\\.)*")/gi;
const MAY_HOLD_SECRET = /IDENTIFIED|PASSWORD/i;

/** Replaces password literals in SQL with '[REDACTED]'. Cheap when there is nothing to redact. */
export function redactSql(sql: string): string {
  if (!MAY_HOLD_SECRET.test(sql)) return sql;
  return sql.replace(SQL_SECRET, (_m, lead: string) => `${lead}'${REDACTED}'`);
}

/** Redis commands whose arguments (after the command, from `firstSecretArg`) are secrets. */
export function redisSecretArgsFrom(commandUpper: string): number {
  switch (commandUpper) {
    case 'AUTH':
      return 1;
    case 'HELLO':
      // HELLO protover AUTH username password: everything after the version may be credentials.
      return 2;
    case 'MIGRATE':
      return 1;
    default:
      return -1;
  }
}
