import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, renderTraceTree, terminalSafe } from './trace-tree.js';
import type { TraceViewSpan } from './trace-tree.js';

function span(id: string, parentId: string | null, name: string, startMs: number, durMs: number, extra: Partial<TraceViewSpan> = {}): TraceViewSpan {
  const start = 1_700_000_000_000_000_000n + BigInt(startMs) * 1_000_000n;
  return {
    id,
    parentId,
    name,
    service: `svc-${id}`,
    source: 'app',
    origin: 'otlp',
    observationPoint: parentId === null ? 's-app' : 'c-app',
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + BigInt(durMs) * 1_000_000n),
    linkReason: parentId === null ? null : 'span_id',
    ...extra,
  };
}

describe('renderTraceTree', () => {
  it('names the possible parents of an ambiguous call under it, and the trace warnings', () => {
    const text = renderTraceTree(
      {
        traceId: 't2',
        spans: [
          span('x', null, 'GET /backend', 0, 10, {
            source: 'sys',
            observationPoint: 'c-p',
            origin: 'ebpf',
            possibleParents: [{ id: null, spanId: 'aa', service: 'node', name: 'GET /a', reason: 'syscall', why: 'its thread had 2 requests open when this call started' }],
          }),
        ],
        warnings: ['c-p x could serve any of 2 requests open on its thread (event loop); left unlinked'],
      },
      { color: false },
    );
    expect(text).toContain('   ? possible parent (another trace): GET /a [node] — syscall: its thread had 2 requests open when this call started');
    expect(text).toContain('warning: c-p x could serve any of 2 requests open on its thread (event loop); left unlinked');
  });

  it('draws children under parents, siblings by start time, with duration, service, point and link reason', () => {
    const text = renderTraceTree(
      {
        traceId: 't1',
        spans: [span('c', 'a', 'second', 20, 5), span('a', null, 'GET /', 0, 100), span('b', 'a', 'first', 10, 3), span('d', 'b', 'leaf', 11, 1, { source: 'sys', observationPoint: 'c-p', origin: 'ebpf', linkReason: 'syscall' })],
        warnings: ['clock skew corrected'],
      },
      { color: false },
    );
    expect(text).toBe(
      [
        'trace t1  4 spans, 4 services',
        '└─ GET /  [svc-a]  100.000 ms  app/s-app otlp  root',
        '   ├─ first  [svc-b]  3.000 ms  app/c-app otlp  via span_id',
        '   │  └─ leaf  [svc-d]  1.000 ms  sys/c-p ebpf  via syscall',
        '   └─ second  [svc-c]  5.000 ms  app/c-app otlp  via span_id',
        'warning: clock skew corrected',
        '',
      ].join('\n'),
    );
  });

  it('colors only when asked', () => {
    const spans = [span('a', null, 'x', 0, 1)];
    expect(renderTraceTree({ traceId: 't', spans }, { color: false })).not.toContain('\x1b[');
    expect(renderTraceTree({ traceId: 't', spans }, { color: true })).toContain('\x1b[');
  });

  it('never passes control characters from captured names to the terminal', () => {
    const text = renderTraceTree({ traceId: 't\x1b]0;pwned\x07', spans: [span('a', null, 'GET /\x1b[2J\r\n', 0, 1, { service: 'evil\x9b31m' })] }, { color: false });
    expect(text.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('shows every span exactly once, whatever the parent links (cycles, self links, unknown parents)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(9), fc.option(fc.nat(12), { nil: null })), { minLength: 1, maxLength: 10 }), (links) => {
        const seen = new Set<number>();
        const spans = links
          .filter(([id]) => !seen.has(id) && seen.add(id))
          .map(([id, parent]) => span(`s${id}`, parent === null ? null : `s${parent}`, `op${id}`, id, 1));
        const text = renderTraceTree({ traceId: 't', spans }, { color: false });
        for (const s of spans) expect(text.split(`${s.name}  [`).length - 1).toBe(1);
      }),
    );
  });
});

describe('formatDuration and terminalSafe', () => {
  it('formats nanosecond strings as milliseconds', () => {
    expect(formatDuration('1000', '1501000')).toBe('1.500 ms');
    expect(formatDuration('0', '999')).toBe('0.000 ms');
    expect(formatDuration('x', '1')).toBe('? ms');
  });
  it('replaces C0, DEL and C1 controls', () => {
    expect(terminalSafe('a\x00b\x7fc\x85d')).toBe('a\uFFFDb\uFFFDc\uFFFDd');
  });
});
