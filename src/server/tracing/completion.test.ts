import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../store/index.js';
import {
  completeTrace,
  findCompletionCandidates,
  parseCompletionRequest,
  parseDeepflowCompletionRequest,
  toCompletionResponse,
  toDeepflowCompletionResponse,
} from './completion.js';
import { fullStack } from './testdata/scenarios.js';

const us = (ns: bigint): number => Number(ns / 1000n);

function deepflowBody(): Record<string, unknown> {
  const app = fullStack().filter((s) => s.source === 'app');
  return {
    app_spans: app.map((s) => ({
      trace_id: s.traceId,
      span_id: s.spanId,
      parent_span_id: s.parentSpanId,
      span_kind: s.kind === 'server' ? 2 : 3,
      start_time_us: us(s.startTimeUnixNano),
      end_time_us: us(s.endTimeUnixNano),
    })),
  };
}

describe('trace completion', () => {
  it('answers DeepFlow-shaped requests with the SYS/NET spans and their parents', async () => {
    const store = createMemoryStore();
    await store.write(fullStack().filter((s) => s.source !== 'app'));
    const req = parseDeepflowCompletionRequest(deepflowBody());
    expect(req.appSpans.map((s) => s.observationPoint)).toEqual(['s-app', 'c-app']);
    const cands = await findCompletionCandidates(store, req.appSpans, { maxSpans: 1000, maxPerKey: 32 });
    const res = completeTrace(req.appSpans, cands.spans, req.tolerances);
    const body = toDeepflowCompletionResponse(res) as { OPT_STATUS: string; DATA: { tracing: Array<Record<string, unknown>> } };
    expect(body.OPT_STATUS).toBe('SUCCESS');
    const rows = body.DATA.tracing;
    expect(rows).toHaveLength(14);
    const byId = new Map(rows.map((r) => [r['deepflow_span_id'], r]));
    const parentOf = (name: string): unknown => {
      const row = rows.find((r) => r['name'] === name);
      return byId.get(row?.['deepflow_parent_span_id'])?.['name'] ?? null;
    };
    expect(rows.find((r) => r['span_id'] === 'bbbb000000000001')?.['deepflow_parent_span_id']).toBe('sys0000000000004');
    expect(rows.find((r) => r['name'] === 'frontend c-p')?.['deepflow_parent_span_id']).toBe('bbbb000000000002');
    expect(parentOf('backend s-p')).toBe('h3 eth0');
    expect(parentOf('redis GET')).toBe('backend s-p');
    expect(parentOf('curl c-p')).toBe(null);
    expect(rows.find((r) => r['name'] === 'redis GET')?.['link_reason']).toBe('syscall');
    expect(rows.find((r) => r['name'] === 'redis GET')?.['signal_source']).toBe(3);
    await store.close();
  });

  it('answers the camelCase shape the same way', () => {
    const all = fullStack();
    const app = all.filter((s) => s.source === 'app');
    const req = parseCompletionRequest({
      appSpans: app.map((s) => ({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId, kind: s.kind, startTimeUnixNano: s.startTimeUnixNano.toString(), endTimeUnixNano: s.endTimeUnixNano.toString(), service: s.service })),
    });
    const res = toCompletionResponse(completeTrace(req.appSpans, all.filter((s) => s.source !== 'app'))) as { spans: Array<{ id: string; parentId: string | null; linkReason: string | null }> };
    expect(res.spans).toHaveLength(12);
    expect(res.spans.find((s) => s.id === 'sys0000000000005')).toMatchObject({ parentId: 'bbbb000000000002', linkReason: 'span_id' });
  });

  it.each([
    [null, 'JSON object'],
    [{}, 'app_spans must be a non-empty array'],
    [{ app_spans: [{ trace_id: 'a', span_id: 'b', span_kind: 9, start_time_us: 1, end_time_us: 2 }] }, 'span_kind'],
    [{ app_spans: [{ trace_id: 'a', span_id: 'b', span_kind: 2, start_time_us: -1, end_time_us: 2 }] }, 'start_time_us'],
    [{ app_spans: [{ span_id: 'b', span_kind: 2, start_time_us: 1, end_time_us: 2 }] }, 'trace_id is required'],
  ])('rejects bad DeepFlow bodies with TRC_QUERY_BAD_REQUEST (%#)', (body, msg) => {
    expect(() => parseDeepflowCompletionRequest(body)).toThrow(expect.objectContaining({ code: 'TRC_QUERY_BAD_REQUEST', httpStatus: 400, message: expect.stringContaining(msg) }));
  });
});
