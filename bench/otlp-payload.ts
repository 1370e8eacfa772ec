/**
 * @module Realistic OTLP/HTTP protobuf payloads, produced by the real OpenTelemetry JS SDK: spans
 * recorded by sdk-trace-base and serialized by otlp-transformer's ProtobufTraceSerializer, the
 * same bytes an application's OTLP/proto exporter sends.
 */
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/**
 * One ExportTraceServiceRequest of about `spanCount` spans: traces of an HTTP server span, an
 * outgoing HTTP client span and two DB client spans, with the semantic-convention attributes
 * instrumentations set, and an exception event on one span in twenty.
 */
export function otlpProtobufPayload(spanCount: number): { bytes: Uint8Array; spans: number } {
  const spans = sdkSpans(spanCount);
  const bytes = ProtobufTraceSerializer.serializeRequest(spans);
  if (!bytes) throw new Error('the OTel serializer produced no bytes');
  return { bytes, spans: spans.length };
}

/** The same request as OTLP/JSON, serialized by the SDK's JSON serializer (what the OTLP/HTTP JSON exporter sends). */
export function otlpJsonPayload(spanCount: number): { bytes: Uint8Array; spans: number } {
  const spans = sdkSpans(spanCount);
  const bytes = JsonTraceSerializer.serializeRequest(spans);
  if (!bytes) throw new Error('the OTel serializer produced no bytes');
  return { bytes, spans: spans.length };
}

function sdkSpans(spanCount: number): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'checkout',
      'service.version': '2.4.1',
      'service.instance.id': 'checkout-7d9f8b6c5-x2k4q',
      'host.name': 'node-17.prod.example',
      'telemetry.sdk.language': 'nodejs',
      'telemetry.sdk.name': 'opentelemetry',
      'telemetry.sdk.version': '2.12.1',
      'k8s.pod.name': 'checkout-7d9f8b6c5-x2k4q',
      'k8s.namespace.name': 'shop',
    }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('@opentelemetry/instrumentation-http', '0.223.0');
  let made = 0;
  for (let t = 0; made < spanCount; t++) {
    const server = tracer.startSpan('GET /api/cart/:id', {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': 'GET',
        'url.path': `/api/cart/${1000 + t}`,
        'url.scheme': 'http',
        'http.route': '/api/cart/:id',
        'http.response.status_code': 200,
        'server.address': 'checkout.shop.svc',
        'server.port': 8080,
        'client.address': '10.1.4.23',
        'network.protocol.version': '1.1',
        'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36',
      },
    });
    const ctx = trace.setSpan(context.active(), server);
    const client = tracer.startSpan(
      'GET',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': 'GET',
          'url.full': `http://pricing.shop.svc:8080/api/price?sku=${t}`,
          'server.address': 'pricing.shop.svc',
          'server.port': 8080,
          'http.response.status_code': 200,
        },
      },
      ctx,
    );
    client.end();
    for (const [i, stmt] of ['SELECT * FROM cart_items WHERE cart_id = $1', 'UPDATE carts SET seen_at = now() WHERE id = $1'].entries()) {
      const db = tracer.startSpan(
        i === 0 ? 'SELECT shop.cart_items' : 'UPDATE shop.carts',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system': 'postgresql',
            'db.namespace': 'shop',
            'db.query.text': stmt,
            'db.operation.name': i === 0 ? 'SELECT' : 'UPDATE',
            'server.address': 'pg.shop.svc',
            'server.port': 5432,
          },
        },
        ctx,
      );
      if (t % 20 === 0 && i === 1) {
        db.recordException(new Error('deadlock detected'));
        db.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock detected' });
      }
      db.end();
    }
    server.end();
    made += 4;
  }
  return exporter.getFinishedSpans().slice(0, spanCount);
}
