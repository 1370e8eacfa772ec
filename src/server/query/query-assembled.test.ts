/**
 * @module The query API with the real assembly (src/server/tracing/assemble.ts): invariants
 * that hold whatever rules the assembly grows — every stored span once, unique ids, and every
 * dialect showing the same tree (Jaeger references, OTLP parentSpanIds).
 */
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../store/index.js';
import type { Store } from '../store/index.js';
import { assemble } from '../tracing/assemble.js';
import { queryApi } from './index.js';
import { fixtureSpans, TRACE_A, TRACE_B } from './testing/query-fixture.js';

let store: Store;
let app: FastifyInstance;

beforeAll(async () => {
  store = createMemoryStore();
  await store.write(fixtureSpans());
  app = Fastify();
  await app.register(queryApi, { reader: store, assemble: (spans, traceId) => assemble(spans, { traceId }) });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await store.close();
});

interface OtlpSpans {
  resourceSpans: { scopeSpans: { spans: { spanId: string; parentSpanId?: string }[] }[] }[];
}

function otlpSpans(r: OtlpSpans): { spanId: string; parentSpanId?: string }[] {
  return r.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans));
}

describe.each([TRACE_A, TRACE_B])('trace %s through the real assembly', (traceId) => {
  const stored = fixtureSpans().filter((s) => s.traceId === traceId).length;

  it('v1 has every stored span once, unique ids, parents inside the trace', async () => {
    const res = await app.inject({ url: `/api/v1/traces/${encodeURIComponent(traceId)}` });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ spans: { id: string; parentId: string | null; linkReason: string | null }[] }>();
    expect(body.spans.length).toBeGreaterThan(0);
    expect(body.spans.length).toBeLessThanOrEqual(stored);
    const ids = new Set(body.spans.map((s) => s.id));
    expect(ids.size).toBe(body.spans.length);
    for (const s of body.spans) {
      if (s.parentId !== null) {
        expect(ids.has(s.parentId)).toBe(true);
        expect(s.linkReason).not.toBeNull();
      }
    }
  });

  it('Jaeger and api_v3 draw the same tree as v1', async () => {
    const v1 = (await app.inject({ url: `/api/v1/traces/${encodeURIComponent(traceId)}` })).json<{ spans: { parentId: string | null }[] }>();
    const jaeger = (await app.inject({ url: `/api/traces/${encodeURIComponent(traceId)}` })).json<{ data: { spans: { spanID: string; references: { spanID: string }[] }[] }[] }>();
    const spans = jaeger.data[0]?.spans ?? [];
    expect(spans).toHaveLength(v1.spans.length);
    const jaegerIds = new Set(spans.map((s) => s.spanID));
    const inTree = spans.filter((s) => s.references.some((r) => jaegerIds.has(r.spanID))).length;
    expect(inTree).toBe(v1.spans.filter((s) => s.parentId !== null).length);

    const v3 = (await app.inject({ url: `/api/v3/traces/${encodeURIComponent(traceId)}` })).json<{ result: OtlpSpans }>();
    const otlp = otlpSpans(v3.result);
    expect(otlp).toHaveLength(v1.spans.length);
    const otlpIds = new Set(otlp.map((s) => s.spanId));
    expect(otlp.filter((s) => s.parentSpanId !== undefined && otlpIds.has(s.parentSpanId)).length).toBe(inTree);
  });
});
