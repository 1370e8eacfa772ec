/** @module Trace-context extraction: every header format, SQL comments, and what is rejected. */
import { describe, expect, it } from 'vitest';
import { emptyTraceHeaders, extractTraceContext, parseB3, parseSw8, parseTraceparent, parseUberTraceId, traceContextFromSql } from './trace-context.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('trace context', () => {
  it('reads traceparent: trace id, and the caller span as parentSpanId', () => {
    expect(parseTraceparent(`00-${TRACE}-00f067aa0ba902b7-01`)).toEqual({ traceId: TRACE, parentSpanId: '00f067aa0ba902b7' });
    expect(parseTraceparent(` 00-${TRACE.toUpperCase()}-00F067AA0BA902B7-01 `)).toEqual({ traceId: TRACE, parentSpanId: '00f067aa0ba902b7' });
  });

  it('rejects malformed or all-zero traceparents and version ff', () => {
    expect(parseTraceparent(`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`)).toBeNull();
    expect(parseTraceparent(`00-${TRACE}-${'0'.repeat(16)}-01`)).toBeNull();
    expect(parseTraceparent(`ff-${TRACE}-00f067aa0ba902b7-01`)).toBeNull();
    expect(parseTraceparent(`00-${TRACE}-00f067aa0ba902b7`)).toBeNull();
    expect(parseTraceparent(`00-${TRACE.slice(1)}x-00f067aa0ba902b7-01`)).toBeNull();
  });

  it('reads sw8 (base64 trace and segment ids; caller = segment-spanId)', () => {
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    const v = ['1', b64('a1b2c3.trace'), b64('seg-9'), '3', b64('svc'), b64('inst'), b64('/ep'), b64('host:80')].join('-');
    expect(parseSw8(v)).toEqual({ traceId: 'a1b2c3.trace', parentSpanId: 'seg-9-3' });
    expect(parseSw8('1-x')).toBeNull();
  });

  it('reads uber-trace-id and pads 64-bit trace ids', () => {
    expect(parseUberTraceId('5b8efff798038103:eee19b7ec3c1b174:0:1')).toEqual({ traceId: '00000000000000005b8efff798038103', parentSpanId: 'eee19b7ec3c1b174' });
    expect(parseUberTraceId('5b8efff798038103%3Aeee19b7ec3c1b174%3A0%3A1')?.parentSpanId).toBe('eee19b7ec3c1b174');
    expect(parseUberTraceId('nothex:1:0:1')).toBeNull();
  });

  it('reads b3 single and multi headers, in the documented order of precedence', () => {
    expect(parseB3(`${TRACE}-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90`)).toEqual({ traceId: TRACE, parentSpanId: 'e457b5a2e4d86bd1' });
    const h = emptyTraceHeaders();
    h.xB3TraceId = TRACE;
    h.xB3SpanId = 'e457b5a2e4d86bd1';
    expect(extractTraceContext(h)).toEqual({ traceId: TRACE, parentSpanId: 'e457b5a2e4d86bd1' });
    h.traceparent = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
    expect(extractTraceContext(h)?.traceId).toBe('1'.repeat(32));
    h.traceparent = 'garbage';
    expect(extractTraceContext(h)?.traceId).toBe(TRACE); // falls through to the next format
    expect(extractTraceContext(emptyTraceHeaders())).toBeNull();
  });

  it('reads a traceparent only from leading SQL comments', () => {
    expect(traceContextFromSql(`/* traceparent: 00-${TRACE}-00f067aa0ba902b7-01 */ SELECT 1`)?.traceId).toBe(TRACE);
    expect(traceContextFromSql(`  /*traceparent='00-${TRACE}-00f067aa0ba902b7-01'*/ SELECT 1`)?.parentSpanId).toBe('00f067aa0ba902b7');
    expect(traceContextFromSql(`-- traceparent=00-${TRACE}-00f067aa0ba902b7-01\nSELECT 1`)?.traceId).toBe(TRACE);
    expect(traceContextFromSql(`SELECT '00-${TRACE}-00f067aa0ba902b7-01' /* traceparent: 00-${TRACE}-00f067aa0ba902b7-01 */`)).toBeNull();
  });
});
