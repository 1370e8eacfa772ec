/**
 * @module The real OpenTelemetry JS SDK exports through its proto, JSON and gRPC exporters to
 * the OTLP receivers; the spans arrive with their ids, parents, kinds and L7 fields.
 */
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otlpHttpReceiver, startOtlpGrpcReceiver } from './index.js';
import type { GrpcReceiverHandle } from './index.js';
import { createFakeSink } from './testing/fake-sink.js';
import type { FakeSink } from './testing/fake-sink.js';

const MAX_BODY = 4 * 1024 * 1024;

let httpSink: FakeSink;
let grpcSink: FakeSink;
let app: FastifyInstance;
let grpcHandle: GrpcReceiverHandle;
let httpPort = 0;

beforeAll(async () => {
  httpSink = createFakeSink();
  grpcSink = createFakeSink();
  app = Fastify();
  await app.register(otlpHttpReceiver, { sink: httpSink, maxBodyBytes: MAX_BODY });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  httpPort = typeof addr === 'object' && addr ? addr.port : 0;
  grpcHandle = await startOtlpGrpcReceiver({ sink: grpcSink, maxBodyBytes: MAX_BODY, host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app.close();
  await grpcHandle.close();
});

/** Three spans: a server span (new semconv), its HTTP client child (old semconv), a DB child. */
async function emit(exporter: SpanExporter, service: string): Promise<{ traceId: string; ids: Record<string, string> }> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.instance.id': 'i-1' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('weft-test', '1.2.3');
  const server = tracer.startSpan('GET /users/:id', {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': 'GET', 'url.path': '/users/42', 'http.route': '/users/:id', 'http.response.status_code': 404, 'client.address': '10.0.0.9' },
  });
  const ctx = trace.setSpan(context.active(), server);
  const client = tracer.startSpan(
    'GET',
    { kind: SpanKind.CLIENT, attributes: { 'http.method': 'GET', 'http.url': 'http://backend:8080/api/x?y=1', 'http.status_code': 503, 'net.peer.name': 'backend' } },
    ctx,
  );
  client.end();
  const db = tracer.startSpan('SELECT users', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql', 'db.statement': 'select * from users', 'server.address': 'pg' } }, ctx);
  db.setStatus({ code: SpanStatusCode.ERROR, message: 'relation does not exist' });
  db.addEvent('exception', { 'exception.message': 'boom' });
  db.end();
  server.end();
  await provider.forceFlush();
  await provider.shutdown();
  return {
    traceId: server.spanContext().traceId,
    ids: { server: server.spanContext().spanId, client: client.spanContext().spanId, db: db.spanContext().spanId },
  };
}

function check(sink: FakeSink, service: string, expected: { traceId: string; ids: Record<string, string> }): void {
  const spans = sink.spans.filter((s) => s.service === service);
  expect(spans).toHaveLength(3);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const server = byId.get(expected.ids.server ?? '');
  const client = byId.get(expected.ids.client ?? '');
  const db = byId.get(expected.ids.db ?? '');
  if (!server || !client || !db) throw new Error('span missing');
  for (const s of spans) {
    expect(s.traceId).toBe(expected.traceId);
    expect(s.source).toBe('app');
    expect(s.origin).toBe('otlp');
    expect(s.resource['service.instance.id']).toBe('i-1');
    expect(s.endTimeUnixNano >= s.startTimeUnixNano).toBe(true);
    expect(s.startTimeUnixNano > 1_600_000_000_000_000_000n).toBe(true);
  }
  expect(server.parentSpanId).toBe('');
  expect(client.parentSpanId).toBe(server.spanId);
  expect(db.parentSpanId).toBe(server.spanId);

  expect(server).toMatchObject({
    kind: 'server', observationPoint: 's-app', protocol: 'http', requestType: 'GET', requestResource: '/users/42',
    endpoint: '/users/:id', responseCode: 404, responseStatus: 'client_error', clientIp: '10.0.0.9', ipVersion: 4,
  });
  expect(server.attributes['otel.scope.name']).toBe('weft-test');
  expect(server.attributes['http.request.method']).toBeUndefined();
  expect(client).toMatchObject({
    kind: 'client', observationPoint: 'c-app', protocol: 'http', requestType: 'GET', requestDomain: 'backend',
    requestResource: '/api/x?y=1', responseCode: 503, responseStatus: 'server_error', serverPort: 8080,
  });
  expect(db).toMatchObject({
    kind: 'client', protocol: 'postgresql', requestType: 'SELECT', requestResource: 'select * from users', requestDomain: 'pg',
    statusCode: 'error', statusMessage: 'relation does not exist', responseStatus: 'server_error', responseException: 'relation does not exist',
  });
  expect(db.events[0]?.name).toBe('exception');
  expect(db.events[0]?.attributes['exception.message']).toBe('boom');
}

describe('OpenTelemetry JS SDK → OTLP receivers', () => {
  it('http/protobuf exporter', async () => {
    const expected = await emit(new ProtoExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces` }), 'svc-proto');
    await httpSink.waitFor(3);
    check(httpSink, 'svc-proto', expected);
  });

  it('http/json exporter', async () => {
    const expected = await emit(new JsonExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces` }), 'svc-json');
    check(httpSink, 'svc-json', expected);
  });

  it('http/protobuf exporter with gzip', async () => {
    const expected = await emit(new ProtoExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces`, compression: 'gzip' as never }), 'svc-gzip');
    check(httpSink, 'svc-gzip', expected);
  });

  it('grpc exporter', async () => {
    const expected = await emit(new GrpcExporter({ url: `http://127.0.0.1:${grpcHandle.port}` }), 'svc-grpc');
    check(grpcSink, 'svc-grpc', expected);
  });
});
