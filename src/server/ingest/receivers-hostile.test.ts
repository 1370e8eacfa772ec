/**
 * @module Property tests: every receiver meets hostile input with a clear 4xx / gRPC status,
 * never a crash, keeps answering, and stores the good spans of a partly bad batch.
 */
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeOtlpRequest, exportResponseType } from '../../apm/otlp/index.js';
import { encodeSkyWalkingSegment } from '../../apm/skywalking/index.js';
import { spanRecordArbitrary } from '../../apm/testing/span-arbitrary.js';
import { TracingError } from '../../model/index.js';
import { otlpHttpReceiver, skywalkingHttpReceiver, startOtlpGrpcReceiver, startSkyWalkingGrpcReceiver, zipkinReceiver } from './index.js';
import type { GrpcReceiverHandle, ReceiverOptions } from './index.js';
import { createFakeSink } from './testing/fake-sink.js';

const MAX_BODY = 64 * 1024;
const sink = createFakeSink();

const VALID_OTLP_JSON = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeSpans: [
        {
          spans: [
            { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'good', kind: 2, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000100000000' },
            { traceId: 'zz', spanId: 'eee19b7ec3c1b175', name: 'bad-id', startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000100000000' },
            { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b176', name: 'bad-time', startTimeUnixNano: '1700000000100000000', endTimeUnixNano: '1700000000000000000' },
          ],
        },
      ],
    },
  ],
};

const SW_SEGMENT = {
  traceId: 'a1b2.34.1690000000000',
  traceSegmentId: 'seg1',
  service: 'svc-sw',
  serviceInstance: 'inst',
  spans: [
    { spanId: 0, parentSpanId: -1, startTime: 1690000000000, endTime: 1690000000010, operationName: '/a', spanType: 'Entry', spanLayer: 'Http', componentId: 49, tags: [{ key: 'http.method', value: 'GET' }, { key: 'status_code', value: '200' }] },
    { spanId: 1, parentSpanId: 0, startTime: 1690000000005, endTime: 1690000000001, operationName: 'bad', spanType: 'Exit' },
  ],
};

interface Target {
  name: string;
  plugin: FastifyPluginAsync<ReceiverOptions>;
  url: string;
  types: string[];
  good: () => { body: Buffer; type: string };
}

const targets: Target[] = [
  { name: 'otlp', plugin: otlpHttpReceiver, url: '/v1/traces', types: ['application/json', 'application/x-protobuf'], good: () => ({ body: Buffer.from(JSON.stringify(VALID_OTLP_JSON)), type: 'application/json' }) },
  {
    name: 'zipkin', plugin: zipkinReceiver, url: '/api/v2/spans', types: ['application/json'],
    good: () => ({ body: Buffer.from(JSON.stringify([{ traceId: '463ac35c9f6413ad', id: 'a2fb4a1d1a96d312', name: 'get', timestamp: 1700000000000000, duration: 10, kind: 'SERVER', localEndpoint: { serviceName: 'z' } }, { traceId: 'x', id: 'y' }])), type: 'application/json' }),
  },
  { name: 'skywalking', plugin: skywalkingHttpReceiver, url: '/v3/segments', types: ['application/json'], good: () => ({ body: Buffer.from(JSON.stringify([SW_SEGMENT])), type: 'application/json' }) },
];

const apps = new Map<string, FastifyInstance>();

beforeAll(async () => {
  for (const t of targets) {
    const app = Fastify();
    await app.register(t.plugin, { sink, maxBodyBytes: MAX_BODY });
    await app.ready();
    apps.set(t.name, app);
  }
});

afterAll(async () => {
  for (const app of apps.values()) await app.close();
});

function appOf(t: Target): FastifyInstance {
  const a = apps.get(t.name);
  if (!a) throw new Error('no app');
  return a;
}

