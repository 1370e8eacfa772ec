import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { skywalkingTraceIdToHex } from '../../apm/skywalking/index.js';
import { createApmTraceFetcher } from './index.js';
import type { ApmFetcherOptions } from './index.js';
import { SHARED_APM_FIXTURES } from '../../apm/testing/shared-fixtures.js';

const FIXTURES = SHARED_APM_FIXTURES;
const read = (p: string): string => readFileSync(join(FIXTURES, p), 'utf8');

const TEMPO_BODY = read('tempo/kiali-api-traces-v1-bookinfo.batches.json');
const TEMPO_TRACE_HEX = Buffer.from('O6VWCcPN5JZJzXfR+dzZNg==', 'base64').toString('hex');
const JAEGER_TRACE = JSON.parse(read('jaeger/api-traces/jaeger-ui-petclinic-testTraceNormal.trace.json')) as { traceID: string };
const JAEGER_BODY = JSON.stringify({ data: [JAEGER_TRACE], total: 0, limit: 0, offset: 0, errors: null });
const JAEGER_NOT_FOUND = JSON.stringify({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: 'trace not found' }] });
const V3_BODY = JSON.stringify({ result: JSON.parse(read('jaeger/api-v3/example_trace.TracesData.json')) });
const SW_BODY = read('skywalking/graphql-queryTrace-showcase.deepflow-extracted.json');
const SW_TRACE_ID = '110dc7aa-a5e8-47dd-80d4-a73a113c478b';
const ZIPKIN_BODY = read('zipkin/zipkin-lens-yelp.json');
const ZIPKIN_TRACE = (JSON.parse(ZIPKIN_BODY) as { traceId: string }[])[0]!.traceId;

