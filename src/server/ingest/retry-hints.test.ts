/**
 * @module Overload that real clients survive: every 429/503 carries Retry-After and every
 * retryable gRPC refusal carries google.rpc.RetryInfo, so the real OTel SDK exporters retry and
 * deliver instead of dropping the batch.
 *
 * The OTel JS gRPC exporter (0.223) retries no gRPC error at all (its transport reports every
 * error as a failure), RetryInfo or not; the gRPC side is therefore shown with grpc-js running a
 * retry policy, which is what the RetryInfo-aware exporters (Collector, Go, Java) do.
 */
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import * as grpc from '@grpc/grpc-js';
import Fastify from 'fastify';
import protobuf from 'protobufjs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TracingError } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import { OTLP_EXPORT_METHOD_PATH } from '../../apm/otlp/index.js';
import { otlpHttpReceiver, startOtlpGrpcReceiver } from './index.js';
import type { GrpcReceiverHandle, IngestSink } from './index.js';
import { installRetryAfter, decodeRetryDelayMs } from './retry-hints.js';

const MAX_BODY = 4 * 1024 * 1024;

/** A sink that refuses the next `refuse` submits with `err`, then stores; records what it saw. */
function refusingSink(): IngestSink & { refuse: number; err: () => unknown; spans: SpanRecord[]; refused: number } {
  const s = {
    refuse: 0,
    refused: 0,
    err: (): unknown => new TracingError('TRC_INGEST_OVERLOADED', 'ingest overloaded; retry in 1 s', { httpStatus: 429, retryable: true, retryAfterMs: 1000 }),
    spans: [] as SpanRecord[],
    submit(spans: SpanRecord[]): Promise<void> {
      if (s.refuse > 0) {
        s.refuse--;
        s.refused++;
        return Promise.reject(s.err());
      }
      s.spans.push(...spans);
      return Promise.resolve();
    },
  };
  return s;
}

const sink = refusingSink();
let app: FastifyInstance;
let grpcHandle: GrpcReceiverHandle;
let httpPort = 0;
const retryAfterSeen: string[] = [];

