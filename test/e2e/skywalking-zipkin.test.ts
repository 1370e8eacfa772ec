/**
 * @module The real SkyWalking Node agent (gRPC) and a SkyWalking segment posted as JSON to
 * /v3/segments, and the real `zipkin` JS tracer: their traces come back from /api/v1/traces with
 * parents by span id, the callee's entry span under the caller's exit span.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited } from './cli-process.js';
import { eventually, getJson, startTestWeft } from './weft-harness.js';
import type { TestWeft, V1Trace } from './weft-harness.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SERVICE = 'weft-e2e-sw';

interface SpanSearch {
  spans: { traceId: string; service: string }[];
}

describe('SkyWalking and Zipkin', () => {
  let weft: TestWeft;
  beforeAll(async () => {
    weft = await startTestWeft();
  });
  afterAll(async () => weft?.close());

  it('joins the two segments of the real SkyWalking agent through the ref', async () => {
    const child = spawn(process.execPath, [join(HERE, 'testdata', 'skywalking-pair.cjs')], {
      env: { ...process.env, SW_AGENT_COLLECTOR_BACKEND_SERVICES: weft.urls.skywalkingGrpc, SW_AGENT_NAME: SERVICE, SW_AGENT_LOGGING_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const trace = await eventually(
        async () => {
          const found = await getJson<SpanSearch>(`${weft.urls.query}/api/v1/spans?service=${SERVICE}&limit=100`);
          const traceId = found.body?.spans[0]?.traceId;
          if (!traceId) return null;
          const t = (await getJson<V1Trace>(`${weft.urls.query}/api/v1/traces/${encodeURIComponent(traceId)}`)).body;
          // Both segments reported: caller entry + exit, callee entry.
          return t.spans.length >= 3 ? t : null;
        },
        20_000,
        'both SkyWalking segments',
      );
      const byId = new Map(trace.spans.map((s) => [s.id, s]));
      const calleeEntry = trace.spans.find((s) => s.observationPoint === 's-app' && s.name.includes('/callee'));
      expect(calleeEntry, JSON.stringify(trace.spans.map((s) => [s.name, s.observationPoint]))).toBeDefined();
      const parent = calleeEntry?.parentId ? byId.get(calleeEntry.parentId) : undefined;
      expect(parent?.observationPoint).toBe('c-app');
      expect(calleeEntry?.linkReason).toBe('span_id');
      expect(calleeEntry?.parentSpanId).toBe(parent?.spanId);
      // The caller's exit span hangs under the caller's entry span; one root.
      expect(trace.spans.filter((s) => s.parentId === null)).toHaveLength(1);
    } finally {
      child.kill('SIGKILL');
      await exited(child);
    }
  });

  it('accepts a segment posted as JSON to /v3/segments', async () => {
    const traceId = 'e2e.sw.json.trace.1';
    const segment = (segmentId: string, spans: unknown[], service: string) => ({
      traceId,
      traceSegmentId: segmentId,
      service,
      serviceInstance: `${service}-1`,
      spans,
    });
    const t0 = 1_700_000_000_000;
    const body = [
      segment('seg-front', [
        { spanId: 0, parentSpanId: -1, startTime: t0, endTime: t0 + 50, operationName: '/front', spanType: 'Entry', spanLayer: 'Http', componentId: 49, isError: false, tags: [{ key: 'http.method', value: 'GET' }] },
        { spanId: 1, parentSpanId: 0, startTime: t0 + 5, endTime: t0 + 45, operationName: '/back', spanType: 'Exit', spanLayer: 'Http', peer: 'back:80', componentId: 2, isError: false },
      ], 'sw-json-front'),
      segment('seg-back', [
        {
          spanId: 0, parentSpanId: -1, startTime: t0 + 10, endTime: t0 + 40, operationName: '/back', spanType: 'Entry', spanLayer: 'Http', componentId: 49, isError: false,
          refs: [{ refType: 'CrossProcess', traceId, parentTraceSegmentId: 'seg-front', parentSpanId: 1, parentService: 'sw-json-front', parentServiceInstance: 'sw-json-front-1', parentEndpoint: '/front', networkAddressUsedAtPeer: 'back:80' }],
        },
      ], 'sw-json-back'),
    ];
    const res = await fetch(`${weft.urls.skywalkingHttp}/v3/segments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    // SkyWalking trace ids are not hex; Weft maps them to a 32-hex id, found here by search.
    const found = await getJson<SpanSearch>(`${weft.urls.query}/api/v1/spans?service=sw-json-back&limit=10`);
    const hexTraceId = found.body.spans[0]?.traceId ?? '';
    expect(hexTraceId).toMatch(/^[0-9a-f]{32}$/);
    const { body: trace } = await getJson<V1Trace>(`${weft.urls.query}/api/v1/traces/${hexTraceId}`);
    const bySpanId = new Map(trace.spans.map((s) => [s.spanId, s]));
    expect([...bySpanId.keys()].sort()).toEqual(['seg-back-0', 'seg-front-0', 'seg-front-1']);
    const backEntry = bySpanId.get('seg-back-0');
    expect(backEntry?.parentId).toBe(bySpanId.get('seg-front-1')?.id);
    expect(backEntry?.linkReason).toBe('span_id');
    expect(bySpanId.get('seg-front-1')?.parentId).toBe(bySpanId.get('seg-front-0')?.id);
  });

  it('keeps the parents of spans from the real zipkin JS tracer', async () => {
    const zipkin = await import('zipkin');
    const { HttpLogger } = await import('zipkin-transport-http');
    const { Tracer, BatchRecorder, ExplicitContext, Annotation, jsonEncoder } = zipkin;
    const logger = new HttpLogger({ endpoint: `${weft.urls.zipkin}/api/v2/spans`, jsonEncoder: jsonEncoder.JSON_V2, httpInterval: 60_000 });
    const tracer = new Tracer({ ctxImpl: new ExplicitContext(), recorder: new BatchRecorder({ logger }), localServiceName: 'zipkin-e2e', traceId128Bit: true });
    const root = tracer.createRootId();
    tracer.setId(root);
    tracer.recordServiceName('zipkin-e2e');
    tracer.recordRpc('GET /zipkin-root');
    tracer.recordAnnotation(new Annotation.ServerRecv());
    const child = tracer.createChildId(root);
    tracer.setId(child);
    tracer.recordServiceName('zipkin-e2e');
    tracer.recordRpc('GET /zipkin-child');
    tracer.recordAnnotation(new Annotation.ClientSend());
    tracer.setId(child);
    tracer.recordAnnotation(new Annotation.ClientRecv());
    tracer.setId(root);
    tracer.recordAnnotation(new Annotation.ServerSend());
    // Send now rather than on the logger's timer (processQueue takes the fetch to use).
    (logger as unknown as { processQueue(f: typeof fetch): void }).processQueue(fetch);

    const traceId = root.traceId;
    const { body: trace } = await eventually(
      async () => {
        const r = await getJson<V1Trace>(`${weft.urls.query}/api/v1/traces/${traceId}`);
        return r.status === 200 && r.body.spans.length === 2 ? r : null;
      },
      10_000,
      'the zipkin spans',
    );
    const rootSpan = trace.spans.find((s) => s.spanId === root.spanId);
    const childSpan = trace.spans.find((s) => s.spanId === child.spanId);
    expect(rootSpan?.parentId).toBeNull();
    expect(childSpan?.parentId).toBe(rootSpan?.id);
    expect(childSpan?.linkReason).toBe('span_id');
    expect(childSpan?.service).toBe('zipkin-e2e');
  });
});
