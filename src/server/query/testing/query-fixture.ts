/**
 * @module The fixed span set the query API tests run against, and a small fake assembly.
 *
 * Trace A (hex ids, OTLP + eBPF + packets): frontend GET /checkout → its client call → the
 * client process's socket write (SYS c-p) → the packet on the client NIC (NET c) → the cart
 * server process (SYS s-p) and cart's APP spans, one of them a failing Redis call.
 * Trace B (SkyWalking ids, not hex): billing → ledger across two segments.
 * One untraced NET span has no trace id at all; it must never show up in a trace.
 */
import { emptySpan } from '../../../model/index.js';
import type { ObservationPoint, SpanRecord } from '../../../model/index.js';
import type { AssembledTrace, TraceNode } from '../../tracing/trace.js';

export const T0_NANO = 1_795_514_400_000_000_000n; // 2026-11-24T10:00:00Z
const MS = 1_000_000n;

export const TRACE_A = '4bf92f3577b34da6a3ce929d0e0e4736';
export const TRACE_B = 'sw8.1700000000.42';
export const SPAN_A_CLIENT = '00f067aa0ba902b7';

type SpanInit = Partial<SpanRecord> & Pick<SpanRecord, 'source' | 'origin' | 'observationPoint'> & { startMs: number; durMs: number };

function span(init: SpanInit): SpanRecord {
  const { startMs, durMs, ...rest } = init;
  const start = T0_NANO + BigInt(Math.round(startMs * 1000)) * (MS / 1000n);
  return {
    ...emptySpan(init),
    ...rest,
    startTimeUnixNano: start,
    endTimeUnixNano: start + BigInt(Math.round(durMs * 1000)) * (MS / 1000n),
  };
}

