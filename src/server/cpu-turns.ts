/**
 * @module One queue for the server's CPU-heavy work: decoding ingest bodies and each slice of a
 * store write (conversion, appender flush, indexing). It runs ONE item per event-loop turn, so
 * between any two of them the loop polls for I/O and the cheap requests (/healthz, /metrics, a
 * small query, a refusal) are answered within about one item's time, however much ingest work
 * is waiting. Each item must be bounded (a few ms); the queue keeps their sum from blocking.
 *
 * Why not worker threads: a decoded batch has to come back to the main thread, and cloning 500
 * span records across threads costs more than decoding them (measured 8.4 ms against 3.5 ms), so
 * a pool would move the work, not remove it. Interleaving is what keeps the loop responsive.
 *
 * Store work goes before decoding: it finishes batches whose clients are already waiting for an
 * ack and drains the pending queue, while decoding more would only add to it.
 */

export type TurnPriority = 'store' | 'decode';

interface Item {
  run: () => void;
  /** performance.now() when queued. */
  queuedAt: number;
}

const queues: Record<TurnPriority, Item[]> = { store: [], decode: [] };
let scheduled = false;
let ran = 0;

function drain(): void {
  scheduled = false;
  const item = queues.store.shift() ?? queues.decode.shift();
  if (item) {
    ran++;
    item.run();
  }
  if (queues.store.length > 0 || queues.decode.length > 0) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  // setImmediate runs after the poll phase: the I/O that arrived meanwhile is served first.
  setImmediate(drain);
}

/** Runs `fn` in a turn of its own, after the queued store work (and, for decode, queued decodes). */
export function inTurn<T>(priority: TurnPriority, fn: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    queues[priority].push({
      queuedAt: performance.now(),
      run: () => {
        try {
          resolve(fn());
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      },
    });
    schedule();
  });
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

/** Items waiting and run so far, for /metrics. */
export function turnStats(): { waiting: number; ran: number } {
  return { waiting: queues.store.length + queues.decode.length, ran };
}
