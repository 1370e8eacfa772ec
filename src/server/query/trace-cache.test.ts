/**
 * @module The assembled-trace cache: asked again within its time, the same trace comes back
 * without a walk or an assembly; loads of one id at once share one; a load cut by its budget is
 * never kept; a recent trace is kept briefly and a settled one longer; the span bound holds. And
 * through the columns route of the query API: the second answer is the first's bytes.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { emptySpan } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import { createMemoryStore } from '../store/index.js';
import { assemble } from '../tracing/assemble.js';
import { queryApi } from './index.js';
import { TraceCache } from './trace-cache.js';
import { createTraceLoader, type FetchTrace } from './trace-loader.js';

const NOW_MS = 1_800_000_000_000;
const TRACE = 'c0ffee00000000000000000000000001';

/** `n` APP spans of one trace, a chain, the last ending `agoMs` before NOW_MS. */
function spans(n: number, agoMs: number, traceId = TRACE): SpanRecord[] {
  const end = BigInt(NOW_MS - agoMs) * 1_000_000n;
  return Array.from({ length: n }, (_, i) => ({
    ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: 'app' }),
    traceId,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    parentSpanId: i === 0 ? '' : i.toString(16).padStart(16, '0'),
    name: `op ${i}`,
    service: 'svc',
    startTimeUnixNano: end - 1_000_000_000n + BigInt(i) * 1000n,
    endTimeUnixNano: end - BigInt(i) * 1000n,
  }));
}

function counting(fetch: FetchTrace): { fetch: FetchTrace; calls: () => number } {
  let calls = 0;
  return {
    fetch: async (...a) => {
      calls++;
      return fetch(...a);
    },
    calls: () => calls,
  };
}

const assembleById = (s: SpanRecord[], traceId: string): ReturnType<typeof assemble> => assemble(s, { traceId });

