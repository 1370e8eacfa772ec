/**
 * @module Keeps the process's resident memory under `--max-memory` where the per-part budgets
 * (bodies in flight, DuckDB's pool, pending spans) cannot: the JavaScript heap's garbage.
 *
 * Measured under the soak (2× the sustainable rate, --max-memory 1024m): at a resident peak of
 * 1,216 MiB, V8's heap held 461 MiB while nothing was pending (every span durable, no body in
 * flight) — garbage V8 lets pile up because it sizes the next old-generation collection at up
 * to 4× what survived the last one. Two measures:
 * - a fixed, smaller growth factor (HEAP_GROWING_PERCENT), so V8 collects sooner (the soak's
 *   heap peak 461-510 → ~220 MiB); the price is more frequent major collections, each
 *   proportional to the live heap, which stays small (decoded spans live until durable);
 * - when the resident size still nears the limit, one full collection (at most one every
 *   FORCED_GC_MIN_INTERVAL_MS): ingest refuses new bodies then, so little is allocated and V8
 *   would not collect on its own; without it the resident size, and the refusals, would stay.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** The old generation may grow to 1 + this/100 times its live size before the next major GC. */
export const HEAP_GROWING_PERCENT = 50;
/** Resident size, as a share of the limit, at which a full collection is forced. */
export const FORCED_GC_SHARE = 0.8;
const FORCED_GC_MIN_INTERVAL_MS = 2_000;
/** How often the resident size is read (one syscall). */
const SAMPLE_MS = 100;
/** Below this much heap a forced collection cannot give back enough to matter. */
const MIN_HEAP_FOR_GC_BYTES = 32 * 1024 * 1024;

export interface MemoryGovernor {
  /** The resident size at the last sample, bytes. */
  residentBytes(): number;
  stats(): { forcedGcs: number };
  stop(): void;
}

export interface MemoryGovernorOptions {
  limitBytes: number;
  /** Resident size and heap in use (tests inject them); default process.memoryUsage. */
  sample?: () => { rss: number; heapUsed: number };
  /** A full collection (tests inject one); default V8's. */
  collect?: () => void;
}

let heapLimited = false;

/** Applies HEAP_GROWING_PERCENT to this process (V8 reads it at every collection). Idempotent. */
export function limitHeapGrowth(): void {
  if (heapLimited) return;
  heapLimited = true;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

let v8Collect: (() => void) | null = null;

/** V8's full collection, without exposing `gc` on this context's global object. */
function fullCollection(): void {
  if (!v8Collect) {
    setFlagsFromString('--expose-gc');
    v8Collect = runInNewContext('gc') as () => void;
  }
  v8Collect();
}

export function startMemoryGovernor(o: MemoryGovernorOptions): MemoryGovernor {
  const sample =
    o.sample ??
    (() => {
      const m = process.memoryUsage();
      return { rss: m.rss, heapUsed: m.heapUsed };
    });
  const collect = o.collect ?? fullCollection;
  let rss = sample().rss;
  let lastGcAt = 0;
  let forcedGcs = 0;
  const tick = (): void => {
    const s = sample();
    rss = s.rss;
    const now = Date.now();
    if (rss > o.limitBytes * FORCED_GC_SHARE && s.heapUsed >= MIN_HEAP_FOR_GC_BYTES && now - lastGcAt >= FORCED_GC_MIN_INTERVAL_MS) {
      lastGcAt = now;
      forcedGcs++;
      collect();
      rss = sample().rss;
    }
  };
  const timer = setInterval(tick, SAMPLE_MS);
  timer.unref();
  return {
    residentBytes: () => rss,
    stats: () => ({ forcedGcs }),
    stop: () => clearInterval(timer),
  };
}
