/**
 * @module Stepped computations: a generator that yields between small, bounded steps (a few dozen
 * spans each), so that a caller with other work to do (the server's CPU queue, cpu-turns.ts) can
 * pause a large decode between steps; callers without such work run it to the end at once.
 */

/** Work in steps: each `next()` runs one bounded step; the final value is the result. */
export type Steps<T> = Iterator<unknown, T, undefined>;

/** Runs a stepped computation to its end in one go. */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
  }
}

/** `fn` as a computation of one step (work that cannot pause in the middle). */
export function* oneStep<T>(fn: () => T): Generator<never, T, undefined> {
  return fn();
}
