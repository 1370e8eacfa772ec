/**
 * @module Small hand-made traces for the UI's unit tests: an ApiSpan with defaults and a builder.
 */
import type { ApiSpan, ApiTrace } from '../api/types.js';

const T0 = 1_796_000_000_000_000_000n;

/** A span at [startMs, endMs] from T0, every other field empty. */
export function apiSpan(id: string, parentId: string | null, startMs: number, endMs: number, over: Partial<ApiSpan> = {}): ApiSpan {
  return {
    id,
    parentId,
    source: 'app',
    origin: 'otlp',
    observationPoint: 's-app',
    name: id,
    kind: 'server',
    service: 'svc',
    startTimeUnixNano: (T0 + BigInt(Math.round(startMs * 1e6))).toString(),
    endTimeUnixNano: (T0 + BigInt(Math.round(endMs * 1e6))).toString(),
    durationNano: String(Math.round((endMs - startMs) * 1e6)),
    statusCode: 'unset',
    statusMessage: '',
    protocol: '',
    requestType: '',
    requestDomain: '',
    requestResource: '',
    endpoint: '',
    requestId: null,
    responseStatus: 'unknown',
    responseCode: null,
    responseException: '',
    traceId: 'a'.repeat(32),
    spanId: id,
    parentSpanId: '',
    linkReason: parentId === null ? null : 'span_id',
    confidence: parentId === null ? null : 1,
    clockOffsetNano: '0',
    ipVersion: 0,
    clientIp: '',
    serverIp: '',
    clientPort: 0,
    serverPort: 0,
    transport: '',
    reqTcpSeq: 0,
    respTcpSeq: 0,
    hostId: '',
    processId: 0,
    processName: '',
    threadIdReq: 0,
    threadIdResp: 0,
    interfaceName: '',
    xRequestIdReq: '',
    xRequestIdResp: '',
    syscallTraceIdReq: 0,
    syscallTraceIdResp: 0,
    attributes: {},
    resource: {},
    events: [],
    warnings: [],
    ...over,
  } as ApiSpan;
}

export function apiTrace(spans: ApiSpan[], warnings: string[] = []): ApiTrace {
  return { traceId: 'a'.repeat(32), spans, services: [...new Set(spans.map((s) => s.service))].sort(), warnings };
}
