/**
 * @module Builders of the fixed span sets the golden tests use; written to *.spans.json with
 * UPDATE_GOLDEN=1, read back from those files otherwise (the JSON is the fixed input).
 */
import { emptySpan } from '../../../model/index.js';
import type { ObservationPoint, SpanRecord } from '../../../model/index.js';

const T0 = 1_700_000_000_000_000_000n;
const ms = (x: number): bigint => T0 + BigInt(Math.round(x * 1_000_000));
const T1 = '0af7651916cd43dd8448eb211c80319c';
const TA = 'aaaaaaaaaaaaaaaa0000000000000001';
const TB = 'bbbbbbbbbbbbbbbb0000000000000002';

type Part = Partial<SpanRecord> & { name: string; op: ObservationPoint; at: [number, number] };

function span(p: Part): SpanRecord {
  const { op, at, ...rest } = p;
  const source = op === 'c-app' || op === 's-app' || op === 'app' ? 'app' : op === 'c-p' || op === 's-p' ? 'sys' : 'net';
  const origin = source === 'app' ? 'otlp' : source === 'sys' ? 'ebpf' : 'packet';
  return {
    ...emptySpan({ source, origin, observationPoint: op }),
    kind: op === 'c-p' || op === 'c-app' || op === 'c' ? 'client' : op === 's-p' || op === 's-app' || op === 's' ? 'server' : 'internal',
    transport: source === 'app' ? '' : 'tcp',
    startTimeUnixNano: ms(at[0]),
    endTimeUnixNano: ms(at[1]),
    ...rest,
  };
}

/** curl → nginx → OTel frontend → uninstrumented backend → redis, mysql, dns. */
export function fullStack(): SpanRecord[] {
  const http = { protocol: 'http', requestType: 'GET' };
  return [
    span({ name: 'curl c-p', op: 'c-p', at: [0, 100], hostId: 'h1', processId: 100, spanId: 'sys0000000000001', reqTcpSeq: 1000, respTcpSeq: 5000, traceId: T1, parentSpanId: 'aaaa000000000001', ...http, requestResource: '/' }),
    span({ name: 'h1 eth0', op: 'c', at: [0.1, 99.9], hostId: 'h1', spanId: 'net0000000000001', reqTcpSeq: 1000, respTcpSeq: 5000, ...http, requestResource: '/' }),
    span({ name: 'h2 eth0', op: 's', at: [0.3, 99.7], hostId: 'h2', spanId: 'net0000000000002', reqTcpSeq: 1000, respTcpSeq: 5000, ...http, requestResource: '/' }),
    span({ name: 'nginx s-p', op: 's-p', at: [0.5, 99.5], hostId: 'h2', processId: 200, spanId: 'sys0000000000002', reqTcpSeq: 1000, respTcpSeq: 5000, syscallTraceIdReq: 11, syscallTraceIdResp: 12, traceId: T1, parentSpanId: 'aaaa000000000001', service: 'nginx', ...http, requestResource: '/' }),
    span({ name: 'nginx c-p', op: 'c-p', at: [1, 98], hostId: 'h2', processId: 200, spanId: 'sys0000000000003', reqTcpSeq: 2000, respTcpSeq: 6000, syscallTraceIdReq: 11, syscallTraceIdResp: 12, xRequestIdReq: 'rid-1', traceId: T1, parentSpanId: 'aaaa000000000001', service: 'nginx', ...http, requestResource: '/' }),
    span({ name: 'frontend s-p', op: 's-p', at: [1.2, 97.5], hostId: 'h2', processId: 300, spanId: 'sys0000000000004', reqTcpSeq: 2000, respTcpSeq: 6000, syscallTraceIdReq: 21, syscallTraceIdResp: 22, xRequestIdReq: 'rid-1', traceId: T1, parentSpanId: 'aaaa000000000001', service: 'node', ...http, requestResource: '/' }),
    span({ name: 'GET /', op: 's-app', at: [1.5, 97], spanId: 'bbbb000000000001', parentSpanId: 'aaaa000000000001', traceId: T1, service: 'frontend', resource: { 'process.pid': 300 } }),
    span({ name: 'GET backend', op: 'c-app', at: [2, 60], spanId: 'bbbb000000000002', parentSpanId: 'bbbb000000000001', traceId: T1, service: 'frontend', resource: { 'process.pid': 300 } }),
    span({ name: 'frontend c-p', op: 'c-p', at: [2.2, 59.8], hostId: 'h2', processId: 300, spanId: 'sys0000000000005', reqTcpSeq: 3000, respTcpSeq: 7000, syscallTraceIdReq: 21, syscallTraceIdResp: 23, traceId: T1, parentSpanId: 'bbbb000000000002', service: 'node', ...http, requestResource: '/api' }),
    span({ name: 'h3 eth0', op: 's', at: [2.5, 59.5], hostId: 'h3', spanId: 'net0000000000003', reqTcpSeq: 3000, respTcpSeq: 7000, ...http, requestResource: '/api' }),
    span({ name: 'backend s-p', op: 's-p', at: [2.8, 59.2], hostId: 'h3', processId: 400, spanId: 'sys0000000000006', reqTcpSeq: 3000, respTcpSeq: 7000, syscallTraceIdReq: 31, syscallTraceIdResp: 34, traceId: T1, parentSpanId: 'bbbb000000000002', service: 'node', ...http, requestResource: '/api' }),
    span({ name: 'redis GET', op: 'c-p', at: [3, 5], hostId: 'h3', processId: 400, spanId: 'sys0000000000007', reqTcpSeq: 8000, respTcpSeq: 8100, syscallTraceIdReq: 31, syscallTraceIdResp: 32, protocol: 'redis', requestType: 'GET' }),
    span({ name: 'mysql SELECT', op: 'c-p', at: [6, 20], hostId: 'h3', processId: 400, spanId: 'sys0000000000008', reqTcpSeq: 9000, respTcpSeq: 9100, syscallTraceIdReq: 32, syscallTraceIdResp: 33, protocol: 'mysql', requestType: 'SELECT' }),
    span({ name: 'dns A', op: 'c-p', at: [21, 22], hostId: 'h3', processId: 400, spanId: 'sys0000000000009', transport: 'udp', syscallTraceIdReq: 33, syscallTraceIdResp: 34, protocol: 'dns', requestType: 'A' }),
  ];
}

