/**
 * Loading one trace is bounded like a search (issue 9, C7): the link-key walk stops at the query
 * time budget or when the client has gone, and every API answers with what was read, flagged as
 * partial with a warning. The store is real (memory) behind a reader that makes each lookup slow,
 * and the walk and assembly are the real ones.
 */
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptySpan } from '../model/index.js';
import type { SpanRecord } from '../model/index.js';
import { queryApi } from './query/index.js';
import { UNBOUNDED_BUDGET } from './query/query-context.js';
import type { QueryBudget } from './query/query-context.js';
import { T0_NANO } from './query/testing/query-fixture.js';
import { createMemoryStore } from './store/index.js';
import type { SpanReader } from './store/index.js';
import { assemble } from './tracing/assemble.js';
import { walkTrace } from './trace-walk.js';

const READ_MS = 80;
/** Shorter than one read: the trace id's own spans are read, the walk's rounds after them are not. */
const BUDGET_MS = 40;
let reads = 0;
let slow: SpanReader;
let app: FastifyInstance;

function budget(ms: number, signal = new AbortController().signal): QueryBudget {
  return { signal, deadlineMs: Date.now() + ms, timeoutMs: ms };
}

const TRACE_A = '7a11c0de7a11c0de7a11c0de7a11c0de';

/**
 * An instrumented server span, its process's socket span (the agent stamped the trace id it saw
 * in the request: read with the trace id) and the packet of that request on the NIC (no trace
 * id: found by its tcp seq, in the walk's round after the trace id's read).
 */
function walkedTrace(): SpanRecord[] {
  const at = (ms: number): bigint => T0_NANO + BigInt(ms) * 1_000_000n;
  return [
    { ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: 's-app' }), traceId: TRACE_A, spanId: 'a1a1a1a1a1a1a1a1', name: 'GET /', kind: 'server', service: 'web', startTimeUnixNano: at(0), endTimeUnixNano: at(20) },
    { ...emptySpan({ source: 'sys', origin: 'ebpf', observationPoint: 'c-p' }), traceId: TRACE_A, spanId: 'b2b2b2b2b2b2b2b2', parentSpanId: 'a1a1a1a1a1a1a1a1', name: 'GET /db', kind: 'client', protocol: 'http', reqTcpSeq: 4242, startTimeUnixNano: at(5), endTimeUnixNano: at(10) },
    { ...emptySpan({ source: 'net', origin: 'packet', observationPoint: 'c' }), spanId: 'c3c3c3c3c3c3c3c3', name: 'GET /db', kind: 'client', protocol: 'http', reqTcpSeq: 4242, startTimeUnixNano: at(5), endTimeUnixNano: at(10) },
  ];
}

beforeAll(async () => {
  const store = createMemoryStore();
  await store.write(walkedTrace());
  const delay = async <T>(v: Promise<T>): Promise<T> => {
    reads++;
    await new Promise((r) => setTimeout(r, READ_MS));
    return v;
  };
  slow = {
    getTrace: (id) => delay(store.getTrace(id)),
    findByLinkKeys: (keys, o) => delay(store.findByLinkKeys(keys, o)),
    findInTimeRange: (range, o) => delay(store.findInTimeRange(range, o)),
    findSpans: (q) => store.findSpans(q),
    findTraceIds: (q) => store.findTraceIds(q),
    services: () => store.services(),
    operations: (s) => store.operations(s),
    attributeKeys: (n) => store.attributeKeys(n),
    countSpans: () => store.countSpans(),
  };
  app = Fastify();
  await app.register(queryApi, {
    reader: store,
    assemble: (spans, traceId) => assemble(spans, { traceId }),
    fetchTrace: (id, b) => walkTrace(slow, id, null, b),
    queryTimeoutMs: BUDGET_MS,
  });
  await app.ready();
});
afterAll(() => app.close());

describe('one trace within the query budget', () => {
  let whole = 0;

  it('unbounded, the walk reads the trace id, then the linked SYS/NET spans in a round after it', async () => {
    reads = 0;
    const got = await walkTrace(slow, TRACE_A, null, UNBOUNDED_BUDGET);
    expect(got.cut).toBeNull();
    expect(reads).toBeGreaterThanOrEqual(2);
    whole = got.spans.length;
    expect(whole).toBe(3);
  });

  it('a budget shorter than the walk stops it after the read in progress, with the spans read so far', async () => {
    reads = 0;
    const t = Date.now();
    const got = await walkTrace(slow, TRACE_A, null, budget(BUDGET_MS));
    expect(got.cut).toBe('timeout');
    expect(Date.now() - t).toBeLessThan(BUDGET_MS + 2 * READ_MS + 2000);
    expect(got.spans.length).toBeGreaterThan(0);
    expect(got.spans.length).toBeLessThan(whole);
  });

  it('a client that has gone stops it before any read', async () => {
    reads = 0;
    const ac = new AbortController();
    ac.abort();
    const got = await walkTrace(slow, TRACE_A, null, budget(60_000, ac.signal));
    expect(got.cut).toBe('client_gone');
    expect(reads).toBe(0);
  });

  const BUDGET = /trace load stopped at the query time budget \(40 ms, --query-timeout\)/;
  const get = async (url: string): Promise<Record<string, unknown>> => {
    const t = Date.now();
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    expect(Date.now() - t).toBeLessThan(BUDGET_MS + 2 * READ_MS + 2000);
    return res.json<Record<string, unknown>>();
  };

  it('native: truncated and the warning', async () => {
    expect(await get(`/api/v1/traces/${TRACE_A}`)).toMatchObject({ truncated: true, warnings: expect.arrayContaining([expect.stringMatching(BUDGET)]) as unknown });
  });

  it('Jaeger: the trace carries the warning', async () => {
    const body = await get(`/api/traces/${TRACE_A}`);
    expect((body['data'] as { warnings: string[] }[])[0]?.warnings).toEqual(expect.arrayContaining([expect.stringMatching(BUDGET)]));
  });

  it('api_v3: partial with warnings; Tempo v2: PARTIAL; Tempo v1: warnings', async () => {
    expect(await get(`/api/v3/traces/${TRACE_A}`)).toMatchObject({ partial: true, warnings: expect.arrayContaining([expect.stringMatching(BUDGET)]) as unknown });
    expect(await get(`/tempo/api/v2/traces/${TRACE_A}`)).toMatchObject({ status: 'PARTIAL', message: expect.stringMatching(BUDGET) as unknown });
    expect(await get(`/tempo/api/traces/${TRACE_A}`)).toMatchObject({ warnings: expect.arrayContaining([expect.stringMatching(BUDGET)]) as unknown });
  });
});
