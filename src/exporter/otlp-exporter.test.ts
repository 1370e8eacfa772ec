import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeOtlpJson, decodeOtlpProtobuf } from '../apm/otlp/index.js';
import { OTLP_TRACE_SERVICE_PROTO, PROTO_DIR } from '../apm/proto-files.js';
import { emptySpan, TracingError } from '../model/index.js';
import type { SpanRecord } from '../model/index.js';
import { createOtlpExporter, createRetryingTransport, parseExportFilter } from './index.js';
import type { ExportableTrace, SendResult, Transport } from './index.js';

// ---- an independent decoder, generated from the vendored official .proto files ----
function officialRequestType(): protobuf.Type {
  const root = new protobuf.Root();
  root.resolvePath = (_o, target) => (existsSync(join(PROTO_DIR, target)) ? join(PROTO_DIR, target) : target);
  root.loadSync(OTLP_TRACE_SERVICE_PROTO);
  return root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
}
const RequestType = officialRequestType();

interface RawSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
}

/** Every span of a protobuf request, ids as hex, attributes as plain values (official decoder). */
function rawSpans(bytes: Uint8Array): RawSpan[] {
  const req = RequestType.toObject(RequestType.decode(bytes), { longs: String, bytes: String, defaults: true }) as {
    resourceSpans: { scopeSpans: { spans: { traceId: string; spanId: string; parentSpanId: string; name: string; attributes: { key: string; value: Record<string, unknown> }[] }[] }[] }[];
  };
  const hex = (b64: string): string => Buffer.from(b64, 'base64').toString('hex');
  return req.resourceSpans.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) =>
      ss.spans.map((s) => ({
        traceId: hex(s.traceId),
        spanId: hex(s.spanId),
        parentSpanId: hex(s.parentSpanId),
        name: s.name,
        attributes: Object.fromEntries(s.attributes.map((a) => [a.key, Object.values(a.value).find((v) => v !== '' && v !== null && v !== undefined)])),
      })),
    ),
  );
}

// ---- fixtures: one full-stack trace ----
const TRACE = '0af7651916cd43dd8448eb211c80319c';
function sysSpan(): SpanRecord {
  const s = emptySpan({ source: 'sys', origin: 'ebpf', observationPoint: 'c-p' });
  Object.assign(s, {
    traceId: TRACE,
    spanId: '1111111111111111',
    parentSpanId: 'b7ad6b7169203331', // from the captured traceparent
    name: 'GET /api/cart',
    kind: 'client',
    service: 'frontend',
    startTimeUnixNano: 1_700_000_000_000_000_000n,
    endTimeUnixNano: 1_700_000_000_002_000_000n,
    statusCode: 'error',
    statusMessage: 'HTTP 503',
    attributes: { 'http.request.header.user-agent': 'curl/7.88', 'weft.user': 'escaped' },
    resource: { 'host.name': 'node-1' },
    events: [{ timeUnixNano: 1_700_000_000_001_000_000n, name: 'retransmit', attributes: { n: 2 } }],
    protocol: 'http',
    requestType: 'GET',
    requestDomain: 'cart:8080',
    requestResource: '/api/cart',
    endpoint: '/api/cart',
    requestId: 7,
    responseStatus: 'server_error',
    responseCode: 503,
    responseException: 'Service Unavailable',
    ipVersion: 4,
    clientIp: '10.0.0.1',
    serverIp: '10.0.0.2',
    clientPort: 40000,
    serverPort: 8080,
    transport: 'tcp',
    reqTcpSeq: 123456789,
    respTcpSeq: 987654321,
    hostId: 'agent-1',
    processId: 4242,
    processName: 'node',
    threadIdReq: 4243,
    threadIdResp: 4244,
    interfaceName: 'eth0',
    xRequestIdReq: 'req-abc',
    xRequestIdResp: 'req-abc',
    syscallTraceIdReq: 99,
    syscallTraceIdResp: 100,
    warnings: ['clock adjusted'],
  } satisfies Partial<SpanRecord>);
  return s;
}
function netSpan(): SpanRecord {
  const s = { ...sysSpan(), source: 'net' as const, origin: 'packet' as const, observationPoint: 'c-nd' as const, traceId: '', parentSpanId: '', spanId: '2222222222222222', warnings: [] };
  s.attributes = {};
  s.events = [];
  return s;
}
function appSpan(): SpanRecord {
  const s = emptySpan({ source: 'app', origin: 'otlp', observationPoint: 'c-app' });
  Object.assign(s, { traceId: TRACE, spanId: 'a0a0a0a0a0a0a0a0', name: 'cart.get', kind: 'client', startTimeUnixNano: 1n, endTimeUnixNano: 2n });
  return s;
}
function trace(): ExportableTrace & { nodes: { id: string; span: SpanRecord; parentId: string | null; linkReason: string | null }[] } {
  const app = appSpan();
  const sys = sysSpan();
  const net = netSpan();
  return {
    traceId: TRACE,
    nodes: [
      { id: 'n0', span: app, parentId: null, linkReason: null },
      { id: 'n1', span: sys, parentId: 'n0', linkReason: 'span_id' },
      { id: 'n2', span: net, parentId: 'n1', linkReason: 'tcp_seq' },
    ],
  };
}

