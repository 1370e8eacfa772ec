import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toOtlpJson } from '../otlp/index.js';
import { emptySpan } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import { skywalkingTraceIdToHex } from '../skywalking/index.js';
import {
  convertJaegerTrace,
  convertJaegerV3Trace,
  convertSkyWalkingQueryTrace,
  convertTempoTrace,
  convertZipkinTrace,
  parseJaegerTraceBody,
  parseJaegerV3TraceBody,
  parseSkyWalkingQueryTraceBody,
  parseTempoTraceBody,
  parseZipkinTraceBody,
} from './index.js';
import type { TraceApiResult } from './index.js';
import { SHARED_APM_FIXTURES } from '../testing/shared-fixtures.js';

const FIXTURES = SHARED_APM_FIXTURES;
const fixture = (p: string): unknown => JSON.parse(readFileSync(join(FIXTURES, p), 'utf8'));

function ok(r: TraceApiResult): Extract<TraceApiResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected ok, got: ${r.error}`);
  return r;
}

function commonChecks(spans: SpanRecord[]): void {
  for (const s of spans) {
    expect(s.source).toBe('app');
    expect(s.origin).toBe('apm-api');
    expect(['c-app', 's-app', 'app']).toContain(s.observationPoint);
    expect(s.endTimeUnixNano >= s.startTimeUnixNano).toBe(true);
  }
}

describe('Jaeger /api/traces/{id} (UI model)', () => {
  it('reads the petclinic trace: services, kinds, parents from CHILD_OF refs', () => {
    const r = ok(convertJaegerTrace({ data: [fixture('jaeger/api-traces/jaeger-ui-petclinic-testTraceNormal.trace.json')], total: 0, limit: 0, offset: 0, errors: null }));
    expect(r.spans).toHaveLength(5);
    commonChecks(r.spans);
    const byId = new Map(r.spans.map((s) => [s.spanId, s]));
    const child = byId.get('e821b549888cbc3b')!;
    expect(child.parentSpanId).toBe('22be69e72cbcde0b');
    expect(child.kind).toBe('server');
    expect(child.observationPoint).toBe('s-app');
    expect(child.service).toBe('customers-service');
    expect(child.startTimeUnixNano).toBe(1579070675084200000n);
    expect(child.endTimeUnixNano - child.startTimeUnixNano).toBe(1739000n);
    expect(new Set(r.spans.map((s) => s.service))).toEqual(new Set(['customers-service', 'api-gateway']));
    // Every parent except the root's points at a span of the trace.
    expect(r.spans.filter((s) => s.parentSpanId !== '' && !byId.has(s.parentSpanId))).toHaveLength(0);
  });

  it('reads typed KVs, logs and FOLLOWS_FROM refs of the uimodel fixture', () => {
    const r = ok(convertJaegerTrace(fixture('jaeger/api-traces/jaeger-uimodel-ui_01.trace.json')));
    expect(r.spans.length).toBeGreaterThan(0);
    commonChecks(r.spans);
    const tagged = r.spans.find((s) => s.attributes.temperature !== undefined)!;
    expect(tagged.statusCode).toBe('error');
    expect(typeof tagged.attributes.temperature).toBe('number');
    // int64 beyond 2^53 stays exact as a decimal string.
    expect(typeof tagged.attributes.javascript_limit).toBe('string');
    expect(typeof tagged.attributes['peer.ipv4']).toBe('number');
    expect(r.spans.some((s) => s.events.length === 2)).toBe(true);
    // The first reference points into another trace; the parent is the CHILD_OF in this one.
    expect(r.spans.find((s) => s.spanId === '0000000000000004')!.parentSpanId).toBe('0000000000000002');
  });

  it('reads the full envelope of the OTLP-translated trace: status and kind from otel.* tags', () => {
    const r = ok(parseJaegerTraceBody(readFileSync(join(FIXTURES, 'jaeger/api-traces/jaeger-transform-otlp2jaeger-out.json'))));
    expect(r.spans).toHaveLength(2);
    commonChecks(r.spans);
    for (const s of r.spans) expect(s.attributes['span.kind']).toBeUndefined();
    const multi = ok(convertJaegerTrace(fixture('jaeger/api-traces/jaeger-ui-oltp2jaeger-multi-out.json')));
    expect(multi.spans).toHaveLength(4);
    expect(multi.spans.filter((s) => s.parentSpanId === '')).toHaveLength(1);
  });

  it('reads the large petclinic and genai traces with no rejections', () => {
    for (const f of ['jaeger-ui-petclinic-spanAmongEachOtherGroupedAndSpans.trace.json', 'jaeger-ui-genaiTestTrace.generated.trace.json']) {
      const r = ok(convertJaegerTrace(fixture(`jaeger/api-traces/${f}`)));
      expect(r.rejected).toBe(0);
      expect(r.spans.length).toBeGreaterThan(10);
      commonChecks(r.spans);
    }
  });

  it('treats "trace not found" as an empty trace and other errors as a failure', () => {
    expect(ok(convertJaegerTrace({ data: null, errors: [{ code: 404, msg: 'trace not found' }] })).spans).toEqual([]);
    const bad = convertJaegerTrace({ data: null, errors: [{ code: 500, msg: 'storage down' }] });
    expect(bad).toEqual({ ok: false, error: 'Jaeger error: storage down' });
    expect(parseJaegerTraceBody('{"data":').ok).toBe(false);
    expect(convertJaegerTrace([1, 2]).ok).toBe(false);
    expect(convertJaegerTrace({ data: 'x' }).ok).toBe(false);
  });
});

describe('Jaeger api_v3 {result: TracesData}', () => {
  it('reads the multi-service example trace', () => {
    const r = ok(convertJaegerV3Trace({ result: fixture('jaeger/api-v3/example_trace.TracesData.json') }));
    expect(r.spans.length).toBeGreaterThan(2);
    commonChecks(r.spans);
    expect(new Set(r.spans.map((s) => s.service)).size).toBe(3);
  });

  it('counts the snapshot span without a start time as rejected, and reads api_v3 errors', () => {
    const r = ok(parseJaegerV3TraceBody(readFileSync(join(FIXTURES, 'jaeger/api-v3/GetTrace.json'))));
    expect(r.spans).toHaveLength(0);
    expect(r.rejected).toBe(1);
    expect(convertJaegerV3Trace({ error: { httpCode: 404, message: 'trace not found' } })).toEqual({ ok: false, error: 'api_v3 error: trace not found' });
    expect(convertJaegerV3Trace({ result: { resourceSpans: 7 } }).ok).toBe(false);
  });
});

describe('Tempo', () => {
  it('reads the Bookinfo trace: gogo-jsonpb base64 ids and string kinds', () => {
    const r = ok(parseTempoTraceBody(readFileSync(join(FIXTURES, 'tempo/kiali-api-traces-v1-bookinfo.batches.json'))));
    expect(r.spans).toHaveLength(8);
    expect(r.rejected).toBe(0);
    commonChecks(r.spans);
    const first = r.spans.find((s) => s.spanId === Buffer.from('Sc130fnc2TY=', 'base64').toString('hex'))!;
    expect(first.traceId).toBe(Buffer.from('O6VWCcPN5JZJzXfR+dzZNg==', 'base64').toString('hex'));
    expect(first.kind).toBe('client');
    expect(first.observationPoint).toBe('c-app');
    expect(first.service).toBe('istio-ingressgateway.istio-system');
    expect(r.spans.some((s) => s.protocol === 'http')).toBe(true);
    const ids = new Set(r.spans.map((s) => s.spanId));
    expect(r.spans.filter((s) => s.parentSpanId !== '' && !ids.has(s.parentSpanId))).toHaveLength(0);
  });

  it("reads Tempo's own example (upper-case hex ids, int kind) and the v2 {trace} shape", () => {
    const v1 = fixture('tempo/tempo-pkg-tempopb-trace.batches.json') as { batches: unknown };
    const a = ok(convertTempoTrace(v1));
    expect(a.spans[0]).toMatchObject({ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', parentSpanId: 'eee19b7ec3c1b173', kind: 'server', service: 'my.service' });
    const b = ok(convertTempoTrace({ trace: { resourceSpans: v1.batches }, status: 'COMPLETE', message: '' }));
    expect(b.spans).toEqual(a.spans);
    expect(convertTempoTrace({ nope: 1 }).ok).toBe(false);
    expect(parseTempoTraceBody('not json').ok).toBe(false);
  });

  it("skips echoes of Weft's own OTLP export (weft.* spans with source sys/net)", () => {
    const sys = emptySpan({ source: 'sys', origin: 'ebpf', observationPoint: 'c-p' });
    Object.assign(sys, { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '00f067aa0ba902b7', startTimeUnixNano: 10n, endTimeUnixNano: 20n });
    const body = { batches: toOtlpJson([sys], { idEncoding: 'base64', enumEncoding: 'name' }).resourceSpans };
    const r = ok(convertTempoTrace(body));
    expect(r.spans).toHaveLength(0);
    expect(r.echoes).toBe(1);
  });
});

describe('SkyWalking GraphQL queryTrace', () => {
  it('reads the showcase trace with the same ids and trace-id derivation as ingest', () => {
    const body = fixture('skywalking/graphql-queryTrace-showcase.deepflow-extracted.json') as { data: { trace: { spans: Record<string, unknown>[] } } };
    const r = ok(convertSkyWalkingQueryTrace(body));
    expect(r.spans).toHaveLength(4);
    commonChecks(r.spans);
    const raw = body.data.trace.spans[1]!;
    const s = r.spans.find((x) => x.spanId === `${String(raw.segmentId)}-0`)!;
    expect(s.traceId).toBe(skywalkingTraceIdToHex(String(raw.traceId)));
    expect(s.attributes['sw8.trace_id']).toBe(raw.traceId);
    // spanId 0 with parentSpanId -1 takes its parent from the CROSS_PROCESS ref.
    expect(s.parentSpanId).toBe('64b5249d-adce-473c-84b9-8e4c2dbcfa29-0');
    expect(s).toMatchObject({ kind: 'server', observationPoint: 's-app', service: 'front-end-deployment', name: '/index', requestType: 'GET', protocol: 'http' });
    expect(s.resource['service.instance.id']).toBe('front-end');
    expect(s.attributes['sw.component']).toBe('APISIX');
    expect(s.startTimeUnixNano).toBe(1694428678778n * 1_000_000n);
  });

  it('treats a null trace as not found and GraphQL errors as a failure', () => {
    expect(ok(convertSkyWalkingQueryTrace({ data: { trace: null } })).spans).toEqual([]);
    expect(ok(convertSkyWalkingQueryTrace({ data: { trace: { spans: [] } } })).spans).toEqual([]);
    expect(convertSkyWalkingQueryTrace({ errors: [{ message: 'Validation error of type FieldUndefined' }] })).toEqual({
      ok: false,
      error: 'SkyWalking GraphQL error: Validation error of type FieldUndefined',
    });
    expect(parseSkyWalkingQueryTraceBody('<html>').ok).toBe(false);
  });
});

describe('Zipkin /api/v2/trace/{id}', () => {
  it('reads every recorded trace through the ingest converter, with origin apm-api', () => {
    const counts: Record<string, number> = { 'zipkin-lens-yelp.json': 16, 'zipkin-lens-messaging-kafka.json': 28, 'zipkin-lens-smartthings-oauth-authorization.json': 175 };
    for (const [f, n] of Object.entries(counts)) {
      const r = ok(parseZipkinTraceBody(readFileSync(join(FIXTURES, 'zipkin', f))));
      expect(r.spans).toHaveLength(n);
      commonChecks(r.spans);
    }
    const kafka = ok(convertZipkinTrace(fixture('zipkin/zipkin-lens-messaging-kafka.json')));
    expect(kafka.spans.some((s) => s.kind === 'producer' && s.observationPoint === 'c-app')).toBe(true);
    expect(convertZipkinTrace({ spans: [] }).ok).toBe(false);
  });
});

describe('every converter on hostile bodies', () => {
  it('never throws, whatever the JSON', () => {
    const parsers = [parseJaegerTraceBody, parseJaegerV3TraceBody, parseTempoTraceBody, parseSkyWalkingQueryTraceBody, parseZipkinTraceBody];
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
        for (const p of parsers) {
          const r = p(text);
          expect(typeof r.ok).toBe('boolean');
        }
      }),
      { numRuns: 300 },
    );
    const converters = [convertJaegerTrace, convertJaegerV3Trace, convertTempoTrace, convertSkyWalkingQueryTrace, convertZipkinTrace];
    fc.assert(
      fc.property(fc.anything(), (v) => {
        for (const c of converters) expect(typeof c(v).ok).toBe('boolean');
        for (const c of converters) expect(typeof c({ data: { trace: { spans: [v] } }, batches: [v], result: { resourceSpans: [v] }, spans: [v] }).ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});
