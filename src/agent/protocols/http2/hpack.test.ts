/** @module HPACK decoding: RFC 7541 Appendix C examples, and the rules for a table we joined late. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBlock, HpackTable, type DecodedBlock } from './hpack.js';
import { HUFFMAN, huffmanDecode } from './huffman.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const pairs = (b: DecodedBlock | { error: string }): [string, string][] => {
  if ('error' in b) throw new Error(b.error);
  return b.names.map((n, i) => [n, b.values[i]!]);
};

describe('Huffman code', () => {
  it('rebuilds the RFC 7541 Appendix B codes from the lengths', () => {
    // A few rows of Appendix B, across every length class.
    const rows: [number, number, number][] = [
      [0, 0x1ff8, 13],
      [10, 0x3ffffffc, 30],
      [32, 0x14, 6],
      [48, 0x0, 5],
      [97, 0x3, 5],
      [122, 0x7b, 7],
      [128, 0xfffe6, 20],
      [255, 0x3ffffee, 26],
      [256, 0x3fffffff, 30],
    ];
    for (const [sym, code, len] of rows) expect([HUFFMAN.codes[sym], HUFFMAN.lengths[sym]]).toEqual([code, len]);
  });

  it('decodes what it encodes, for any bytes, and rejects EOS and bad padding', () => {
    const encode = (bytes: Uint8Array): Buffer => {
      let bits = '';
      for (const b of bytes) bits += HUFFMAN.codes[b]!.toString(2).padStart(HUFFMAN.lengths[b]!, '0');
      while (bits.length % 8) bits += '1';
      const out = Buffer.alloc(bits.length / 8);
      for (let i = 0; i < out.length; i++) out[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
      return out;
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const enc = encode(bytes);
        expect(huffmanDecode(enc, 0, enc.length)).toBe(Buffer.from(bytes).toString('latin1'));
      }),
    );
    expect(huffmanDecode(hex('ffffffff'), 0, 4)).toBeNull(); // EOS inside
    expect(huffmanDecode(hex('00'), 0, 1)).toBeNull(); // '0' then padding of zeros
  });
});

describe('HPACK decode (RFC 7541 Appendix C.4, requests with Huffman)', () => {
  const c41 = hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff');
  const c42 = hex('8286 84be 5886 a8eb 1064 9cbf');
  const c43 = hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf');

  it('decodes three requests sharing one table', () => {
    const t = new HpackTable(true);
    expect(pairs(decodeBlock(c41, 0, c41.length, t))).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    expect(pairs(decodeBlock(c42, 0, c42.length, t))).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    expect(pairs(decodeBlock(c43, 0, c43.length, t))).toEqual([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ]);
  });

  it('joined late: an entry inserted before we watched is unknown, never guessed; newer ones are known', () => {
    const t = new HpackTable(false);
    // Missed C.4.1 (which inserted :authority). C.4.2 refers to it as index 62.
    const b2 = decodeBlock(c42, 0, c42.length, t);
    expect(pairs(b2)).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      ['cache-control', 'no-cache'],
    ]);
    expect((b2 as DecodedBlock).unknown).toBe(1);
    // C.4.3 refers to :authority as index 63 now (cache-control is 62): still unknown.
    const b3 = decodeBlock(c43, 0, c43.length, t);
    expect((b3 as DecodedBlock).unknown).toBe(1);
    expect(pairs(b3)).toContainEqual(['custom-key', 'custom-value']);
  });

  it('a reset (a lost block) makes every older entry unknown', () => {
    const t = new HpackTable(true);
    decodeBlock(c41, 0, c41.length, t);
    t.reset();
    const b = decodeBlock(c42, 0, c42.length, t) as DecodedBlock;
    expect(b.unknown).toBe(1);
    expect(b.names).not.toContain(':authority');
  });
});

describe('HPACK under hostile input', () => {
  it('never throws, and a decode that succeeds only names fields it knows', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 6 }), fc.boolean(), (blocks, fromStart) => {
        const t = new HpackTable(fromStart);
        for (const b of blocks) {
          const r = decodeBlock(b, 0, b.length, t);
          if ('error' in r) {
            t.reset();
            continue;
          }
          expect(r.names.length).toBe(r.values.length);
          for (const n of r.names) expect(n).toMatch(/^:?[a-z0-9!#$%&'*+\-.^_`|~]+$/);
        }
        expect(t.length).toBeLessThanOrEqual(4096 / 32);
      }),
      { numRuns: 2000 },
    );
  });

  it('an index past every known entry is unknown, and an oversized integer is an error', () => {
    const t = new HpackTable(true);
    expect(decodeBlock(hex('ff00'), 0, 2, t)).toMatchObject({ unknown: 1 });
    expect(decodeBlock(hex('ffffffffffff7f'), 0, 7, t)).toHaveProperty('error');
    expect(decodeBlock(hex('80'), 0, 1, t)).toHaveProperty('error');
    // A size update after a field is illegal (RFC 7541 §4.2).
    expect(decodeBlock(hex('823f'), 0, 2, t)).toHaveProperty('error');
  });
});
