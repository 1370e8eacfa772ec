/**
 * @module Every L7 parser the agent knows. Adding a protocol is one folder and one line here.
 * Order matters for detection: distinctive protocols first, HTTP (cheapest 'yes') first of all.
 */
import { dnsParser } from './dns/index.js';
import { http1Parser } from './http1/index.js';
import { mysqlParser } from './mysql/index.js';
import { postgresParser } from './postgres/index.js';
import type { AnyProtocolParser } from './protocol.js';
import { redisParser } from './redis/index.js';

export const PROTOCOL_PARSERS: readonly AnyProtocolParser[] = [http1Parser, redisParser, mysqlParser, postgresParser, dnsParser];

export function parserByName(name: string): AnyProtocolParser | undefined {
  return PROTOCOL_PARSERS.find((p) => p.name === name);
}
