/** @module The link-key skip index on its own: sealing, gaps, candidate ranges and time pruning. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptySpan } from '../../../model/index.js';
import type { SpanRecord } from '../../../model/index.js';
import { LinkKeyBlockIndex, decodeFingerprints, encodeFingerprints, linkKeyFingerprint } from './link-key-index.js';

function span(i: number, start = BigInt(i) * 10n): SpanRecord {
  return {
    ...emptySpan({ source: 'sys', origin: 'ebpf', observationPoint: 'c-p' }),
    spanId: (0x1000 + i).toString(16).padStart(16, '0'),
    reqTcpSeq: 1000 + i,
    xRequestIdReq: `rid-${i % 7}`,
    startTimeUnixNano: start,
    endTimeUnixNano: start + 5n,
  };
}

describe('link-key block index', () => {
  it('fingerprints depend on key type and value', () => {
    expect(linkKeyFingerprint({ type: 'span', value: 'abc' })).toBe(linkKeyFingerprint({ type: 'span', value: 'abc' }));
    expect(linkKeyFingerprint({ type: 'span', value: 'abc' })).not.toBe(linkKeyFingerprint({ type: 'parent', value: 'abc' }));
    expect(linkKeyFingerprint({ type: 'tcp_seq', value: '1' })).not.toBe(linkKeyFingerprint({ type: 'tcp_seq', value: '2' }));
  });

  it('seals a block every blockSpans ordinals and finds keys in sealed and open blocks', () => {
    const idx = new LinkKeyBlockIndex(4);
    const sealed = [];
    for (let i = 0; i < 10; i++) sealed.push(...idx.add(i, span(i)));
    expect(sealed.map((b) => [b.lo, b.hi])).toStrictEqual([
      [0, 3],
      [4, 7],
    ]);
    expect(idx.blockCount).toBe(3);
    expect(idx.candidates([{ type: 'tcp_seq', value: '1005' }])).toStrictEqual([{ lo: 4, hi: 7 }]);
    expect(idx.candidates([{ type: 'tcp_seq', value: '1009' }])).toStrictEqual([{ lo: 8, hi: 11 }]);
    // rid-0 is on spans 0 and 7: adjacent blocks merge into one range.
    expect(idx.candidates([{ type: 'x_request_id', value: 'rid-0' }])).toStrictEqual([{ lo: 0, hi: 7 }]);
    expect(idx.candidates([{ type: 'tcp_seq', value: '99999' }])).toStrictEqual([]);
    expect(idx.candidates([])).toStrictEqual([]);
  });

  it('prunes blocks outside the time range', () => {
    const idx = new LinkKeyBlockIndex(4);
    for (let i = 0; i < 8; i++) idx.add(i, span(i));
    const key = [{ type: 'x_request_id' as const, value: 'rid-0' }];
    expect(idx.candidates(key, { startUnixNano: 0n, endUnixNano: 20n })).toStrictEqual([{ lo: 0, hi: 3 }]);
    expect(idx.candidates(key, { startUnixNano: 60n, endUnixNano: 100n })).toStrictEqual([{ lo: 4, hi: 7 }]);
    expect(idx.candidates(key, { startUnixNano: 1000n, endUnixNano: 2000n })).toStrictEqual([]);
  });

  it('seals the open block when ordinals jump past it', () => {
    const idx = new LinkKeyBlockIndex(4);
    idx.add(0, span(0));
    idx.add(1, span(1));
    const sealed = idx.add(9, span(9));
    expect(sealed.map((b) => [b.lo, b.hi])).toStrictEqual([[0, 3]]);
    expect(idx.candidates([{ type: 'tcp_seq', value: '1009' }])).toStrictEqual([{ lo: 8, hi: 11 }]);
    expect(idx.nextUnsealedOrd()).toBe(4);
  });

  it('property: every indexed key is found in a range holding its ordinal', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 80 }), (blockSpans, gaps) => {
        const idx = new LinkKeyBlockIndex(blockSpans);
        let ord = -1;
        const placed: [number, SpanRecord][] = [];
        for (const g of gaps) {
          ord += g;
          const s = span(ord);
          idx.add(ord, s);
          placed.push([ord, s]);
        }
        for (const [o, s] of placed) {
          const ranges = idx.candidates([{ type: 'span', value: s.spanId }]);
          expect(ranges.some((r) => r.lo <= o && o <= r.hi)).toBe(true);
        }
      }),
    );
  });
});

describe('persisted fingerprints', () => {
  it('round-trip through the Golomb-Rice encoding, including 0 and 2^32-1', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat({ max: 0xffffffff }), { maxLength: 300 }), (values) => {
        const sorted = Uint32Array.from(values).sort();
        expect(decodeFingerprints(encodeFingerprints(sorted))).toStrictEqual(sorted);
      }),
    );
    const edge = Uint32Array.from([0, 1, 127, 128, 0xfffffffe, 0xffffffff]);
    expect(decodeFingerprints(encodeFingerprints(edge))).toStrictEqual(edge);
  });

  it('take about 2.2 bytes a key for a full block', () => {
    const fps = Uint32Array.from({ length: 70_000 }, (_, i) => linkKeyFingerprint({ type: 'tcp_seq', value: String(i + 1) })).sort();
    const bytesPerKey = encodeFingerprints(fps).byteLength / fps.length;
    expect(bytesPerKey).toBeLessThan(2.4);
  });
});
