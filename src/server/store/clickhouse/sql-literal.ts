/**
 * @module The one function that puts a value into ClickHouse SQL text.
 *
 * ClickHouse 18.16 has no query parameters, so every value the store splices into a query goes
 * through `sqlLiteral`, and nothing else builds a literal. Strings become single-quoted literals
 * in which the only characters with meaning to the lexer (`'` and `\`) are backslash-escaped and
 * every control character is written as an escape, so the text between the quotes can never end
 * the literal, start a comment, or carry a raw NUL/newline that a log or proxy could cut at.
 * Non-ASCII text is passed as UTF-8, which ClickHouse reads byte for byte. Numbers must be
 * finite; bigints are written in decimal. Arrays become `[…]` of literals.
 * The property tests (`sql-literal.test.ts`) send hostile strings through a real server and
 * read them back unchanged.
 */

export type SqlValue = string | number | bigint | boolean | null | readonly SqlValue[];

/** Escapes of the characters that must not appear raw inside a quoted literal. */
const NAMED_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  "'": "\\'",
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

// Backslash, quote and every C0 control character plus DEL.
const NEEDS_ESCAPE = /[\\'\u0000-\u001f\u007f]/g;

function escapeChar(c: string): string {
  return NAMED_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/**
 * The SQL literal for a value. Throws a RangeError for a non-finite number (NaN and ±Infinity
 * have no portable literal and never come from a well-formed query).
 */
export function sqlLiteral(v: SqlValue): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return `'${v.replace(NEEDS_ESCAPE, escapeChar)}'`;
  if (typeof v === 'bigint') return v.toString(10);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError(`not a finite number: ${String(v)}`);
    return Object.is(v, -0) ? '0' : String(v);
  }
  if (typeof v === 'boolean') return v ? '1' : '0';
  return `[${v.map(sqlLiteral).join(', ')}]`;
}

/** `a, b, c` of literals, for `IN (…)` lists. Empty input gives '' (callers skip empty lists). */
export function sqlList(vs: readonly SqlValue[]): string {
  return vs.map(sqlLiteral).join(', ');
}

/**
 * A ClickHouse identifier (database, table or cluster name) from configuration. Not a value, so
 * not escaped: it is checked against the plain-identifier rule and refused otherwise.
 */
export function sqlIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) {
    throw new RangeError(`not a plain ClickHouse identifier (letters, digits, _; not starting with a digit): ${JSON.stringify(name.slice(0, 80))}`);
  }
  return name;
}
