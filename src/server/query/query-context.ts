/**
 * @module What every query plugin is handed: the store reader, the trace loader and the clock.
 */
import type { FastifyReply } from 'fastify';
import type { SpanReader, SpanQuery } from '../store/index.js';
import type { AssembledTrace } from '../tracing/trace.js';
import { isTracingError } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import { PREFETCH_GROUP, prefetchTraces } from './prefetch.js';
import type { LoadedTrace, TraceLoader } from './trace-loader.js';

export interface QueryContext {
  reader: SpanReader;
  traces: TraceLoader;
  /** Now, unix nanoseconds (injected so lookbacks are deterministic under test). */
  nowUnixNano: () => bigint;
  /** Time budget of one query request, ms (--query-timeout). */
  queryTimeoutMs: number;
}

/**
 * What one query request may spend: it stops when the client has gone (`signal`) or its time
 * is up (`deadlineMs`), and answers with what it has plus a warning.
 */
export interface QueryBudget {
  signal: AbortSignal;
  /** Clock time (Date.now) by which the answer must be on its way. */
  deadlineMs: number;
  timeoutMs: number;
}

/**
 * The budget of one request: `ctx.queryTimeoutMs` from now, and aborted when the client
 * disconnects before the answer is sent (its work would be thrown away).
 */
export function requestBudget(ctx: QueryContext, reply: FastifyReply): QueryBudget {
  const ac = new AbortController();
  const res = reply.raw;
  // A response that closes before it finished writing: the client gave up on it.
  res.once('close', () => {
    if (!res.writableFinished) ac.abort();
  });
  return { signal: ac.signal, deadlineMs: Date.now() + ctx.queryTimeoutMs, timeoutMs: ctx.queryTimeoutMs };
}

/** A budget that never runs out (internal callers, tests). */
export const UNBOUNDED_BUDGET: QueryBudget = { signal: new AbortController().signal, deadlineMs: Number.POSITIVE_INFINITY, timeoutMs: 0 };

/** Null while the budget holds, else why the work stops. */
export function budgetSpent(b: QueryBudget): 'client_gone' | 'timeout' | null {
  if (b.signal.aborted) return 'client_gone';
  return Date.now() >= b.deadlineMs ? 'timeout' : null;
}

/** The warning a cut search carries. */
export function searchCutWarning(b: QueryBudget, found: number, asked: number): string {
  return `search stopped at the query time budget (${b.timeoutMs} ms, --query-timeout) with ${found} of up to ${asked} traces; narrow the search (service, time range) or raise --query-timeout`;
}

export interface SearchResult {
  traces: AssembledTrace[];
  /** Set when the budget ran out before every matching trace was loaded. */
  warning: string | null;
}

/**
 * Traces loaded at once. The loads are store reads; two at a time keeps both cores busy
 * while one trace is assembled and the next is read.
 */
const SEARCH_CONCURRENCY = 4;

/**
 * The assembled traces of the newest trace ids matching `q`, at most `q.limit` of them, in the
 * store's order, within `budget`.
 */
export async function searchTracesWithin(ctx: QueryContext, q: SpanQuery, budget: QueryBudget): Promise<SearchResult> {
  const ids = await ctx.reader.findTraceIds(q);
  const loaded: (AssembledTrace | null)[] = new Array<AssembledTrace | null>(ids.length).fill(null);
  let stopped: 'client_gone' | 'timeout' | null = null;
  // Group by group (prefetch.ts): each group's traces are read together, then assembled, so a
  // search stopped by its budget still answers the groups it finished.
  for (let from = 0; from < ids.length && !stopped; from += PREFETCH_GROUP) {
    const to = Math.min(ids.length, from + PREFETCH_GROUP);
    const prefetched = await prefetchTraces(ctx.reader, ids.slice(from, to), () => budgetSpent(budget) !== null);
    let next = from;
    const worker = async (): Promise<void> => {
      while (next < to) {
        stopped ??= budgetSpent(budget);
        if (stopped) return;
        const i = next++;
        loaded[i] = await loadWithin(ctx, ids[i] as string, budget, prefetched);
      }
    };
    await Promise.all(Array.from({ length: Math.min(SEARCH_CONCURRENCY, to - from) }, worker));
  }
  const traces = loaded.filter((t): t is AssembledTrace => t !== null && t.nodes.length > 0);
  return { traces, warning: stopped ? searchCutWarning(budget, traces.length, ids.length) : null };
}

/**
 * One trace of a search, within the search's budget: a trace the budget left unread is skipped
 * (the search's own warning says it stopped), not an error for the whole search.
 */
export async function loadWithin(ctx: QueryContext, id: string, budget: QueryBudget, prefetched?: Map<string, SpanRecord[]>): Promise<LoadedTrace | null> {
  try {
    return await ctx.traces.load(id, budget, prefetched);
  } catch (err) {
    if (isTracingError(err) && err.code === 'TRC_QUERY_TIMEOUT') return null;
    throw err;
  }
}

/** The assembled traces of the newest trace ids matching `q`, at most `q.limit` of them. */
export async function searchTraces(ctx: QueryContext, q: SpanQuery, budget: QueryBudget = UNBOUNDED_BUDGET): Promise<AssembledTrace[]> {
  return (await searchTracesWithin(ctx, q, budget)).traces;
}