/** One keep-alive connection carrying 5 requests, plus 3 concurrent requests on other connections. */
export function keepAlive(): SpanRecord[] {
  const out: SpanRecord[] = [];
  for (let r = 0; r < 8; r++) {
    const concurrent = r >= 5;
    const t = concurrent ? 20 + (r - 5) * 0.5 : r * 10;
    const port = concurrent ? 40000 + r : 40000;
    const base = { clientIp: '10.0.0.1', serverIp: '10.0.0.2', clientPort: port, serverPort: 8080, protocol: 'http', requestType: 'GET', requestResource: `/item/${r}` };
    const seq = 1_000_000 + r * 333;
    out.push(span({ name: `client req ${r}`, op: 'c-p', at: [t, t + 8], hostId: 'h1', processId: 10, spanId: `c${String(r).padStart(15, '0')}`, reqTcpSeq: seq, respTcpSeq: 9_000_000 + r * 777, ...base }));
    out.push(span({ name: `server req ${r}`, op: 's-p', at: [t + 0.5, t + 7.5], hostId: 'h2', processId: 20, spanId: `s${String(r).padStart(15, '0')}`, reqTcpSeq: seq, respTcpSeq: 9_000_000 + r * 777, syscallTraceIdReq: 100 + r, syscallTraceIdResp: 200 + r, ...base }));
    out.push(span({ name: `redis for ${r}`, op: 'c-p', at: [t + 1, t + 2], hostId: 'h2', processId: 20, spanId: `r${String(r).padStart(15, '0')}`, reqTcpSeq: 5_000_000 + r, respTcpSeq: 6_000_000 + r, syscallTraceIdReq: 100 + r, syscallTraceIdResp: 200 + r, protocol: 'redis', requestType: 'GET' }));
  }
  return out;
}

