/**
 * The web UI's trace format end to end: the server's columns (src/server/query/trace-columns.ts)
 * decoded by the browser's table (src/ui/app/trace/span-table.ts) give back every span of the
 * span-per-object answer, field for field: for recorded real demo traces through the real
 * assembly and query API (gzipped when asked), and for random spans (fast-check), hostile
 * strings, nulls among objects and times past 2^53 included. Lives outside src/ because it
 * joins a server module and a browser module, which the layer rules keep apart.
 */
import { gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiSpan, ApiTrace } from '../../src/server/query/index.js';
import { emptySpan } from '../../src/model/index.js';
import { queryApi } from '../../src/server/query/index.js';
import { toTraceColumns } from '../../src/server/query/trace-columns.js';
import type { TraceColumns } from '../../src/server/query/trace-columns.js';
import { createMemoryStore } from '../../src/server/store/index.js';
import { assemble } from '../../src/server/tracing/assemble.js';
import { apiSpan, apiTrace } from '../../src/ui/app/trace/trace-fixture.js';
import { tableFromColumns } from '../../src/ui/app/trace/span-table.js';
import { buildTraceModel, buildTraceModelFromColumns } from '../../src/ui/app/trace/trace-model.js';
import { DEMO_TRACE_IDS, demoSpans } from '../fixtures/recorded-spans.js';

let app: FastifyInstance;

beforeAll(async () => {
  const store = createMemoryStore();
  await store.write(demoSpans());
  app = Fastify();
  await app.register(queryApi, { reader: store, assemble: (spans, traceId) => assemble(spans, { traceId }) });
  await app.ready();
});
afterAll(() => app.close());

/** Every span back from the columns, as the span-per-object answer has it. */
function decodeAll(c: TraceColumns): ApiSpan[] {
  const table = tableFromColumns(c);
  return Array.from({ length: table.count }, (_, i) => table.span(i));
}