describe.each(targets)('$name HTTP receiver with hostile input', (t) => {
  it('random bytes and random JSON get a 4xx with a reason, and the receiver still answers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), fc.json().map((j) => Buffer.from(j)), fc.string().map((s) => Buffer.from(s))),
        fc.constantFrom(...t.types),
        async (body, type) => {
          const res = await appOf(t).inject({ method: 'POST', url: t.url, payload: body, headers: { 'content-type': type } });
          expect([200, 202, 400]).toContain(res.statusCode);
          if (res.statusCode === 400) expect((res.json() as { message: string }).message.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 60 },
    );
    const ok = t.good();
    const res = await appOf(t).inject({ method: 'POST', url: t.url, payload: ok.body, headers: { 'content-type': ok.type } });
    expect(res.statusCode).toBeLessThan(300);
  });

  it('wrong content types get 415', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('text/plain', 'application/xml', 'application/x-thrift', 'multipart/form-data; boundary=x', 'application/grpc'), async (type) => {
        const res = await appOf(t).inject({ method: 'POST', url: t.url, payload: t.good().body, headers: { 'content-type': type } });
        expect(res.statusCode).toBe(415);
        expect((res.json() as { message: string }).message).toContain('application/json');
      }),
      { numRuns: 5 },
    );
  });

  it('oversized bodies get 413, also when only the gunzipped body is too big (gzip bomb)', async () => {
    const big = Buffer.alloc(MAX_BODY + 1, 0x20);
    const res = await appOf(t).inject({ method: 'POST', url: t.url, payload: big, headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(413);
    const bomb = gzipSync(Buffer.alloc(MAX_BODY * 50, 0x20));
    expect(bomb.length).toBeLessThan(MAX_BODY);
    const res2 = await appOf(t).inject({ method: 'POST', url: t.url, payload: bomb, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
    expect(res2.statusCode).toBe(413);
    const res3 = await appOf(t).inject({ method: 'POST', url: t.url, payload: Buffer.from('not gzip'), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
    expect(res3.statusCode).toBe(400);
  });

  it('a batch with bad spans stores the good ones and reports the rejected count', async () => {
    const before = sink.spans.length;
    const ok = t.good();
    const res = await appOf(t).inject({ method: 'POST', url: t.url, payload: gzipSync(ok.body), headers: { 'content-type': ok.type, 'content-encoding': 'gzip' } });
    expect(res.statusCode).toBeLessThan(300);
    expect(sink.spans.length).toBe(before + 1);
    const body = res.json() as { partialSuccess?: { rejectedSpans: string }; rejectedSpans?: number };
    const rejected = body.partialSuccess ? Number(body.partialSuccess.rejectedSpans) : body.rejectedSpans;
    expect(rejected).toBe(t.name === 'otlp' ? 2 : 1);
  });

  it('sink overload → 429, other sink failures → 503', async () => {
    const ok = t.good();
    sink.failWith = new TracingError('TRC_INGEST_OVERLOADED', 'too much', { httpStatus: 429, retryable: true });
    const r1 = await appOf(t).inject({ method: 'POST', url: t.url, payload: ok.body, headers: { 'content-type': ok.type } });
    sink.failWith = new Error('disk on fire');
    const r2 = await appOf(t).inject({ method: 'POST', url: t.url, payload: ok.body, headers: { 'content-type': ok.type } });
    sink.failWith = null;
    expect(r1.statusCode).toBe(429);
    expect(r2.statusCode).toBe(503);
  });
});

describe('OTLP HTTP protobuf with hostile input', () => {
  it('truncated valid protobuf, random bytes, wrong messages: 200 with partialSuccess or 400, never 5xx', async () => {
    const app = apps.get('otlp');
    if (!app) throw new Error('no app');
    await fc.assert(
      fc.asyncProperty(fc.array(spanRecordArbitrary, { minLength: 1, maxLength: 3 }), fc.nat(), async (spans, cut) => {
        const full = Buffer.from(encodeOtlpRequest(spans));
        const variants = [full.subarray(0, cut % full.length), Buffer.from(encodeSkyWalkingSegment(SW_SEGMENT))];
        for (const payload of variants) {
          const res = await app.inject({ method: 'POST', url: '/v1/traces', payload, headers: { 'content-type': 'application/x-protobuf' } });
          expect([200, 400]).toContain(res.statusCode);
        }
        const res = await app.inject({ method: 'POST', url: '/v1/traces', payload: full, headers: { 'content-type': 'application/x-protobuf' } });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toContain('application/x-protobuf');
        const decoded = exportResponseType().decode(res.rawPayload) as { partialSuccess?: unknown };
        expect(decoded.partialSuccess ?? null).toBeNull();
      }),
      { numRuns: 40 },
    );
  });
});

describe('gRPC receivers with hostile input', () => {
  let otlp: GrpcReceiverHandle;
  let sw: GrpcReceiverHandle;
  let client: grpc.Client;
  let swClient: grpc.Client;
  beforeAll(async () => {
    otlp = await startOtlpGrpcReceiver({ sink, maxBodyBytes: MAX_BODY, host: '127.0.0.1', port: 0 });
    sw = await startSkyWalkingGrpcReceiver({ sink, maxBodyBytes: MAX_BODY, host: '127.0.0.1', port: 0, token: 's3cret' });
    client = new grpc.Client(`127.0.0.1:${otlp.port}`, grpc.credentials.createInsecure());
    swClient = new grpc.Client(`127.0.0.1:${sw.port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    swClient.close();
    await otlp.close();
    await sw.close();
  });

  const unary = (c: grpc.Client, path: string, body: Buffer, md = new grpc.Metadata()): Promise<{ code: number; body?: Buffer }> =>
    new Promise((resolve) => {
      c.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, md, (err, res) => resolve(err ? { code: err.code } : { code: 0, ...(res ? { body: res } : {}) }));
    });

  it('random and truncated protobuf → OK or INVALID_ARGUMENT; oversized → RESOURCE_EXHAUSTED; server keeps answering', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.array(spanRecordArbitrary, { minLength: 1, maxLength: 2 }), fc.nat(), async (rnd, spans, cut) => {
        const full = Buffer.from(encodeOtlpRequest(spans));
        for (const payload of [Buffer.from(rnd), full.subarray(0, cut % full.length)]) {
          const r = await unary(client, '/opentelemetry.proto.collector.trace.v1.TraceService/Export', payload);
          expect([grpc.status.OK, grpc.status.INVALID_ARGUMENT]).toContain(r.code);
        }
        expect((await unary(client, '/opentelemetry.proto.collector.trace.v1.TraceService/Export', full)).code).toBe(grpc.status.OK);
      }),
      { numRuns: 30 },
    );
    const big = await unary(client, '/opentelemetry.proto.collector.trace.v1.TraceService/Export', Buffer.alloc(MAX_BODY + 10));
    expect(big.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    sink.failWith = new TracingError('TRC_INGEST_OVERLOADED', 'too much', { httpStatus: 429 });
    const over = await unary(client, '/opentelemetry.proto.collector.trace.v1.TraceService/Export', Buffer.from(encodeOtlpRequest(fc.sample(spanRecordArbitrary, 1))));
    sink.failWith = new Error('down');
    const down = await unary(client, '/opentelemetry.proto.collector.trace.v1.TraceService/Export', Buffer.from(encodeOtlpRequest(fc.sample(spanRecordArbitrary, 1))));
    sink.failWith = null;
    expect(over.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(down.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('OTLP gRPC with a token answers UNAUTHENTICATED without the right Bearer metadata', async () => {
    const guarded = await startOtlpGrpcReceiver({ sink, maxBodyBytes: MAX_BODY, host: '127.0.0.1', port: 0, token: 'tok' });
    const c = new grpc.Client(`127.0.0.1:${guarded.port}`, grpc.credentials.createInsecure());
    try {
      const body = Buffer.from(encodeOtlpRequest(fc.sample(spanRecordArbitrary, 1)));
      const path = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
      const wrong = new grpc.Metadata();
      wrong.set('authorization', 'Bearer nope');
      const right = new grpc.Metadata();
      right.set('authorization', 'Bearer tok');
      expect((await unary(c, path, body)).code).toBe(grpc.status.UNAUTHENTICATED);
      expect((await unary(c, path, body, wrong)).code).toBe(grpc.status.UNAUTHENTICATED);
      expect((await unary(c, path, body, right)).code).toBe(grpc.status.OK);
    } finally {
      c.close();
      await guarded.close();
    }
  });

  it('SkyWalking gRPC checks the token, rejects garbage, and stores the good spans of a stream', async () => {
    const md = new grpc.Metadata();
    md.set('authorization', 'Bearer s3cret');
    const coll = Buffer.from(
      (await import('../../apm/proto-files.js')).protoRoot().lookupType('skywalking.v3.SegmentCollection').encode({ segments: [{ ...SW_SEGMENT, spans: [] }] }).finish(),
    );
    expect((await unary(swClient, '/skywalking.v3.TraceSegmentReportService/collectInSync', coll)).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await unary(swClient, '/skywalking.v3.TraceSegmentReportService/collectInSync', Buffer.from([0xff, 0xff, 0xff]), md)).code).toBe(grpc.status.INVALID_ARGUMENT);

    const before = sink.spans.length;
    const result = await new Promise<{ code: number }>((resolve) => {
      const call = swClient.makeClientStreamRequest(
        '/skywalking.v3.TraceSegmentReportService/collect',
        (b: Buffer) => b,
        (b: Buffer) => b,
        md,
        (err) => resolve({ code: err ? err.code : 0 }),
      );
      call.write(Buffer.from(encodeSkyWalkingSegment(SW_SEGMENT)));
      call.write(Buffer.from(encodeSkyWalkingSegment({ ...SW_SEGMENT, traceSegmentId: 'seg2' })));
      call.end();
    });
    expect(result.code).toBe(grpc.status.OK);
    expect(sink.spans.length).toBe(before + 2);
  });
});