/** Host h2's clock runs 30 ms behind h1: the server appears to answer before the client asked. */
export function clockSkew(): SpanRecord[] {
  const http = { protocol: 'http', requestType: 'POST', requestResource: '/pay' };
  return [
    span({ name: 'client c-p', op: 'c-p', at: [100, 150], hostId: 'h1', processId: 1, spanId: 'k000000000000001', reqTcpSeq: 77, respTcpSeq: 88, ...http }),
    span({ name: 'server s-p', op: 's-p', at: [71, 119], hostId: 'h2', processId: 2, spanId: 'k000000000000002', reqTcpSeq: 77, respTcpSeq: 88, syscallTraceIdReq: 5, syscallTraceIdResp: 6, ...http }),
    span({ name: 'server db c-p', op: 'c-p', at: [75, 90], hostId: 'h2', processId: 2, spanId: 'k000000000000003', syscallTraceIdReq: 5, syscallTraceIdResp: 6, reqTcpSeq: 500, respTcpSeq: 600, protocol: 'postgresql' }),
  ];
}

/** SkyWalking ids ("{segment}-{span}") across two services, with the eBPF spans between them. */
export function skywalking(): SpanRecord[] {
  const tid = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
  const http = { protocol: 'http', requestType: 'GET', requestResource: '/sw' };
  return [
    span({ name: 'entry A', op: 's-app', at: [0, 50], spanId: 'segA-0', traceId: tid, service: 'svc-a', origin: 'skywalking' }),
    span({ name: 'exit A→B', op: 'c-app', at: [5, 40], spanId: 'segA-1', parentSpanId: 'segA-0', traceId: tid, service: 'svc-a', origin: 'skywalking' }),
    span({ name: 'A c-p', op: 'c-p', at: [5.5, 39.5], hostId: 'ha', processId: 1, spanId: 'swsys00000000001', parentSpanId: 'segA-1', traceId: tid, reqTcpSeq: 4242, respTcpSeq: 4343, ...http }),
    span({ name: 'B s-p', op: 's-p', at: [6, 39], hostId: 'hb', processId: 2, spanId: 'swsys00000000002', parentSpanId: 'segA-1', traceId: tid, reqTcpSeq: 4242, respTcpSeq: 4343, ...http }),
    span({ name: 'entry B', op: 's-app', at: [6.5, 38], spanId: 'segB-0', parentSpanId: 'segA-1', traceId: tid, service: 'svc-b', origin: 'skywalking' }),
  ];
}

/** A request-only and a response-only row of one message, plus a duplicate row. */
export function halves(): SpanRecord[] {
  const flow = { hostId: 'h1', processId: 9, clientIp: '10.0.0.1', clientPort: 5555, serverIp: '10.0.0.9', serverPort: 80, protocol: 'http' };
  const req = span({ name: 'req half', op: 's-p', at: [0, 0], spanId: 'half000000000001', reqTcpSeq: 10, syscallTraceIdReq: 1, requestType: 'GET', requestResource: '/x', ...flow });
  const resp = span({ name: 'resp half', op: 's-p', at: [4, 5], spanId: '', respTcpSeq: 20, syscallTraceIdResp: 2, responseCode: 200, responseStatus: 'ok', ...flow });
  const call = span({ name: 'inner c-p', op: 'c-p', at: [1, 3], spanId: 'half000000000002', syscallTraceIdReq: 1, syscallTraceIdResp: 2, reqTcpSeq: 30, respTcpSeq: 40, ...flow, clientPort: 6000 });
  return [req, resp, call, { ...call }];
}

/** A gateway nobody captured between client and server: only X-Request-ID links them. */
export function xRequestIdGateway(): SpanRecord[] {
  const http = { protocol: 'http', requestType: 'GET', requestResource: '/gw' };
  return [
    span({ name: 'client c-p', op: 'c-p', at: [0, 40], hostId: 'h1', processId: 1, spanId: 'x000000000000001', reqTcpSeq: 111, respTcpSeq: 222, xRequestIdReq: 'gw-1', ...http }),
    span({ name: 'server s-p', op: 's-p', at: [5, 30], hostId: 'h2', processId: 2, spanId: 'x000000000000002', reqTcpSeq: 333, respTcpSeq: 444, xRequestIdReq: 'gw-1', ...http }),
    // An unrelated request reusing the same X-Request-ID much later: must not join.
    span({ name: 'late s-p', op: 's-p', at: [5000, 5010], hostId: 'h3', processId: 3, spanId: 'x000000000000003', reqTcpSeq: 555, respTcpSeq: 666, xRequestIdReq: 'gw-1', ...http }),
  ];
}

