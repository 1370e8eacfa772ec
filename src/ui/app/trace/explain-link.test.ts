import { describe, expect, it } from 'vitest';
import { fillSpanDefaults, possibleParentsOf, warningText } from '../api/types.js';
import type { ApiSpan } from '../api/types.js';
import { clockNote, confidenceWords, correlationKeys, explainLink, sameMessage } from './explain-link.js';
import { apiSpan, apiTrace } from './trace-fixture.js';
import { buildTraceModel } from './trace-model.js';

describe('link reasons in words', () => {
  const nginxCp = apiSpan('n-cp', null, 0, 10, { source: 'sys', observationPoint: 'c-p', service: 'nginx', name: 'GET /api', reqTcpSeq: 1234, respTcpSeq: 99 });
  it('tcp seq: the same bytes read or written at another point', () => {
    const sp = apiSpan('b-sp', 'n-cp', 1, 9, { source: 'sys', observationPoint: 's-p', service: 'backend', reqTcpSeq: 1234, linkReason: 'tcp_seq' });
    expect(explainLink(sp, nginxCp)).toBe("Under nginx's client call (SYS c-p, GET /api) because the same bytes (tcp seq 1234) were read here: one request seen at two points.");
    const nic = apiSpan('nic', 'n-cp', 1, 9, { source: 'net', observationPoint: 'c', service: '', interfaceName: 'eth0', reqTcpSeq: 1234, linkReason: 'tcp_seq' });
    expect(explainLink(nic, nginxCp)).toContain('(tcp seq 1234) crossed interface eth0 here');
  });
  it('syscall, span id, X-Request-ID, weak links and roots', () => {
    const sp = apiSpan('sp', null, 0, 10, { source: 'sys', observationPoint: 's-p', service: 'api' });
    expect(explainLink(apiSpan('cp', 'sp', 1, 2, { source: 'sys', observationPoint: 'c-p', linkReason: 'syscall', syscallTraceIdReq: 77, threadIdReq: 12 }), sp)).toBe(
      "Under api's server side (SYS s-p, sp) because this call was made on the thread (thread 12) that read that request: syscall trace id 77.",
    );
    expect(explainLink(apiSpan('x', 'sp', 1, 2, { linkReason: 'span_id', parentSpanId: 'sp' }), sp)).toContain("its parent span id (sp) is that span's id");
    expect(explainLink(apiSpan('x', 'sp', 1, 2, { linkReason: 'x_request_id', xRequestIdReq: 'req-1' }), sp)).toContain('same X-Request-ID (req-1)');
    expect(explainLink(apiSpan('x', 'sp', 1, 2, { linkReason: 'process', processId: 5 }), sp)).toContain('weak link');
    expect(explainLink(apiSpan('x', 'sp', 1, 2, { linkReason: 'made_up' as never }), sp)).toContain('link reason: made_up');
    expect(explainLink(apiSpan('r', null, 0, 1, { parentSpanId: 'gone' }), null)).toContain('parent span gone is not in this trace');
  });
  it('confidence and clock corrections in words', () => {
    expect(confidenceWords(1)).toMatch(/^certain/);
    expect(confidenceWords(0.9)).toMatch(/^very likely/);
    expect(confidenceWords(0.4)).toMatch(/^a weak guess/);
    expect(clockNote(apiSpan('x', null, 0, 1, { clockOffsetNano: '-3200000', hostId: 'h2' }))).toBe('Clock corrected: shown -3.2 ms from where host h2 recorded it, so it fits inside its parent.');
    expect(clockNote(apiSpan('x', null, 0, 1))).toBeNull();
  });
  it('the same message at its other observation points, in path order', () => {
    const m = buildTraceModel(
      apiTrace([
        nginxCp,
        apiSpan('s', 'n-cp', 1, 9, { source: 'net', observationPoint: 's', reqTcpSeq: 1234 }),
        apiSpan('c', 'n-cp', 1, 9, { source: 'net', observationPoint: 'c', reqTcpSeq: 1234 }),
        apiSpan('sp', 's', 2, 8, { source: 'sys', observationPoint: 's-p', reqTcpSeq: 1234 }),
        apiSpan('other', 'sp', 3, 4, { source: 'sys', observationPoint: 'c-p', reqTcpSeq: 555 }),
      ]),
    );
    expect(sameMessage(m, 0).map((i) => m.span(i).id)).toEqual(['c', 's', 'sp']);
    expect(sameMessage(m, 4)).toEqual([]);
    expect(correlationKeys(nginxCp)).toEqual([
      ['traceId', 'a'.repeat(32)],
      ['spanId', 'n-cp'],
      ['reqTcpSeq', '1234'],
      ['respTcpSeq', '99'],
    ]);
  });
  it('reads possible parents and warnings in the shapes a server may send', () => {
    // Loose on purpose: the reader must survive shapes the server's types would not allow.
    const s = { ...apiSpan('x', null, 0, 1), possibleParents: [{ id: 'p1', reason: 'syscall', confidence: 0.5, why: 'two requests open' }, { id: null, spanId: 'ab', service: 'api', name: 'GET' }, 'p3', 7, null] } as unknown as ApiSpan;
    expect(possibleParentsOf(s)).toEqual([
      { id: 'p1', spanId: '', traceId: '', service: '', name: '', reason: 'syscall', confidence: 0.5, why: 'two requests open' },
      { id: null, spanId: 'ab', traceId: '', service: 'api', name: 'GET', reason: null, confidence: null, why: null },
      { id: 'p3', spanId: '', traceId: '', service: '', name: '', reason: null, confidence: null, why: null },
    ]);
    expect(warningText('plain')).toBe('plain');
    expect(warningText({ code: 'ambiguous_parent', message: 'c-p could belong to 3 requests' })).toBe('c-p could belong to 3 requests (ambiguous_parent)');
  });
});

describe('trace model', () => {
  it('relative times, self time, errors, roots for missing parents', () => {
    const m = buildTraceModel(
      apiTrace([
        apiSpan('root', null, 0, 100),
        apiSpan('a', 'root', 10, 40),
        apiSpan('b', 'root', 30, 50, { responseStatus: 'server_error' }),
        apiSpan('orphan', 'nowhere', 60, 70),
      ]),
    );
    expect(m.durationNs).toBe(100e6);
    expect(m.selfNs[0]).toBe(60e6); // 100 - union(10..50)
    expect(m.error[2]).toBe(1);
    expect(m.roots.map((i) => m.span(i).id)).toEqual(['root', 'orphan']);
    expect(Number(m.startUnixNano % 1_000_000_000_000n)).toBe(0);
  });
  it('falls back to BigInt for timestamps of different lengths', () => {
    const m = buildTraceModel(apiTrace([apiSpan('a', null, 0, 1, { startTimeUnixNano: '999', endTimeUnixNano: '1500' }), apiSpan('b', 'a', 0, 1, { startTimeUnixNano: '1000', endTimeUnixNano: '1200' })]));
    expect([...m.start]).toEqual([0, 1]);
    expect(m.durationNs).toBe(501);
  });
});

describe('compact traces', () => {
  it('get their empty fields back, full ones pass unchanged', () => {
    const full = apiSpan('a', null, 0, 1, { reqTcpSeq: 5, service: 'x' });
    const compact = Object.fromEntries(Object.entries(full).filter(([, v]) => !(v === '' || v === 0 || v === null || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0))));
    const filled = fillSpanDefaults({ traceId: 't', spans: [compact as unknown as ApiSpan, { ...full }], services: [], warnings: [] });
    expect(filled.spans[0]).toEqual(full);
    expect(filled.spans[1]).toEqual(full);
  });
});
