/**
 * @module Remote agents' self-reports: validated with clear errors (hostile bytes included),
 * labelled by agent, aged and forgotten.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TracingError } from '../../model/index.js';
import { createRemoteAgentMetrics, parseAgentMetricsReport } from './agent-metrics.js';

const body = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const report = (agent: string, value: number) =>
  body({ agent, samples: [{ name: 'weft_agent_dropped_spans_total', help: 'Spans dropped by the agent', type: 'counter', labels: { reason: 'queue_full' }, value }] });

function malformedMessage(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(TracingError);
    expect((err as TracingError).code).toBe('TRC_INGEST_MALFORMED');
    expect((err as TracingError).httpStatus).toBe(400);
    return (err as TracingError).message;
  }
  throw new Error('expected TRC_INGEST_MALFORMED');
}

describe('remote agent metrics', () => {
  it('keeps the latest report per agent, with an agent label and its age', () => {
    let t = 1_000_000;
    const m = createRemoteAgentMetrics({ now: () => t });
    m.record(report('host-a', 1));
    m.record(report('host-b', 7));
    t += 2_000;
    m.record(report('host-a', 3));
    t += 500;
    const s = m.samples();
    expect(s.filter((x) => x.name === 'weft_agent_dropped_spans_total')).toEqual([
      { name: 'weft_agent_dropped_spans_total', help: 'Spans dropped by the agent', type: 'counter', labels: { reason: 'queue_full', agent: 'host-b' }, value: 7 },
      { name: 'weft_agent_dropped_spans_total', help: 'Spans dropped by the agent', type: 'counter', labels: { reason: 'queue_full', agent: 'host-a' }, value: 3 },
    ]);
    expect(s.find((x) => x.name === 'weft_agent_report_age_seconds' && x.labels?.['agent'] === 'host-b')?.value).toBe(2.5);
  });

  it('forgets agents that stopped reporting and keeps at most maxAgents', () => {
    let t = 0;
    const m = createRemoteAgentMetrics({ now: () => t, ttlMs: 60_000, maxAgents: 2 });
    m.record(report('a', 1));
    m.record(report('b', 1));
    m.record(report('c', 1));
    expect(new Set(m.samples().map((s) => s.labels?.['agent']))).toEqual(new Set(['b', 'c']));
    t += 61_000;
    m.record(report('d', 1));
    expect(new Set(m.samples().map((s) => s.labels?.['agent']))).toEqual(new Set(['d']));
  });

  it('says what is wrong with a bad report', () => {
    expect(malformedMessage(() => parseAgentMetricsReport(Buffer.from('{')))).toMatch(/not JSON/);
    expect(malformedMessage(() => parseAgentMetricsReport(body([])))).toMatch(/JSON object/);
    expect(malformedMessage(() => parseAgentMetricsReport(body({ agent: '', samples: [] })))).toMatch(/agent must be a string/);
    expect(malformedMessage(() => parseAgentMetricsReport(body({ agent: 'a', samples: [{ name: 'node_cpu', type: 'gauge', value: 1 }] })))).toMatch(/samples\[0\]\.name/);
    expect(malformedMessage(() => parseAgentMetricsReport(body({ agent: 'a', samples: [{ name: 'weft_agent_x', type: 'summary', value: 1 }] })))).toMatch(/type/);
    expect(malformedMessage(() => parseAgentMetricsReport(body({ agent: 'a', samples: [{ name: 'weft_agent_x', type: 'gauge', value: 'NaN' }] })))).toMatch(/finite/);
    expect(malformedMessage(() => parseAgentMetricsReport(body({ agent: 'a', samples: [{ name: 'weft_agent_x', type: 'gauge', value: 1, labels: { agent: 'b' } }] })))).toMatch(/label/);
    expect(malformedMessage(() => parseAgentMetricsReport(body({ agent: 'a', samples: new Array(501).fill({ name: 'weft_agent_x', type: 'gauge', value: 1 }) })))).toMatch(/at most 500/);
  });

  it('meets hostile bytes with TRC_INGEST_MALFORMED or a valid report, never anything else', () => {
    const m = createRemoteAgentMetrics();
    const valid = report('host-a', 1);
    const mutated = fc.tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat()).map(([edits, cut]) => {
      const b = Buffer.from(valid);
      for (const [at, v] of edits) b[at % b.length] = v;
      return b.subarray(0, b.length - (cut % 4 === 0 ? cut % b.length : 0));
    });
    const hostile = fc.oneof(fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)), fc.json().map((j) => Buffer.from(j)), mutated);
    fc.assert(
      fc.property(hostile, (b) => {
        try {
          m.record(b);
        } catch (err) {
          expect(err).toBeInstanceOf(TracingError);
          expect((err as TracingError).code).toBe('TRC_INGEST_MALFORMED');
        }
        for (const s of m.samples()) expect(Number.isFinite(s.value)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
