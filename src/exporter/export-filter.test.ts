import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptySpan, OBSERVATION_POINTS } from '../model/index.js';
import type { ObservationPoint, SpanSource } from '../model/index.js';
import { defaultExportFilter, formatExportFilter, matchesExportFilter, parseExportFilter } from './export-filter.js';
import type { ExportFilter } from './export-filter.js';

function parse(text: string): ExportFilter {
  const r = parseExportFilter(text);
  if (!r.ok) throw new Error(r.error);
  return r.filter;
}

function span(source: SpanSource, op: ObservationPoint, protocol = 'http') {
  const s = emptySpan({ source, origin: source === 'app' ? 'otlp' : 'ebpf', observationPoint: op });
  s.protocol = protocol;
  return s;
}

describe('export filter', () => {
  it('defaults to SYS and NET spans', () => {
    const f = defaultExportFilter();
    expect(matchesExportFilter(f, span('sys', 'c-p'))).toBe(true);
    expect(matchesExportFilter(f, span('net', 'c-nd'))).toBe(true);
    expect(matchesExportFilter(f, span('app', 'c-app'))).toBe(false);
  });

  it('reads = and != with comma OR and ; AND, and the bare source list', () => {
    const f = parse('source=sys ; protocol!=DNS,redis; observationPoint=c-p,s-p');
    expect(matchesExportFilter(f, span('sys', 's-p', 'http'))).toBe(true);
    expect(matchesExportFilter(f, span('sys', 's-p', 'dns'))).toBe(false);
    expect(matchesExportFilter(f, span('sys', 's-p', 'redis'))).toBe(false);
    expect(matchesExportFilter(f, span('net', 's-p', 'http'))).toBe(false);
    expect(matchesExportFilter(f, span('sys', 'c', 'http'))).toBe(false);
    expect(parse('sys,net')).toEqual(parse('source=sys,net'));
    expect(parse('op=c-p')).toEqual(parse('observationPoint=c-p'));
  });

  it('names the bad part in every error', () => {
    expect(parseExportFilter('source=sys;protocl=dns')).toEqual({ ok: false, error: expect.stringMatching(/^export filter part 2 \("protocl=dns"\): unknown key "protocl"; keys are source, /) as unknown });
    expect(parseExportFilter('source=sys,nett')).toEqual({ ok: false, error: expect.stringContaining('"nett" is not a source; one of app, sys, net') as unknown });
    expect(parseExportFilter('observationPoint=c-p,xx')).toEqual({ ok: false, error: expect.stringContaining('"xx" is not a observationPoint') as unknown });
    expect(parseExportFilter('source=sys;;protocol=dns')).toEqual({ ok: false, error: expect.stringContaining('part 2 ("")') as unknown });
    expect(parseExportFilter('=sys')).toEqual({ ok: false, error: expect.stringContaining("missing key before '='") as unknown });
    expect(parseExportFilter('protocol=dns,')).toEqual({ ok: false, error: expect.stringContaining('empty value') as unknown });
    expect(parseExportFilter('  ')).toEqual({ ok: false, error: expect.stringContaining('empty') as unknown });
  });

  it('property: format/parse round-trips and matching agrees with a direct evaluation', () => {
    const clause = fc.oneof(
      fc.record({ key: fc.constant('source' as const), negate: fc.boolean(), values: fc.uniqueArray(fc.constantFrom('app', 'sys', 'net'), { minLength: 1 }) }),
      fc.record({ key: fc.constant('observationPoint' as const), negate: fc.boolean(), values: fc.uniqueArray(fc.constantFrom(...OBSERVATION_POINTS), { minLength: 1 }) }),
      fc.record({ key: fc.constant('protocol' as const), negate: fc.boolean(), values: fc.uniqueArray(fc.constantFrom('http', 'dns', 'mysql', 'redis'), { minLength: 1 }) }),
    );
    const spanArb = fc.record({
      source: fc.constantFrom<SpanSource>('app', 'sys', 'net'),
      op: fc.constantFrom(...OBSERVATION_POINTS),
      protocol: fc.constantFrom('http', 'dns', 'mysql', 'redis', ''),
    });
    fc.assert(
      fc.property(fc.array(clause, { minLength: 1, maxLength: 4 }), spanArb, (clauses, sp) => {
        const filter: ExportFilter = { clauses: clauses.map((c) => ({ ...c, values: [...c.values] })) };
        const reparsed = parse(formatExportFilter(filter));
        expect(reparsed).toEqual(filter);
        const s = span(sp.source, sp.op, sp.protocol);
        const field = { source: s.source, observationPoint: s.observationPoint, protocol: s.protocol };
        const expected = clauses.every((c) => (c.values as string[]).includes(field[c.key]) !== c.negate);
        expect(matchesExportFilter(reparsed, s)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('property: any text parses to a value or a clear error, never a throw', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('s', 'o', 'u', 'r', 'c', 'e', '=', '!', ',', ';', ' ', 'y', 'n', 'p') }), (text) => {
        const r = parseExportFilter(text);
        if (!r.ok) expect(r.error).toMatch(/^export filter/);
      }),
      { numRuns: 500 },
    );
  });
});
