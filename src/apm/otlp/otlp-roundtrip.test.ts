/**
 * @module Property: every SpanRecord survives SpanRecord → OTLP (protobuf and JSON) → SpanRecord.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SPAN_RECORD_FIELDS } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import { spanRecordArbitrary } from '../testing/span-arbitrary.js';
import { convertOtlpRequest, decodeOtlpJson, decodeOtlpProtobuf, encodeOtlpRequest, toOtlpJson } from './index.js';

const canon = (spans: SpanRecord[]): string[] =>
  spans
    .map((s) => JSON.stringify(SPAN_RECORD_FIELDS.map((f) => [f, s[f]]), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)))
    .sort();

describe('weft.* mapping round trip', () => {
  it('decode(encode(spans)) equals spans, protobuf', () => {
    fc.assert(
      fc.property(fc.array(spanRecordArbitrary, { maxLength: 5 }), (spans) => {
        const out = decodeOtlpProtobuf(encodeOtlpRequest(spans));
        expect(out.rejected).toBe(0);
        expect(canon(out.spans)).toEqual(canon(spans));
      }),
      { numRuns: 200 },
    );
  });

  it('decode(toOtlpJson(spans)) equals spans for every id and enum encoding', () => {
    fc.assert(
      fc.property(
        fc.array(spanRecordArbitrary, { maxLength: 4 }),
        fc.constantFrom('hex' as const, 'base64' as const),
        fc.constantFrom('int' as const, 'name' as const),
        (spans, idEncoding, enumEncoding) => {
          const json = JSON.stringify(toOtlpJson(spans, { idEncoding, enumEncoding }));
          const out = decodeOtlpJson(json);
          expect(out.rejected).toBe(0);
          expect(canon(out.spans)).toEqual(canon(spans));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('extraSpanAttributes are added as plain attributes', () => {
    const [span] = fc.sample(spanRecordArbitrary, { numRuns: 1, seed: 7 });
    if (!span) throw new Error('no sample');
    const json = toOtlpJson([span], { idEncoding: 'hex', enumEncoding: 'int', extraSpanAttributes: () => ({ 'weft_parent': 'x' }) });
    const decoded = convertOtlpRequest(json);
    expect(decoded.spans[0]?.attributes.weft_parent).toBe('x');
  });
});
