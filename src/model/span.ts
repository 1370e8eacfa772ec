/**
 * @module The one span record that flows from capture to screen.
 *
 * Every layer (receivers, agent, store, assembly, query APIs, exporter, UI) speaks `SpanRecord`.
 * Conversions happen only at the edges: wire formats (`src/apm/*`) and database rows
 * (`src/server/store/*`). Adding a field here is caught by the schema test
 * (`span-fields.test.ts`), which checks every store schema and the API JSON cover it.
 *
 * Conventions, chosen once:
 * - Times are `bigint` nanoseconds since the Unix epoch in memory, decimal strings in JSON.
 * - Absent strings are `''`. Absent numeric keys (tcp seqs, syscall ids, pids) are `0`, as
 *   DeepFlow does, because a real value of 0 carries no correlation information anyway.
 *   Where 0 is a meaningful value (`responseCode`, `requestId`) absence is `null`.
 */

/** Which layer observed the span. */
export type SpanSource = 'app' | 'sys' | 'net';

/** Where the span came from, more precisely than `source`. */
export type SpanOrigin = 'otlp' | 'skywalking' | 'zipkin' | 'apm-api' | 'ebpf' | 'packet' | 'pcap';

/**
 * Where on the path the span was observed (DeepFlow's tap_side).
 * APP: c-app (client/producer), s-app (server/consumer), app (internal).
 * SYS: c-p / s-p, the client or server process.
 * NET: c / s (client/server NIC), c-nd / s-nd (node), c-gw / s-gw (gateway), local, rest.
 */
export type ObservationPoint =
  | 'c-app'
  | 's-app'
  | 'app'
  | 'c-p'
  | 's-p'
  | 'c'
  | 's'
  | 'c-nd'
  | 's-nd'
  | 'c-gw'
  | 's-gw'
  | 'local'
  | 'rest';

/**
 * Persisted by position: the stores write a span's observation point as its index here. Append
 * new values at the end, never reorder (src/server/store/enum-codes.test.ts holds the snapshot).
 */
export const OBSERVATION_POINTS: readonly ObservationPoint[] = [
  'c-app',
  's-app',
  'app',
  'c-p',
  's-p',
  'c',
  's',
  'c-nd',
  's-nd',
  'c-gw',
  's-gw',
  'local',
  'rest',
];

/** OpenTelemetry span kinds, by name. */
export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
/** Persisted by position (see OBSERVATION_POINTS): append only. */
export const SPAN_KINDS: readonly SpanKind[] = [
  'unspecified',
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
];

export type StatusCode = 'unset' | 'ok' | 'error';

/** The outcome of the L7 exchange, as DeepFlow classifies it. */
export type ResponseStatus =
  | 'ok'
  | 'client_error'
  | 'server_error'
  | 'timeout'
  | 'unknown'
  | 'parse_failed';
/** Persisted by position (see OBSERVATION_POINTS): append only. */
export const RESPONSE_STATUSES: readonly ResponseStatus[] = [
  'ok',
  'client_error',
  'server_error',
  'timeout',
  'unknown',
  'parse_failed',
];

export type Transport = 'tcp' | 'udp' | '';

/** An attribute value. Arrays and maps from OTLP are flattened to JSON strings at the edge. */
export type AttributeValue = string | number | boolean;

export interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: Record<string, AttributeValue>;
}

export interface SpanRecord {
  // ---- OTel-like core ----
  /** 32 lowercase hex chars; '' when nothing carried one (an uninstrumented SYS/NET span). */
  traceId: string;
  /**
   * Unique id of the span. OTLP/Zipkin: 16 hex chars. SkyWalking: `{segmentId}-{spanId}`.
   * SYS/NET spans get a generated 16-hex id from the agent.
   */
  spanId: string;
  /** Parent span id as the source reported it; '' for a root. */
  parentSpanId: string;
  name: string;
  kind: SpanKind;
  /** service.name for APP spans; the process name for SYS spans; '' when unknown. */
  service: string;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  statusCode: StatusCode;
  statusMessage: string;
  /** Everything that has no field of its own, under OTel semantic-convention keys. */
  attributes: Record<string, AttributeValue>;
  /** Resource attributes (service.instance.id, host.name, …), minus service.name. */
  resource: Record<string, AttributeValue>;
  events: SpanEvent[];

  // ---- where it came from ----
  source: SpanSource;
  origin: SpanOrigin;
  observationPoint: ObservationPoint;

