/**
 * @module Every L7 parser the agent knows. Adding a protocol is one folder and one line here.
 * Order matters for detection: distinctive protocols first. HTTP/2 precedes HTTP/1 because an
 * h2c upgrade starts as an HTTP/1.1 request that HTTP/2 must own (it says 'no' to other HTTP/1).
 */
import { dnsParser } from './dns/index.js';
import { http1Parser } from './http1/index.js';
import { http2Parser } from './http2/index.js';
import { mysqlParser } from './mysql/index.js';
import { postgresParser } from './postgres/index.js';
import { memcachedParser } from './memcached/index.js';
import type { AnyProtocolParser } from './protocol.js';
import { redisParser } from './redis/index.js';

export const PROTOCOL_PARSERS: readonly AnyProtocolParser[] = [http2Parser, http1Parser, redisParser, mysqlParser, postgresParser, dnsParser, memcachedParser];

export function parserByName(name: string): AnyProtocolParser | undefined {
  return PROTOCOL_PARSERS.find((p) => p.name === name);
}
