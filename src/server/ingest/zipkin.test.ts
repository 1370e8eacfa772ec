/**
 * @module The real `zipkin` JS tracer (HttpLogger, JSON v2) reports to the Zipkin receiver,
 * and the recorded Zipkin v2 fixtures come back with their parents.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipkinReceiver } from './index.js';
import { sharedServerSpanId } from '../../apm/zipkin/index.js';
import { createFakeSink } from './testing/fake-sink.js';
import { SHARED_APM_FIXTURES } from '../../apm/testing/shared-fixtures.js';

// zipkin ships no types; this is the part of its API the test uses.
interface ZipkinTraceId {
  traceId: string;
  spanId: string;
}
interface ZipkinTracer {
  createRootId(): ZipkinTraceId;
  createChildId(): ZipkinTraceId;
  setId(id: ZipkinTraceId): void;
  scoped<T>(fn: () => T): T;
  recordRpc(name: string): void;
  recordServiceName(name: string): void;
  recordBinary(key: string, value: string): void;
  recordAnnotation(a: unknown): void;
  recordMessage(m: string): void;
}
interface ZipkinModule {
  Tracer: new (o: Record<string, unknown>) => ZipkinTracer;
  BatchRecorder: new (o: Record<string, unknown>) => unknown;
  ExplicitContext: new () => unknown;
  jsonEncoder: { JSON_V2: unknown };
  Annotation: Record<string, new (...args: unknown[]) => unknown>;
  InetAddress: new (ip: string) => unknown;
}

const FIXTURES = join(SHARED_APM_FIXTURES, 'zipkin');
const sink = createFakeSink();
const app = Fastify();
let port = 0;

beforeAll(async () => {
  await app.register(zipkinReceiver, { sink, maxBodyBytes: 4 << 20 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  port = typeof addr === 'object' && addr ? addr.port : 0;
});
afterAll(async () => {
  await app.close();
});

describe('zipkin JS tracer → Zipkin receiver', () => {
  it('server span and its client child arrive with ids, parent, kinds and L7 fields', async () => {
    const zipkin = (await import('zipkin')) as unknown as ZipkinModule;
    const { HttpLogger } = (await import('zipkin-transport-http')) as unknown as { HttpLogger: new (o: Record<string, unknown>) => unknown };
    const logger = new HttpLogger({ endpoint: `http://127.0.0.1:${port}/api/v2/spans`, jsonEncoder: zipkin.jsonEncoder.JSON_V2, httpInterval: 50 });
    const tracer = new zipkin.Tracer({ ctxImpl: new zipkin.ExplicitContext(), recorder: new zipkin.BatchRecorder({ logger }), localServiceName: 'zsvc', traceId128Bit: false });
    const A = zipkin.Annotation;
    const ids = tracer.scoped(() => {
      const root = tracer.createRootId();
      tracer.setId(root);
      tracer.recordServiceName('zsvc');
      tracer.recordRpc('GET');
      tracer.recordAnnotation(new A.ServerRecv!());
      tracer.recordAnnotation(new A.LocalAddr!({ host: new zipkin.InetAddress('10.1.2.3'), port: 8080 }));
      tracer.recordBinary('http.path', '/orders/7');
      tracer.recordBinary('http.method', 'GET');
      tracer.recordBinary('http.status_code', '500');
      const child = tracer.scoped(() => {
        const c = tracer.createChildId();
        tracer.setId(c);
        tracer.recordServiceName('zsvc');
        tracer.recordRpc('SELECT');
        tracer.recordAnnotation(new A.ClientSend!());
        tracer.recordAnnotation(new A.ServerAddr!({ serviceName: 'mysql', host: new zipkin.InetAddress('10.9.9.9'), port: 3306 }));
        tracer.recordBinary('sql.query', 'select 1');
        tracer.recordMessage('sent');
        tracer.recordAnnotation(new A.ClientRecv!());
        return c;
      });
      tracer.setId(root);
      tracer.recordAnnotation(new A.ServerSend!());
      return { root, child };
    });
    const spans = await sink.waitFor(2);
    const server = spans.find((s) => s.spanId === ids.root.spanId);
    const client = spans.find((s) => s.spanId === ids.child.spanId);
    if (!server || !client) throw new Error(`missing spans: ${JSON.stringify(spans.map((s) => s.spanId))}`);
    expect(server.traceId).toBe(ids.root.traceId.padStart(32, '0'));
    expect(client.traceId).toBe(server.traceId);
    expect(client.parentSpanId).toBe(server.spanId);
    expect(server).toMatchObject({ kind: 'server', observationPoint: 's-app', service: 'zsvc', protocol: 'http', requestType: 'GET', requestResource: '/orders/7', responseCode: 500, responseStatus: 'server_error', serverIp: '10.1.2.3', serverPort: 8080, origin: 'zipkin' });
    expect(client).toMatchObject({ kind: 'client', observationPoint: 'c-app', serverIp: '10.9.9.9', serverPort: 3306, requestDomain: 'mysql' });
    expect(client.attributes['peer.service']).toBe('mysql');
    expect(client.events.map((e) => e.name)).toContain('sent');
  });
});

describe('recorded Zipkin v2 fixtures', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
  it.each(files)('%s', async (file) => {
    const text = readFileSync(join(FIXTURES, file), 'utf8');
    const raw = JSON.parse(text) as { id: string; traceId: string; parentId?: string; shared?: boolean; kind?: string; localEndpoint?: { serviceName?: string } }[];
    const before = sink.spans.length;
    const res = await app.inject({ method: 'POST', url: '/api/v2/spans', payload: text, headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(202);
    const spans = sink.spans.slice(before);
    const rejected = (res.json() as { rejectedSpans?: number }).rejectedSpans ?? 0;
    expect(spans.length + rejected).toBe(raw.length);
    const sharedServer = (r: (typeof raw)[number]) => r.shared === true && (r.kind === 'SERVER' || r.kind === 'CONSUMER');
    // Every parent the fixture names is carried over, normalised to 16 hex; a shared server half
    // has its own derived id under the client half, and its same-service children follow it.
    for (const r of raw) {
      const id = r.id.padStart(16, '0');
      const s = sharedServer(r) ? spans.find((x) => x.attributes['zipkin.span_id'] === id) : spans.find((x) => x.spanId === id && x.attributes['zipkin.shared'] !== true && x.service === (r.localEndpoint?.serviceName ?? '') && x.kind === (r.kind ?? 'internal').toLowerCase());
      if (!s) continue;
      expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
      if (sharedServer(r)) {
        expect(s.spanId).toBe(sharedServerSpanId(s.traceId, id));
        expect(s.parentSpanId).toBe(id);
        continue;
      }
      const parent = r.parentId ? r.parentId.padStart(16, '0') : '';
      const joined = raw.find((p) => sharedServer(p) && p.id.padStart(16, '0') === parent && p.traceId === r.traceId && (p.localEndpoint?.serviceName ?? '') === (r.localEndpoint?.serviceName ?? ''));
      expect(s.parentSpanId).toBe(joined ? sharedServerSpanId(s.traceId, parent) : parent);
    }
  });
});
