/** @module The PostgreSQL parser, as the registry lists it. */
import type { Framed, ProtocolParser } from '../protocol.js';
import { detectPostgres, newPgState, parsePostgres, type PgFrame, type PgRequestFrame, type PgState } from './parse.js';
import { stitchPostgres, type PgRecord } from './stitch.js';
import { postgresToSpan } from './to-span.js';

export const postgresParser: ProtocolParser<PgFrame, PgState, PgRecord> = {
  name: 'postgresql',
  defaultPorts: [5432],
  newState: newPgState,
  detect: detectPostgres,
  parse: parsePostgres,
  stitch: (reqs, resps) => stitchPostgres(reqs, resps),
  toSpan: postgresToSpan,
  unanswered: (request) => ({ request: request as Framed<PgRequestFrame>, response: null }),
};
