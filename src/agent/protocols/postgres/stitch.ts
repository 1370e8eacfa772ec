/** @module PostgreSQL pairing: each request batch is answered, in order, up to ReadyForQuery. */
import { fifoStitch } from '../fifo-stitch.js';
import type { Exchange, Framed, StitchResult } from '../protocol.js';
import type { PgFrame, PgRequestFrame, PgResponseFrame } from './parse.js';

export type PgRecord = Exchange<PgRequestFrame, PgResponseFrame>;

export function stitchPostgres(requests: Framed<PgFrame>[], responses: Framed<PgFrame>[]): StitchResult<PgRecord> {
  return fifoStitch(requests, responses) as StitchResult<PgRecord>;
}