// ---- real receivers ----
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of closers.splice(0)) await c();
});

interface HttpHit {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}
async function httpReceiver(answer: (n: number) => { status: number; headers?: Record<string, string> } = () => ({ status: 200 })): Promise<{ url: string; hits: HttpHit[] }> {
  const hits: HttpHit[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      hits.push({ path: req.url ?? '', headers: req.headers, body: req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw });
      const a = answer(hits.length);
      res.writeHead(a.status, { 'content-type': 'application/x-protobuf', ...a.headers }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

async function grpcReceiver(answer: (n: number) => grpc.status = () => grpc.status.OK): Promise<{ url: string; hits: { body: Buffer; metadata: grpc.Metadata }[] }> {
  const hits: { body: Buffer; metadata: grpc.Metadata }[] = [];
  const server = new grpc.Server();
  const id = (b: Buffer): Buffer => b;
  server.addService(
    { Export: { path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        hits.push({ body: call.request, metadata: call.metadata });
        const code = answer(hits.length);
        if (code === grpc.status.OK) cb(null, Buffer.alloc(0));
        else cb({ code, details: 'busy' });
      },
    },
  );
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  closers.push(() => new Promise((r) => server.tryShutdown(() => r())));
  return { url: `grpc://127.0.0.1:${port}`, hits };
}

const BASE = { batchSpans: 100, flushIntervalMs: 50, maxQueueSpans: 1000, timeoutMs: 2000 };

function checkExported(body: Buffer, decode: (b: Buffer) => SpanRecord[]): void {
  const raws = rawSpans(body);
  // The default filter leaves the APP span out.
  expect(raws.map((r) => r.spanId).sort()).toEqual(['1111111111111111', '2222222222222222']);
  const sysRaw = raws.find((r) => r.spanId === '1111111111111111')!;
  const netRaw = raws.find((r) => r.spanId === '2222222222222222')!;
  // OTLP parents are the assembled ones; the header parent and the link reason travel as weft.*.
  expect(sysRaw.parentSpanId).toBe('a0a0a0a0a0a0a0a0');
  expect(sysRaw.attributes['weft.parent_span_id']).toBe('b7ad6b7169203331');
  expect(sysRaw.attributes['weft.link_reason']).toBe('span_id');
  expect(netRaw.parentSpanId).toBe('1111111111111111');
  expect(netRaw.attributes['weft.link_reason']).toBe('tcp_seq');
  // An uninstrumented NET span joins the assembled trace.
  expect(netRaw.traceId).toBe(TRACE);
  // Correlation keys are on the wire under weft.*.
  expect(sysRaw.attributes).toMatchObject({ 'weft.req_tcp_seq': '123456789', 'weft.x_request_id_req': 'req-abc', 'weft.syscall_trace_id_req': '99', 'weft.source': 'sys', 'weft.observation_point': 'c-p' });
  // And a Weft receiver reads back exactly the records that were exported.
  const back = decode(body);
  const t = trace();
  expect(back.find((s) => s.spanId === '1111111111111111')).toEqual(t.nodes[1]!.span);
  expect(back.find((s) => s.spanId === '2222222222222222')).toEqual(t.nodes[2]!.span);
}

describe('OTLP exporter to real receivers', () => {
  it('HTTP: POST /v1/traces, gzip protobuf, headers; every field survives', async () => {
    const r = await httpReceiver();
    const ex = createOtlpExporter({ ...BASE, url: r.url, headers: { authorization: 'Bearer s3cret' } });
    ex.exportTrace(trace());
    await ex.flush();
    expect(ex.stats()).toEqual({ exported: 2, dropped: 0, failed: 0, queued: 0 });
    expect(r.hits).toHaveLength(1);
    const hit = r.hits[0]!;
    expect(hit.path).toBe('/v1/traces');
    expect(hit.headers['content-type']).toBe('application/x-protobuf');
    expect(hit.headers['content-encoding']).toBe('gzip');
    expect(hit.headers.authorization).toBe('Bearer s3cret');
    checkExported(hit.body, (b) => decodeOtlpProtobuf(b).spans);
    await ex.shutdown();
  });

  it('HTTP: OTLP/JSON encoding, and export() keeps the header parent', async () => {
    const r = await httpReceiver();
    const ex = createOtlpExporter({ ...BASE, url: `${r.url}/otlp/v1/traces`, encoding: 'json' });
    ex.export([sysSpan(), appSpan()]);
    await ex.flush();
    const hit = r.hits[0]!;
    expect(hit.path).toBe('/otlp/v1/traces');
    expect(hit.headers['content-type']).toBe('application/json');
    const back = decodeOtlpJson(hit.body).spans;
    expect(back).toEqual([sysSpan()]);
    const json = JSON.parse(hit.body.toString('utf8')) as { resourceSpans: { scopeSpans: { spans: { parentSpanId: string }[] }[] }[] };
    expect(json.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.parentSpanId).toBe('b7ad6b7169203331');
    await ex.shutdown();
  });

  it('gRPC: TraceService/Export with metadata; every field survives', async () => {
    const r = await grpcReceiver();
    const ex = createOtlpExporter({ ...BASE, url: r.url, headers: { 'x-tenant': 'acme' } });
    ex.exportTrace(trace());
    await ex.flush();
    expect(ex.stats()).toEqual({ exported: 2, dropped: 0, failed: 0, queued: 0 });
    expect(r.hits).toHaveLength(1);
    expect(r.hits[0]!.metadata.get('x-tenant')).toEqual(['acme']);
    checkExported(r.hits[0]!.body, (b) => decodeOtlpProtobuf(b).spans);
    await ex.shutdown();
  });

  it('gRPC: UNAVAILABLE is retried, INVALID_ARGUMENT is not', async () => {
    const r = await grpcReceiver((n) => (n === 1 ? grpc.status.UNAVAILABLE : n === 2 ? grpc.status.OK : grpc.status.INVALID_ARGUMENT));
    const ex = createOtlpExporter({ ...BASE, url: r.url, retry: { initialBackoffMs: 1, maxBackoffMs: 1 } });
    ex.export([sysSpan()]);
    await ex.flush();
    expect(ex.stats()).toMatchObject({ exported: 1, failed: 0 });
    ex.export([sysSpan()]);
    await ex.flush();
    expect(ex.stats()).toMatchObject({ exported: 1, failed: 1 });
    expect(r.hits).toHaveLength(3);
    await ex.shutdown();
  });

  it('HTTP: 503 with Retry-After is retried after the server-given delay; 400 fails at once', async () => {
    const r = await httpReceiver((n) => (n <= 2 ? { status: 503, headers: { 'retry-after': '3' } } : n === 3 ? { status: 200 } : { status: 400 }));
    const delays: number[] = [];
    const ex = createOtlpExporter({ ...BASE, url: r.url, retry: { sleep: (ms) => (delays.push(ms), Promise.resolve()) } });
    ex.export([sysSpan()]);
    await ex.flush();
    expect(delays).toEqual([3000, 3000]);
    expect(ex.stats()).toMatchObject({ exported: 1, failed: 0 });
    ex.export([sysSpan()]);
    await ex.flush();
    expect(r.hits).toHaveLength(4);
    expect(ex.stats()).toMatchObject({ exported: 1, failed: 1 });
    await ex.shutdown();
  });

  it('a refused connection is retried and then counted as failed', async () => {
    const r = await httpReceiver();
    await closers.pop()!();
    const ex = createOtlpExporter({ ...BASE, url: r.url, retry: { maxAttempts: 3, sleep: () => Promise.resolve() } });
    ex.export([sysSpan(), netSpan()]);
    await ex.flush();
    expect(ex.stats()).toEqual({ exported: 0, dropped: 0, failed: 2, queued: 0 });
  });
});

/** A fake transport: records sends, answers from a script, optionally holds answers until released. */
function scriptedTransport(script: SendResult[], hold = false): Transport & { sends: number[]; release: () => void } {
  const sends: number[] = [];
  let releaseAll: () => void = () => undefined;
  let gate: Promise<void> = hold ? new Promise<void>((r) => (releaseAll = r)) : Promise.resolve();
  return {
    sends,
    release: () => {
      releaseAll();
      gate = Promise.resolve();
    },
    async send(bytes) {
      sends.push(bytes.length);
      await gate;
      return script.shift() ?? { status: 'success' };
    },
    shutdown: () => Promise.resolve(),
  };
}

describe('retry, batching and the bounded queue (fake timers)', () => {
  it('backs off exponentially, capped, up to maxAttempts', async () => {
    vi.useFakeTimers();
    const retryable = (): SendResult => ({ status: 'retryable', error: new Error('busy') });
    const inner = scriptedTransport([retryable(), retryable(), retryable(), retryable(), retryable()]);
    const t = createRetryingTransport(inner, { maxAttempts: 4, initialBackoffMs: 1000, maxBackoffMs: 2000, random: () => 0.5 });
    const done = t.send(new Uint8Array(3), 100);
    await vi.advanceTimersByTimeAsync(0);
    expect(inner.sends).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(inner.sends).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(inner.sends).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1500);
    expect(inner.sends).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1999);
    expect(inner.sends).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(inner.sends).toHaveLength(4);
    expect((await done).status).toBe('retryable');
  });

  it('sends a partial batch after flushIntervalMs and full batches at once', async () => {
    vi.useFakeTimers();
    const tr = scriptedTransport([]);
    const ex = createOtlpExporter({ url: 'http://unused', transport: tr, batchSpans: 4, flushIntervalMs: 1000, maxQueueSpans: 100 });
    ex.export([sysSpan(), sysSpan(), sysSpan()]);
    await vi.advanceTimersByTimeAsync(999);
    expect(tr.sends).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(tr.sends).toHaveLength(1);
    ex.export(Array.from({ length: 8 }, sysSpan));
    await vi.advanceTimersByTimeAsync(0);
    expect(tr.sends).toHaveLength(3);
    expect(ex.stats()).toEqual({ exported: 11, dropped: 0, failed: 0, queued: 0 });
  });

  it('counts drops when the queue is full while the receiver is slow, and after shutdown', async () => {
    const tr = scriptedTransport([], true);
    const ex = createOtlpExporter({ url: 'http://unused', transport: tr, batchSpans: 5, flushIntervalMs: 10_000, maxQueueSpans: 10 });
    ex.export(Array.from({ length: 5 }, sysSpan)); // taken as a batch; the send hangs
    await Promise.resolve();
    ex.export(Array.from({ length: 14 }, sysSpan)); // 10 fit
    expect(ex.stats()).toEqual({ exported: 0, dropped: 4, failed: 0, queued: 10 });
    tr.release();
    await ex.shutdown();
    expect(ex.stats()).toEqual({ exported: 15, dropped: 4, failed: 0, queued: 0 });
    ex.export([sysSpan()]);
    expect(ex.stats().dropped).toBe(5);
  });

  it('applies a custom filter and refuses bad config with a clear error', () => {
    const tr = scriptedTransport([]);
    const f = parseExportFilter('source=app,sys;protocol!=dns');
    if (!f.ok) throw new Error(f.error);
    const ex = createOtlpExporter({ url: 'http://unused', transport: tr, filter: f.filter, batchSpans: 100, flushIntervalMs: 10_000, maxQueueSpans: 100 });
    const dns = sysSpan();
    dns.protocol = 'dns';
    ex.export([appSpan(), sysSpan(), netSpan(), dns]);
    expect(ex.stats().queued).toBe(2);
    expect(() => createOtlpExporter({ ...BASE, url: 'ftp://x' })).toThrow(TracingError);
    expect(() => createOtlpExporter({ ...BASE, url: 'ftp://x' })).toThrow(/http:\/\/, https:\/\/ or grpc:\/\/ \(actual: "ftp:\/\/x"\)/);
    expect(() => createOtlpExporter({ ...BASE, url: 'http://x', batchSpans: 0 })).toThrow(/batchSpans must be a positive number \(actual: 0\)/);
    void ex.shutdown();
  });
});
