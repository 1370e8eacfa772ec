/**
 * `GET /api/v1/traces` (trace summaries for the web UI) over the recorded real demo traces
 * (test/fixtures), assembled for real: the store walk brings the SYS/NET spans that carry no
 * trace id, so the counts per source are the full-stack ones.
 */
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TRACE_IDS, demoSpans } from '../../../test/fixtures/recorded-spans.js';
import { createMemoryStore } from '../store/index.js';
import type { Store } from '../store/index.js';
import { assemble } from '../tracing/assemble.js';
import { collectTraceSpans } from '../tracing/collect.js';
import { queryApi } from './index.js';
import type { TraceSearchAnswer } from './trace-search.js';

let store: Store;
let app: FastifyInstance;
const spans = demoSpans();
const t0 = spans.reduce((m, s) => (s.startTimeUnixNano < m ? s.startTimeUnixNano : m), spans[0]?.startTimeUnixNano ?? 0n);

beforeAll(async () => {
  store = createMemoryStore();
  await store.write(demoSpans());
  app = Fastify();
  await app.register(queryApi, {
    reader: store,
    assemble: (s, traceId) => assemble(s, { traceId }),
    // As the server does (app.ts): a 32-hex id is a trace id, anything else a span id.
    fetchTrace: async (id) => (await collectTraceSpans(store, /^[0-9a-f]{32}$/.test(id) ? { traceId: id } : { spanId: id }, { maxSpans: 20_000, maxPerKey: 64 })).spans,
  });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await store.close();
});

async function search(qs: string): Promise<{ status: number; body: TraceSearchAnswer & { error?: { code: string; message: string } } }> {
  const res = await app.inject({ method: 'GET', url: `/api/v1/traces${qs}` });
  return { status: res.statusCode, body: res.json() };
}

describe('GET /api/v1/traces', () => {
  it('summarises each recorded demo trace: root, duration, counts per source', async () => {
    const { status, body } = await search('');
    expect(status).toBe(200);
    expect(body.traces.map((t) => t.traceId).sort()).toEqual([...DEMO_TRACE_IDS].sort());
    for (const t of body.traces) {
      expect(t.spanCounts).toEqual({ app: 2, sys: 16, net: 8 });
      expect(t.spanCount).toBe(26);
      expect(t.rootName).toBe('GET /checkout');
      expect(t.rootSource).toBe('sys');
      expect(t.rootObservationPoint).toBe('c-p');
      expect(t.services).toContain('demo-frontend');
      expect(t.services).toContain('redis-server');
      expect(Number(t.durationNano)).toBeGreaterThan(1_000_000);
      expect(t.errorCount).toBe(0);
    }
    // Newest first.
    const starts = body.traces.map((t) => BigInt(t.startTimeUnixNano));
    expect([...starts].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))).toEqual(starts);
    expect(body.truncated).toBe(false);
  });

  it('filters by service, protocol, source and time; limits and says so', async () => {
    expect((await search('?service=demo-frontend')).body.traces).toHaveLength(3);
    expect((await search('?service=nobody')).body.traces).toHaveLength(0);
    expect((await search('?source=sys&protocol=redis')).body.traces).toHaveLength(3); // Redis spans carry no trace id
    const limited = await search('?limit=2');
    expect(limited.body.traces).toHaveLength(2);
    expect(limited.body.truncated).toBe(true);
    expect((await search(`?start=${t0 - 10_000_000_000n}&end=${t0 - 1n}`)).body.traces).toHaveLength(0);
  });

  it('applies min/max duration to the whole trace and status to its spans', async () => {
    const all = (await search('')).body.traces;
    const durations = all.map((t) => BigInt(t.durationNano)).sort((a, b) => (a < b ? -1 : 1));
    const mid = durations[1] as bigint;
    const atLeast = (await search(`?minDuration=${mid}`)).body.traces;
    expect(atLeast.length).toBe(all.filter((t) => BigInt(t.durationNano) >= mid).length);
    const atMost = (await search(`?maxDuration=${mid}`)).body.traces;
    expect(atMost.every((t) => BigInt(t.durationNano) <= mid)).toBe(true);
    expect(atMost.length).toBe(all.filter((t) => BigInt(t.durationNano) <= mid).length);
    expect((await search('?status=error')).body.traces).toHaveLength(0);
    expect((await search('?status=ok')).body.traces).toHaveLength(3);
  });

  it('answers 400 naming the parameter for bad input', async () => {
    for (const [qs, param] of [
      ['?status=maybe', 'status'],
      ['?minDuration=fast', 'minDuration'],
      ['?minDuration=2s&maxDuration=1s', 'maxDuration'],
      ['?source=disk', 'source'],
      ['?limit=0', 'limit'],
    ] as const) {
      const { status, body } = await search(qs);
      expect(status, qs).toBe(400);
      expect(body.error?.code).toBe('TRC_QUERY_BAD_PARAM');
      expect(body.error?.message).toContain(`'${param}'`);
    }
  });
});
