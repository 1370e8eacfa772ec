/**
 * @module A trace cut at the per-trace span limit says so in every API (issue 9, C9): a warning
 * in the native and Jaeger shapes, a partial flag where the format has one (Tempo v2 status
 * PARTIAL), and a warning next to the data where it has none (api_v3, Tempo v1).
 */
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../store/index.js';
import { queryApi } from './index.js';
import { defaultFetchTrace } from './trace-loader.js';
import { fakeAssemble, fixtureSpans, TRACE_A, TRACE_B } from './testing/query-fixture.js';

let app: FastifyInstance;

beforeAll(async () => {
  const store = createMemoryStore();
  await store.write(fixtureSpans());
  const fetch = defaultFetchTrace(store);
  app = Fastify();
  await app.register(queryApi, {
    reader: store,
    assemble: fakeAssemble,
    // Trace A stands for a trace the walk cut at its span limit; trace B is whole.
    fetchTrace: async (id, budget) => {
      const got = await fetch(id, budget);
      const spans = Array.isArray(got) ? got : got.spans;
      return { spans, warnings: [], truncated: spans.some((s) => s.traceId === TRACE_A) };
    },
  });
  await app.ready();
});
afterAll(() => app.close());

async function get(url: string): Promise<Record<string, unknown>> {
  const res = await app.inject({ method: 'GET', url });
  expect(res.statusCode).toBe(200);
  return res.json<Record<string, unknown>>();
}

const CUT = /trace cut: it has more spans than the \d+ shown/;

describe('cut traces say so', () => {
  it('native: truncated flag and a warning', async () => {
    expect(await get(`/api/v1/traces/${TRACE_A}`)).toMatchObject({ truncated: true, warnings: [expect.stringMatching(CUT) as unknown] });
    const whole = await get(`/api/v1/traces/${encodeURIComponent(TRACE_B)}`);
    expect(whole['truncated']).toBe(false);
    expect(JSON.stringify(whole['warnings'])).not.toMatch(CUT);
  });

  it('Jaeger: the trace carries the warning', async () => {
    const body = await get(`/api/traces/${TRACE_A}`);
    expect((body['data'] as { warnings: string[] }[])[0]?.warnings).toEqual(expect.arrayContaining([expect.stringMatching(CUT)]));
  });

  it('api_v3: partial and warnings next to result', async () => {
    expect(await get(`/api/v3/traces/${TRACE_A}`)).toMatchObject({ partial: true, warnings: expect.arrayContaining([expect.stringMatching(CUT)]) as unknown });
    expect(await get(`/api/v3/traces/${encodeURIComponent(TRACE_B)}`)).not.toHaveProperty('partial');
  });

  it('Tempo: v2 status PARTIAL with the message; v1 warnings next to batches', async () => {
    expect(await get(`/tempo/api/v2/traces/${TRACE_A}`)).toMatchObject({ status: 'PARTIAL', message: expect.stringMatching(CUT) as unknown });
    expect(await get(`/tempo/api/traces/${TRACE_A}`)).toMatchObject({ warnings: expect.arrayContaining([expect.stringMatching(CUT)]) as unknown });
  });
});