describe('TraceCache through the trace loader', () => {
  it('answers a second ask from the cache, the same trace, without fetching again', async () => {
    const c = counting(async () => ({ spans: spans(5, 60_000), warnings: [] }));
    let now = NOW_MS;
    const loader = createTraceLoader(c.fetch, assembleById, { cache: new TraceCache({ nowMs: () => now }) });
    const first = await loader.load(TRACE);
    const second = await loader.load(TRACE);
    expect(first?.nodes).toHaveLength(5);
    expect(second).toBe(first);
    expect(c.calls()).toBe(1);
    // A settled trace (ended a minute ago) is kept 30 s, then loaded again.
    now += 29_000;
    expect(await loader.load(TRACE)).toBe(first);
    now += 2_000;
    expect(await loader.load(TRACE)).not.toBe(first);
    expect(c.calls()).toBe(2);
  });

  it('keeps a trace that may still be growing only briefly', async () => {
    const c = counting(async () => ({ spans: spans(3, 1_000), warnings: [] }));
    let now = NOW_MS;
    const loader = createTraceLoader(c.fetch, assembleById, { cache: new TraceCache({ nowMs: () => now }) });
    await loader.load(TRACE);
    now += 1_500;
    await loader.load(TRACE);
    expect(c.calls()).toBe(1);
    now += 1_000;
    await loader.load(TRACE);
    expect(c.calls()).toBe(2);
  });

  it('drops a trace as soon as the store takes more spans, a settled one too (an old capture imported into a trace already read)', async () => {
    let written = 100;
    const recent = counting(async () => ({ spans: spans(3, 1_000), warnings: [] }));
    const cache = new TraceCache({ nowMs: () => NOW_MS, writes: () => written });
    const loader = createTraceLoader(recent.fetch, assembleById, { cache });
    const first = await loader.load(TRACE);
    expect(await loader.load(TRACE)).toBe(first);
    written += 5;
    expect(await loader.load(TRACE)).not.toBe(first);
    expect(recent.calls()).toBe(2);
    const settled = counting(async () => ({ spans: spans(3, 60_000), warnings: [] }));
    const settledLoader = createTraceLoader(settled.fetch, assembleById, { cache: new TraceCache({ nowMs: () => NOW_MS, writes: () => written }) });
    const kept = await settledLoader.load(TRACE);
    expect(await settledLoader.load(TRACE)).toBe(kept);
    written += 5;
    expect(await settledLoader.load(TRACE)).not.toBe(kept);
    expect(settled.calls()).toBe(2);
  });

  it('shares one load among asks that arrive while it runs', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const c = counting(async () => {
      await gate;
      return { spans: spans(4, 60_000), warnings: [] };
    });
    const loader = createTraceLoader(c.fetch, assembleById, { cache: new TraceCache({ nowMs: () => NOW_MS }) });
    const all = Promise.all([loader.load(TRACE), loader.load(TRACE), loader.load(TRACE)]);
    release();
    const [a, b, d] = await all;
    expect(c.calls()).toBe(1);
    expect(b).toBe(a);
    expect(d).toBe(a);
  });

  it('never keeps a load cut by its query budget, nor a failed one', async () => {
    let cut: 'timeout' | null = 'timeout';
    const c = counting(async () => ({ spans: spans(4, 60_000), warnings: [], cut }));
    const cache = new TraceCache({ nowMs: () => NOW_MS });
    const loader = createTraceLoader(c.fetch, assembleById, { cache });
    const partial = await loader.load(TRACE);
    expect(partial?.truncated).toBe(true);
    expect(cache.size().entries).toBe(0);
    cut = null;
    const whole = await loader.load(TRACE);
    expect(whole?.truncated).toBeUndefined();
    expect(c.calls()).toBe(2);
    expect(await loader.load(TRACE)).toBe(whole);

    let fail = true;
    const failing = createTraceLoader(
      async () => {
        if (fail) throw new Error('store down');
        return { spans: spans(2, 60_000), warnings: [] };
      },
      assembleById,
      { cache: new TraceCache({ nowMs: () => NOW_MS }) },
    );
    await expect(failing.load(TRACE)).rejects.toThrow('store down');
    fail = false;
    expect((await failing.load(TRACE))?.nodes).toHaveLength(2);
  });

  it('holds at most maxSpans spans, dropping the oldest entries first', async () => {
    const ids = ['a', 'b', 'c'].map((x) => x.repeat(32));
    const cache = new TraceCache({ maxSpans: 25, nowMs: () => NOW_MS });
    const loader = createTraceLoader(async (id) => ({ spans: spans(10, 60_000, id), warnings: [] }), assembleById, { cache });
    for (const id of ids) await loader.load(id);
    expect(cache.size()).toEqual({ entries: 2, spans: 20 });
    // A trace bigger than the whole bound is answered, not kept.
    const big = new TraceCache({ maxSpans: 5, nowMs: () => NOW_MS });
    const bigLoader = createTraceLoader(async (id) => ({ spans: spans(10, 60_000, id), warnings: [] }), assembleById, { cache: big });
    expect((await bigLoader.load(TRACE))?.nodes).toHaveLength(10);
    expect(big.size()).toEqual({ entries: 0, spans: 0 });
  });
});

describe('the columns route with the cache on', () => {
  it('answers the same bytes the second time, from one walk; without the cache every ask reads the store', async () => {
    for (const traceCache of [true, false]) {
      const store = createMemoryStore();
      // Ended a minute ago by the real clock (the route's cache reads Date.now).
      await store.write(spans(6, NOW_MS - Date.now() + 60_000));
      let reads = 0;
      const reader = Object.create(store) as typeof store;
      reader.getTrace = (...a) => (reads++, store.getTrace(...a));
      const app = Fastify();
      await app.register(queryApi, { reader, assemble: assembleById, traceCache });
      const a = await app.inject({ method: 'GET', url: `/api/v1/traces/${TRACE}/columns` });
      const b = await app.inject({ method: 'GET', url: `/api/v1/traces/${TRACE}/columns` });
      expect(a.statusCode).toBe(200);
      expect(b.body).toBe(a.body);
      expect(reads, `traceCache ${String(traceCache)}`).toBe(traceCache ? 1 : 2);
      await app.close();
      await store.close();
    }
  });
});
