/**
 * A search reads its traces together (issue 9, C7: the maximum-limit search made fast): the same
 * traces, spans and order as loading each trace alone, in a handful of store lookups instead of
 * one per trace; a group holding a trace too large to read together falls back to reading its
 * traces one by one. Real memory store, real walk and assembly.
 */
import { describe, expect, it } from 'vitest';
import { emptySpan } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import { createMemoryStore } from '../store/index.js';
import type { SpanReader } from '../store/index.js';
import { assemble } from '../tracing/assemble.js';
import { walkTrace } from '../trace-walk.js';
import { searchTracesWithin, UNBOUNDED_BUDGET } from './query-context.js';
import type { QueryContext } from './query-context.js';
import { createTraceLoader } from './trace-loader.js';

const T0 = 1_795_514_400_000_000_000n;
const TRACES = 450;
/** More than its group (the 50 oldest traces) may return together: that group is read trace by trace. */
const BIG_SPANS = 4000;

function trace(i: number, spans: number): SpanRecord[] {
  const traceId = (i + 1).toString(16).padStart(32, '0');
  const start = T0 + BigInt(i) * 1_000_000n;
  return Array.from({ length: spans }, (_, k) => ({
    ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: k === 0 ? 's-app' : 'c-app' }),
    traceId,
    spanId: (i * 1000 + k + 1).toString(16).padStart(16, '0'),
    parentSpanId: k === 0 ? '' : (i * 1000 + 1).toString(16).padStart(16, '0'),
    name: k === 0 ? 'GET /' : `SELECT ${k}`,
    kind: k === 0 ? ('server' as const) : ('client' as const),
    service: k === 0 ? 'front' : 'db',
    startTimeUnixNano: start + BigInt(k) * 1000n,
    endTimeUnixNano: start + 500_000n,
  }));
}

async function setup(): Promise<{ ctx: QueryContext; reads: { getTrace: number; byKeys: number } }> {
  const store = createMemoryStore();
  for (let i = 0; i < TRACES; i++) await store.write(trace(i, i === 7 ? BIG_SPANS : 4));
  const reads = { getTrace: 0, byKeys: 0 };
  const counted: SpanReader = {
    getTrace: (id) => {
      reads.getTrace++;
      return store.getTrace(id);
    },
    findByLinkKeys: (keys, o) => {
      reads.byKeys++;
      return store.findByLinkKeys(keys, o);
    },
    findInTimeRange: (r, o) => store.findInTimeRange(r, o),
    findSpans: (q) => store.findSpans(q),
    findTraceIds: (q) => store.findTraceIds(q),
    services: () => store.services(),
    operations: (s) => store.operations(s),
    attributeKeys: (n) => store.attributeKeys(n),
    countSpans: () => store.countSpans(),
  };
  const traces = createTraceLoader(
    (id, budget, prefetched) => walkTrace(counted, id, null, budget, prefetched),
    (spans, traceId) => assemble(spans, { traceId }),
  );
  return { ctx: { reader: counted, traces, nowUnixNano: () => T0, queryTimeoutMs: 10_000 }, reads };
}

describe('search prefetch', () => {
  it('gives the traces loading one by one gives, with a few lookups instead of one per trace', async () => {
    const { ctx, reads } = await setup();
    const found = await searchTracesWithin(ctx, { service: 'front', limit: TRACES }, UNBOUNDED_BUDGET);
    expect(found.warning).toBeNull();
    expect(found.traces).toHaveLength(TRACES);
    // Only the group holding the large trace is read trace by trace; the other groups not at all.
    expect(reads.getTrace).toBeLessThanOrEqual(200);
    expect(reads.getTrace).toBeGreaterThan(0);
    expect(reads.byKeys).toBeLessThanOrEqual(Math.ceil(TRACES / 200) + 1);

    const alone = await Promise.all(found.traces.map((t) => ctx.traces.load(t.traceId)));
    expect(found.traces.map((t) => [t.traceId, t.nodes.length])).toEqual(alone.map((t) => [t?.traceId, t?.nodes.length]));
    expect(found.traces.find((t) => t.nodes.length === BIG_SPANS)).toBeDefined();
    // Newest first, as the store orders trace ids.
    expect(found.traces[0]?.traceId).toBe(TRACES.toString(16).padStart(32, '0'));
  });
});