/** Node.js backend: no usable syscall ids, an s-app with no header parent, concurrency. */
export function asyncProcess(): SpanRecord[] {
  const tid = 'feedfacefeedfacefeedfacefeedface';
  return [
    span({ name: 'lonely s-p', op: 's-p', at: [0, 50], hostId: 'h1', processId: 7, spanId: 'p000000000000001', reqTcpSeq: 10, respTcpSeq: 20, protocol: 'http' }),
    span({ name: 'app entry', op: 's-app', at: [1, 49], spanId: 'papp000000000001', traceId: tid, service: 'api', resource: { 'process.pid': 7, 'host.name': 'h1' } }),
    span({ name: 'lonely call', op: 'c-p', at: [10, 20], hostId: 'h1', processId: 7, spanId: 'p000000000000002', reqTcpSeq: 30, respTcpSeq: 40, protocol: 'redis' }),
    // Two requests in flight on another process: its call could belong to either.
    span({ name: 'busy s-p A', op: 's-p', at: [100, 150], hostId: 'h1', processId: 8, spanId: 'p000000000000003', reqTcpSeq: 50, respTcpSeq: 60, protocol: 'http' }),
    span({ name: 'busy s-p B', op: 's-p', at: [101, 151], hostId: 'h1', processId: 8, spanId: 'p000000000000004', reqTcpSeq: 70, respTcpSeq: 80, protocol: 'http' }),
    span({ name: 'busy call', op: 'c-p', at: [110, 120], hostId: 'h1', processId: 8, spanId: 'p000000000000005', reqTcpSeq: 90, respTcpSeq: 95, protocol: 'redis' }),
  ];
}

/** The caller's c-app sent a header, its c-p was not captured; the server NIC and s-p were. */
export function missingClientProcess(): SpanRecord[] {
  const tid = '11112222333344445555666677778888';
  return [
    span({ name: 'caller c-app', op: 'c-app', at: [0, 30], spanId: 'm000000000000001', traceId: tid, service: 'caller' }),
    span({ name: 'server nic', op: 's', at: [1, 29], hostId: 'h9', spanId: 'm000000000000002', reqTcpSeq: 1234, respTcpSeq: 5678, traceId: tid, parentSpanId: 'm000000000000001', protocol: 'http' }),
    span({ name: 'server s-p', op: 's-p', at: [2, 28], hostId: 'h9', processId: 3, spanId: 'm000000000000003', reqTcpSeq: 1234, respTcpSeq: 5678, traceId: tid, parentSpanId: 'm000000000000001', protocol: 'http' }),
    // A span whose parent never arrived.
    span({ name: 'orphan app', op: 'app', at: [3, 4], spanId: 'm000000000000004', traceId: tid, parentSpanId: 'ffffffffffffffff', service: 'caller' }),
  ];
}

/**
 * A SkyWalking frontend behind nginx that forwarded a W3C traceparent: the agent ignores it and
 * starts its own trace, so the entry span has no parent id. It joins the frontend's s-p through
 * the syscall id the thread held when it made the exit call (rule 9b).
 */
export function skywalkingNewTrace(): SpanRecord[] {
  const sw = 'feedc0dedeadbeef0123456789abcdef';
  const http = { protocol: 'http', requestType: 'GET' };
  return [
    span({ name: 'frontend s-p', op: 's-p', at: [0, 50], hostId: 'h1', processId: 300, spanId: 'swn0000000000001', reqTcpSeq: 100, respTcpSeq: 200, syscallTraceIdReq: 41, syscallTraceIdResp: 43, traceId: T1, parentSpanId: 'aaaa000000000001', ...http, requestResource: '/checkout' }),
    span({ name: 'entry /checkout', op: 's-app', at: [1, 49], spanId: 'segF-0', traceId: sw, service: 'frontend', origin: 'skywalking' }),
    span({ name: 'exit /order', op: 'c-app', at: [2, 40], spanId: 'segF-1', parentSpanId: 'segF-0', traceId: sw, service: 'frontend', origin: 'skywalking' }),
    span({ name: 'frontend c-p', op: 'c-p', at: [2.5, 39.5], hostId: 'h1', processId: 300, spanId: 'swn0000000000002', reqTcpSeq: 300, respTcpSeq: 400, syscallTraceIdReq: 41, syscallTraceIdResp: 42, traceId: sw, parentSpanId: 'segF-1', ...http, requestResource: '/order' }),
  ];
}

