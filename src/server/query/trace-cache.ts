/**
 * @module A short-lived, bounded cache of assembled traces, by the id they were asked for.
 *
 * Producing a big trace is the link-key walk plus assembly: most of a second for 10k spans on a
 * loaded host. The web UI asks for the same trace more than once within moments (the deep-link
 * shell's preload and the page's own fetch, a reload, the span-per-object answer next to the
 * columns, a search result opened right after the search assembled it); each of those redid all
 * of it. Loads of the same id that arrive while one is running wait for it instead of starting
 * their own.
 *
 * Stale answers are the risk, since spans of a trace keep arriving for a while after it ends.
 * So an entry lives only while the store has taken no spans since its load began (`writes`, the
 * server's count of spans written: a user reading a trace as it fills sees every span at once,
 * and so does one who imports an old capture or replays old spans into a trace already read —
 * any span written may join any trace, through its link keys, whatever its age), and at most
 * `recentTtlMs` (default 2 s: the UI's follow-up calls) while the trace's newest span ended less
 * than `settledAfterMs` ago (default 30 s), `settledTtlMs` (default 30 s) once it ended before. A load cut by its query budget (the client went, or
 * --query-timeout) is never kept: the next ask should try again.
 *
 * Bounded in spans (`maxSpans`, default 40k: two traces at the walk's span limit), oldest entry
 * out first.
 */
import type { LoadedTrace } from './trace-loader.js';

export interface TraceCacheOptions {
  maxSpans?: number;
  recentTtlMs?: number;
  settledTtlMs?: number;
  settledAfterMs?: number;
  /** Spans the store has written so far (any number that grows with every write). */
  writes?: () => number;
  /** Unix ms (default Date.now), for tests. */
  nowMs?: () => number;
}

interface Entry {
  trace: LoadedTrace;
  spans: number;
  expiresMs: number;
  /** `writes()` when the load began: any span written since may belong to it. */
  writesAtLoad: number;
}

export class TraceCache {
  private readonly entries = new Map<string, Entry>();
  private readonly running = new Map<string, Promise<LoadedTrace | null>>();
  private spans = 0;
  private readonly maxSpans: number;
  private readonly recentTtlMs: number;
  private readonly settledTtlMs: number;
  private readonly settledAfterMs: number;
  private readonly now: () => number;
  private readonly writes: (() => number) | undefined;

  constructor(options: TraceCacheOptions = {}) {
    this.maxSpans = options.maxSpans ?? 40_000;
    this.recentTtlMs = options.recentTtlMs ?? 2_000;
    this.settledTtlMs = options.settledTtlMs ?? 30_000;
    this.settledAfterMs = options.settledAfterMs ?? 30_000;
    this.now = options.nowMs ?? Date.now;
    this.writes = options.writes;
  }

  /** The kept trace for `id`, or the result of `load` (joined when a load of `id` is running). */
  async get(id: string, load: () => Promise<{ trace: LoadedTrace | null; keep: boolean }>): Promise<LoadedTrace | null> {
    const hit = this.entries.get(id);
    if (hit !== undefined) {
      const grown = this.writes !== undefined && this.writes() !== hit.writesAtLoad;
      if (hit.expiresMs > this.now() && !grown) return hit.trace;
      this.drop(id);
    }
    const running = this.running.get(id);
    if (running !== undefined) {
      const shared = await running.catch(() => null);
      // A shared load that failed or was cut (another client's budget) is not this one's answer.
      if (shared !== null && this.entries.has(id)) return shared;
    }
    const writesAtLoad = this.writes?.() ?? 0;
    const started = load().then(({ trace, keep }) => {
      if (trace !== null && keep) this.put(id, trace, writesAtLoad);
      return trace;
    });
    this.running.set(id, started);
    try {
      return await started;
    } finally {
      if (this.running.get(id) === started) this.running.delete(id);
    }
  }

  /** Entries and spans held now (for tests and metrics). */
  size(): { entries: number; spans: number } {
    return { entries: this.entries.size, spans: this.spans };
  }

  private put(id: string, trace: LoadedTrace, writesAtLoad: number): void {
    const spans = trace.nodes.length;
    if (spans === 0 || spans > this.maxSpans) return;
    this.drop(id);
    while (this.spans + spans > this.maxSpans) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.drop(oldest.value);
    }
    let newestEndMs = 0;
    for (const n of trace.nodes) {
      const end = Number(n.span.endTimeUnixNano / 1_000_000n);
      if (end > newestEndMs) newestEndMs = end;
    }
    const now = this.now();
    const settled = now - newestEndMs >= this.settledAfterMs;
    this.entries.set(id, { trace, spans, expiresMs: now + (settled ? this.settledTtlMs : this.recentTtlMs), writesAtLoad });
    this.spans += spans;
  }

  private drop(id: string): void {
    const e = this.entries.get(id);
    if (e === undefined) return;
    this.entries.delete(id);
    this.spans -= e.spans;
  }
}