  // ---- L7 ----
  /** Lowercase protocol name: http, http2, grpc, dns, mysql, postgresql, redis, … or ''. */
  protocol: string;
  /** HTTP method, SQL verb, Redis command, DNS query type. */
  requestType: string;
  /** HTTP host, DNS name, RPC service, database. */
  requestDomain: string;
  /** HTTP path, SQL text, Redis key, DNS name. */
  requestResource: string;
  /** Low-cardinality operation (route, span name). */
  endpoint: string;
  /** In-message id: HTTP/2 stream, DNS transaction id, MySQL statement id. null when none. */
  requestId: number | null;
  responseStatus: ResponseStatus;
  /** HTTP status, SQL error code, DNS rcode, … null when none. */
  responseCode: number | null;
  responseException: string;

  // ---- transport ----
  ipVersion: 0 | 4 | 6;
  clientIp: string;
  serverIp: string;
  clientPort: number;
  serverPort: number;
  transport: Transport;
  /** TCP sequence number of the request's first byte; 0 when unknown. */
  reqTcpSeq: number;
  /** TCP sequence number of the response's first byte; 0 when unknown. */
  respTcpSeq: number;

  // ---- where it was observed ----
  /** Agent or host id that observed it ('' for APP spans without one). */
  hostId: string;
  processId: number;
  processName: string;
  threadIdReq: number;
  threadIdResp: number;
  interfaceName: string;

  // ---- correlation keys ----
  xRequestIdReq: string;
  xRequestIdResp: string;
  /** Per-thread syscall trace id of the request direction; 0 when none. Fits in 53 bits. */
  syscallTraceIdReq: number;
  /** Per-thread syscall trace id of the response direction; 0 when none. */
  syscallTraceIdResp: number;

  /** Problems found with this span's data; shown, never thrown. */
  warnings: string[];
}

/** The names of every `SpanRecord` field, in declaration order. The schema test walks this. */
export const SPAN_RECORD_FIELDS = [
  'traceId',
  'spanId',
  'parentSpanId',
  'name',
  'kind',
  'service',
  'startTimeUnixNano',
  'endTimeUnixNano',
  'statusCode',
  'statusMessage',
  'attributes',
  'resource',
  'events',
  'source',
  'origin',
  'observationPoint',
  'protocol',
  'requestType',
  'requestDomain',
  'requestResource',
  'endpoint',
  'requestId',
  'responseStatus',
  'responseCode',
  'responseException',
  'ipVersion',
  'clientIp',
  'serverIp',
  'clientPort',
  'serverPort',
  'transport',
  'reqTcpSeq',
  'respTcpSeq',
  'hostId',
  'processId',
  'processName',
  'threadIdReq',
  'threadIdResp',
  'interfaceName',
  'xRequestIdReq',
  'xRequestIdResp',
  'syscallTraceIdReq',
  'syscallTraceIdResp',
  'warnings',
] as const satisfies readonly (keyof SpanRecord)[];

type MissingFields = Exclude<keyof SpanRecord, (typeof SPAN_RECORD_FIELDS)[number]>;
// Compile-time guard: adding a SpanRecord field without listing it above fails type-checking.
const _allFieldsListed: MissingFields extends never ? true : MissingFields = true;
void _allFieldsListed;

/**
 * A span with every field at its "absent" value. Converters start from this and fill in
 * what their wire format carries, so a new field never leaves a converter half-built.
 */
export function emptySpan(
  base: Pick<SpanRecord, 'source' | 'origin' | 'observationPoint'>,
): SpanRecord {
  return {
    traceId: '',
    spanId: '',
    parentSpanId: '',
    name: '',
    kind: 'unspecified',
    service: '',
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    statusCode: 'unset',
    statusMessage: '',
    attributes: {},
    resource: {},
    events: [],
    source: base.source,
    origin: base.origin,
    observationPoint: base.observationPoint,
    protocol: '',
    requestType: '',
    requestDomain: '',
    requestResource: '',
    endpoint: '',
    requestId: null,
    responseStatus: 'unknown',
    responseCode: null,
    responseException: '',
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
    warnings: [],
  };
}

/** The observation point an OTel span kind implies for an APP span (DeepFlow's rule). */
export function observationPointForKind(kind: SpanKind): ObservationPoint {
  switch (kind) {
    case 'client':
    case 'producer':
      return 'c-app';
    case 'server':
    case 'consumer':
      return 's-app';
    case 'internal':
    case 'unspecified':
      return 'app';
  }
}

export function durationNano(span: Pick<SpanRecord, 'startTimeUnixNano' | 'endTimeUnixNano'>): bigint {
  const d = span.endTimeUnixNano - span.startTimeUnixNano;
  return d < 0n ? 0n : d;
}
