/**
 * @module fast-check arbitrary for any valid SpanRecord, for round-trip and store property tests.
 *
 * "Valid" means what converters accept: a non-empty span id, start > 0 and end ≥ start,
 * resource without service.name (service has its own field), finite attribute numbers.
 */
import fc from 'fast-check';
import { OBSERVATION_POINTS, RESPONSE_STATUSES, SPAN_KINDS } from '../../model/index.js';
import type { AttributeValue, SpanRecord } from '../../model/index.js';

const hex = (len: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: len, maxLength: len });

const attrValue: fc.Arbitrary<AttributeValue> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
);

const attrKey = fc.oneof(
  fc.string({ minLength: 1, maxLength: 16 }),
  fc.constantFrom('__proto__', 'http.method', 'weft.source', 'weft.attr.x', 'db.statement', 'service.name', 'url.full'),
);

const attrs = fc.dictionary(attrKey, attrValue, { maxKeys: 6 });
const resourceAttrs = fc.dictionary(attrKey.filter((k) => k !== 'service.name'), attrValue, { maxKeys: 4 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const nano = fc.bigInt({ min: 1n, max: (1n << 63n) - 1n });

/** Any SpanRecord a converter should accept and round-trip. */
export const spanRecordArbitrary: fc.Arbitrary<SpanRecord> = fc
  .record({
    traceId: fc.oneof(hex(32), fc.constant(''), fc.string({ minLength: 1, maxLength: 40 })),
    spanId: fc.oneof(hex(16), fc.string({ minLength: 1, maxLength: 40 })),
    parentSpanId: fc.oneof(hex(16), fc.constant(''), fc.string({ minLength: 1, maxLength: 40 })),
    name: fc.string({ maxLength: 30 }),
    kind: fc.constantFrom(...SPAN_KINDS),
    service: fc.string({ maxLength: 12 }),
    start: nano,
    durationNano: fc.bigInt({ min: 0n, max: 10n ** 12n }),
    statusCode: fc.constantFrom('unset' as const, 'ok' as const, 'error' as const),
    statusMessage: fc.string({ maxLength: 12 }),
    attributes: attrs,
    resource: resourceAttrs,
    events: fc.array(fc.record({ timeUnixNano: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), name: fc.string({ maxLength: 8 }), attributes: attrs }), { maxLength: 2 }),
    source: fc.constantFrom('app' as const, 'sys' as const, 'net' as const),
    origin: fc.constantFrom('otlp' as const, 'skywalking' as const, 'zipkin' as const, 'apm-api' as const, 'ebpf' as const, 'packet' as const, 'pcap' as const),
    observationPoint: fc.constantFrom(...OBSERVATION_POINTS),
    protocol: fc.string({ maxLength: 8 }),
    requestType: fc.string({ maxLength: 8 }),
    requestDomain: fc.string({ maxLength: 12 }),
    requestResource: fc.string({ maxLength: 20 }),
    endpoint: fc.string({ maxLength: 12 }),
    requestId: fc.option(u32, { nil: null }),
    responseStatus: fc.constantFrom(...RESPONSE_STATUSES),
    responseCode: fc.option(fc.integer({ min: -100000, max: 100000 }), { nil: null }),
    responseException: fc.string({ maxLength: 12 }),
    ipVersion: fc.constantFrom(0 as const, 4 as const, 6 as const),
    clientIp: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant('')),
    serverIp: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant('')),
    clientPort: fc.integer({ min: 0, max: 65535 }),
    serverPort: fc.integer({ min: 0, max: 65535 }),
    transport: fc.constantFrom('tcp' as const, 'udp' as const, '' as const),
    reqTcpSeq: u32,
    respTcpSeq: u32,
    hostId: fc.string({ maxLength: 8 }),
    processId: fc.nat(),
    processName: fc.string({ maxLength: 8 }),
    threadIdReq: fc.nat(),
    threadIdResp: fc.nat(),
    interfaceName: fc.string({ maxLength: 8 }),
    xRequestIdReq: fc.string({ maxLength: 8 }),
    xRequestIdResp: fc.string({ maxLength: 8 }),
    syscallTraceIdReq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    syscallTraceIdResp: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    warnings: fc.array(fc.string({ maxLength: 10 }), { maxLength: 2 }),
  })
  .map(({ start, durationNano, ...r }) => ({
    ...r,
    startTimeUnixNano: start,
    endTimeUnixNano: start + durationNano,
  }));
