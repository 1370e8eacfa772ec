/**
 * @module The real OpenTelemetry JS SDK: three real Node HTTP services A → B → C, each its own
 * process, export to Weft with each exporter (http-proto, http-json, grpc). The trace from
 * `/api/v1/traces/{id}` has every span with the right parent (linkReason span_id); Jaeger
 * `/api/traces/{id}` and api_v3 `/api/v3/traces/{id}` return the same spans in their shapes.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited } from './cli-process.js';
import { getJson, startTestWeft } from './weft-harness.js';
import type { TestWeft, V1Trace } from './weft-harness.js';

const SERVICE_APP = join(dirname(fileURLToPath(import.meta.url)), 'testdata', 'otel-chain-service.cjs');

function startService(name: string, exporter: string, endpoint: string, downstream?: number): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const args = [SERVICE_APP, name, exporter, endpoint, ...(downstream ? [String(downstream)] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`${name} exited ${code}: ${err}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await exited(child);
  expect(child.exitCode).toBe(0);
}

interface JaegerShape {
  data: { traceID: string; spans: { spanID: string; operationName: string; references: { refType: string; spanID: string }[]; processID: string }[]; processes: Record<string, { serviceName: string }> }[];
}
interface V3Shape {
  result: { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: { spanId: string; parentSpanId?: string; name: string }[] }[] }[] };
}

describe.each(['http-proto', 'http-json', 'grpc'])('OpenTelemetry SDK over %s', (exporter) => {
  let weft: TestWeft;
  let traceId = '';
  beforeAll(async () => {
    weft = await startTestWeft();
    const endpoint = exporter === 'grpc' ? `http://${weft.urls.otlpGrpc}` : weft.urls.otlpHttp;
    const c = await startService(`svc-c-${exporter}`, exporter, endpoint);
    const b = await startService(`svc-b-${exporter}`, exporter, endpoint, c.port);
    const a = await startService(`svc-a-${exporter}`, exporter, endpoint, b.port);
    traceId = await (await fetch(`http://127.0.0.1:${a.port}/`)).text();
    // Shutting down flushes each exporter and waits for Weft's acknowledgement (= durable).
    await Promise.all([stop(a.child), stop(b.child), stop(c.child)]);
  });
  afterAll(async () => weft?.close());

  it('returns the chain A → B → C with parents by span id', async () => {
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const { status, body } = await getJson<V1Trace>(`${weft.urls.query}/api/v1/traces/${traceId}`);
    expect(status).toBe(200);
    // A: server + client; B: server + client; C: server.
    expect(body.spans).toHaveLength(5);
    const byId = new Map(body.spans.map((s) => [s.id, s]));
    const roots = body.spans.filter((s) => s.parentId === null);
    expect(roots).toHaveLength(1);
    expect(roots[0]?.service).toBe(`svc-a-${exporter}`);
    expect(roots[0]?.observationPoint).toBe('s-app');
    for (const s of body.spans) {
      expect(s.traceId).toBe(traceId);
      expect(s.source).toBe('app');
      if (s.parentId === null) continue;
      const parent = byId.get(s.parentId);
      expect(parent?.spanId).toBe(s.parentSpanId);
      expect(s.linkReason).toBe('span_id');
    }
    // The path from C's server span to the root crosses the services in order.
    const cServer = body.spans.find((s) => s.service === `svc-c-${exporter}`);
    const path: string[] = [];
    for (let s = cServer; s; s = s.parentId ? byId.get(s.parentId) : undefined) path.push(`${s.service.slice(0, 5)}:${s.observationPoint}`);
    expect(path).toEqual(['svc-c:s-app', 'svc-b:c-app', 'svc-b:s-app', 'svc-a:c-app', 'svc-a:s-app']);
  });

  it('returns the same spans from Jaeger /api/traces/{id} and api_v3 /api/v3/traces/{id}', async () => {
    const v1 = (await getJson<V1Trace>(`${weft.urls.query}/api/v1/traces/${traceId}`)).body;
    const want = new Map(v1.spans.map((s) => [s.spanId, s.parentSpanId]));

    const jaeger = await getJson<JaegerShape>(`${weft.urls.query}/api/traces/${traceId}`);
    expect(jaeger.status).toBe(200);
    const jt = jaeger.body.data[0];
    expect(jt?.traceID).toBe(traceId);
    const jaegerParents = new Map(jt?.spans.map((s) => [s.spanID, s.references.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '']));
    expect(jaegerParents).toEqual(want);
    expect(new Set(jt?.spans.map((s) => jt.processes[s.processID]?.serviceName))).toEqual(new Set(v1.spans.map((s) => s.service)));

    const v3 = await getJson<V3Shape>(`${weft.urls.query}/api/v3/traces/${traceId}`);
    expect(v3.status).toBe(200);
    const v3Parents = new Map(
      v3.body.result.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => [s.spanId, s.parentSpanId ?? ''] as const))),
    );
    expect(v3Parents).toEqual(want);
  });
});
