/**
 * @module Queries are bounded (issue 9, C7): a search stops at the query time budget and answers
 * what it found with a warning in each API's shape, and it stops working when the client goes.
 * The store is real (memory); trace loads are slowed down so the budget is what ends the search.
 */
import { connect } from 'node:net';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptySpan } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import { createMemoryStore } from '../store/index.js';
import { queryApi } from './index.js';
import { defaultFetchTrace } from './trace-loader.js';
import { fakeAssemble } from './testing/query-fixture.js';

const TRACES = 200;
const LOAD_MS = 40;
const BUDGET_MS = 400;
let loads = 0;
let app: FastifyInstance;
let port = 0;

function traceSpans(i: number): SpanRecord[] {
  const start = 1_795_514_400_000_000_000n + BigInt(i) * 1_000_000_000n;
  return [
    {
      ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: 's-app' }),
      traceId: (i + 1).toString(16).padStart(32, '0'),
      spanId: (i + 1).toString(16).padStart(16, '0'),
      name: 'GET /slow',
      kind: 'server',
      service: 'slow-svc',
      startTimeUnixNano: start,
      endTimeUnixNano: start + 1_000_000n,
    },
  ];
}

beforeAll(async () => {
  const store = createMemoryStore();
  await store.write(Array.from({ length: TRACES }, (_, i) => traceSpans(i)).flat());
  const fetch = defaultFetchTrace(store);
  app = Fastify();
  await app.register(queryApi, {
    reader: store,
    assemble: fakeAssemble,
    queryTimeoutMs: BUDGET_MS,
    fetchTrace: async (id, budget) => {
      loads++;
      await new Promise((r) => setTimeout(r, LOAD_MS));
      return fetch(id, budget);
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const a = app.server.address();
  port = typeof a === 'object' && a ? a.port : 0;
});
afterAll(() => app.close());

async function timed(path: string): Promise<{ ms: number; status: number; body: Record<string, unknown> }> {
  const t = Date.now();
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { ms: Date.now() - t, status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('query time budget', () => {
  it('Jaeger search answers within the budget with what it found and a warning in errors', async () => {
    const r = await timed(`/api/traces?service=slow-svc&limit=${TRACES}`);
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(BUDGET_MS + 1000); // the whole search would take TRACES / 4 * LOAD_MS = 2 s
    const data = r.body['data'] as unknown[];
    expect(data.length).toBeGreaterThan(0);
    expect(data.length).toBeLessThan(TRACES);
    expect(r.body['errors']).toMatchObject([{ code: 206, msg: expect.stringMatching(/query time budget \(400 ms, --query-timeout\)/) as unknown }]);
  });

  it('api_v3 search: warnings next to result; Tempo: completedJobs < totalJobs and warnings; v1 summaries: truncated + warnings', async () => {
    const v3 = await timed(`/api/v3/traces?query.service_name=slow-svc&query.search_depth=${TRACES}`);
    expect(v3.status).toBe(200);
    expect(v3.body['warnings']).toHaveLength(1);
    const tempo = await timed(`/tempo/api/search?tags=service.name%3Dslow-svc&limit=${TRACES}`);
    expect(tempo.status).toBe(200);
    expect(tempo.body['metrics']).toMatchObject({ completedJobs: 0, totalJobs: 1 });
    expect(tempo.body['warnings']).toHaveLength(1);
    const v1 = await timed(`/api/v1/traces?service=slow-svc&limit=${TRACES}`);
    expect(v1.status).toBe(200);
    expect(v1.body).toMatchObject({ truncated: true, warnings: [expect.stringMatching(/query time budget/) as unknown] });
  });

  it('a search stops loading traces once the client disconnects', async () => {
    const before = loads;
    const sock = connect(port, '127.0.0.1');
    sock.on('error', () => undefined);
    sock.write(`GET /api/traces?service=slow-svc&limit=${TRACES} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 100));
    sock.destroy();
    await new Promise((r) => setTimeout(r, BUDGET_MS + 300));
    const during = loads - before;
    // Four loads in flight at the disconnect finish; no new ones start. Without cancellation
    // the search would run on to its budget (about BUDGET_MS / LOAD_MS * 4 loads).
    expect(during).toBeLessThanOrEqual(Math.ceil(100 / LOAD_MS) * 4 + 4);
    expect(during).toBeLessThan((BUDGET_MS / LOAD_MS) * 4);
  });
});
