/**
 * The columns built straight from an assembled trace (`traceColumnsOf`, what the route sends) are
 * the columns of its ApiSpans (`toTraceColumns(toApiTrace(trace))`, the generic derivation):
 * for recorded real demo traces through the real assembly, and for random nodes (fast-check)
 * with clock offsets, events, hops, possible parents, negative times and times past 2^53.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptySpan } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import { DEMO_TRACE_IDS, demoSpans } from '../../../test/fixtures/recorded-spans.js';
import { assemble } from '../tracing/assemble.js';
import type { AssembledTrace, LinkReason, TraceNode } from '../tracing/trace.js';
import { toApiSpan, toApiTrace } from './span-json.js';
import { COMPUTED_API_KEYS, toTraceColumns, traceColumnsOf } from './trace-columns.js';

const generic = (t: AssembledTrace, truncated: boolean): unknown => JSON.parse(JSON.stringify(toTraceColumns(toApiTrace(t), truncated)));
const direct = (t: AssembledTrace, truncated: boolean): unknown => JSON.parse(JSON.stringify(traceColumnsOf(t, truncated)));

describe('traceColumnsOf', () => {
  it('recorded demo traces: the same columns as the ApiSpans give', () => {
    const spans = demoSpans();
    for (const id of DEMO_TRACE_IDS) {
      const t = assemble(spans.filter((s) => s.traceId === id || s.source !== 'app'), { traceId: id });
      expect(t.nodes.length).toBeGreaterThan(3);
      expect(direct(t, false)).toEqual(generic(t, false));
      expect(direct(t, true)).toEqual(generic(t, true));
    }
  });

  it('every ApiSpan key it does not compute is the record value as is', () => {
    const spans = demoSpans();
    const t = assemble(spans, { traceId: DEMO_TRACE_IDS[0] });
    for (const node of t.nodes) {
      const api = toApiSpan(node.span, node) as unknown as Record<string, unknown>;
      for (const key of Object.keys(api)) {
        if (COMPUTED_API_KEYS.has(key)) continue;
        expect(api[key], key).toBe((node.span as unknown as Record<string, unknown>)[key]);
      }
    }
  });

  it('random nodes: the same columns as the ApiSpans give (property)', () => {
    const big = fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n });
    const nodeArb = fc.record({
      start: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 40n }), big, fc.constant(2n ** 62n)),
      len: fc.oneof(fc.bigInt({ min: -1000n, max: 10n ** 9n }), fc.constant(2n ** 60n)),
      parent: fc.nat(),
      name: fc.string({ maxLength: 8 }),
      service: fc.constantFrom('', 'a', 'b', '<img src=x>'),
      reason: fc.option(fc.constantFrom<LinkReason>('span_id', 'tcp_seq', 'syscall'), { nil: null }),
      offset: fc.oneof(fc.constant(0n), big, fc.constant(2n ** 61n)),
      attributes: fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), { maxKeys: 2 }),
      events: fc.array(fc.record({ t: big, name: fc.string({ maxLength: 4 }) }), { maxLength: 2 }),
      responseCode: fc.option(fc.integer({ min: 100, max: 599 }), { nil: null }),
      possible: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(nodeArb, { minLength: 0, maxLength: 30 }), fc.boolean(), (rows, truncated) => {
        const nodes: TraceNode[] = rows.map((r, i) => {
          const span: SpanRecord = {
            ...emptySpan({ source: i % 3 === 0 ? 'app' : i % 3 === 1 ? 'sys' : 'net', origin: 'otlp', observationPoint: 'c-app' }),
            traceId: 'feed',
            spanId: `s${i}`,
            name: r.name,
            service: r.service,
            startTimeUnixNano: r.start,
            endTimeUnixNano: r.start + r.len,
            attributes: r.attributes,
            events: r.events.map((e) => ({ timeUnixNano: e.t, name: e.name, attributes: {} })),
            responseCode: r.responseCode,
          };
          const parentId = i === 0 ? null : `n${r.parent % i}`;
          return {
            id: `n${i}`,
            span,
            parentId,
            linkReason: parentId === null ? null : r.reason,
            confidence: parentId === null ? null : 0.9,
            clockOffsetNano: r.offset,
            possibleParents: r.possible ? [{ id: null, spanId: 'x', traceId: 't', service: 's', name: 'n', reason: 'syscall', confidence: 0.4, why: 'w' }] : [],
          };
        });
        const t: AssembledTrace = { traceId: 'feed', nodes, services: ['a'], warnings: ['w <b>'] };
        expect(direct(t, truncated)).toEqual(generic(t, truncated));
      }),
      { numRuns: 300 },
    );
  });
});
