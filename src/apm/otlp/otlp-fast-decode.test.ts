/**
 * @module The protobuf fast path (decodeOtlpProtobuf) equals the reference reflection decoder
 * (decodeOtlpProtobufReference) on random valid requests, SDK output and recorded fixtures,
 * and never throws anything but TRC_INGEST_MALFORMED on hostile bytes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { otlpProtobufPayload } from '../../../bench/otlp-payload.js';
import { TracingError } from '../../model/index.js';
import { spanRecordArbitrary } from '../testing/span-arbitrary.js';
import { encodeOtlpRequest, exportRequestType } from './index.js';
import { decodeOtlpProtobuf, decodeOtlpProtobufReference } from './otlp-decode.js';
import { SHARED_APM_FIXTURES } from '../testing/shared-fixtures.js';

const FIXTURES = join(SHARED_APM_FIXTURES, 'otlp');

/** Keys the semantic-convention mapping and the weft form look at, plus arbitrary ones. */
const key = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    'http.request.method', 'http.method', 'http.response.status_code', 'http.status_code', 'http.route', 'url.full', 'url.path',
    'server.address', 'server.port', 'client.address', 'network.peer.address', 'network.transport', 'db.system', 'db.query.text',
    'db.statement', 'db.operation.name', 'rpc.system', 'rpc.service', 'rpc.method', 'rpc.grpc.status_code', 'messaging.system',
    'http.request.header.x-request-id', 'thread.id', 'process.pid', 'service.name', 'otel.scope.name', '__proto__', 'weft.source',
    'weft.warnings', 'weft.trace_id', 'weft.span_id', 'weft.parent_span_id',
  ),
);

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((b) => b.toString());
const i64 = fc.oneof(fc.integer({ min: -1000, max: 100000 }), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map((b) => b.toString()));
const bytes = (lengths: number[]): fc.Arbitrary<Uint8Array> =>
  fc.oneof(...lengths.map((n) => fc.uint8Array({ minLength: n, maxLength: n })), fc.constant(new Uint8Array(lengths[0] ?? 0)));

const { anyValue } = fc.letrec<{ anyValue: Record<string, unknown> }>((tie) => ({
  anyValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ stringValue: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('GET', 'http://h.example:81/a?b=1', '500', 'tcp', 'postgresql', '["x"]')) }),
    fc.record({ boolValue: fc.boolean() }),
    fc.record({ intValue: i64 }),
    fc.record({ doubleValue: fc.oneof(fc.double(), fc.constantFrom(200, 0.5, Number.NaN, Number.POSITIVE_INFINITY)) }),
    fc.record({ bytesValue: fc.uint8Array({ maxLength: 6 }) }),
    fc.record({ arrayValue: fc.record({ values: fc.array(tie('anyValue'), { maxLength: 3 }) }) }),
    fc.record({ kvlistValue: fc.record({ values: fc.array(fc.record({ key, value: fc.option(tie('anyValue'), { nil: undefined }) }, { requiredKeys: ['key'] }), { maxLength: 3 }) }) }),
    fc.constant({}),
  ),
}));

const keyValues = fc.array(fc.record({ key, value: fc.option(anyValue, { nil: undefined }) }, { requiredKeys: ['key'] }), { maxLength: 8 });

const span = fc.record(
  {
    traceId: bytes([16, 0, 15]),
    spanId: bytes([8, 0, 9]),
    parentSpanId: bytes([8, 0, 7]),
    traceState: fc.string({ maxLength: 6 }),
    flags: fc.nat(),
    name: fc.string({ maxLength: 16 }),
    kind: fc.integer({ min: -1, max: 7 }),
    startTimeUnixNano: fc.oneof(u64, fc.constant('1764000000000000000')),
    endTimeUnixNano: fc.oneof(u64, fc.constant('1764000000000500000')),
    attributes: keyValues,
    droppedAttributesCount: fc.nat(),
    events: fc.array(fc.record({ timeUnixNano: u64, name: fc.string({ maxLength: 8 }), attributes: keyValues }, { requiredKeys: [] }), { maxLength: 2 }),
    links: fc.array(fc.record({ traceId: bytes([16]), spanId: bytes([8]), attributes: keyValues }), { maxLength: 1 }),
    status: fc.record({ code: fc.integer({ min: -1, max: 3 }), message: fc.string({ maxLength: 8 }) }, { requiredKeys: [] }),
  },
  { requiredKeys: ['spanId', 'startTimeUnixNano'] },
);

const request = fc.record({
  resourceSpans: fc.array(
    fc.record(
      {
        resource: fc.record({ attributes: keyValues, droppedAttributesCount: fc.nat() }, { requiredKeys: [] }),
        scopeSpans: fc.array(
          fc.record({ scope: fc.record({ name: fc.string({ maxLength: 8 }), version: fc.string({ maxLength: 4 }), attributes: keyValues }, { requiredKeys: [] }), spans: fc.array(span, { maxLength: 4 }), schemaUrl: fc.string({ maxLength: 4 }) }, { requiredKeys: ['spans'] }),
          { maxLength: 2 },
        ),
        schemaUrl: fc.string({ maxLength: 4 }),
      },
      { requiredKeys: ['scopeSpans'] },
    ),
    { maxLength: 2 },
  ),
});

const encode = (plain: unknown): Uint8Array => exportRequestType().encode(exportRequestType().fromObject(plain as Record<string, unknown>)).finish();

function expectSame(bytesIn: Uint8Array): void {
  expect(decodeOtlpProtobuf(bytesIn)).toEqual(decodeOtlpProtobufReference(bytesIn));
}

