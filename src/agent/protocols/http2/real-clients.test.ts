/**
 * @module HTTP/2 and gRPC spans from real libraries' traffic (Node's http2 on nghttp2, and
 * @grpc/grpc-js), recorded in-process by a proxy: concurrent streams on one connection pair by
 * stream id; any split of the bytes gives the same spans; a capture that joins mid-connection
 * or loses bytes emits only values that are right (or marks them unknown).
 */
import { execFile } from 'node:child_process';
import { createServer as createHttp1Server } from 'node:http';
import { connect, createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SpanRecord } from '../../../model/index.js';
import { createExchangeStream } from '../exchange-stream.js';
import type { ParseDirection } from '../protocol.js';
import type { Flow } from '../testing/pcap-flows.js';
import { startRecordingProxy } from '../testing/recording-proxy.js';
import { connOf, replayFlows } from '../testing/replay.js';
import { http2Parser } from './index.js';
import type { Http2Record } from './stitch.js';

const traceparent = (i: number): string => `00-${(0xabc000 + i).toString(16).padStart(32, '0')}-${(0x100 + i).toString(16).padStart(16, '0')}-01`;
const traceIdOf = (i: number): string => (0xabc000 + i).toString(16).padStart(32, '0');

/** Replays flows with messages optionally dropped (joined late) or cut (payload cap). */
function replay(flows: readonly Flow[], opts: { skipMessages?: number; cutAt?: number; cuts?: number[] } = {}): SpanRecord[] {
  const spans: SpanRecord[] = [];
  for (const flow of flows) {
    const stream = createExchangeStream<Http2Record>(http2Parser, 'tcp');
    const conn = connOf(flow);
    for (const m of flow.messages.slice(opts.skipMessages ?? 0)) {
      const dir: ParseDirection = m.fromClient ? 'request' : 'response';
      let bytes = m.bytes;
      let missing = 0;
      if (opts.cutAt !== undefined && bytes.length > opts.cutAt) {
        missing = bytes.length - opts.cutAt;
        bytes = bytes.subarray(0, opts.cutAt);
      }
      const points = [...new Set((opts.cuts ?? []).map((c) => Math.floor(c * bytes.length)))].filter((p) => p > 0 && p < bytes.length).sort((a, b) => a - b);
      let start = 0;
      for (const p of [...points, bytes.length]) {
        const meta = start === 0 ? m.meta : { ...m.meta, tcpSeq: (m.meta.tcpSeq + start) >>> 0 };
        const last = p === bytes.length;
        for (const rec of stream.push(dir, bytes.subarray(start, p), meta, last, last ? missing : 0)) spans.push(http2Parser.toSpan(rec, conn));
        start = p;
      }
    }
    for (const rec of stream.drain()) spans.push(http2Parser.toSpan(rec, conn));
  }
  return spans;
}

/** Streams complete in a different order when bytes arrive in other pieces; compare as a set. */
const byStream = (spans: SpanRecord[]): SpanRecord[] => [...spans].sort((a, b) => a.clientPort - b.clientPort || (a.requestId ?? 0) - (b.requestId ?? 0));

/** Every span of a partial replay agrees with the full replay's span of that stream, or leaves the field empty. */
function expectNoWrongValues(partial: readonly SpanRecord[], full: readonly SpanRecord[]): void {
  const byStream = new Map(full.map((s) => [`${s.clientPort}/${s.requestId}`, s]));
  for (const s of partial) {
    const truth = byStream.get(`${s.clientPort}/${s.requestId}`);
    expect(truth, `stream ${s.requestId} exists`).toBeDefined();
    if (s.requestType) expect(s.requestType).toBe(truth!.requestType);
    if (s.requestResource) expect(s.requestResource).toBe(truth!.requestResource);
    if (s.requestDomain) expect(s.requestDomain).toBe(truth!.requestDomain);
    if (s.traceId) expect(s.traceId).toBe(truth!.traceId);
    if (s.responseCode !== null && s.responseStatus !== 'timeout') expect(s.responseCode, JSON.stringify({ ...s, startTimeUnixNano: 0, endTimeUnixNano: 0 })).toBe(truth!.responseCode);
    if (s.reqTcpSeq) expect(s.reqTcpSeq).toBe(truth!.reqTcpSeq);
    if (s.respTcpSeq) expect(s.respTcpSeq).toBe(truth!.respTcpSeq);
  }
}