/**
 * Rule 04 with the agent's evidence, on an event loop: two requests (two client trace ids) are
 * open on the Node.js thread when the call to the backend starts, so the agent marks the call
 * `ambiguous` with both requests' syscall ids. It must not hang under either.
 */
export function eventLoop(): SpanRecord[] {
  const http = { protocol: 'http', requestType: 'GET' };
  const ev = (evidence: string, extra: Record<string, string | number> = {}) => ({ attributes: { 'weft.link.evidence': evidence, ...extra } });
  return [
    span({ name: 'mid s-p A', op: 's-p', at: [0, 50], hostId: 'h1', processId: 500, spanId: 'evl0000000000001', reqTcpSeq: 1100, respTcpSeq: 1200, syscallTraceIdReq: 51, traceId: TA, parentSpanId: 'aaaa00000000000a', ...http, requestResource: '/a' }),
    span({ name: 'mid s-p B', op: 's-p', at: [1, 52], hostId: 'h1', processId: 500, spanId: 'evl0000000000002', reqTcpSeq: 1300, respTcpSeq: 1400, syscallTraceIdReq: 52, traceId: TB, parentSpanId: 'bbbb00000000000b', ...http, requestResource: '/b' }),
    span({ name: 'mid c-p ?', op: 'c-p', at: [5, 40], hostId: 'h1', processId: 500, spanId: 'evl0000000000003', reqTcpSeq: 1500, respTcpSeq: 1600, ...ev('ambiguous', { 'weft.link.candidates': '51,52', 'weft.thread.open_inbound': 2 }), ...http, requestResource: '/backend/a' }),
    span({ name: 'backend s-p', op: 's-p', at: [6, 39], hostId: 'h1', processId: 600, spanId: 'evl0000000000004', reqTcpSeq: 1500, respTcpSeq: 1600, syscallTraceIdReq: 61, ...http, requestResource: '/backend/a' }),
  ];
}

/**
 * Rule 04 with certain evidence under concurrency: a thread-per-request server (two threads, two
 * requests in flight) and a Node.js process whose runtime reported the call's request. Each call
 * hangs under its own request, and the two client traces stay apart.
 */
export function threadsAndRuntime(): SpanRecord[] {
  const http = { protocol: 'http', requestType: 'GET' };
  const ev = (evidence: string) => ({ attributes: { 'weft.link.evidence': evidence } });
  return [
    span({ name: 'py s-p A', op: 's-p', at: [0, 50], hostId: 'h1', processId: 700, threadIdReq: 701, spanId: 'tpr0000000000001', reqTcpSeq: 2100, respTcpSeq: 2200, syscallTraceIdReq: 71, traceId: TA, parentSpanId: 'aaaa00000000000a', ...http, requestResource: '/a' }),
    span({ name: 'py s-p B', op: 's-p', at: [1, 51], hostId: 'h1', processId: 700, threadIdReq: 702, spanId: 'tpr0000000000002', reqTcpSeq: 2300, respTcpSeq: 2400, syscallTraceIdReq: 72, traceId: TB, parentSpanId: 'bbbb00000000000b', ...http, requestResource: '/b' }),
    span({ name: 'py c-p A', op: 'c-p', at: [5, 40], hostId: 'h1', processId: 700, threadIdReq: 701, spanId: 'tpr0000000000003', reqTcpSeq: 2500, respTcpSeq: 2600, syscallTraceIdReq: 71, ...ev('thread'), ...http, requestResource: '/node/a' }),
    span({ name: 'py c-p B', op: 'c-p', at: [6, 41], hostId: 'h1', processId: 700, threadIdReq: 702, spanId: 'tpr0000000000004', reqTcpSeq: 2700, respTcpSeq: 2800, syscallTraceIdReq: 72, ...ev('thread'), ...http, requestResource: '/node/b' }),
    span({ name: 'node s-p A', op: 's-p', at: [6, 39], hostId: 'h1', processId: 800, spanId: 'tpr0000000000005', reqTcpSeq: 2500, respTcpSeq: 2600, syscallTraceIdReq: 81, ...http, requestResource: '/node/a' }),
    span({ name: 'node s-p B', op: 's-p', at: [7, 40], hostId: 'h1', processId: 800, spanId: 'tpr0000000000006', reqTcpSeq: 2700, respTcpSeq: 2800, syscallTraceIdReq: 82, ...http, requestResource: '/node/b' }),
    span({ name: 'node c-p B', op: 'c-p', at: [10, 20], hostId: 'h1', processId: 800, spanId: 'tpr0000000000007', reqTcpSeq: 2900, respTcpSeq: 3000, syscallTraceIdReq: 82, ...ev('runtime'), protocol: 'redis', requestType: 'GET' }),
    span({ name: 'node c-p A', op: 'c-p', at: [11, 21], hostId: 'h1', processId: 800, spanId: 'tpr0000000000008', reqTcpSeq: 3100, respTcpSeq: 3200, syscallTraceIdReq: 81, ...ev('runtime'), protocol: 'redis', requestType: 'GET' }),
  ];
}

