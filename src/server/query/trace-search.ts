/**
 * @module Trace search for the web UI's results list: `GET /api/v1/traces?…` answers one
 * summary per assembled trace (start, duration, root service and operation, span counts per
 * source, errors), so a list of 20 traces costs 20 summaries, not 20 full span lists.
 *
 * Filters narrow spans in the store (service, operation, protocol, source, errors, time range,
 * minimum duration), then the trace-level ones narrow summaries: `minDuration`/`maxDuration`
 * apply to the whole trace, `status=ok` keeps traces without an error span.
 */
import { durationNano } from '../../model/index.js';
import type { SpanRecord, SpanSource } from '../../model/index.js';
import { MAX_QUERY_LIMIT } from '../store/index.js';
import type { SpanQuery } from '../store/index.js';
import type { AssembledTrace } from '../tracing/trace.js';
import { badParam } from './query-errors.js';
import { one, parseDuration, parseLimit } from './query-params.js';
import type { RawQuery } from './query-params.js';
import { budgetSpent, loadWithin, searchCutWarning, UNBOUNDED_BUDGET } from './query-context.js';
import type { QueryBudget, QueryContext } from './query-context.js';
import { prefetchTraces } from './prefetch.js';

/** Traces answered when `limit` is absent, and at most. Each one is an assembly. */
export const DEFAULT_TRACE_LIMIT = 20;
export const MAX_TRACE_LIMIT = 200;
/**
 * Trace-level filters drop some of the traces found; up to this many times the limit are
 * assembled, which keeps the answer full in the usual case without assembling without bound.
 */
const OVERFETCH = 3;
/** Matching spans read per trace asked for (a trace holds many matching spans, e.g. source=sys). */
const SPANS_PER_TRACE = 50;

export interface TraceSummary {
  traceId: string;
  startTimeUnixNano: string;
  durationNano: string;
  rootService: string;
  rootName: string;
  rootSource: SpanSource;
  rootObservationPoint: string;
  spanCount: number;
  spanCounts: Record<SpanSource, number>;
  errorCount: number;
  services: string[];
  warningCount: number;
}

export interface TraceSearchAnswer {
  traces: TraceSummary[];
  limit: number;
  /** True when more traces matched than were answered. */
  truncated: boolean;
  /** Why the answer is partial, when the query budget ran out. */
  warnings?: string[];
}

/** The same rule as the stores' `errorsOnly`: an error status or an L7 outcome other than ok/unknown. */
export function isErrorSpan(s: Pick<SpanRecord, 'statusCode' | 'responseStatus'>): boolean {
  return s.statusCode === 'error' || (s.responseStatus !== 'ok' && s.responseStatus !== 'unknown');
}

/** One assembled trace → its summary. The root is the earliest root span (the longest on a tie). */
export function summarizeTrace(trace: AssembledTrace): TraceSummary {
  let start: bigint | null = null;
  let end: bigint | null = null;
  let root: SpanRecord | null = null;
  const spanCounts: Record<SpanSource, number> = { app: 0, sys: 0, net: 0 };
  let errorCount = 0;
  for (const n of trace.nodes) {
    const s = n.span;
    if (start === null || s.startTimeUnixNano < start) start = s.startTimeUnixNano;
    if (end === null || s.endTimeUnixNano > end) end = s.endTimeUnixNano;
    spanCounts[s.source]++;
    if (isErrorSpan(s)) errorCount++;
    if (n.parentId !== null) continue;
    if (root === null || s.startTimeUnixNano < root.startTimeUnixNano || (s.startTimeUnixNano === root.startTimeUnixNano && durationNano(s) > durationNano(root))) root = s;
  }
  const t0 = start ?? 0n;
  return {
    traceId: trace.traceId,
    startTimeUnixNano: t0.toString(),
    durationNano: ((end ?? t0) - t0).toString(),
    rootService: root?.service ?? '',
    rootName: root?.name ?? '',
    rootSource: root?.source ?? 'app',
    rootObservationPoint: root?.observationPoint ?? '',
    spanCount: trace.nodes.length,
    spanCounts,
    errorCount,
    services: trace.services,
    warningCount: trace.warnings.length,
  };
}

export interface TraceSearch {
  spans: SpanQuery;
  limit: number;
  status: 'any' | 'ok' | 'error';
  minDurationNano: bigint | null;
  maxDurationNano: bigint | null;
}

/**
 * Query string → a trace search: `spanQuery` is what `/api/v1/spans` makes of the same
 * parameters (spanQueryOfV1); `status` and the trace-level durations are added here.
 */
