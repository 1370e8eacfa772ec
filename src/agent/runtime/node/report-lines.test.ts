import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseReportLine } from './report-lines.js';

const TOKEN = '0123456789abcdef0123456789abcdef';

describe('report lines', () => {
  it('parses each record the hook writes', () => {
    expect(parseReportLine(`H ${TOKEN} 12 99 1 v20.20.2`)).toEqual({ kind: 'hello', token: TOKEN, pid: 12, monoNs: 99n, protocolVersion: 1, nodeVersion: 'v20.20.2' });
    expect(parseReportLine('C 3 ::1 8080 ::1 51000 2 123456789012345678')).toEqual({
      kind: 'context',
      ctx: 3,
      tuple: { localIp: '::1', localPort: 8080, remoteIp: '::1', remotePort: 51000 },
      ordinal: 2,
      monoNs: 123456789012345678n,
    });
    expect(parseReportLine('S 1 10.0.0.2 40000 10.0.0.3 5432')).toMatchObject({ kind: 'socket', sock: 1 });
    expect(parseReportLine('W 1 4294967296 300 0')).toEqual({ kind: 'write', sock: 1, offset: 4294967296, length: 300, ctx: 0 });
    expect(parseReportLine('F 1 0 300 10 20 1')).toEqual({ kind: 'flush', sock: 1, offset: 0, length: 300, t0: 10n, t1: 20n, sync: true });
    expect(parseReportLine('X 1')).toEqual({ kind: 'closed', sock: 1 });
    expect(parseReportLine('U 5')).toEqual({ kind: 'until', monoNs: 5n });
    expect(parseReportLine('D 17')).toEqual({ kind: 'dropped', count: 17 });
  });

  it('refuses malformed lines with a reason: bad numbers, ports, ids, windows, extra fields', () => {
    for (const line of ['', 'W 1 2 3', 'W 1 2 3 4 5', 'W 0 0 1 0', 'W 1 -2 3 0', 'W 1 01 3 0', 'W 1 0 0 0', 'S 1 1.2.3.4 0 1.2.3.4 1', 'S 1 1.2.3.4 70000 1.2.3.4 1', 'S 1 a b 1.2.3.4 1 2', 'F 1 0 3 20 10 1', 'F 1 0 3 10 20 2', `H ${TOKEN.slice(1)} 1 1 1 v20`, 'C 0 1.1.1.1 1 1.1.1.1 1 0 1', 'Z 1']) {
      expect(parseReportLine(line).kind, line).toBe('invalid');
    }
  });

  it('never throws, whatever the line', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (line) => {
        expect(typeof parseReportLine(line).kind).toBe('string');
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.constantFrom('H', 'C', 'S', 'W', 'F', 'X', 'U', 'D'), fc.array(fc.oneof(fc.nat().map(String), fc.string({ maxLength: 12 }), fc.bigInt().map(String)), { maxLength: 9 }), (kind, fields) => {
        expect(typeof parseReportLine([kind, ...fields].join(' ')).kind).toBe('string');
      }),
      { numRuns: 2000 },
    );
  });

  it('a write line round-trips any safe offset and length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 30 }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: 1 << 30 }), fc.nat(), (sock, offset, length, ctx) => {
        expect(parseReportLine(`W ${sock} ${offset} ${length} ${ctx}`)).toEqual({ kind: 'write', sock, offset, length, ctx });
      }),
    );
  });
});