export function fixtureSpans(): SpanRecord[] {
  return [
    span({
      traceId: TRACE_A, spanId: 'a1a1a1a1a1a1a1a1', name: 'GET /checkout', kind: 'server', service: 'frontend',
      source: 'app', origin: 'otlp', observationPoint: 's-app', startMs: 0, durMs: 50, statusCode: 'ok',
      protocol: 'http', requestType: 'GET', requestDomain: 'shop.example', requestResource: '/checkout', endpoint: '/checkout',
      responseStatus: 'ok', responseCode: 200, attributes: { 'http.route': '/checkout', 'user_agent.original': 'curl/8.5.0' },
      resource: { 'host.name': 'web-1', 'service.version': '1.2.3' },
      events: [{ timeUnixNano: T0_NANO + 2n * MS, name: 'cache.miss', attributes: { 'cache.key': 'cart:1', hit: false, 'latency.ms': 0.25 } }],
    }),
    span({
      traceId: TRACE_A, spanId: SPAN_A_CLIENT, parentSpanId: 'a1a1a1a1a1a1a1a1', name: 'GET /api/cart', kind: 'client', service: 'frontend',
      source: 'app', origin: 'otlp', observationPoint: 'c-app', startMs: 5, durMs: 30, protocol: 'http', requestType: 'GET',
      requestDomain: 'cart:8080', requestResource: '/api/cart', responseStatus: 'ok', responseCode: 200,
      resource: { 'host.name': 'web-1', 'service.version': '1.2.3' },
    }),
    span({
      traceId: TRACE_A, spanId: 'c1c1c1c1c1c1c1c1', parentSpanId: SPAN_A_CLIENT, name: 'GET /api/cart', kind: 'client', service: 'node',
      source: 'sys', origin: 'ebpf', observationPoint: 'c-p', startMs: 5.2, durMs: 29.5, protocol: 'http', requestType: 'GET',
      requestDomain: 'cart:8080', requestResource: '/api/cart', responseStatus: 'ok', responseCode: 200,
      ipVersion: 4, clientIp: '10.0.0.1', serverIp: '10.0.0.2', clientPort: 40000, serverPort: 8080, transport: 'tcp',
      reqTcpSeq: 1000, respTcpSeq: 5000, hostId: 'web-1', processId: 311, processName: 'node', threadIdReq: 311, threadIdResp: 311,
      syscallTraceIdReq: 77, syscallTraceIdResp: 77,
    }),
    span({
      traceId: TRACE_A, spanId: 'e1e1e1e1e1e1e1e1', name: 'GET /api/cart', kind: 'client',
      source: 'net', origin: 'packet', observationPoint: 'c', startMs: 5.3, durMs: 29.3, protocol: 'http', requestType: 'GET',
      requestDomain: 'cart:8080', requestResource: '/api/cart', responseStatus: 'ok', responseCode: 200,
      ipVersion: 4, clientIp: '10.0.0.1', serverIp: '10.0.0.2', clientPort: 40000, serverPort: 8080, transport: 'tcp',
      reqTcpSeq: 1000, respTcpSeq: 5000, hostId: 'web-1', interfaceName: 'eth0',
    }),
    span({
      traceId: TRACE_A, spanId: 'd1d1d1d1d1d1d1d1', name: 'GET /api/cart', kind: 'server', service: 'cart',
      source: 'sys', origin: 'ebpf', observationPoint: 's-p', startMs: 5.6, durMs: 28.7, protocol: 'http', requestType: 'GET',
      requestDomain: 'cart:8080', requestResource: '/api/cart', responseStatus: 'ok', responseCode: 200,
      ipVersion: 4, clientIp: '10.0.0.1', serverIp: '10.0.0.2', clientPort: 40000, serverPort: 8080, transport: 'tcp',
      reqTcpSeq: 1000, respTcpSeq: 5000, hostId: 'cart-1', processId: 42, processName: 'cart', threadIdReq: 42, threadIdResp: 42,
      xRequestIdReq: 'req-7f3a', xRequestIdResp: 'req-7f3a',
    }),
    span({
      traceId: TRACE_A, spanId: 'b1b1b1b1b1b1b1b1', parentSpanId: SPAN_A_CLIENT, name: 'GET /api/cart', kind: 'server', service: 'cart',
      source: 'app', origin: 'otlp', observationPoint: 's-app', startMs: 6, durMs: 27, protocol: 'http', requestType: 'GET',
      requestResource: '/api/cart', endpoint: '/api/cart', responseStatus: 'ok', responseCode: 200, attributes: { 'http.route': '/api/cart' },
    }),
    span({
      traceId: TRACE_A, spanId: 'b2b2b2b2b2b2b2b2', parentSpanId: 'b1b1b1b1b1b1b1b1', name: 'GET', kind: 'client', service: 'cart',
      source: 'app', origin: 'otlp', observationPoint: 'c-app', startMs: 10, durMs: 3, protocol: 'redis', requestType: 'GET',
      requestResource: 'cart:42', responseStatus: 'server_error', responseException: 'WRONGTYPE', statusCode: 'error',
      statusMessage: 'WRONGTYPE Operation against a key holding the wrong kind of value', attributes: { 'db.system': 'redis' },
      warnings: ['clock skew of 2ms corrected'],
    }),
    span({
      traceId: TRACE_B, spanId: 'seg1-0', name: 'POST /invoice', kind: 'server', service: 'billing',
      source: 'app', origin: 'skywalking', observationPoint: 's-app', startMs: 1000, durMs: 80, protocol: 'http', requestType: 'POST',
      requestResource: '/invoice', responseStatus: 'ok', responseCode: 201, attributes: { 'skywalking.component_id': 49 },
      resource: { 'service.instance.id': 'billing-0' },
    }),
    span({
      traceId: TRACE_B, spanId: 'seg1-1', parentSpanId: 'seg1-0', name: '/ledger/entries', kind: 'client', service: 'billing',
      source: 'app', origin: 'skywalking', observationPoint: 'c-app', startMs: 1010, durMs: 60, protocol: 'http', requestType: 'POST',
      requestResource: '/ledger/entries', responseStatus: 'ok', responseCode: 200, attributes: { 'skywalking.peer': 'ledger:80' },
      resource: { 'service.instance.id': 'billing-0' },
    }),
    span({
      traceId: TRACE_B, spanId: 'seg2-0', parentSpanId: 'seg1-1', name: '/ledger/entries', kind: 'server', service: 'ledger',
      source: 'app', origin: 'skywalking', observationPoint: 's-app', startMs: 1015, durMs: 50, protocol: 'http', requestType: 'POST',
      requestResource: '/ledger/entries', responseStatus: 'ok', responseCode: 200,
    }),
    span({
      spanId: 'f1f1f1f1f1f1f1f1', name: 'A example.com', source: 'net', origin: 'packet', observationPoint: 'c', startMs: 2000, durMs: 1,
      protocol: 'dns', requestType: 'A', requestResource: 'example.com', requestId: 4242, responseStatus: 'ok', responseCode: 0,
      ipVersion: 4, clientIp: '10.0.0.1', serverIp: '10.0.0.53', clientPort: 53001, serverPort: 53, transport: 'udp', interfaceName: 'eth0',
    }),
  ];
}

