/**
 * @module What every query plugin is handed: the store reader, the trace loader and the clock.
 */
import type { SpanReader, SpanQuery } from '../store/index.js';
import type { AssembledTrace } from '../tracing/trace.js';
import type { TraceLoader } from './trace-loader.js';

export interface QueryContext {
  reader: SpanReader;
  traces: TraceLoader;
  /** Now, unix nanoseconds (injected so lookbacks are deterministic under test). */
  nowUnixNano: () => bigint;
}

/** The assembled traces of the newest trace ids matching `q`, at most `q.limit` of them. */
export async function searchTraces(ctx: QueryContext, q: SpanQuery): Promise<AssembledTrace[]> {
  const ids = await ctx.reader.findTraceIds(q);
  const out: AssembledTrace[] = [];
  for (const id of ids) {
    const t = await ctx.traces.load(id);
    if (t !== null && t.nodes.length > 0) out.push(t);
  }
  return out;
}
