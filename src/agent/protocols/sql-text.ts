/** @module SQL text facts shared by the MySQL and PostgreSQL parsers: the verb, past comments. */

/** Index of the first character after leading whitespace and comments. */
export function skipSqlComments(sql: string): number {
  let i = 0;
  const n = sql.length;
  for (;;) {
    while (i < n && sql.charCodeAt(i) <= 0x20) i++;
    if (sql.startsWith('/*', i)) {
      const e = sql.indexOf('*/', i + 2);
      if (e < 0) return n;
      i = e + 2;
    } else if (sql.startsWith('--', i) || sql.startsWith('#', i)) {
      const e = sql.indexOf('\n', i);
      if (e < 0) return n;
      i = e + 1;
    } else {
      return i;
    }
  }
}

/** The statement's first keyword, uppercased (SELECT, INSERT, …); '' when there is none. */
export function sqlVerb(sql: string): string {
  let i = skipSqlComments(sql);
  while (sql.charCodeAt(i) === 0x28) i++; // (SELECT …) UNION …
  let j = i;
  while (j < sql.length && j - i < 32) {
    const c = sql.charCodeAt(j) | 0x20;
    if (c < 0x61 || c > 0x7a) break;
    j++;
  }
  return sql.slice(i, j).toUpperCase();
}
