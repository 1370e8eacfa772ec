/**
 * @module Every query endpoint through fastify.inject() against the fixed span set in the
 * memory store, compared with golden JSON (UPDATE_GOLDEN=1 rewrites snapshots/), plus shape
 * checks against recorded Jaeger and Tempo responses and the contract's must-haves.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPAN_RECORD_FIELDS } from '../../model/index.js';
import { exportRequestType } from '../../apm/otlp/index.js';
import { createMemoryStore } from '../store/index.js';
import type { Store } from '../store/index.js';
import { queryApi } from './index.js';
import { fakeAssemble, fixtureSpans, SPAN_A_CLIENT, T0_NANO, TRACE_A, TRACE_B } from './testing/query-fixture.js';

const SNAPSHOTS = new URL('./snapshots/', import.meta.url);
/** Recorded Jaeger and Tempo answers (see testdata/README.md). */
const FIXTURES = new URL('./testdata/', import.meta.url).pathname;
const UPDATE = process.env.UPDATE_GOLDEN === '1';
/** The clock the tests run at: one hour after the fixture's first span. */
const NOW_MS = Number(T0_NANO / 1_000_000n) + 3_600_000;
const T0_US = (T0_NANO / 1000n).toString();
const T0_S = (T0_NANO / 1_000_000_000n).toString();

let store: Store;
let app: FastifyInstance;

beforeAll(async () => {
  store = createMemoryStore();
  await store.write(fixtureSpans());
  app = Fastify();
  await app.register(queryApi, { reader: store, assemble: fakeAssemble, nowMs: () => NOW_MS });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await store.close();
});

interface Answer {
  status: number;
  contentType: string;
  body: unknown;
}

