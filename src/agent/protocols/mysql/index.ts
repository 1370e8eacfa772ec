/** @module The MySQL/MariaDB parser, as the registry lists it. */
import type { Framed, ProtocolParser } from '../protocol.js';
import { detectMysql, newMysqlState, parseMysql, type MysqlCommandFrame, type MysqlFrame, type MysqlState } from './parse.js';
import { stitchMysql, type MysqlRecord } from './stitch.js';
import { mysqlToSpan } from './to-span.js';

export const mysqlParser: ProtocolParser<MysqlFrame, MysqlState, MysqlRecord> = {
  name: 'mysql',
  defaultPorts: [3306],
  newState: newMysqlState,
  detect: detectMysql,
  parse: parseMysql,
  stitch: stitchMysql,
  toSpan: mysqlToSpan,
  unanswered: (request) => ({ request: request as Framed<MysqlCommandFrame>, response: null }),
  // Compressed-protocol frames are inflated and read; /metrics counts them (and their connections).
  markReasons: ['compressed'],
  markOf: (frame) => (frame.compressed ? 'compressed' : null),
};