/** The order one message passes the observation points, client to server. */
const PATH_ORDER: readonly ObservationPoint[] = ['c-p', 'c', 'c-nd', 'c-gw', 's-gw', 's-nd', 's', 's-p'];

/**
 * A stand-in for the real assembly (src/server/tracing/assemble.ts), simple enough to reason
 * about in goldens: parentSpanId → spanId (`span_id`), else the previous observation point of
 * the same TCP message (`tcp_seq`). Pre-order output, siblings by start time.
 */
export function fakeAssemble(spans: SpanRecord[], traceId: string): AssembledTrace {
  const nodes: TraceNode[] = spans.map((s) => ({ id: `${s.source}:${s.observationPoint}:${s.spanId}`, span: s, parentId: null, linkReason: null, confidence: null, clockOffsetNano: 0n, possibleParents: [] }));
  const bySpanId = new Map<string, TraceNode>();
  for (const n of nodes) if (!bySpanId.has(n.span.spanId)) bySpanId.set(n.span.spanId, n);
  for (const n of nodes) {
    const p = n.span.parentSpanId === '' ? undefined : bySpanId.get(n.span.parentSpanId);
    if (p && p !== n) {
      n.parentId = p.id;
      n.linkReason = 'span_id';
      n.confidence = 1;
      continue;
    }
    const at = PATH_ORDER.indexOf(n.span.observationPoint);
    if (n.span.reqTcpSeq === 0 || at <= 0) continue;
    let best: TraceNode | undefined;
    for (const m of nodes) {
      const mAt = PATH_ORDER.indexOf(m.span.observationPoint);
      if (m.span.reqTcpSeq === n.span.reqTcpSeq && mAt >= 0 && mAt < at && (!best || mAt > PATH_ORDER.indexOf(best.span.observationPoint))) best = m;
    }
    if (best) {
      n.parentId = best.id;
      n.linkReason = 'tcp_seq';
      n.confidence = 0.9;
      if (n.span.hostId !== best.span.hostId) n.clockOffsetNano = -100_000n;
    }
  }
  const children = new Map<string | null, TraceNode[]>();
  for (const n of nodes) children.set(n.parentId, [...(children.get(n.parentId) ?? []), n]);
  const ordered: TraceNode[] = [];
  const walk = (parent: string | null): void => {
    const kids = (children.get(parent) ?? []).sort((a, b) => (a.span.startTimeUnixNano < b.span.startTimeUnixNano ? -1 : a.span.startTimeUnixNano > b.span.startTimeUnixNano ? 1 : a.id < b.id ? -1 : 1));
    for (const k of kids) {
      ordered.push(k);
      walk(k.id);
    }
  };
  walk(null);
  return {
    traceId,
    nodes: ordered,
    services: [...new Set(spans.map((s) => s.service).filter((s) => s !== ''))].sort(),
    warnings: [],
  };
}