async function call(url: string, init: { method?: 'GET' | 'POST'; payload?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await app.inject({ method: init.method ?? 'GET', url, ...(init.payload !== undefined ? { payload: init.payload as object } : {}), ...(init.headers ? { headers: init.headers } : {}) });
  const contentType = String(res.headers['content-type'] ?? '');
  return { status: res.statusCode, contentType: contentType.split(';')[0] ?? '', body: contentType.includes('json') ? res.json() : res.body };
}

/** Golden cases: name → request. Each answer is snapshotted whole (status, type, body). */
const GOLDEN: [string, string, { method?: 'GET' | 'POST'; payload?: unknown }?][] = [
  ['v1-trace-a', `/api/v1/traces/${TRACE_A}`],
  ['v1-trace-b', `/api/v1/traces/${encodeURIComponent(TRACE_B)}`],
  ['v1-trace-unknown', '/api/v1/traces/0123456789abcdef0123456789abcdef'],
  ['v1-spans-sys', '/api/v1/spans?source=sys'],
  ['v1-spans-filtered', `/api/v1/spans?service=cart&protocol=redis&start=${T0_NANO}&end=2026-11-24T10:00:01Z&minDuration=1ms&limit=5`],
  ['v1-spans-truncated', '/api/v1/spans?limit=2'],
  ['v1-spans-tag', '/api/v1/spans?tag=http.status_code:200&tag=weft.observation_point:c&kind=client'],
  ['v1-spans-bad-limit', '/api/v1/spans?limit=-3'],
  ['jaeger-services', '/api/services'],
  ['jaeger-service-operations', '/api/services/cart/operations'],
  ['jaeger-operations', '/api/operations?service=frontend&spanKind=server'],
  ['jaeger-trace-a', `/api/traces/${TRACE_A}`],
  ['jaeger-trace-b', `/api/traces/${encodeURIComponent(TRACE_B)}`],
  ['jaeger-trace-unknown', '/api/traces/0123456789abcdef0123456789abcdef'],
  ['jaeger-search-service', `/api/traces?service=billing&start=${T0_US}&end=${BigInt(T0_US) + 10_000_000n}&limit=20`],
  ['jaeger-search-tags', '/api/traces?service=cart&tags=%7B%22error%22%3A%22true%22%7D&lookback=2h'],
  ['jaeger-search-lookback-excludes', '/api/traces?service=cart&lookback=1m'],
  ['jaeger-multi-get', `/api/traces?traceID=${TRACE_A}&traceID=0123456789abcdef0123456789abcdef`],
  ['jaeger-search-tag-weft', '/api/traces?tag=weft.observation_point:s-p&tag=weft.source:sys'],
  ['jaeger-search-bad-duration', '/api/traces?service=cart&minDuration=fast'],
  ['v3-trace-a', `/api/v3/traces/${TRACE_A}`],
  ['v3-trace-unknown', '/api/v3/traces/0123456789abcdef0123456789abcdef'],
  ['v3-search', '/api/v3/traces?query.service_name=ledger&query.start_time_min=2026-11-24T09:00:00Z&query.start_time_max=2026-11-24T11:00:00Z&query.duration_min=10ms'],
  ['v3-search-camel', '/api/v3/traces?query.serviceName=cart&query.attributes=%7B%22http.route%22%3A%22%2Fapi%2Fcart%22%7D'],
  ['v3-search-post', '/api/v3/traces', { method: 'POST', payload: { query: { service_name: 'billing', search_depth: 5 } } }],
  ['v3-search-none', '/api/v3/traces?query.service_name=nobody'],
  ['v3-search-bad-time', '/api/v3/traces?query.start_time_min=yesterday'],
  ['v3-services', '/api/v3/services'],
  ['v3-operations', '/api/v3/operations?service=cart&span_kind=client'],
  ['tempo-trace-a', `/tempo/api/traces/${TRACE_A}`],
  ['tempo-v2-trace-b', `/tempo/api/v2/traces/${encodeURIComponent(TRACE_B)}`],
  ['tempo-trace-unknown', '/tempo/api/traces/0123456789abcdef0123456789abcdef'],
  ['tempo-search-traceql', `/tempo/api/search?q=${encodeURIComponent('{ resource.service.name = "cart" && status = error }')}&start=${T0_S}&end=${BigInt(T0_S) + 60n}`],
  ['tempo-search-traceql-duration', `/tempo/api/search?q=${encodeURIComponent('{ span:duration > 40ms && .http.route = "/checkout" }')}`],
  ['tempo-search-logfmt', `/tempo/api/search?tags=${encodeURIComponent('service.name=billing http.status_code=201')}&limit=5&spss=1`],
  ['tempo-search-unsupported', `/tempo/api/search?q=${encodeURIComponent('{ name = "a" || name = "b" }')}`],
  ['tempo-search-tags', '/tempo/api/search/tags'],
  ['tempo-search-tags-intrinsic', '/tempo/api/search/tags?scope=intrinsic'],
  ['tempo-v2-search-tags', '/tempo/api/v2/search/tags'],
  ['tempo-tag-values-service', '/tempo/api/search/tag/service.name/values'],
  ['tempo-tag-values-attr', '/tempo/api/search/tag/http.route/values'],
  ['tempo-v2-tag-values', '/tempo/api/v2/search/tag/span.http.request.method/values'],
  ['tempo-echo', '/tempo/api/echo'],
  ['tempo-buildinfo', '/tempo/api/status/buildinfo'],
  ['tempo-ready', '/tempo/ready'],
];

describe('golden responses', () => {
  if (UPDATE) mkdirSync(SNAPSHOTS, { recursive: true });
  for (const [name, url, init] of GOLDEN) {
    it(`${name}: ${init?.method ?? 'GET'} ${url.slice(0, 100)}`, async () => {
      const answer = await call(url, init);
      const file = new URL(`${name}.json`, SNAPSHOTS);
      if (UPDATE || !existsSync(file)) {
        if (!UPDATE) throw new Error(`no golden ${name}.json; run with UPDATE_GOLDEN=1 and review the diff`);
        writeFileSync(file, JSON.stringify(answer, null, 1) + '\n');
      }
      expect(answer).toEqual(JSON.parse(readFileSync(file, 'utf8')));
      // Nothing answers 5xx on the fixed set, and every error says why.
      expect(answer.status).toBeLessThan(500);
    });
  }
});

function readFixture(path: string): unknown {
  return JSON.parse(readFileSync(`${FIXTURES}${path}`, 'utf8'));
}

function jsonType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/**
 * Every key of `theirs` is in `ours` with the same JSON type, recursively (arrays compare
 * their first elements). `nullable` keys may be null on either side.
 */
function expectSameShape(ours: unknown, theirs: unknown, path = '$', nullable: readonly string[] = []): void {
  const key = path.split('.').pop() ?? '';
  if (nullable.includes(key) && (ours === null || theirs === null)) return;
  expect(jsonType(ours), path).toBe(jsonType(theirs));
  if (Array.isArray(theirs) && Array.isArray(ours) && theirs.length > 0 && ours.length > 0) {
    expectSameShape(ours[0], theirs[0], `${path}[0]`, nullable);
  } else if (jsonType(theirs) === 'object') {
    const o = ours as Record<string, unknown>;
    for (const [k, v] of Object.entries(theirs as Record<string, unknown>)) {
      expect(Object.keys(o), `${path} lacks ${k}`).toContain(k);
      expectSameShape(o[k], v, `${path}.${k}`, nullable);
    }
  }
}

describe('shapes match recorded Jaeger and Tempo responses', () => {
  it('Jaeger /api/traces/{id} has the envelope, trace, span, reference, tag, log and process keys', async () => {
    const ours = (await call(`/api/traces/${TRACE_A}`)).body as { data: { spans: { references: unknown[]; logs: unknown[]; tags: unknown[] }[] }[] };
    const theirs = readFixture('jaeger/jaeger-transform-otlp2jaeger-out.json') as { data: { spans: Record<string, unknown>[] }[] };
    const withRefs = ours.data[0]?.spans.find((s) => s.references.length > 0 && s.logs.length === 0);
    expectSameShape({ ...ours, data: [{ ...ours.data[0], spans: [withRefs] }] }, theirs, '$', ['warnings', 'errors']);
    const uiModel = readFixture('jaeger/jaeger-uimodel-ui_01.trace.json') as { spans: Record<string, unknown>[] };
    const withLogs = ours.data[0]?.spans.find((s) => s.logs.length > 0);
    expectSameShape(withLogs, { ...uiModel.spans[0], tags: [{ key: 'k', type: 'string', value: 'v' }] }, '$.span', ['warnings']);
    const petclinic = readFixture('jaeger/jaeger-ui-petclinic-testTraceNormal.trace.json') as { spans: Record<string, unknown>[] };
    expect(Object.keys(withLogs ?? {})).toContain('flags');
    expect(typeof (withLogs as Record<string, unknown>).flags).toBe(typeof petclinic.spans[0]?.flags);
  });

  it('api_v3 GetTrace/GetServices/GetOperations have the recorded keys and integer enums', async () => {
    const trace = (await call(`/api/v3/traces/${TRACE_A}`)).body;
    expectSameShape(trace, readFixture('jaeger/api-v3/GetTrace.json'));
    expectSameShape((await call('/api/v3/services')).body, readFixture('jaeger/api-v3/GetServices.json'));
    expectSameShape((await call('/api/v3/operations?service=frontend')).body, readFixture('jaeger/api-v3/GetOperations.json'));
    const example = readFixture('jaeger/api-v3/example_trace.TracesData.json') as { resourceSpans: unknown[] };
    const ours = (trace as { result: { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] } }).result;
    const child = ours.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).find((s) => s.parentSpanId !== undefined);
    const theirSpans = (example.resourceSpans as { scopeSpans: { spans: Record<string, unknown>[] }[] }[]).flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    const theirKind = theirSpans.find((s) => s.kind !== undefined);
    for (const k of ['traceId', 'spanId', 'name', 'startTimeUnixNano', 'endTimeUnixNano', 'events', 'status']) {
      expect(jsonType(child?.[k]), k).toBe(jsonType(theirKind?.[k]));
    }
    expect(typeof child?.kind).toBe(typeof theirKind?.kind);
    expect(child?.parentSpanId).toMatch(/^[0-9a-f]{16}$/);
    expect(child?.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('Tempo /api/traces/{id} batches match a recorded Tempo answer (base64 ids, enum names)', async () => {
    const ours = (await call(`/tempo/api/traces/${TRACE_A}`)).body as { batches: { resource: unknown; scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
    const theirs = readFixture('tempo/kiali-api-traces-v1-bookinfo.batches.json') as { batches: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
    const span = ours.batches[0]?.scopeSpans[0]?.spans[0];
    const theirSpan = theirs.batches[0]?.scopeSpans[0]?.spans[0];
    expectSameShape(span, theirSpan);
    expect(Buffer.from(String(span?.traceId), 'base64').toString('hex')).toBe(TRACE_A);
    expect(String(span?.kind)).toMatch(/^SPAN_KIND_/);
    expectSameShape({ batches: [ours.batches[0]] }, { batches: [{ resource: (theirs.batches[0] as unknown as { resource: unknown }).resource }] });
  });

  it('Tempo /api/search matches a recorded Tempo search answer', async () => {
    const ours = (await call('/tempo/api/search?tags=service.name%3Dcart')).body as { traces: unknown[] };
    const theirs = readFixture('tempo/kiali-api-search-bookinfo.json') as { traces: unknown[] };
    expect(ours.traces.length).toBeGreaterThan(0);
    expectSameShape({ traces: ours.traces }, { traces: theirs.traces });
  });
});

describe('contract', () => {
  it('/api/v1/traces/{id} renders every SpanRecord field and the assembly, full-stack', async () => {
    const body = (await call(`/api/v1/traces/${TRACE_A}`)).body as { traceId: string; spans: Record<string, unknown>[]; services: string[] };
    expect(body.traceId).toBe(TRACE_A);
    expect(body.spans).toHaveLength(7);
    for (const s of body.spans) for (const f of SPAN_RECORD_FIELDS) expect(Object.keys(s), f).toContain(f);
    const ids = new Set(body.spans.map((s) => s.id));
    expect(ids.size).toBe(body.spans.length);
    const roots = body.spans.filter((s) => s.parentId === null);
    expect(roots).toHaveLength(1);
    expect(roots[0]?.linkReason).toBeNull();
    const net = body.spans.find((s) => s.source === 'net');
    expect(net?.linkReason).toBe('tcp_seq');
    expect(body.spans.find((s) => s.id === net?.parentId)?.observationPoint).toBe('c-p');
    expect(typeof body.spans[0]?.startTimeUnixNano).toBe('string');
    expect(body.services).toEqual(['cart', 'frontend', 'node']);
  });

  it('a span id opens the trace it belongs to', async () => {
    const res = await call(`/api/v1/traces/${SPAN_A_CLIENT}`);
    expect(res.status).toBe(200);
    expect((res.body as { traceId: string }).traceId).toBe(TRACE_A);
  });

  it('upper-case and base64 ids are normalised', async () => {
    expect((await call(`/api/v1/traces/${TRACE_A.toUpperCase()}`)).status).toBe(200);
    const b64 = encodeURIComponent(Buffer.from(TRACE_A, 'hex').toString('base64'));
    const res = await call(`/api/traces/${b64}`);
    expect(res.status).toBe(200);
    expect((res.body as { data: { traceID: string }[] }).data[0]?.traceID).toBe(TRACE_A);
  });

  it('Jaeger: SYS/NET spans reference their assembled parent, and weft tags are there', async () => {
    const body = (await call(`/api/traces/${TRACE_A}`)).body as { data: { spans: { spanID: string; references: { spanID: string }[]; tags: { key: string; value: unknown }[] }[] }[] };
    const spans = body.data[0]?.spans ?? [];
    const tag = (s: (typeof spans)[number], k: string): unknown => s.tags.find((t) => t.key === k)?.value;
    const net = spans.find((s) => tag(s, 'weft.source') === 'net');
    const parent = spans.find((s) => s.spanID === net?.references[0]?.spanID);
    expect(tag(net!, 'weft.link_reason')).toBe('tcp_seq');
    expect(tag(parent!, 'weft.observation_point')).toBe('c-p');
    expect(tag(parent!, 'weft.protocol')).toBe('http');
    for (const s of spans) expect(s.spanID).toMatch(/^[0-9a-f]{16}$/);
  });

  it('Tempo answers protobuf when asked, decodable as OTLP TracesData', async () => {
    const res = await app.inject({ url: `/tempo/api/traces/${TRACE_A}`, headers: { accept: 'application/protobuf' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/protobuf');
    const decoded = exportRequestType().toObject(exportRequestType().decode(res.rawPayload), { longs: String, bytes: String }) as { resourceSpans: { scopeSpans: { spans: { startTimeUnixNano: string; traceId: string }[] }[] }[] };
    const spans = decoded.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    expect(spans).toHaveLength(7);
    expect(spans.map((s) => BigInt(s.startTimeUnixNano)).sort()[0]).toBe(T0_NANO);
    expect(Buffer.from(spans[0]?.traceId ?? '', 'base64').toString('hex')).toBe(TRACE_A);
    const v2 = await app.inject({ url: `/tempo/api/v2/traces/${TRACE_A}`, headers: { accept: 'application/protobuf' } });
    // TraceByIDResponse.trace (field 1) holds the same Trace message.
    expect(v2.rawPayload[0]).toBe(0x0a);
  });

  it('parameter errors name the parameter and the value', async () => {
    const res = await call('/api/v1/spans?source=disk');
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain("parameter 'source'");
    expect(JSON.stringify(res.body)).toContain('disk');
  });

  it('an untraced span never appears in a trace but is found by search', async () => {
    const res = (await call('/api/v1/spans?protocol=dns')).body as { spans: { traceId: string; parentId: null }[] };
    expect(res.spans).toHaveLength(1);
    expect(res.spans[0]?.traceId).toBe('');
    expect((await call('/api/v1/traces/')).status).toBe(404);
  });
});
