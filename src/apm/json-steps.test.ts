import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonSteps } from './json-steps.js';
import { runSteps } from './steps.js';

/** JSON.parse's outcome: the value, or that it threw. */
function whole(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function stepped(bytes: Uint8Array, pieceBytes: number, stepBytes = 64): { ok: true; value: unknown; steps: number } | { ok: false } {
  let steps = 0;
  const it = parseJsonSteps(bytes, { pieceBytes, stepBytes });
  try {
    for (;;) {
      const r = it.next();
      if (r.done === true) return { ok: true, value: r.value, steps };
      steps++;
    }
  } catch (err) {
    expect(err).toBeInstanceOf(SyntaxError);
    return { ok: false };
  }
}

/** Same outcome as JSON.parse: both fail, or both give the same value with keys in the same order. */
function sameAsJsonParse(text: string, pieceBytes: number): void {
  const a = whole(text);
  const b = stepped(Buffer.from(text), pieceBytes);
  expect(b.ok, text).toBe(a.ok);
  if (a.ok && b.ok) {
    expect(b.value).toStrictEqual(a.value);
    expect(JSON.stringify(b.value)).toBe(JSON.stringify(a.value));
  }
}

describe('parseJsonSteps', () => {
  it('gives what JSON.parse gives for any JSON, however small the walked pieces', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 40 }), fc.constantFrom(undefined, 1, 2), (v, piece, indent) => {
        sameAsJsonParse(JSON.stringify(v, null, indent), piece);
      }),
      { numRuns: 600 },
    );
  });

  it('fails where JSON.parse fails: any text, and JSON with a character deleted, inserted or replaced', () => {
    const mutated = fc.tuple(fc.jsonValue(), fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), fc.constantFrom(',', ':', '[', ']', '{', '}', '"', '\\', ' ', '0', 'e', '-', 'x', '\u00e9')).map(([v, at, op, ch]) => {
      const t = JSON.stringify(v);
      const i = t.length === 0 ? 0 : at % t.length;
      return op === 'delete' ? t.slice(0, i) + t.slice(i + 1) : op === 'insert' ? t.slice(0, i) + ch + t.slice(i) : t.slice(0, i) + ch + t.slice(i + 1);
    });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.string(), fc.string({ unit: fc.constantFrom('[', ']', '{', '}', ',', ':', '"', '1', ' ', 'a', '\\') })), fc.integer({ min: 0, max: 12 }), (text, piece) => {
        sameAsJsonParse(text, piece);
      }),
      { numRuns: 1500 },
    );
  });

  it('keeps "__proto__" an own property, trailing commas and mixed brackets fail, text past the value fails', () => {
    const proto = runSteps(parseJsonSteps(Buffer.from('{"a":[1,2,3,4],"__proto__":{"x":[1,2,3]},"b":{"c":"dddd"}}'), { pieceBytes: 2 })) as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(['a', '__proto__', 'b']);
    for (const bad of ['[1,2,3,]', '{"a":1,}', '[1,2}', '{"a":[1,2]]', '[1,2] x', '[1 2]', '{"a" 1}', '{"a":1 "b":2}', '\ufeff[1,2,3]']) {
      expect(() => runSteps(parseJsonSteps(Buffer.from(bad), { pieceBytes: 1 })), bad).toThrow(SyntaxError);
    }
  });

  it('parses a large OTLP-shaped body in many steps, each of bounded input', () => {
    const spans = Array.from({ length: 5000 }, (_, i) => ({ traceId: 'ab'.repeat(16), spanId: i.toString(16).padStart(16, '0'), name: `GET /x/${i}`, attributes: [{ key: 'k', value: { stringValue: 'é'.repeat(i % 7) } }] }));
    const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 's' }, spans }] }] });
    const r = stepped(Buffer.from(body), 4096, 16 * 1024);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value).toStrictEqual(JSON.parse(body));
      // ~600 kB in steps of ~16 kB of pieces (and the first pass, 64 kB a step).
      expect(r.steps).toBeGreaterThan(body.length / (64 * 1024));
    }
  });

  it('a hostile list of a million tiny values costs about what JSON.parse costs, not a parse per value', () => {
    const body = Buffer.from(`[${'0,'.repeat(1_000_000)}0]`);
    const t0 = performance.now();
    JSON.parse(body.toString());
    const wholeMs = performance.now() - t0;
    const t1 = performance.now();
    const v = runSteps(parseJsonSteps(body));
    const steppedMs = performance.now() - t1;
    expect((v as unknown[]).length).toBe(1_000_001);
    expect(steppedMs).toBeLessThan(Math.max(200, wholeMs * 10));
  });
});