export function traceSearchOf(q: RawQuery, spanQuery: SpanQuery): TraceSearch {
  const limit = parseLimit('limit', one(q, 'limit')?.value, DEFAULT_TRACE_LIMIT, MAX_TRACE_LIMIT);
  const statusParam = one(q, 'status');
  const status = statusParam?.value ?? 'any';
  if (status !== 'any' && status !== 'ok' && status !== 'error') throw badParam('status', status, "expected 'any', 'ok' or 'error'");
  // Durations are the trace's; the span-level minimum is still a sound pre-filter (a trace lasts
  // at least as long as any of its spans), the maximum is not, so only the minimum goes down.
  const { maxDurationNano: _max, ...spans } = spanQuery;
  const minD = one(q, 'minDuration');
  const maxD = one(q, 'maxDuration');
  const minDurationNano = minD ? parseDuration(minD.name, minD.value, { bareNanos: true }) : null;
  const maxDurationNano = maxD ? parseDuration(maxD.name, maxD.value, { bareNanos: true }) : null;
  if (minDurationNano !== null && maxDurationNano !== null && maxDurationNano < minDurationNano) throw badParam('maxDuration', maxD?.value ?? '', "must not be less than 'minDuration'");
  if (status === 'error') spans.errorsOnly = true;
  return { spans: { ...spans, limit: Math.min(MAX_QUERY_LIMIT, limit * SPANS_PER_TRACE) }, limit, status, minDurationNano, maxDurationNano };
}

function keep(s: TraceSummary, search: TraceSearch): boolean {
  const d = BigInt(s.durationNano);
  if (search.minDurationNano !== null && d < search.minDurationNano) return false;
  if (search.maxDurationNano !== null && d > search.maxDurationNano) return false;
  if (search.status === 'ok' && s.errorCount > 0) return false;
  if (search.status === 'error' && s.errorCount === 0) return false;
  return true;
}

/** A span's identity in the store (the same span seen again through another trace load). */
function spanKey(s: Pick<SpanRecord, 'traceId' | 'spanId' | 'source' | 'observationPoint'>): string {
  return `${s.source}|${s.observationPoint}|${s.traceId}|${s.spanId}`;
}

/**
 * The summaries of the newest matching traces, newest first. Matching spans are searched, not
 * trace ids, so a trace is found through a span nobody instrumented (a Redis call seen only by
 * eBPF carries no trace id): such a span opens its trace by span id, and the spans of every
 * trace already loaded are skipped.
 */
export async function searchTraceSummaries(ctx: QueryContext, search: TraceSearch, budget: QueryBudget = UNBOUNDED_BUDGET): Promise<TraceSearchAnswer> {
  const matches = await ctx.reader.findSpans(search.spans);
  const traces: TraceSummary[] = [];
  const seenTraces = new Set<string>();
  const covered = new Set<string>();
  let truncated = matches.length >= Math.min(search.spans.limit, MAX_QUERY_LIMIT);
  let loads = 0;
  let warning: string | null = null;
  const prefetched = await prefetchTraces(ctx.reader, matches.map((m) => m.traceId).slice(0, search.limit * OVERFETCH), () => budgetSpent(budget) !== null);
  for (const m of matches) {
    if (covered.has(spanKey(m)) || (m.traceId !== '' && seenTraces.has(m.traceId))) continue;
    if (budgetSpent(budget)) {
      warning = searchCutWarning(budget, traces.length, search.limit);
      truncated = true;
      break;
    }
    if (loads === search.limit * OVERFETCH) {
      truncated = true;
      break;
    }
    loads++;
    const t = await loadWithin(ctx, m.traceId !== '' ? m.traceId : m.spanId, budget, prefetched);
    if (t === null || t.nodes.length === 0) continue;
    seenTraces.add(t.traceId);
    for (const n of t.nodes) {
      covered.add(spanKey(n.span));
      if (n.span.traceId !== '') seenTraces.add(n.span.traceId);
    }
    const s = summarizeTrace(t);
    if (!keep(s, search)) continue;
    if (traces.length === search.limit) {
      truncated = true;
      break;
    }
    traces.push(s);
  }
  traces.sort((a, b) => (BigInt(b.startTimeUnixNano) > BigInt(a.startTimeUnixNano) ? 1 : BigInt(b.startTimeUnixNano) < BigInt(a.startTimeUnixNano) ? -1 : 0));
  return warning ? { traces, limit: search.limit, truncated, warnings: [warning] } : { traces, limit: search.limit, truncated };
}
