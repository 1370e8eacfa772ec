/** @module Redaction: credential headers, SQL passwords, Redis AUTH. */
import { describe, expect, it } from 'vitest';
import { REDACTED, redactHeaderValue, redactSql, redisSecretArgsFrom } from './redact.js';

describe('redaction', () => {
  it('redacts credential headers only', () => {
    expect(redactHeaderValue('authorization', 'Bearer x')).toBe(REDACTED);
    expect(redactHeaderValue('cookie', 'a=b')).toBe(REDACTED);
    expect(redactHeaderValue('host', 'example.org')).toBe('example.org');
  });

  it.each([
    [`CREATE USER 'x'@'%' IDENTIFIED BY 'topsecret'`, `CREATE USER 'x'@'%' IDENTIFIED BY '[REDACTED]'`],
    [`ALTER USER u IDENTIFIED WITH mysql_native_password BY "p'w"`, `ALTER USER u IDENTIFIED WITH mysql_native_password BY '[REDACTED]'`],
    [`SET PASSWORD FOR u = PASSWORD('abc')`, `SET PASSWORD FOR u = PASSWORD('[REDACTED]')`],
    [`SET PASSWORD = 'abc'`, `SET PASSWORD = '[REDACTED]'`],
    [`CREATE ROLE weft LOGIN PASSWORD 'it''s'`, `CREATE ROLE weft LOGIN PASSWORD '[REDACTED]'`],
    [`ALTER ROLE r WITH PASSWORD 'a\\'b' VALID UNTIL 'x'`, `ALTER ROLE r WITH PASSWORD '[REDACTED]' VALID UNTIL 'x'`],
    [`SELECT * FROM users WHERE name = 'password'`, `SELECT * FROM users WHERE name = 'password'`],
  ])('redactSql(%s)', (sql, want) => {
    expect(redactSql(sql)).toBe(want);
  });

  it('knows which Redis commands carry secrets', () => {
    expect(redisSecretArgsFrom('AUTH')).toBe(1);
    expect(redisSecretArgsFrom('GET')).toBe(-1);
  });
});