describe('OTLP protobuf fast path equals the reference decoder', () => {
  it('on random valid ExportTraceServiceRequests (SDK-style spans, every AnyValue kind)', () => {
    fc.assert(
      fc.property(request, (req) => expectSame(encode(req))),
      { numRuns: 300 },
    );
  });

  it('on weft-form requests from encodeOtlpRequest(random SpanRecords)', () => {
    fc.assert(
      fc.property(fc.array(spanRecordArbitrary, { maxLength: 5 }), (spans) => expectSame(encodeOtlpRequest(spans))),
      { numRuns: 200 },
    );
  });

  it('on the recorded fixtures and on OTel SDK serializer output', () => {
    for (const f of ['otlp2parquet-trace.ExportTraceServiceRequest.pb', 'otlp2parquet-traces.ExportTraceServiceRequest.pb']) {
      const b = readFileSync(join(FIXTURES, f));
      expect(decodeOtlpProtobuf(b).spans.length).toBeGreaterThan(0);
      expectSame(b);
    }
    const sdk = otlpProtobufPayload(200);
    const fast = decodeOtlpProtobuf(sdk.bytes);
    expect(fast.spans).toHaveLength(200);
    expect(fast).toEqual(decodeOtlpProtobufReference(sdk.bytes));
  });

  it('fields in unusual order (resource after scope spans, scope after spans) and repeated', () => {
    const b = Buffer.from(encode({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'late' } }] }, scopeSpans: [{ scope: { name: 's' }, spans: [{ traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(2), startTimeUnixNano: '5', endTimeUnixNano: '6' }] }] }] }));
    // ResourceSpans body: field 1 (resource) then field 2 (scope spans); swap them on the wire.
    const rs = exportRequestType().decode(b) as unknown as { resourceSpans: { resource: unknown; scopeSpans: unknown[] }[] };
    const resourceType = exportRequestType().lookupType('opentelemetry.proto.resource.v1.Resource');
    const scopeSpansType = exportRequestType().lookupType('opentelemetry.proto.trace.v1.ScopeSpans');
    const res = resourceType.encode(rs.resourceSpans[0]?.resource as Record<string, unknown>).finish();
    const ss = scopeSpansType.encode(rs.resourceSpans[0]?.scopeSpans[0] as Record<string, unknown>).finish();
    const field = (n: number, body: Uint8Array): Buffer => Buffer.concat([Buffer.from([(n << 3) | 2, body.length]), body]);
    const inner = Buffer.concat([field(2, ss), field(1, Buffer.alloc(0)), field(1, res)]);
    const swapped = field(1, inner);
    const out = decodeOtlpProtobuf(swapped);
    expect(out.spans[0]?.service).toBe('late');
    expect(out).toEqual(decodeOtlpProtobufReference(swapped));
  });

  it('a request buffer reused in place after decoding does not leak cached strings into the next one', () => {
    const kv = (k: string, v: string): Record<string, unknown> => ({ key: k, value: { stringValue: v } });
    const one = (k: string, v: string): Record<string, unknown> => ({
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(2), startTimeUnixNano: '5', endTimeUnixNano: '6', attributes: [kv(k, v)] }] }] }],
    });
    const first = encode(one('http.route', '/a/b/c'));
    // Same lengths, and differing only in bytes the cache's hash does not sample: same slots.
    const second = encode(one('http.roxte', '/a/x/c'));
    expect(second.length).toBe(first.length);
    const shared = Buffer.from(first);
    expect(decodeOtlpProtobuf(shared).spans[0]?.endpoint).toBe('/a/b/c');
    shared.set(second);
    const again = decodeOtlpProtobuf(shared);
    expect(again.spans[0]?.attributes).toMatchObject({ 'http.roxte': '/a/x/c' });
    expect(again).toEqual(decodeOtlpProtobufReference(Buffer.from(second)));
  });
});

describe('OTLP protobuf fast path on hostile bytes', () => {
  const outcome = (b: Uint8Array): unknown => {
    try {
      return decodeOtlpProtobuf(b);
    } catch (err) {
      expect(err).toBeInstanceOf(TracingError);
      expect((err as TracingError).code).toBe('TRC_INGEST_MALFORMED');
      return 'malformed';
    }
  };

  it('a schema field with the wrong wire type is malformed, not skipped (protobufjs would read it by its schema type)', () => {
    // Span.links (field 13, a message) sent as a varint, followed by bytes that would read as a span trace id.
    const span = Buffer.concat([Buffer.from([0x68, 0x05]), Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63]), Buffer.from([0x12, 0x08]), Buffer.alloc(8, 1)]);
    const scopeSpans = Buffer.concat([Buffer.from([0x12, span.length]), span]);
    const resourceSpans = Buffer.concat([Buffer.from([0x12, scopeSpans.length]), scopeSpans]);
    const request = Buffer.concat([Buffer.from([0x0a, resourceSpans.length]), resourceSpans]);
    expect(outcome(request)).toBe('malformed');
  });

  it('random bytes only ever give a result or TRC_INGEST_MALFORMED', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => void outcome(b)), { numRuns: 2000 });
  });

  it('mutated valid requests: a result or TRC_INGEST_MALFORMED, and the reference result when it has one', () => {
    fc.assert(
      fc.property(request, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), (req, edits, cut) => {
        const b = Uint8Array.from(encode(req));
        if (b.length === 0) return;
        for (const [at, v] of edits) b[at % b.length] = v;
        const mutated = b.subarray(0, b.length - (cut % 3 === 0 ? cut % b.length : 0));
        const fast = outcome(mutated);
        let reference: unknown;
        try {
          reference = decodeOtlpProtobufReference(mutated);
        } catch {
          reference = 'malformed';
        }
        if (fast !== 'malformed' && reference !== 'malformed') expect(fast).toEqual(reference);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 500) },
    );
  });
});
