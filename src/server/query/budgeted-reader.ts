/**
 * @module A store reader that stops reading when a query's budget is spent: past the deadline, or
 * once the client has gone, every further lookup answers "nothing more". The trace walk
 * (tracing/collect.ts) then ends at its next round with the spans it already holds, so loading
 * one trace is bounded by --query-timeout like a search is, without the walk knowing budgets.
 */
import type { SpanRecord } from '../../model/index.js';
import type { SpanReader } from '../store/index.js';
import { budgetSpent } from './query-context.js';
import type { QueryBudget } from './query-context.js';

export interface BudgetedReader {
  reader: SpanReader;
  /** Why lookups were refused, once one was; null while every lookup was answered. */
  cut(): 'client_gone' | 'timeout' | null;
}

/**
 * `prefetched`: spans of trace ids a search already read together (prefetch.ts); `getTrace` of
 * such an id answers from it, once (the walk owns and may change what it is given).
 */
export function budgetedReader(inner: SpanReader, budget: QueryBudget, prefetched?: Map<string, SpanRecord[]>): BudgetedReader {
  let cut: 'client_gone' | 'timeout' | null = null;
  const spent = (): boolean => {
    cut ??= budgetSpent(budget);
    return cut !== null;
  };
  // The walk's reads are guarded; the rest pass through, each called on the store itself.
  const reader: SpanReader = {
    getTrace: async (traceId, options) => {
      const ready = prefetched?.get(traceId);
      if (ready) {
        prefetched?.delete(traceId);
        return ready;
      }
      return spent() ? [] : inner.getTrace(traceId, options);
    },
    findByLinkKeys: async (keys, options) => (spent() ? [] : inner.findByLinkKeys(keys, options)),
    findInTimeRange: async (range, options) => (spent() ? [] : inner.findInTimeRange(range, options)),
    findSpans: (q) => inner.findSpans(q),
    findTraceIds: (q) => inner.findTraceIds(q),
    services: () => inner.services(),
    operations: (service) => inner.operations(service),
    attributeKeys: (limit) => inner.attributeKeys(limit),
    countSpans: () => inner.countSpans(),
  };
  return { reader, cut: () => cut };
}

/** The warning a trace cut by its query budget carries. */
export function traceBudgetWarning(b: QueryBudget, spans: number): string {
  return `trace load stopped at the query time budget (${b.timeoutMs} ms, --query-timeout) with ${spans} spans; the trace may have more: reload it, or raise --query-timeout`;
}