interface Fake {
  url: string;
  requests: { method: string; path: string; body: string }[];
  server: Server;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A real HTTP server; `handle` answers each request (or never does). */
async function fakeApm(handle: (req: { method: string; path: string; body: string }, res: ServerResponse) => void): Promise<Fake> {
  const requests: Fake['requests'] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method ?? '', path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') };
      requests.push(r);
      handle(r, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

function json(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(body);
}

const OPTS: ApmFetcherOptions = { timeoutMs: 2000, cacheTtlMs: 60_000, cacheMaxEntries: 100 };

describe('APM trace fetcher against servers answering with the recorded bodies', () => {
  it('Jaeger: GET /api/traces/{id}', async () => {
    const apm = await fakeApm((r, res) => (r.path === `/api/traces/${JAEGER_TRACE.traceID}` ? json(res, 200, JAEGER_BODY) : json(res, 404, JAEGER_NOT_FOUND)));
    const f = createApmTraceFetcher([{ name: 'jaeger', url: apm.url }], OPTS);
    const r = await f.fetchTrace(JAEGER_TRACE.traceID);
    expect(r.warnings).toEqual([]);
    expect(r.spans).toHaveLength(5);
    expect(r.spans.every((s) => s.origin === 'apm-api' && s.source === 'app')).toBe(true);
    expect(apm.requests[0]).toMatchObject({ method: 'GET', path: `/api/traces/${JAEGER_TRACE.traceID}` });
  });

  it('Jaeger: trace-not-found envelope is not a warning and does not fall back', async () => {
    const apm = await fakeApm((_r, res) => json(res, 404, JAEGER_NOT_FOUND));
    const r = await createApmTraceFetcher([{ name: 'jaeger', url: apm.url }], OPTS).fetchTrace('0af7651916cd43dd8448eb211c80319c');
    expect(r).toEqual({ spans: [], warnings: [] });
    expect(apm.requests).toHaveLength(1);
  });

  it('Jaeger: falls back to api_v3 when /api/traces is gone (Jaeger HEAD)', async () => {
    const apm = await fakeApm((r, res) => (r.path.startsWith('/api/v3/traces/') ? json(res, 200, V3_BODY) : res.writeHead(404).end('404 page not found')));
    const r = await createApmTraceFetcher([{ name: 'jaeger', url: `${apm.url}/` }], OPTS).fetchTrace('83a9efd15c1c98a977e0711cc93ee28b');
    expect(r.warnings).toEqual([]);
    expect(r.spans.length).toBeGreaterThan(2);
    expect(apm.requests.map((q) => q.path)).toEqual(['/api/traces/83a9efd15c1c98a977e0711cc93ee28b', '/api/v3/traces/83a9efd15c1c98a977e0711cc93ee28b']);
  });

  it('Tempo: GET /api/traces/{id} with the gogo-jsonpb body', async () => {
    const apm = await fakeApm((r, res) => (r.path === `/api/traces/${TEMPO_TRACE_HEX}` ? json(res, 200, TEMPO_BODY) : res.writeHead(404).end('trace not found')));
    const f = createApmTraceFetcher([{ name: 'tempo', url: apm.url }], OPTS);
    const r = await f.fetchTrace(TEMPO_TRACE_HEX.toUpperCase());
    expect(r.warnings).toEqual([]);
    expect(r.spans).toHaveLength(8);
    expect((await f.fetchTrace('0af7651916cd43dd8448eb211c80319c')).spans).toEqual([]);
  });

  it('Zipkin: GET /api/v2/trace/{id}, asking for a 64-bit id in its 16-hex form', async () => {
    const apm = await fakeApm((r, res) => (r.path === `/api/v2/trace/${ZIPKIN_TRACE}` ? json(res, 200, ZIPKIN_BODY) : json(res, 404, '')));
    const r = await createApmTraceFetcher([{ name: 'zipkin', url: apm.url }], OPTS).fetchTrace(ZIPKIN_TRACE.padStart(32, '0'));
    expect(r.warnings).toEqual([]);
    expect(r.spans).toHaveLength(16);
  });

  it('SkyWalking: POST /graphql queryTrace with the original (non-hex) id as a variable', async () => {
    const apm = await fakeApm((r, res) => {
      const q = JSON.parse(r.body) as { query: string; variables: { traceId: string } };
      json(res, 200, q.variables.traceId === SW_TRACE_ID && q.query.includes('queryTrace') ? SW_BODY : '{"data":{"trace":{"spans":[]}}}');
    });
    const f = createApmTraceFetcher([{ name: 'skywalking', url: apm.url }], OPTS);
    const hex = skywalkingTraceIdToHex(SW_TRACE_ID);
    const r = await f.fetchTrace(hex, { aliases: [SW_TRACE_ID] });
    expect(r.warnings).toEqual([]);
    expect(r.spans).toHaveLength(4);
    expect(r.spans.every((s) => s.traceId === hex)).toBe(true);
    expect(apm.requests.every((q) => q.method === 'POST' && q.path === '/graphql')).toBe(true);
    const q = JSON.parse(apm.requests[0]!.body) as { query: string };
    for (const field of ['segmentId', 'parentSpanId', 'refs', 'serviceCode', 'serviceInstanceName', 'endpointName', 'isError', 'layer', 'tags']) expect(q.query).toContain(field);
    // A non-hex id given directly works for SkyWalking; the hex-only APMs say why they were skipped.
    const tempo = await fakeApm((_r, res) => json(res, 404, ''));
    const both = await createApmTraceFetcher([{ name: 'skywalking', url: apm.url }, { name: 'tempo', url: tempo.url }], OPTS).fetchTrace(SW_TRACE_ID.replace(/-/g, '.') + 'x');
    expect(both.warnings).toHaveLength(1);
    expect(both.warnings[0]).toMatch(/^tempo \(http:\/\/127\.0\.0\.1:\d+\): trace id .* is not a hex id$/);
    expect(tempo.requests).toHaveLength(0);
  });
});

describe('APM trouble never fails the trace', () => {
  it('a server that never answers costs one timeout and a warning; the other APMs still count', async () => {
    const silent = await fakeApm(() => undefined);
    const jaeger = await fakeApm((_r, res) => json(res, 200, JAEGER_BODY));
    const f = createApmTraceFetcher(
      [
        { name: 'tempo', url: silent.url },
        { name: 'jaeger', url: jaeger.url },
      ],
      { ...OPTS, timeoutMs: 150 },
    );
    const started = performance.now();
    const r = await f.fetchTrace(JAEGER_TRACE.traceID);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(r.spans).toHaveLength(5);
    expect(r.warnings).toEqual([`tempo (${silent.url}): no answer within 150 ms`]);
  });

  it('500s, malformed JSON, wrong shapes and refused connections become warnings naming the APM', async () => {
    const s500 = await fakeApm((_r, res) => res.writeHead(500).end('internal error'));
    const garbage = await fakeApm((_r, res) => json(res, 200, '{"batches": [ {"resource":'));
    const shape = await fakeApm((_r, res) => json(res, 200, '{"hello": "world"}'));
    const gone = await fakeApm(() => undefined);
    const goneUrl = gone.url;
    await new Promise((r) => gone.server.close(r));
    const r = await createApmTraceFetcher(
      [
        { name: 'jaeger', url: s500.url },
        { name: 'tempo', url: garbage.url },
        { name: 'zipkin', url: shape.url },
        { name: 'skywalking', url: goneUrl },
      ],
      OPTS,
    ).fetchTrace('0af7651916cd43dd8448eb211c80319c');
    expect(r.spans).toEqual([]);
    expect(r.warnings).toHaveLength(4);
    expect(r.warnings[0]).toBe(`jaeger (${s500.url}): HTTP 500 (internal error)`);
    expect(r.warnings[1]).toMatch(/^tempo .*: malformed response: invalid JSON/);
    expect(r.warnings[2]).toMatch(/^zipkin .*: malformed response: Zipkin body is not a JSON array/);
    expect(r.warnings[3]).toMatch(/^skywalking .*: fetch failed: ECONNREFUSED/);
  });
});

describe('cache and parallelism', () => {
  it('reuses a found trace until its TTL ends, and shares one call between concurrent requests', async () => {
    let clock = 1_000;
    const apm = await fakeApm((_r, res) => json(res, 200, ZIPKIN_BODY));
    const f = createApmTraceFetcher([{ name: 'zipkin', url: apm.url }], { ...OPTS, cacheTtlMs: 10_000, now: () => clock });
    const [a, b] = await Promise.all([f.fetchTrace(ZIPKIN_TRACE), f.fetchTrace(ZIPKIN_TRACE)]);
    expect(apm.requests).toHaveLength(1);
    expect(a.spans).toHaveLength(16);
    // Callers get their own copies: changing one does not change the cache.
    a.spans[0]!.name = 'changed';
    clock += 9_999;
    const c = await f.fetchTrace(ZIPKIN_TRACE);
    expect(apm.requests).toHaveLength(1);
    expect(c.spans[0]!.name).not.toBe('changed');
    expect(b.spans[0]!.name).not.toBe('changed');
    clock += 2;
    await f.fetchTrace(ZIPKIN_TRACE);
    expect(apm.requests).toHaveLength(2);
  });

  it('remembers failures and not-found only briefly, and evicts the least recently used entry', async () => {
    let clock = 0;
    const apm = await fakeApm((_r, res) => res.writeHead(503).end());
    const f = createApmTraceFetcher([{ name: 'tempo', url: apm.url }], { ...OPTS, cacheTtlMs: 60_000, negativeCacheTtlMs: 1_000, cacheMaxEntries: 2, now: () => clock });
    const id = (n: number): string => n.toString(16).padStart(32, '0');
    const first = await f.fetchTrace(id(1));
    const again = await f.fetchTrace(id(1));
    expect(apm.requests).toHaveLength(1);
    expect(first.warnings[0]).toMatch(/HTTP 503$/);
    expect(again.warnings[0]).toMatch(/HTTP 503 \(remembered\)$/);
    clock += 1_001;
    await f.fetchTrace(id(1));
    expect(apm.requests).toHaveLength(2);
    await f.fetchTrace(id(2));
    await f.fetchTrace(id(3)); // evicts id(1)
    await f.fetchTrace(id(1));
    expect(apm.requests).toHaveLength(5);
  });

  it('calls every APM in parallel', async () => {
    const pending: ServerResponse[] = [];
    let arrived = 0;
    let release!: () => void;
    const allArrived = new Promise<void>((r) => (release = r));
    const handler = (_r: unknown, res: ServerResponse): void => {
      pending.push(res);
      if (++arrived === 3) release();
    };
    const a = await fakeApm(handler);
    const b = await fakeApm(handler);
    const c = await fakeApm(handler);
    const f = createApmTraceFetcher(
      [
        { name: 'tempo', url: a.url },
        { name: 'tempo', url: b.url },
        { name: 'tempo', url: c.url },
      ],
      OPTS,
    );
    const result = f.fetchTrace(TEMPO_TRACE_HEX);
    // All three requests are open at once before any is answered: no APM waits for another.
    await allArrived;
    for (const res of pending) json(res, 200, TEMPO_BODY);
    const r = await result;
    expect(r.warnings).toEqual([]);
    // The same spans from three APMs are merged once.
    expect(r.spans).toHaveLength(8);
  });
});