/**
 * Rule 04 for an older agent's spans (no evidence): the per-thread syscall id of a call matches
 * a request of another trace id. Two propagated trace ids are never joined through that key.
 */
export function legacyTraceConflict(): SpanRecord[] {
  const http = { protocol: 'http', requestType: 'GET' };
  return [
    span({ name: 'old s-p A', op: 's-p', at: [0, 50], hostId: 'h1', processId: 900, spanId: 'ltc0000000000001', reqTcpSeq: 4100, respTcpSeq: 4200, syscallTraceIdReq: 91, syscallTraceIdResp: 93, traceId: TA, parentSpanId: 'aaaa00000000000a', ...http, requestResource: '/a' }),
    span({ name: 'old c-p (trace B)', op: 'c-p', at: [5, 40], hostId: 'h1', processId: 900, spanId: 'ltc0000000000002', reqTcpSeq: 4300, respTcpSeq: 4400, syscallTraceIdReq: 91, syscallTraceIdResp: 92, traceId: TB, parentSpanId: 'bbbb00000000000b', ...http, requestResource: '/backend/b' }),
  ];
}

/**
 * Rule 05 behind an event-driven proxy: nginx (one worker) has two requests open when it calls
 * upstream, so the agent's evidence is `ambiguous`; the X-Request-ID nginx injected (answered on
 * the s-p, sent on the c-p) names the request, and is unique: certain.
 */
export function proxyXRequestId(): SpanRecord[] {
  const http = { protocol: 'http', requestType: 'GET' };
  const amb = { attributes: { 'weft.link.evidence': 'ambiguous', 'weft.link.candidates': '31,32', 'weft.thread.open_inbound': 2 } };
  return [
    span({ name: 'nginx s-p A', op: 's-p', at: [0, 50], hostId: 'h1', processId: 300, spanId: 'pxr0000000000001', reqTcpSeq: 5100, respTcpSeq: 5200, syscallTraceIdReq: 31, xRequestIdResp: 'rid-a', traceId: TA, parentSpanId: 'aaaa00000000000a', ...http, requestResource: '/a' }),
    span({ name: 'nginx s-p B', op: 's-p', at: [1, 51], hostId: 'h1', processId: 300, spanId: 'pxr0000000000002', reqTcpSeq: 5300, respTcpSeq: 5400, syscallTraceIdReq: 32, xRequestIdResp: 'rid-b', traceId: TB, parentSpanId: 'bbbb00000000000b', ...http, requestResource: '/b' }),
    span({ name: 'nginx c-p B', op: 'c-p', at: [3, 45], hostId: 'h1', processId: 300, spanId: 'pxr0000000000003', reqTcpSeq: 5500, respTcpSeq: 5600, xRequestIdReq: 'rid-b', traceId: TB, parentSpanId: 'bbbb00000000000b', ...amb, ...http, requestResource: '/b' }),
    span({ name: 'nginx c-p A', op: 'c-p', at: [4, 46], hostId: 'h1', processId: 300, spanId: 'pxr0000000000004', reqTcpSeq: 5700, respTcpSeq: 5800, xRequestIdReq: 'rid-a', traceId: TA, parentSpanId: 'aaaa00000000000a', ...amb, ...http, requestResource: '/a' }),
  ];
}

