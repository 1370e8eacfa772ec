/**
 * @module B3 shared spans from the real `zipkin` JS instrumentation over real HTTP: the client
 * half (HttpClient) and the server half (HttpServer joins the caller's span id, `shared: true`)
 * arrive at the Zipkin receiver, and the server half hangs under the client half, with the
 * server's own child under the server half (issue 8, A1).
 */
import http from 'node:http';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipkinReceiver } from './index.js';
import { createFakeSink } from './testing/fake-sink.js';

// zipkin ships no types; this is the part of its API the test uses.
interface ZipkinTraceId {
  traceId: string;
  spanId: string;
}
interface ZipkinTracer {
  id: ZipkinTraceId;
  createChildId(): ZipkinTraceId;
  setId(id: ZipkinTraceId): void;
  scoped<T>(fn: () => T): T;
  recordRpc(name: string): void;
  recordServiceName(name: string): void;
  recordAnnotation(a: unknown): void;
}
interface Option {
  readonly present: boolean;
}
interface ZipkinModule {
  Tracer: new (o: Record<string, unknown>) => ZipkinTracer;
  BatchRecorder: new (o: Record<string, unknown>) => unknown;
  ExplicitContext: new () => unknown;
  jsonEncoder: { JSON_V2: unknown };
  Annotation: Record<string, new (...args: unknown[]) => unknown>;
  option: { Some: new (v: unknown) => Option; None: Option };
  Instrumentation: {
    HttpClient: new (o: Record<string, unknown>) => { recordRequest(req: { headers?: Record<string, string> }, url: string, method: string): { headers: Record<string, string> }; recordResponse(id: ZipkinTraceId, status: string): void };
    HttpServer: new (o: Record<string, unknown>) => { recordRequest(method: string, url: string, readHeader: (name: string) => Option): ZipkinTraceId; recordResponse(id: ZipkinTraceId, status: string): void };
  };
}

const sink = createFakeSink();
const receiver = Fastify();
let receiverPort = 0;

beforeAll(async () => {
  await receiver.register(zipkinReceiver, { sink, maxBodyBytes: 4 << 20 });
  await receiver.listen({ host: '127.0.0.1', port: 0 });
  const addr = receiver.server.address();
  receiverPort = typeof addr === 'object' && addr ? addr.port : 0;
});
afterAll(async () => {
  await receiver.close();
});

describe('Zipkin shared spans (B3 join)', () => {
  it('the shared server half hangs under the client half; the server child under the server half', async () => {
    const zipkin = (await import('zipkin')) as unknown as ZipkinModule;
    const { HttpLogger } = (await import('zipkin-transport-http')) as unknown as { HttpLogger: new (o: Record<string, unknown>) => unknown };
    const tracerFor = (service: string) =>
      new zipkin.Tracer({
        ctxImpl: new zipkin.ExplicitContext(),
        recorder: new zipkin.BatchRecorder({ logger: new HttpLogger({ endpoint: `http://127.0.0.1:${receiverPort}/api/v2/spans`, jsonEncoder: zipkin.jsonEncoder.JSON_V2, httpInterval: 200 }) }),
        localServiceName: service,
        traceId128Bit: true,
      });
    const front = tracerFor('front');
    const back = tracerFor('back');

    // The back service: HttpServer joins the caller's span, then makes one call of its own.
    let childId: ZipkinTraceId | null = null;
    const server = http.createServer((req, res) => {
      const inst = new zipkin.Instrumentation.HttpServer({ tracer: back, port: 0 });
      const readHeader = (name: string): Option => {
        const v = req.headers[name.toLowerCase()];
        return typeof v === 'string' ? new zipkin.option.Some(v) : zipkin.option.None;
      };
      back.scoped(() => {
        const id = inst.recordRequest(req.method ?? 'GET', `http://localhost${req.url ?? '/'}`, readHeader);
        back.scoped(() => {
          const c = back.createChildId();
          back.setId(c);
          back.recordServiceName('back');
          back.recordRpc('SELECT');
          back.recordAnnotation(new zipkin.Annotation.ClientSend!());
          back.recordAnnotation(new zipkin.Annotation.ClientRecv!());
          childId = c;
        });
        inst.recordResponse(id, '200');
      });
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;

    const client = new zipkin.Instrumentation.HttpClient({ tracer: front, remoteServiceName: 'back' });
    const clientId = await front.scoped(async () => {
      const req = client.recordRequest({ headers: {} }, `http://127.0.0.1:${port}/items`, 'GET');
      const id = front.id;
      const status = await new Promise<number>((resolve, reject) => {
        http.get(`http://127.0.0.1:${port}/items`, { headers: req.headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        }).on('error', reject);
      });
      client.recordResponse(id, String(status));
      return id;
    });
    server.close();

    const spans = await sink.waitFor(3);
    const clientHalf = spans.find((s) => s.kind === 'client' && s.service === 'front');
    const serverHalf = spans.find((s) => s.kind === 'server' && s.service === 'back');
    const child = spans.find((s) => s.kind === 'client' && s.service === 'back');
    if (!clientHalf || !serverHalf || !child || !childId) throw new Error(`missing spans: ${JSON.stringify(spans.map((s) => [s.service, s.kind, s.spanId]))}`);
    // The wire really was a B3 join: both halves carried the same id.
    expect(clientHalf.spanId).toBe(clientId.spanId);
    expect(serverHalf.attributes['zipkin.shared']).toBe(true);
    expect(serverHalf.attributes['zipkin.span_id']).toBe(clientId.spanId);
    // The server half is its own span, under the client half.
    expect(serverHalf.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(serverHalf.spanId).not.toBe(clientHalf.spanId);
    expect(serverHalf.parentSpanId).toBe(clientHalf.spanId);
    expect(serverHalf.traceId).toBe(clientHalf.traceId);
    // The back service's own call hangs under the server half, not beside it.
    expect(child.parentSpanId).toBe(serverHalf.spanId);
  });
});
