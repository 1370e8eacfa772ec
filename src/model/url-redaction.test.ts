import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createQueryRedactor, DEFAULT_SECRET_QUERY_PARAMS } from './url-redaction.js';

/** The plain reading of the rule (split the query at `&`, redact secret names' non-empty values): the oracle. */
function reference(names: readonly string[], input: string): string {
  const set = new Set(names.map((n) => n.toLowerCase()));
  const secret = (raw: string): boolean => {
    let name = raw;
    try {
      name = decodeURIComponent(raw.replaceAll('+', ' '));
    } catch {
      // raw
    }
    const lower = name.toLowerCase();
    return set.has(lower) || lower.split(/[_.-]/).some((p) => set.has(p));
  };
  const q = input.indexOf('?');
  if (q < 0) return input;
  const hash = input.indexOf('#', q);
  const query = input.slice(q + 1, hash < 0 ? undefined : hash);
  const parts = query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0 || !secret(pair.slice(0, eq)) || pair.slice(eq + 1) === '' ? pair : `${pair.slice(0, eq + 1)}[REDACTED]`;
  });
  return `${input.slice(0, q + 1)}${parts.join('&')}${hash < 0 ? '' : input.slice(hash)}`;
}

describe('query redaction', () => {
  it('property: the one-pass redactor agrees with the plain reading of the rule, on hostile targets', () => {
    const r = createQueryRedactor(DEFAULT_SECRET_QUERY_PARAMS);
    const piece = fc.oneof(fc.constantFrom('token', 'Api_Key', 'sig', 'x', 'a.b', '%zz', '%5Fauth', '=', '&', '?', '#', '+', ''), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 16 }), (pieces) => {
        const target = pieces.join('');
        expect(r(target)).toBe(reference(DEFAULT_SECRET_QUERY_PARAMS, target));
      }),
      { numRuns: 3000 },
    );
  });

  it('remembers verdicts without growing without bound', () => {
    const r = createQueryRedactor(['token']);
    for (let i = 0; i < 5000; i++) expect(r(`/p?n${i}=1&token=t`)).toBe(`/p?n${i}=1&token=[REDACTED]`);
  });
});