/** JSON round trip: what the browser receives. */
const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('trace columns', () => {
  it('recorded demo traces: /columns decodes to exactly the spans of /api/v1/traces/{id}, also gzipped', async () => {
    for (const id of DEMO_TRACE_IDS) {
      const full = await app.inject({ method: 'GET', url: `/api/v1/traces/${id}` });
      expect(full.statusCode).toBe(200);
      const trace = full.json<ApiTrace & { truncated: boolean }>();
      const res = await app.inject({ method: 'GET', url: `/api/v1/traces/${id}/columns`, headers: { 'accept-encoding': 'gzip, br' } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('application/json');
      const body = res.headers['content-encoding'] === 'gzip' ? gunzipSync(res.rawPayload).toString('utf8') : res.body;
      const cols = JSON.parse(body) as TraceColumns;
      expect(cols.format).toBe('weft-columns/2');
      expect(cols.count).toBe(trace.spans.length);
      expect(cols.truncated).toBe(false);
      expect(cols.warnings).toEqual(trace.warnings);
      expect(decodeAll(cols)).toEqual(trace.spans);
      // The parent index names the same parent as parentId.
      cols.parent.forEach((p, i) => expect(p === -1 ? null : trace.spans[p]?.id).toBe(trace.spans[i]?.parentId));
      // The model the trace view draws from is the same either way.
      const a = buildTraceModelFromColumns(cols);
      const b = buildTraceModel(trace);
      expect(Array.from(a.start)).toEqual(Array.from(b.start));
      expect(Array.from(a.end)).toEqual(Array.from(b.end));
      expect(Array.from(a.parent)).toEqual(Array.from(b.parent));
      expect(a.roots).toEqual(b.roots);
      expect(Array.from(a.source)).toEqual(Array.from(b.source));
      expect(Array.from(a.error)).toEqual(Array.from(b.error));
      expect(a.startUnixNano).toBe(b.startUnixNano);
    }
  });

  it('columns are several times smaller than the span-per-object answer; gzip only when accepted', async () => {
    const id = DEMO_TRACE_IDS[0];
    const full = await app.inject({ method: 'GET', url: `/api/v1/traces/${id}` });
    const plain = await app.inject({ method: 'GET', url: `/api/v1/traces/${id}/columns` });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.length).toBeLessThan(full.body.length / 2);
    expect(plain.headers.vary).toContain('accept-encoding');
    expect(plain.headers['server-timing']).toMatch(/^load;dur=\d+(\.\d)?, encode;dur=\d+(\.\d)?$/);
  });

  it('a large answer is gzipped for a remote client that accepts it, never for one on loopback', async () => {
    const big = Fastify();
    const store = createMemoryStore();
    const id = 'c2000000000000000000000000000c2a';
    const t0 = 1_790_000_000_000_000_000n;
    await store.write(
      Array.from({ length: 3000 }, (_, i) => ({
        ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: 'c-app' }),
        traceId: id,
        spanId: (0x100000 + i).toString(16).padStart(16, '0'),
        parentSpanId: i === 0 ? '' : (0x100000).toString(16).padStart(16, '0'),
        name: `op ${i % 7}`,
        service: `svc-${i % 5}`,
        startTimeUnixNano: t0 + BigInt(i) * 1000n,
        endTimeUnixNano: t0 + BigInt(i) * 1000n + 500n,
      })),
    );
    await big.register(queryApi, { reader: store, assemble: (spans, traceId) => assemble(spans, { traceId }) });
    try {
      const remote = await big.inject({ method: 'GET', url: `/api/v1/traces/${id}/columns`, headers: { 'accept-encoding': 'gzip' }, remoteAddress: '10.1.2.3' });
      expect(remote.headers['content-encoding']).toBe('gzip');
      expect(remote.headers['server-timing']).toMatch(/gzip;dur=/);
      const cols = JSON.parse(gunzipSync(remote.rawPayload).toString('utf8')) as TraceColumns;
      expect(cols.count).toBe(3000);
      expect(remote.rawPayload.length).toBeLessThan(JSON.stringify(cols).length / 4);
      const local = await big.inject({ method: 'GET', url: `/api/v1/traces/${id}/columns`, headers: { 'accept-encoding': 'gzip' }, remoteAddress: '127.0.0.1' });
      expect(local.headers['content-encoding']).toBeUndefined();
      expect(local.json<TraceColumns>()).toEqual(cols);
      const refused = await big.inject({ method: 'GET', url: `/api/v1/traces/${id}/columns`, headers: { 'accept-encoding': 'gzip;q=0, identity' }, remoteAddress: '10.1.2.3' });
      expect(refused.headers['content-encoding']).toBeUndefined();
    } finally {
      await big.close();
    }
  });

  it('unknown ids answer 404 in the query API envelope; span ids and SkyWalking ids work as on /api/v1/traces', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/traces/00000000000000000000000000000bad/columns' });
    expect(res.statusCode).toBe(404);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('TRC_QUERY_TRACE_NOT_FOUND');
    const spanId = demoSpans().find((s) => s.traceId === DEMO_TRACE_IDS[1] && s.spanId !== '')?.spanId as string;
    const bySpan = await app.inject({ method: 'GET', url: `/api/v1/traces/${spanId}/columns` });
    expect(bySpan.statusCode).toBe(200);
    expect(bySpan.json<TraceColumns>().traceId).toBe(DEMO_TRACE_IDS[1]);
  });

  it('any spans survive the round trip (property)', () => {
    const hostile = fc.constantFrom('', '<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>', '\u0000\u2028"\\', 'svc');
    const text = fc.oneof(hostile, fc.string({ maxLength: 12 }));
    const attrs = fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean()), { maxKeys: 3 });
    const spanArb = fc.record({
      startMs: fc.double({ min: 0, max: 5000, noNaN: true }),
      lenMs: fc.double({ min: 0, max: 100, noNaN: true }),
      parent: fc.nat(),
      name: text,
      service: text,
      source: fc.constantFrom('app', 'sys', 'net'),
      reqTcpSeq: fc.nat(),
      responseCode: fc.option(fc.integer({ min: 100, max: 599 }), { nil: null }),
      linkReason: fc.option(fc.constantFrom('span_id', 'tcp_seq', 'syscall'), { nil: null }),
      attributes: attrs,
      hop: fc.option(fc.record({ requestNano: fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }).map(String), responseNano: fc.constant('7') }), { nil: null }),
      clock: fc.bigInt({ min: -(2n ** 60n), max: 2n ** 60n }).map(String),
    });
    fc.assert(
      fc.property(fc.array(spanArb, { minLength: 1, maxLength: 40 }), fc.boolean(), (rows, farEnd) => {
        const spans = rows.map((r, i) =>
          apiSpan(`n${i}`, i === 0 ? null : `n${r.parent % i}`, r.startMs, r.startMs + r.lenMs, {
            name: r.name,
            service: r.service,
            source: r.source,
            reqTcpSeq: r.reqTcpSeq,
            responseCode: r.responseCode,
            linkReason: i === 0 ? null : r.linkReason,
            attributes: r.attributes,
            hop: r.hop,
            clockOffsetNano: r.clock,
          } as Partial<ApiSpan>),
        );
        // A span ending centuries later: offsets past 2^53 ns must fall back, not round.
        if (farEnd) (spans[spans.length - 1] as ApiSpan).endTimeUnixNano = '9' + (spans[0] as ApiSpan).endTimeUnixNano;
        const trace = apiTrace(spans, ['a <b>warning</b>']);
        expect(decodeAll(wire(toTraceColumns(wire(trace), false)))).toEqual(wire(trace).spans);
      }),
      { numRuns: 150 },
    );
  });
});
