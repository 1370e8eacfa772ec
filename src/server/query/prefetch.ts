/**
 * @module A search's traces read together: the spans of up to PREFETCH_GROUP trace ids in one
 * store lookup (trace-id link keys), instead of one `getTrace` per trace. A search at the maximum
 * limit (1500 traces) otherwise pays 1500 index lookups and row fetches, each a few ms of store
 * overhead, before any assembly; read together it pays about eight.
 *
 * Each trace's walk then starts from its prefetched spans (budgeted-reader.ts) and reads the
 * store only for what links beyond them (SYS/NET spans by tcp seq, syscall id, X-Request-ID).
 */
import type { SpanRecord } from '../../model/index.js';
import type { SpanReader } from '../store/index.js';

/** Trace ids per lookup: one SQL IN list, small enough for the index to prune blocks. */
export const PREFETCH_GROUP = 200;
/**
 * Spans a group may return per trace on average. A group over it holds a large trace: its
 * answer may be cut anywhere, so the group's traces are read one by one as before.
 */
const PREFETCH_SPANS_PER_TRACE = 64;

/**
 * Trace id → its spans, for the ids whose group was read whole (absent ids are read alone).
 * `stop` is asked before each lookup (the query budget).
 */
export async function prefetchTraces(reader: SpanReader, ids: readonly string[], stop: () => boolean): Promise<Map<string, SpanRecord[]>> {
  const out = new Map<string, SpanRecord[]>();
  const unique = [...new Set(ids.filter((id) => id !== ''))];
  for (let i = 0; i < unique.length; i += PREFETCH_GROUP) {
    if (stop()) break;
    const group = unique.slice(i, i + PREFETCH_GROUP);
    const limit = group.length * PREFETCH_SPANS_PER_TRACE;
    const spans = await reader.findByLinkKeys(
      group.map((value) => ({ type: 'trace' as const, value })),
      { limit },
    );
    if (spans.length >= limit) continue;
    const byTrace = new Map<string, SpanRecord[]>(group.map((id) => [id, []]));
    for (const s of spans) byTrace.get(s.traceId)?.push(s);
    for (const [id, list] of byTrace) if (list.length > 0) out.set(id, list);
  }
  return out;
}