beforeAll(async () => {
  app = Fastify();
  installRetryAfter(app);
  app.addHook('onSend', async (_req, reply, payload) => {
    if (reply.statusCode === 429 || reply.statusCode === 503) retryAfterSeen.push(String(reply.getHeader('retry-after')));
    return payload;
  });
  await app.register(otlpHttpReceiver, { sink, maxBodyBytes: MAX_BODY });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  httpPort = typeof addr === 'object' && addr ? addr.port : 0;
  grpcHandle = await startOtlpGrpcReceiver({ sink, maxBodyBytes: MAX_BODY, host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app.close();
  await grpcHandle.close();
});

async function exportOne(exporter: SpanExporter, name: string): Promise<void> {
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'retry-test' }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.getTracer('t').startSpan(name, { kind: SpanKind.SERVER }).end();
  await provider.forceFlush();
  await provider.shutdown();
}

describe('retry hints', () => {
  for (const [kind, make] of [
    ['proto', () => new ProtoExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces`, timeoutMillis: 10_000 })],
    ['json', () => new JsonExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces`, timeoutMillis: 10_000 })],
  ] as const) {
    it(`the OTel SDK's OTLP/HTTP ${kind} exporter retries a 429 after its Retry-After and delivers`, async () => {
      retryAfterSeen.length = 0;
      sink.refuse = 2;
      const started = Date.now();
      await exportOne(make(), `overload-${kind}`);
      expect(sink.spans.some((s) => s.name === `overload-${kind}`)).toBe(true);
      expect(retryAfterSeen).toStrictEqual(['1', '1']);
      // Two waits of the hinted second each, not the exporter's own (shorter, jittered) backoff.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    }, 20_000);
  }

  it('a failing store is a 503 with Retry-After, and the OTel HTTP exporter retries it and delivers', async () => {
    retryAfterSeen.length = 0;
    sink.refuse = 1;
    sink.err = () => new Error('store unavailable: connection refused');
    await exportOne(new ProtoExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces`, timeoutMillis: 10_000 }), 'store-down');
    expect(sink.spans.some((s) => s.name === 'store-down')).toBe(true);
    expect(retryAfterSeen).toStrictEqual(['1']);
    sink.err = () => new TracingError('TRC_INGEST_OVERLOADED', 'overloaded', { httpStatus: 429, retryable: true, retryAfterMs: 2500 });
  }, 20_000);

  it('gRPC RESOURCE_EXHAUSTED carries google.rpc.RetryInfo with the hinted delay', async () => {
    sink.refuse = 1;
    sink.err = () => new TracingError('TRC_INGEST_OVERLOADED', 'overloaded', { httpStatus: 429, retryable: true, retryAfterMs: 2500 });
    const Client = grpc.makeGenericClientConstructor(
      { Export: { path: OTLP_EXPORT_METHOD_PATH, requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } },
      'TraceService',
    );
    const client = new Client(`127.0.0.1:${grpcHandle.port}`, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
      (client as unknown as { Export: (b: Buffer, cb: (e: grpc.ServiceError | null) => void) => void }).Export(encodeOneSpanRequest(), (e) => (e ? resolve(e) : reject(new Error('expected a refusal'))));
    });
    client.close();
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const details = err.metadata.get('grpc-status-details-bin')[0];
    expect(Buffer.isBuffer(details)).toBe(true);
    expect(decodeRetryDelayMs(details as Buffer)).toBe(2500);
  });

  it('a gRPC client with a retry policy retries RESOURCE_EXHAUSTED after the pushback and delivers', async () => {
    sink.refuse = 2;
    sink.err = () => new TracingError('TRC_INGEST_OVERLOADED', 'overloaded', { httpStatus: 429, retryable: true, retryAfterMs: 300 });
    const before = sink.refused;
    // What an OTLP exporter that honours RetryInfo does (the Collector's, Java's, Go's): retry
    // RESOURCE_EXHAUSTED carrying a delay. grpc-js does it from a service config.
    const serviceConfig = {
      methodConfig: [
        {
          name: [{ service: 'opentelemetry.proto.collector.trace.v1.TraceService' }],
          retryPolicy: { maxAttempts: 5, initialBackoff: '0.1s', maxBackoff: '1s', backoffMultiplier: 2, retryableStatusCodes: ['RESOURCE_EXHAUSTED', 'UNAVAILABLE'] },
        },
      ],
    };
    const Client = grpc.makeGenericClientConstructor(
      { Export: { path: OTLP_EXPORT_METHOD_PATH, requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } },
      'TraceService',
    );
    const client = new Client(`127.0.0.1:${grpcHandle.port}`, grpc.credentials.createInsecure(), { 'grpc.service_config': JSON.stringify(serviceConfig) });
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      (client as unknown as { Export: (b: Buffer, cb: (e: grpc.ServiceError | null) => void) => void }).Export(encodeOneSpanRequest('grpc-retried'), (e) => (e ? reject(e) : resolve()));
    });
    client.close();
    expect(sink.refused - before).toBe(2);
    expect(sink.spans.some((s) => s.name === 'grpc-retried')).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550); // two pushbacks of 300 ms
  });
});

/** One OTLP ExportTraceServiceRequest with a single span, hand-built with protobufjs. */
function encodeOneSpanRequest(name = 'grpc-span'): Buffer {
  // Field numbers from opentelemetry/proto/trace/v1/trace.proto.
  const w = (): protobuf.Writer => protobuf.Writer.create();
  const span = w().uint32(10).bytes(Buffer.alloc(16, 1)).uint32(18).bytes(Buffer.alloc(8, 2)).uint32(42).string(name).uint32(57).fixed64(1).uint32(65).fixed64(2).finish();
  const scopeSpans = w().uint32(18).bytes(span).finish();
  const resourceSpans = w().uint32(18).bytes(scopeSpans).finish();
  return Buffer.from(w().uint32(10).bytes(resourceSpans).finish());
}

describe('refusal before decoding', () => {
  it('an overloaded sink refuses an OTLP/HTTP body with 429 + Retry-After without decoding it; the client reads the answer', async () => {
    const { createMemoryBudget, installBodyBudget } = await import('./memory-budget.js');
    const { TracingError: TE } = await import('../../model/index.js');
    let decoded = 0;
    const overloaded = { refusal: true };
    const local = Fastify();
    installRetryAfter(local);
    installBodyBudget(local, createMemoryBudget({ limitBytes: 1 << 30, maxRssBytes: 0 }), () => (overloaded.refusal ? new TE('TRC_INGEST_OVERLOADED', 'full', { httpStatus: 429, retryable: true, retryAfterMs: 3000 }) : null));
    await local.register(otlpHttpReceiver, { sink: { submit: async (s) => void (decoded += s.length) }, maxBodyBytes: MAX_BODY });
    await local.listen({ host: '127.0.0.1', port: 0 });
    const a = local.server.address();
    const url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/v1/traces`;
    try {
      const body = new Uint8Array(2 * 1024 * 1024).fill(0x0a); // not even valid protobuf: never looked at
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('3');
      overloaded.refusal = false;
      const ok = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(encodeOneSpanRequest('after')) });
      expect(ok.status).toBe(200);
      expect(decoded).toBe(1);
    } finally {
      await local.close();
    }
  });
});
