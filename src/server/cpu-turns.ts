/**
 * @module One queue for the server's CPU-heavy work: decoding ingest bodies and the steps of a
 * store write (conversion, appender flush, indexing). Work is a generator that yields between
 * small steps (a few spans or rows each); a turn runs steps, oldest job first, until it has used
 * TURN_BUDGET_MS, then gives the loop back. So between two turns the loop polls for I/O and the
 * cheap requests (/healthz, /metrics, a small query, a refusal) are answered within about one
 * turn's time, however much ingest work is waiting and however large one body is.
 *
 * Why a time budget and not one item per turn: items differ by 100x in cost (a 10-span body, a
 * 50k-span write), and the same item takes 5x longer when the 2-core host is busy. One item per
 * turn let a large item hold the loop for ~100 ms, and paid a whole loop iteration for every
 * small one (it cost accepted throughput at 2x overload: 0.82 R against 1.14 R before the queue).
 *
 * Why not worker threads: a decoded batch has to come back to the main thread, and cloning 500
 * span records across threads costs more than decoding them (measured 8.4 ms against 3.5 ms), so
 * a pool would move the work, not remove it. Interleaving is what keeps the loop responsive.
 *
 * Store work goes before decoding: it finishes batches whose clients are already waiting for an
 * ack and drains the pending queue, while decoding more would only add to it.
 */

import { oneStep } from '../apm/steps.js';
import type { Steps } from '../apm/steps.js';

export type TurnPriority = 'store' | 'decode';

/**
 * CPU time one turn may use before the loop gets to poll, ms. Small against a /healthz budget
 * of milliseconds, large against one step (a span decode is µs, a 128-row store step ~1 ms).
 */
export const TURN_BUDGET_MS = 4;

interface Job {
  steps: Steps<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  /** performance.now() when queued. */
  queuedAt: number;
  /** performance.now() after which the job is dropped if it has not started (Infinity: never). */
  deadline: number;
  /** performance.now() after which the job is dropped unfinished, started or not. */
  finishBy: number;
  started: boolean;
  /** The error a job dropped at its deadline rejects with. */
  late?: () => Error;
}

export interface TurnOptions {
  /** Drop the job if it has not started this long after it was queued (its result would come too late to use). */
  withinMs?: number;
  /**
   * Drop the job, started or not, if unfinished this long after it was queued (default: withinMs).
   * Longer than withinMs lets a job that has begun finish: on a loaded host a large body's decode
   * alone may outlast withinMs, and dropping it there wastes what was done and fails every retry.
   */
  finishWithinMs?: number;
  /** What the dropped job rejects with. */
  late?: () => Error;
}

const queues: Record<TurnPriority, Job[]> = { store: [], decode: [] };
let scheduled = false;
let turns = 0;
let steps = 0;
/** Longest turn so far, and since the last `takeLongestTurnMs()`, ms. */
let longestTurnMs = 0;

function drain(): void {
  scheduled = false;
  const started = performance.now();
  const deadline = started + TURN_BUDGET_MS;
  turns++;
  for (;;) {
    const queue = queues.store.length > 0 ? queues.store : queues.decode;
    const job = queue[0];
    if (!job) break;
    let done = false;
    try {
      const now = job.deadline < Infinity ? performance.now() : 0;
      if ((!job.started && now > job.deadline) || now > job.finishBy) {
        job.steps.return?.(undefined);
        throw job.late?.() ?? new Error('CPU work dropped at its deadline');
      }
      job.started = true;
      const r = job.steps.next();
      steps++;
      if (r.done === true) {
        done = true;
        job.resolve(r.value);
      }
    } catch (err) {
      done = true;
      job.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (done) queue.shift();
    if (performance.now() >= deadline) break;
  }
  longestTurnMs = Math.max(longestTurnMs, performance.now() - started);
  if (queues.store.length > 0 || queues.decode.length > 0) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  // setImmediate runs after the poll phase: the I/O that arrived meanwhile is served first.
  setImmediate(drain);
}

/** Runs `work` step by step in the queue's turns (after queued store work); resolves with its result. */
export function inTurns<T>(priority: TurnPriority, work: Steps<T>, options: TurnOptions = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const queuedAt = performance.now();
    const deadline = options.withinMs === undefined ? Infinity : queuedAt + options.withinMs;
    const finishWithin = options.finishWithinMs ?? options.withinMs;
    const finishBy = finishWithin === undefined ? Infinity : queuedAt + Math.max(finishWithin, options.withinMs ?? 0);
    queues[priority].push({ steps: work, resolve: resolve as (v: unknown) => void, reject, queuedAt, deadline: Math.min(deadline, finishBy), finishBy, started: false, ...(options.late ? { late: options.late } : {}) });
    schedule();
  });
}

/** Runs `fn` (one bounded step, a few ms at most) in the queue's turns. */
export function inTurn<T>(priority: TurnPriority, fn: () => T): Promise<T> {
  return inTurns(priority, oneStep(fn));
}

/**
 * How long the oldest waiting decode has waited, ms (0 when none waits). Ingest refuses new bodies
 * while it is long: a body decoded only after that wait would be acknowledged late, and the
 * client may have given up on it already (the OTel SDKs wait 10 s).
 */
export function decodeBacklogMs(): number {
  const oldest = queues.decode[0];
  return oldest ? performance.now() - oldest.queuedAt : 0;
}

/** Jobs waiting, turns and steps run so far, for /metrics. */
export function turnStats(): { waiting: number; turns: number; steps: number } {
  return { waiting: queues.store.length + queues.decode.length, turns, steps };
}

/** The longest turn since the previous call, ms (for /metrics: it should stay near TURN_BUDGET_MS). */
export function takeLongestTurnMs(): number {
  const v = longestTurnMs;
  longestTurnMs = 0;
  return v;
}
