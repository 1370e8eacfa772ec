/**
 * @module Loading assembled traces for the query APIs: id normalisation, the default fetch
 * (trace id, else span id through the link-key index), and the assembly call.
 *
 * Every API gets traces through `createTraceLoader`, so `/api/v1`, Jaeger, api_v3 and Tempo
 * show the same tree for the same id.
 */
import { skywalkingTraceIdToHex } from '../../apm/skywalking/index.js';
import { TracingError, base64ToHexId, normalizeHexId } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import type { SpanReader } from '../store/index.js';
import type { AssembledTrace } from '../tracing/trace.js';
import { budgetedReader, traceBudgetWarning } from './budgeted-reader.js';
import type { TraceCache } from './trace-cache.js';
import { UNBOUNDED_BUDGET } from './query-context.js';
import type { QueryBudget } from './query-context.js';

/** How many spans a span-id lookup may return before it gives up on that key. */
const SPAN_LOOKUP_LIMIT = 16;
/** Longest id accepted in a path; longer ones cannot be stored ids. */
const MAX_ID_CHARS = 256;

/**
 * Gathers a trace's spans within `budget`. It may return warnings with them (an external APM that
 * timed out), which end up in the assembled trace's warnings; `truncated` when it stopped at its
 * span limit, `cut` when it stopped because the budget was spent (the spans read by then).
 */
export type FetchTrace = (
  idOrSpanId: string,
  budget: QueryBudget,
  prefetched?: Map<string, SpanRecord[]>,
) => Promise<SpanRecord[] | { spans: SpanRecord[]; warnings: string[]; truncated?: boolean; cut?: 'client_gone' | 'timeout' | null }>;

/**
 * An assembled trace as the APIs get it: `truncated` when the fetch stopped at its span limit, so
 * the trace has more spans than the answer holds (every API must say so).
 */
export type LoadedTrace = AssembledTrace & { truncated?: boolean };

/** The warning every API shows for a cut trace (the fetch's own may be more technical). */
export function cutTraceWarning(spans: number): string {
  return `trace cut: it has more spans than the ${spans} shown (the per-trace span limit); open a span of the missing part by its id to see around it`;
}
export type Assemble = (spans: SpanRecord[], traceId: string) => AssembledTrace;

/** 16 bytes in standard base64, as Tempo's JSON and newer Jaeger builds (PR #8828) write trace ids. */
const BASE64_TRACE_ID_RE = /^[A-Za-z0-9+/]{22}==$/;

/** A SkyWalking trace id: dot-separated parts, the later ones numbers. */
const SKYWALKING_TRACE_ID_RE = /^[0-9A-Za-z-]+(\.\d+){1,3}$/;

/**
 * The ids to try for a user-typed id: as given, lowercased, as a padded 128-bit hex id, decoded
 * from base64, and as the trace id a SkyWalking trace id (`<hex>.<n>.<n>` from the Java agent,
 * `<n>.<n>.<n>` from nginx-lua: what agents log and SkyWalking's UI shows) was stored under. That
 * derivation is deterministic (src/apm/skywalking), so no index of SkyWalking ids is needed.
 */
export function idCandidates(raw: string): string[] {
  const id = raw.trim();
  if (id === '' || id.length > MAX_ID_CHARS) return [];
  const out = [id];
  const lower = id.toLowerCase();
  if (!out.includes(lower)) out.push(lower);
  const hex = normalizeHexId(id, 32);
  if (hex !== '' && !out.includes(hex)) out.push(hex);
  if (BASE64_TRACE_ID_RE.test(id)) {
    const fromB64 = base64ToHexId(id);
    if (fromB64 !== '' && !out.includes(fromB64)) out.push(fromB64);
  }
  if (SKYWALKING_TRACE_ID_RE.test(id)) {
    const fromSw = skywalkingTraceIdToHex(id);
    if (!out.includes(fromSw)) out.push(fromSw);
  }
  return out;
}

/**
 * The default fetch: the trace with this id; when there is none and the id could be a span
 * id, the trace of that span (so a span id pasted from a log opens its trace).
 */
export function defaultFetchTrace(store: SpanReader): FetchTrace {
  return async (idOrSpanId, budget, prefetched) => {
    const { reader, cut } = budgetedReader(store, budget, prefetched);
    const found = async (): Promise<SpanRecord[]> => {
      const spans = await reader.getTrace(idOrSpanId);
      if (spans.length > 0) return spans;
      const bySpan = await reader.findByLinkKeys([{ type: 'span', value: idOrSpanId }], { limit: SPAN_LOOKUP_LIMIT });
      const traceId = bySpan.find((s) => s.traceId !== '')?.traceId;
      if (traceId === undefined) return bySpan;
      return reader.getTrace(traceId);
    };
    const spans = await found();
    return { spans, warnings: [], cut: cut() };
  };
}

export interface TraceLoader {
  /**
   * The assembled trace for a user-typed id (trace id or span id), or null when no span has it.
   * Within `budget` (default: none): past it the trace holds what was read, flagged truncated
   * with a warning, like a trace cut at the span limit.
   */
  load(rawId: string, budget?: QueryBudget, prefetched?: Map<string, SpanRecord[]>): Promise<LoadedTrace | null>;
}

/**
 * `cache`: assembled traces kept for a moment (trace-cache.ts), so asking again for the same id
 * (the web UI does, within a second) does not walk and assemble it again.
 */
export function createTraceLoader(fetchTrace: FetchTrace, assemble: Assemble, options: { cache?: TraceCache } = {}): TraceLoader {
  const loadOnce = async (rawId: string, budget: QueryBudget, prefetched?: Map<string, SpanRecord[]>): Promise<{ trace: LoadedTrace | null; keep: boolean }> => {
    for (const id of idCandidates(rawId)) {
      const got = await fetchTrace(id, budget, prefetched);
      const spans = Array.isArray(got) ? got : got.spans;
      if (spans.length === 0 && !Array.isArray(got) && got.cut === 'timeout') {
        // Nothing read within the budget: "not found" would be a wrong answer.
        throw new TracingError('TRC_QUERY_TIMEOUT', `trace ${rawId} could not be read within the query time budget (${budget.timeoutMs} ms, --query-timeout); retry, or raise --query-timeout`, {
          httpStatus: 503,
          retryable: true,
          retryAfterMs: 1000,
        });
      }
      if (spans.length === 0) continue;
      // Asked by span id: the trace is named after the trace id the spans carry.
      const traceId = spans.some((s) => s.traceId === id) ? id : (spans.find((s) => s.traceId !== '')?.traceId ?? id);
      const trace: LoadedTrace = assemble(spans, traceId);
      if (!Array.isArray(got)) {
        trace.warnings.unshift(...got.warnings);
        if (got.truncated === true) {
          trace.truncated = true;
          trace.warnings.unshift(cutTraceWarning(spans.length));
        }
        if (got.cut) {
          trace.truncated = true;
          trace.warnings.unshift(traceBudgetWarning(budget, spans.length));
        }
      }
      return { trace, keep: Array.isArray(got) || !got.cut };
    }
    return { trace: null, keep: false };
  };
  const cache = options.cache;
  return {
    async load(rawId, budget = UNBOUNDED_BUDGET, prefetched) {
      if (cache === undefined) return (await loadOnce(rawId, budget, prefetched)).trace;
      return cache.get(rawId, () => loadOnce(rawId, budget, prefetched));
    },
  };
}