describe('Node http2 (nghttp2) client and server, h2c', () => {
  let flows: Flow[] = [];
  const N = 24;
  beforeAll(async () => {
    const server: Http2Server = createServer();
    server.on('stream', (stream: ServerHttp2Stream, headers) => {
      const path = String(headers[':path']);
      if (path.startsWith('/missing')) {
        stream.respond({ ':status': 404 });
        stream.end('no');
      } else if (path.startsWith('/big')) {
        stream.respond({ ':status': 200, 'content-type': 'text/plain' });
        stream.end('x'.repeat(100_000));
      } else {
        stream.respond({ ':status': 200, 'x-request-id': String(headers['x-request-id'] ?? '') });
        stream.end(`hello ${path}`);
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const proxy = await startRecordingProxy((server.address() as AddressInfo).port);
    const session = connect(`http://127.0.0.1:${proxy.port}`);
    const one = (i: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const path = i % 6 === 5 ? `/missing/${i}` : i % 6 === 4 ? `/big/${i}` : `/items/${i}?q=${i}`;
        const req = session.request({ ':method': i % 3 === 0 ? 'POST' : 'GET', ':path': path, traceparent: traceparent(i), 'x-request-id': `req-${i}` }, { endStream: i % 3 !== 0 });
        if (i % 3 === 0) req.end(`body ${i}`);
        req.on('data', () => undefined).on('end', resolve).on('error', reject);
      });
    await Promise.all(Array.from({ length: N }, (_, i) => one(i)));
    session.close();
    await new Promise((r) => setTimeout(r, 100));
    flows = proxy.flows();
    await proxy.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it(`pairs ${N} concurrent streams on one connection by stream id`, () => {
    expect(flows).toHaveLength(1);
    const { spans, stats } = replayFlows(http2Parser, flows);
    expect(stats[0]?.invalid).toBe(0);
    expect(spans).toHaveLength(N);
    expect(new Set(spans.map((s) => s.requestId)).size).toBe(N);
    for (let i = 0; i < N; i++) {
      const s = spans.find((x) => x.traceId === traceIdOf(i));
      const path = i % 6 === 5 ? `/missing/${i}` : i % 6 === 4 ? `/big/${i}` : `/items/${i}?q=${i}`;
      expect(s, `request ${i}`).toMatchObject({
        protocol: 'http2',
        requestType: i % 3 === 0 ? 'POST' : 'GET',
        requestResource: path,
        requestDomain: `127.0.0.1:${flows[0]!.serverPort === 0 ? '' : ''}`.length > 0 ? expect.stringContaining('127.0.0.1') : '',
        responseCode: i % 6 === 5 ? 404 : 200,
        responseStatus: i % 6 === 5 ? 'client_error' : 'ok',
        xRequestIdReq: `req-${i}`,
        parentSpanId: (0x100 + i).toString(16).padStart(16, '0'),
      });
      expect(s!.requestId! % 2).toBe(1);
      expect(s!.reqTcpSeq).not.toBe(0);
      expect(s!.attributes['weft.hpack_unknown_fields']).toBeUndefined();
    }
    // Each stream's request and response keys are its own header frames' byte positions.
    expect(new Set(spans.map((s) => s.reqTcpSeq)).size).toBe(N);
    expect(new Set(spans.map((s) => s.respTcpSeq)).size).toBe(N);
  });

  it('gives the same spans for any split of the bytes into segments', () => {
    const whole = replay(flows);
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), (cuts) => {
        expect(byStream(replay(flows, { cuts }))).toEqual(byStream(whole));
      }),
      { numRuns: 60 },
    );
  });

  it('joined mid-connection or with payloads cut: never a wrong value', () => {
    const full = replay(flows);
    for (let skip = 1; skip < flows[0]!.messages.length; skip++) expectNoWrongValues(replay(flows, { skipMessages: skip }), full);
    for (const cutAt of [64, 200, 1024, 4096]) {
      const cut = replay(flows, { cutAt });
      expectNoWrongValues(cut, full);
      if (cutAt >= 4096) expect(cut.filter((s) => s.requestResource).length).toBeGreaterThan(N / 2);
    }
  });
});

describe('@grpc/grpc-js unary and server-streaming calls', () => {
  let flows: Flow[] = [];
  const UNARY = 20;
  const STREAMING = 16;
  const id = (b: Buffer): Buffer => b;
  const service: grpc.ServiceDefinition = {
    Say: { path: '/weft.test.Echo/Say', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id, originalName: 'say' },
    Count: { path: '/weft.test.Echo/Count', requestStream: false, responseStream: true, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id, originalName: 'count' },
  };
  beforeAll(async () => {
    const server = new grpc.Server();
    server.addService(service, {
      Say: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const text = call.request.toString();
        if (text.startsWith('fail')) cb({ code: grpc.status.NOT_FOUND, details: `no ${text}` });
        else cb(null, Buffer.from(`echo ${text}`));
      },
      Count: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        const n = Number(call.request.toString());
        for (let i = 0; i < n; i++) call.write(Buffer.from(`item ${i} `.repeat(50)));
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const proxy = await startRecordingProxy(port);
    const Client = grpc.makeGenericClientConstructor(service, 'Echo');
    const client = new Client(`127.0.0.1:${proxy.port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, (...a: unknown[]) => unknown>;
    const md = (i: number): grpc.Metadata => {
      const m = new grpc.Metadata();
      m.set('traceparent', traceparent(i));
      return m;
    };
    const unary = (i: number): Promise<void> =>
      new Promise((resolve) => {
        client['Say']!(Buffer.from(i % 5 === 4 ? `fail ${i}` : `hi ${i}`), md(i), () => resolve());
      });
    const streaming = (i: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const call = client['Count']!(Buffer.from(String(3 + (i % 4))), md(100 + i)) as grpc.ClientReadableStream<Buffer>;
        call.on('data', () => undefined).on('end', resolve).on('error', reject);
      });
    // One call first (its headers fill the HPACK tables), then all at once, then a second wave
    // one by one: a capture joining after the first messages meets indexed references.
    await unary(1000);
    await Promise.all([...Array.from({ length: UNARY }, (_, i) => unary(i)), ...Array.from({ length: STREAMING }, (_, i) => streaming(i))]);
    for (let i = 0; i < 4; i++) {
      await unary(2000 + i);
      await streaming(2000 + i);
    }
    client.close();
    await new Promise((r) => setTimeout(r, 100));
    flows = proxy.flows();
    await proxy.close();
    await new Promise<void>((r) => server.tryShutdown(() => r()));
  });

  it(`each of ${UNARY} unary and ${STREAMING} streaming calls on one connection is one span with service, method and grpc-status`, () => {
    expect(flows).toHaveLength(1);
    const { spans, stats } = replayFlows(http2Parser, flows);
    expect(stats[0]?.invalid).toBe(0);
    expect(spans).toHaveLength(UNARY + STREAMING + 9);
    for (let i = 0; i < UNARY; i++) {
      const s = spans.find((x) => x.traceId === traceIdOf(i));
      const fail = i % 5 === 4;
      expect(s, `unary ${i}`).toMatchObject({
        protocol: 'grpc',
        requestType: 'POST',
        requestResource: '/weft.test.Echo/Say',
        endpoint: '/weft.test.Echo/Say',
        responseCode: fail ? 5 : 0,
        responseStatus: fail ? 'client_error' : 'ok',
        responseException: fail ? `no fail ${i}` : '',
        attributes: expect.objectContaining({ 'rpc.system': 'grpc', 'rpc.service': 'weft.test.Echo', 'rpc.method': 'Say', 'rpc.grpc.status_code': fail ? 5 : 0, 'http.response.status_code': 200 }),
      });
    }
    for (let i = 0; i < STREAMING; i++) {
      const s = spans.find((x) => x.traceId === traceIdOf(100 + i));
      expect(s, `streaming ${i}`).toMatchObject({ protocol: 'grpc', requestResource: '/weft.test.Echo/Count', responseCode: 0, attributes: expect.objectContaining({ 'rpc.method': 'Count' }) });
      // A streamed reply ends with its trailers, after its first response byte.
      expect(s!.endTimeUnixNano).toBeGreaterThanOrEqual(s!.startTimeUnixNano);
    }
    expect(new Set(spans.map((s) => s.requestId)).size).toBe(UNARY + STREAMING + 9);
  });

  it('joined mid-connection or with payloads cut: never a wrong value, unknown fields marked', () => {
    const full = replay(flows);
    let marked = 0;
    for (let skip = 1; skip < flows[0]!.messages.length; skip++) {
      const partial = replay(flows, { skipMessages: skip });
      expectNoWrongValues(partial, full);
      marked += partial.filter((s) => typeof s.attributes['weft.hpack_unknown_fields'] === 'number').length;
    }
    expect(marked).toBeGreaterThan(0);
    for (const cutAt of [100, 1024, 4096]) expectNoWrongValues(replay(flows, { cutAt }), full);
  });

  it('gives the same spans for any split of the bytes into segments', () => {
    const whole = replay(flows);
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), (cuts) => {
        expect(byStream(replay(flows, { cuts }))).toEqual(byStream(whole));
      }),
      { numRuns: 60 },
    );
  });
});

describe('curl --http2 to a server that only speaks HTTP/1.1 (the h2c upgrade refused)', () => {
  it('follows the connection as HTTP/1.1: both requests are http spans with their status', async () => {
    const server = createHttp1Server((req, res) => {
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.end(`plain ${req.url}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const proxy = await startRecordingProxy((server.address() as AddressInfo).port);
    const u = `http://127.0.0.1:${proxy.port}`;
    await promisify(execFile)('curl', ['-sS', '--http2', '-o', '/dev/null', '-o', '/dev/null', '-H', `traceparent: ${traceparent(7)}`, `${u}/first`, `${u}/missing`]);
    await new Promise((r) => setTimeout(r, 100));
    const flows = proxy.flows();
    await proxy.close();
    await new Promise<void>((r) => server.close(() => r()));
    const spans = flows.flatMap((f) => replayFlows(http2Parser, [f]).spans);
    expect(spans.map((s) => [s.protocol, s.requestType, s.requestResource, s.responseCode, s.traceId])).toEqual([
      ['http', 'GET', '/first', 200, traceIdOf(7)],
      ['http', 'GET', '/missing', 404, traceIdOf(7)],
    ]);
  });
});
