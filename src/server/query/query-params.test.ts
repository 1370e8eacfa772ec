/**
 * @module Parameter parsing and the TraceQL subset: units, edge values and the errors' wording.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SpanQuery } from '../store/index.js';
import { addTagFilter, parseDuration, parseTime, rfc3339ToUnixNano } from './query-params.js';
import { applyLogfmtTags, applyTraceQl } from './traceql.js';
import { toWireSpans } from './wire-trace.js';
import { fakeAssemble, fixtureSpans } from './testing/query-fixture.js';

describe('durations', () => {
  it.each([
    ['1.5s', 1_500_000_000n],
    ['100ms', 100_000_000n],
    ['1h30m', 5_400_000_000_000n],
    ['250us', 250_000n],
    ['250µs', 250_000n],
    ['.5ms', 500_000n],
    ['7ns', 7n],
  ])('%s → %s ns', (text, ns) => expect(parseDuration('d', text)).toBe(ns));

  it('bare digits are nanoseconds only where allowed', () => {
    expect(parseDuration('minDuration', '1500', { bareNanos: true })).toBe(1500n);
    expect(() => parseDuration('minDuration', '1500')).toThrow(/parameter 'minDuration'.*"1500"/);
  });

  it('rejects junk and absurd sizes with a 400', () => {
    for (const bad of ['', 'fast', '1', '1d', '-1s', '1e3ms', '99999999h']) {
      expect(() => parseDuration('d', bad)).toThrow(expect.objectContaining({ code: 'TRC_QUERY_BAD_PARAM', httpStatus: 400 }));
    }
  });

  it('a printed Go duration parses back to the same nanoseconds', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), (ns) => {
        expect(parseDuration('d', `${ns}ns`)).toBe(ns);
        expect(parseDuration('d', `${ns / 1_000_000n}ms`)).toBe((ns / 1_000_000n) * 1_000_000n);
      }),
    );
  });
});

describe('times', () => {
  it('RFC 3339 with nanoseconds and offsets', () => {
    expect(rfc3339ToUnixNano('2026-11-24T10:00:00Z')).toBe(1_795_514_400_000_000_000n);
    expect(rfc3339ToUnixNano('2026-11-24T10:00:00.123456789Z')).toBe(1_795_514_400_123_456_789n);
    expect(rfc3339ToUnixNano('2026-11-24T12:00:00.5+02:00')).toBe(1_795_514_400_500_000_000n);
    expect(rfc3339ToUnixNano('2026-13-01T00:00:00Z')).toBeNull();
    expect(rfc3339ToUnixNano('yesterday')).toBeNull();
  });

  it('digits in each API unit', () => {
    expect(parseTime('start', '1795514400000000', 'us')).toBe(1_795_514_400_000_000_000n);
    expect(parseTime('start', '1795514400', 's')).toBe(1_795_514_400_000_000_000n);
    expect(parseTime('start', '2026-11-24T10:00:00Z', 'ns', { rfc3339: true })).toBe(1_795_514_400_000_000_000n);
    expect(() => parseTime('start', '2026-11-24T10:00:00Z', 'us')).toThrow(/microseconds/);
    expect(() => parseTime('end', '9999999999999999999', 's')).toThrow(/out of range/);
  });
});

describe('tag filters', () => {
  it('semantic-convention keys filter the field the receivers moved them into', () => {
    const q: SpanQuery = { limit: 1 };
    addTagFilter(q, 'http.status_code', '500');
    addTagFilter(q, 'weft.observation_point', 'c-p');
    addTagFilter(q, 'http.route', '/x');
    addTagFilter(q, 'error', 'true');
    expect(q).toEqual({ limit: 1, errorsOnly: true, tags: { responseCode: '500', observationPoint: 'c-p', 'http.route': '/x' } });
  });
});

describe('TraceQL subset', () => {
  const parse = (src: string): SpanQuery => {
    const q: SpanQuery = { limit: 20 };
    applyTraceQl(q, src);
    return q;
  };

  it('translates the supported conditions', () => {
    expect(parse('{}')).toEqual({ limit: 20 });
    expect(parse('{ resource.service.name = "cart" && span.http.status_code = 500 && name = "GET /" && status = error && kind = server && duration >= 10ms && duration < 1s }')).toEqual({
      limit: 20,
      service: 'cart',
      tags: { responseCode: '500' },
      operation: 'GET /',
      errorsOnly: true,
      kind: 'server',
      minDurationNano: 10_000_000n,
      maxDurationNano: 999_999_999n,
    });
    expect(parse('{ .db.system = "redis" && span:duration > 1ms }')).toEqual({ limit: 20, tags: { protocol: 'redis' }, minDurationNano: 1_000_001n });
  });

  it.each([
    ['{ .a = 1 || .b = 2 }', /'\|\|' is not supported/],
    ['{ .a != "x" }', /operator '!=' is not supported/],
    ['{ .a =~ "x.*" }', /operator '=~'/],
    ['{ .a = "x" } | count() > 2', /only one spanset/],
    ['{ .a = "x" } && { .b = "y" }', /only one spanset/],
    ['.a = "x"', /expected '\{'/],
    ['{ .a = "x }', /unterminated string/],
    ['{ status = maybe }', /status must be error, ok or unset/],
    ['{ foo = "x" }', /unknown attribute or intrinsic "foo"/],
    ['{ .a > "x" }', /only supported on duration/],
  ])('%s → 400 saying why', (src, why) => {
    expect(() => parse(src)).toThrow(why);
    try {
      parse(src);
    } catch (err) {
      expect(err).toMatchObject({ httpStatus: 400 });
    }
  });

  it('logfmt tags', () => {
    const q: SpanQuery = { limit: 20 };
    applyLogfmtTags(q, 'service.name=api name="GET /x" http.status_code=500 status=error');
    expect(q).toEqual({ limit: 20, service: 'api', operation: 'GET /x', tags: { responseCode: '500' }, errorsOnly: true });
    expect(() => applyLogfmtTags({ limit: 1 }, 'novalue')).toThrow(/parameter 'tags'/);
  });
});

describe('wire ids', () => {
  it('every node gets a distinct 16-hex id and its assembled parent, even when span ids collide', () => {
    const spans = fixtureSpans().filter((s) => s.traceId !== '');
    // A SYS span carrying the span id of the APP span it observed (taken from a header).
    const dup = { ...spans[2]!, spanId: spans[1]!.spanId, source: 'sys' as const, observationPoint: 'c-p' as const, parentSpanId: '' };
    const trace = fakeAssemble([...spans, dup], spans[0]!.traceId);
    const wire = toWireSpans(trace);
    const ids = wire.map((w) => w.span.spanId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    const byNode = new Map(wire.map((w) => [w.node.id, w.span.spanId]));
    for (const w of wire) if (w.node.parentId !== null) expect(w.span.parentSpanId).toBe(byNode.get(w.node.parentId));
  });
});
