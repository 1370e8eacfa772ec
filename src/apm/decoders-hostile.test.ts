/**
 * @module Property tests: the pure decoders never throw anything but TRC_INGEST_MALFORMED on
 * hostile input, and every span they keep is well-formed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTracingError } from '../model/index.js';
import type { SpanRecord } from '../model/index.js';
import { decodeOtlpJson, decodeOtlpProtobuf, encodeOtlpRequest } from './otlp/index.js';
import { convertSkyWalkingSegments, decodeSkyWalkingJson, decodeSkyWalkingSegmentProto, encodeSkyWalkingSegment } from './skywalking/index.js';
import { spanRecordArbitrary } from './testing/span-arbitrary.js';
import { decodeZipkinJson } from './zipkin/index.js';

function attempt(fn: () => { spans: SpanRecord[] }): SpanRecord[] {
  try {
    return fn().spans;
  } catch (err) {
    expect(isTracingError(err) && err.code === 'TRC_INGEST_MALFORMED').toBe(true);
    return [];
  }
}

function wellFormed(s: SpanRecord): void {
  expect(s.spanId).not.toBe('');
  expect(s.startTimeUnixNano > 0n).toBe(true);
  expect(s.endTimeUnixNano >= s.startTimeUnixNano).toBe(true);
}

const hostileJson = fc.oneof(
  fc.json(),
  fc.jsonValue().map((v) => JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [v] }] }] })),
  fc.jsonValue().map((v) => JSON.stringify([v])),
  fc.jsonValue().map((v) => JSON.stringify([{ traceId: 'abc', spans: [v], traceSegmentId: 's' }])),
);

describe('decoders on hostile input', () => {
  it('OTLP protobuf: random bytes and truncated valid requests', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(spanRecordArbitrary, { minLength: 1, maxLength: 3 }), fc.nat(), (rnd, spans, cut) => {
        attempt(() => decodeOtlpProtobuf(rnd)).forEach(wellFormed);
        const full = encodeOtlpRequest(spans);
        attempt(() => decodeOtlpProtobuf(full.subarray(0, cut % full.length))).forEach(wellFormed);
      }),
      { numRuns: 300 },
    );
  });

  it('OTLP/JSON, Zipkin and SkyWalking JSON: random JSON', () => {
    fc.assert(
      fc.property(hostileJson, (text) => {
        attempt(() => decodeOtlpJson(text)).forEach(wellFormed);
        attempt(() => decodeZipkinJson(text)).forEach(wellFormed);
        attempt(() => decodeSkyWalkingJson(text, 'many')).forEach(wellFormed);
        attempt(() => decodeSkyWalkingJson(text, 'one')).forEach(wellFormed);
      }),
      { numRuns: 300 },
    );
  });

  it('SkyWalking protobuf: random bytes and truncated valid segments', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (rnd, cut) => {
        attempt(() => convertSkyWalkingSegments([decodeSkyWalkingSegmentProto(rnd)])).forEach(wellFormed);
        const full = encodeSkyWalkingSegment({
          traceId: 't.1.2', traceSegmentId: 'seg', service: 's',
          spans: [{ spanId: 0, parentSpanId: -1, startTime: 1700000000000, endTime: 1700000000001, operationName: '/x', tags: [{ key: 'url', value: '/x' }] }],
        });
        attempt(() => convertSkyWalkingSegments([decodeSkyWalkingSegmentProto(full.subarray(0, cut % full.length))])).forEach(wellFormed);
      }),
      { numRuns: 300 },
    );
  });

  it('SkyWalking: span ids, parents from refs, and derived trace ids for arbitrary segments', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 30 }), fc.string({ minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 50 }), (swTrace, segId, parentSpan) => {
        const r = convertSkyWalkingSegments([
          {
            traceId: swTrace, traceSegmentId: segId, service: 'svc',
            spans: [
              { spanId: 0, parentSpanId: -1, startTime: 1700000000000, endTime: 1700000000005, spanType: 'Entry', refs: [{ parentTraceSegmentId: 'up', parentSpanId: parentSpan, refType: 'CrossProcess' }] },
              { spanId: 1, parentSpanId: 0, startTime: 1700000000001, endTime: 1700000000002, spanType: 1 },
            ],
          },
        ]);
        expect(r.rejected).toBe(0);
        const [entry, exit] = r.spans;
        expect(entry?.spanId).toBe(`${segId}-0`);
        expect(entry?.parentSpanId).toBe(`up-${parentSpan}`);
        expect(entry?.observationPoint).toBe('s-app');
        expect(exit?.parentSpanId).toBe(`${segId}-0`);
        expect(exit?.observationPoint).toBe('c-app');
        expect(entry?.traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(entry?.attributes['sw8.trace_id']).toBe(swTrace);
      }),
      { numRuns: 200 },
    );
  });
});
