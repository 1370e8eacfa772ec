/**
 * @module Ingest decodes in the CPU queue (cpu-turns.ts), bounded in time: a body whose decode has
 * not begun within DECODE_WITHIN_MS of its arrival, or not ended within DECODE_FINISH_WITHIN_MS,
 * is refused with 429 + Retry-After, nothing of it stored.
 *
 * Why: decodes run after store work, so under overload a large body's decode waited for seconds
 * (at load 15, 10 MB bodies were acknowledged 23-27 s after they arrived, server side, before and
 * after the turn queue); with the durable write's own bound (--max-ack-wait, 5 s) a late decode
 * means an ack past the OTel SDKs' 10 s export timeout, after the client has given up and resent.
 * Refusing it lets the client retry in time.
 */
import type { Steps } from '../../apm/steps.js';
import { TracingError } from '../../model/index.js';
import { inTurns } from '../cpu-turns.js';

export const DECODE_WITHIN_MS = 3_000;
/**
 * A decode that has begun may run this long after its body arrived before it is dropped: a large
 * body on a busy host may take longer than DECODE_WITHIN_MS to decode on its own, and refusing it
 * then would refuse it at every retry (seen: 15 MiB OTLP/JSON bodies at load 18, every one 429).
 */
export const DECODE_FINISH_WITHIN_MS = 10_000;
const RETRY_AFTER_MS = 2_000;

/** Runs a receiver's decode steps in the CPU queue; rejects with a 429 once DECODE_WITHIN_MS has passed. */
export function decodeInTurns<T>(steps: Steps<T>): Promise<T> {
  return inTurns('decode', steps, {
    withinMs: DECODE_WITHIN_MS,
    finishWithinMs: DECODE_FINISH_WITHIN_MS,
    late: () =>
      new TracingError('TRC_INGEST_OVERLOADED', `ingest overloaded: the body's decode did not begin within ${DECODE_WITHIN_MS} ms of its arrival (or end within ${DECODE_FINISH_WITHIN_MS} ms); retry in ${RETRY_AFTER_MS / 1000} s`, {
        httpStatus: 429,
        retryable: true,
        retryAfterMs: RETRY_AFTER_MS,
      }),
  });
}
