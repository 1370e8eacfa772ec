/**
 * @module The trace behind every trace query: the bounded link-key walk over the store
 * (tracing/collect.ts) within the query's budget, plus what configured APMs hold for it.
 */
import { SW_TRACE_ID_ATTR } from '../apm/skywalking/index.js';
import type { SpanRecord } from '../model/index.js';
import type { ApmTraceFetcher } from './apm-clients/index.js';
import { budgetedReader } from './query/budgeted-reader.js';
import { budgetSpent } from './query/query-context.js';
import type { QueryBudget } from './query/query-context.js';
import type { SpanReader } from './store/index.js';
import { collectTraceSpans, type CollectLimits } from './tracing/collect.js';

/** Bounds of the link-key walk behind every trace query (see tracing/collect.ts). */
export const TRACE_WALK_LIMITS: CollectLimits = { maxSpans: 20_000, maxPerKey: 64 };
const TRACE_ID_RE = /^[0-9a-f]{32}$/;
/** Trace ids of one assembled trace asked of the APMs, at most. */
const MAX_APM_TRACE_IDS = 4;

/**
 * A trace's spans: the trace id's own spans plus every SYS/NET span linked to them (tcp seq,
 * syscall id, X-Request-ID). Any other id is taken as a span id, so a request nobody
 * instrumented can be opened from any of its spans.
 */
export async function walkTrace(
  store: SpanReader,
  id: string,
  apm: ApmTraceFetcher | null,
  budget: QueryBudget,
  prefetched?: Map<string, SpanRecord[]>,
): Promise<{ spans: SpanRecord[]; warnings: string[]; truncated: boolean; cut: 'client_gone' | 'timeout' | null }> {
  const seed = TRACE_ID_RE.test(id) ? { traceId: id } : { spanId: id };
  // Past the budget every further lookup answers nothing, so the walk ends with what it holds.
  const bounded = budgetedReader(store, budget, prefetched);
  const walked = await collectTraceSpans(bounded.reader, seed, TRACE_WALK_LIMITS);
  const spans = walked.spans;
  // At the span limit the walk stopped with spans still to follow: every API must say the trace is cut.
  const truncated = spans.length >= TRACE_WALK_LIMITS.maxSpans;
  const warnings = [...walked.warnings];
  if (apm && budgetSpent(budget) === null) {
    // Integration 1: the APP spans the configured APMs hold for this trace, merged in. A slow or
    // failing APM only adds a warning (the fetcher never throws for it).
    const traceIds = [...new Set([seed.traceId ?? '', ...spans.map((s) => s.traceId)].filter((t) => t !== ''))].slice(0, MAX_APM_TRACE_IDS);
    const aliases = [...new Set(spans.map((s) => s.attributes[SW_TRACE_ID_ATTR]).filter((v): v is string => typeof v === 'string'))];
    const have = new Set(spans.map((s) => `${s.traceId}/${s.spanId}`));
    for (const traceId of traceIds) {
      const got = await apm.fetchTrace(traceId, { aliases });
      warnings.push(...got.warnings);
      for (const s of got.spans) {
        const key = `${s.traceId}/${s.spanId}`;
        if (have.has(key)) continue;
        have.add(key);
        spans.push(s);
      }
    }
  }
  return { spans, warnings, truncated, cut: bounded.cut() };
}