/**
 * Rule 06 behind an event-driven proxy without X-Request-ID: nginx has two requests open when
 * it calls upstream (evidence `ambiguous`), but each call passes on the traceparent its request
 * brought, and one request only carried each.
 */
export function proxyHeader(): SpanRecord[] {
  const http = { protocol: 'http', requestType: 'GET' };
  const amb = { attributes: { 'weft.link.evidence': 'ambiguous', 'weft.link.candidates': '33,34', 'weft.thread.open_inbound': 2 } };
  return [
    span({ name: 'proxy s-p A', op: 's-p', at: [0, 50], hostId: 'h1', processId: 310, spanId: 'phd0000000000001', reqTcpSeq: 6100, respTcpSeq: 6200, syscallTraceIdReq: 33, traceId: TA, parentSpanId: 'aaaa00000000000a', ...http, requestResource: '/a' }),
    span({ name: 'proxy s-p B', op: 's-p', at: [1, 51], hostId: 'h1', processId: 310, spanId: 'phd0000000000002', reqTcpSeq: 6300, respTcpSeq: 6400, syscallTraceIdReq: 34, traceId: TB, parentSpanId: 'bbbb00000000000b', ...http, requestResource: '/b' }),
    span({ name: 'proxy c-p B', op: 'c-p', at: [3, 45], hostId: 'h1', processId: 310, spanId: 'phd0000000000003', reqTcpSeq: 6500, respTcpSeq: 6600, traceId: TB, parentSpanId: 'bbbb00000000000b', ...amb, ...http, requestResource: '/b' }),
    span({ name: 'proxy c-p A', op: 'c-p', at: [4, 46], hostId: 'h1', processId: 310, spanId: 'phd0000000000004', reqTcpSeq: 6700, respTcpSeq: 6800, traceId: TA, parentSpanId: 'aaaa00000000000a', ...amb, ...http, requestResource: '/a' }),
    span({ name: 'upstream s-p A', op: 's-p', at: [5, 44], hostId: 'h1', processId: 320, spanId: 'phd0000000000005', reqTcpSeq: 6700, respTcpSeq: 6800, traceId: TA, parentSpanId: 'aaaa00000000000a', ...http, requestResource: '/a' }),
  ];
}

export const SCENARIOS: Record<string, { build: () => SpanRecord[]; traceId?: string; seedSpanId?: string }> = {
  'full-stack': { build: fullStack, traceId: T1 },
  'keep-alive': { build: keepAlive, seedSpanId: 'c000000000000003' },
  'clock-skew': { build: clockSkew, seedSpanId: 'k000000000000001' },
  skywalking: { build: skywalking, traceId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' },
  'skywalking-new-trace': { build: skywalkingNewTrace, traceId: 'feedc0dedeadbeef0123456789abcdef' },
  halves: { build: halves, seedSpanId: 'half000000000001' },
  'x-request-id-gateway': { build: xRequestIdGateway, seedSpanId: 'x000000000000001' },
  'async-process': { build: asyncProcess, seedSpanId: 'p000000000000001' },
  'async-process-busy': { build: asyncProcess, seedSpanId: 'p000000000000003' },
  'missing-client-process': { build: missingClientProcess, traceId: '11112222333344445555666677778888' },
  'event-loop': { build: eventLoop, traceId: TA },
  'event-loop-call': { build: eventLoop, seedSpanId: 'evl0000000000003' },
  'threads-and-runtime': { build: threadsAndRuntime, traceId: TA },
  'proxy-x-request-id': { build: proxyXRequestId, traceId: TB },
  'proxy-header': { build: proxyHeader, traceId: TA },
  'legacy-trace-conflict': { build: legacyTraceConflict, seedSpanId: 'ltc0000000000002' },
};
