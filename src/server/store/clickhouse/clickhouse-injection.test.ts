/**
 * @module Injection attempts against a real ClickHouse: every literal `sqlLiteral` builds reads
 * back as exactly the value it was given, and hostile service names, SQL text and tags sent
 * through the query APIs (native, Jaeger, Tempo search) find only what they name and leave the
 * tables as they were.
 */
import fc from 'fast-check';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptySpan } from '../../../model/index.js';
import type { SpanRecord } from '../../../model/index.js';
import { queryApi } from '../../query/index.js';
import { fakeAssemble } from '../../query/testing/query-fixture.js';
import { openClickHouseStore } from './clickhouse-store.js';
import type { ClickHouseStore } from './clickhouse-store.js';
import { sqlIdentifier, sqlLiteral } from './sql-literal.js';
import { startClickHouse } from './testing/clickhouse-process.js';
import type { ClickHouseProcess } from './testing/clickhouse-process.js';

/** Fragments an attacker would try: quote breaks, escapes, comments, statement ends, NUL, \x. */
const HOSTILE_FRAGMENTS = [
  "'", "''", '\\', "\\'", "\\\\'", '"', '`', '\u0000', '\\0', '\\x27', '\\x00', '\\u0027', '\\N', '--', '/*', '*/', '#', ';',
  ' OR 1=1', "') OR ('1'='1", "'; DROP TABLE weft.spans; --", '\n', '\r\n', '\t', '\u001b[31m', '\u007f', '\u2028', '\u00e9', 'e\u0301',
  '\u4e2d\u6587', '\u{1F511}', '\ufeff', '\u0085', '%27', '{shard}', "' FORMAT TabSeparated --", 'FROM system.tables',
];

const hostileString = fc
  .array(fc.oneof({ arbitrary: fc.constantFrom(...HOSTILE_FRAGMENTS), weight: 3 }, { arbitrary: fc.string({ unit: 'binary', maxLength: 12 }), weight: 2 }), {
    maxLength: 8,
  })
  .map((parts) => parts.join(''));

/** What a JS string becomes after a UTF-8 round trip (lone surrogates turn into U+FFFD). */
const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

const T0 = 1_795_514_400_000_000_000n;
const NOW_MS = Number(T0 / 1_000_000n) + 60_000;

function hostileSpan(i: number, service: string, sql: string, tag: string): SpanRecord {
  return {
    ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: 's-app' }),
    traceId: (0xabc000n + BigInt(i)).toString(16).padStart(32, '0'),
    spanId: (0xdef000n + BigInt(i)).toString(16).padStart(16, '0'),
    name: 'query',
    kind: 'server',
    service,
    startTimeUnixNano: T0 + BigInt(i) * 1_000_000n,
    endTimeUnixNano: T0 + BigInt(i) * 1_000_000n + 500_000n,
    protocol: 'mysql',
    requestResource: sql,
    attributes: { 'db.statement': sql, 'hostile.tag': tag },
  };
}

let ch: ClickHouseProcess;
let store: ClickHouseStore;
let app: FastifyInstance;

beforeAll(async () => {
  ch = await startClickHouse();
  store = await openClickHouseStore({ url: `${ch.url}/injection` });
  app = Fastify();
  await app.register(queryApi, { reader: store, assemble: fakeAssemble, nowMs: () => NOW_MS });
  await app.ready();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await store?.close();
  await ch?.destroy();
});

describe('sqlLiteral', () => {
  it('every hostile string reads back unchanged from a real server', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostileString, { minLength: 1, maxLength: 20 }), async (values) => {
        // All values in one array literal: a literal that ended early would shift or break every
        // element after it, so one equality covers quoting, escaping and comment injection.
        const rows = await (store as unknown as { select(sql: string): Promise<unknown[][]> }).select(
          `SELECT ${sqlLiteral(values)} AS v, ${sqlLiteral(values.length)} AS n`,
        );
        expect(rows).toStrictEqual([[values.map(utf8), values.length]]);
      }),
      { numRuns: 60 },
    );
  });

  it('never leaves a raw control character, and quotes only at the ends', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const lit = sqlLiteral(s);
        expect(lit.startsWith("'") && lit.endsWith("'")).toBe(true);
        const body = lit.slice(1, -1);
        expect(/[\u0000-\u001f\u007f]/.test(body)).toBe(false);
        // Every quote inside is escaped: removing escape pairs leaves no quote behind.
        expect(body.replace(/\\./g, '')).not.toContain("'");
      }),
      { numRuns: 2000 },
    );
  });

  it('numbers, bigints, booleans, null and nested arrays', () => {
    expect(sqlLiteral(18446744073709551615n)).toBe('18446744073709551615');
    expect(sqlLiteral(-0)).toBe('0');
    expect(sqlLiteral([1, 'a', null, true, [2n]])).toBe("[1, 'a', NULL, 1, [2]]");
    expect(() => sqlLiteral(Number.NaN)).toThrow(RangeError);
    expect(() => sqlLiteral(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => sqlIdentifier('weft; DROP')).toThrow(RangeError);
    expect(sqlIdentifier('weft_2')).toBe('weft_2');
  });
});

describe('hostile values through the query APIs', () => {
  it('hostile service names, SQL text and tags find exactly their own span, and nothing else', async () => {
    const stored = fc.sample(fc.tuple(hostileString, hostileString, hostileString), { numRuns: 40, seed: 13 });
    const spans = stored
      .map(([svc, sql, tag], i) => hostileSpan(i, `svc-${i}-${utf8(svc)}`, utf8(sql), utf8(tag)));
    await store.write(spans);
    const before = await store.countSpans();
    expect(before).toBe(spans.length);

    for (const [i, s] of spans.entries()) {
      const native = await app.inject({ url: `/api/v1/spans?service=${encodeURIComponent(s.service)}&limit=100` });
      expect(native.statusCode, native.body).toBe(200);
      expect((native.json() as { spans: { spanId: string }[] }).spans.map((x) => x.spanId)).toStrictEqual([s.spanId]);

      const jaeger = await app.inject({ url: `/api/traces?service=${encodeURIComponent(s.service)}&lookback=1h&limit=20` });
      expect(jaeger.statusCode, jaeger.body).toBe(200);
      expect((jaeger.json() as { data: { traceID: string }[] }).data.map((t) => t.traceID)).toStrictEqual([s.traceId]);

      const tags = JSON.stringify({ 'db.statement': s.requestResource, 'hostile.tag': s.attributes['hostile.tag'] });
      const byTags = await app.inject({ url: `/api/traces?service=${encodeURIComponent(s.service)}&tags=${encodeURIComponent(tags)}&lookback=1h` });
      expect(byTags.statusCode, byTags.body).toBe(200);
      expect((byTags.json() as { data: unknown[] }).data).toHaveLength(1);

      const logfmt = `service.name="${s.service.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
      const tempo = await app.inject({
        url: `/tempo/api/search?tags=${encodeURIComponent(logfmt)}&start=${Math.floor(NOW_MS / 1000) - 3600}&end=${Math.floor(NOW_MS / 1000)}`,
      });
      expect(tempo.statusCode, tempo.body).toBe(200);
      const hits = (tempo.json() as { traces: { traceID: string }[] }).traces.map((t) => t.traceID.replace(/^0+/, ''));
      expect(hits, `service #${i}`).toStrictEqual([s.traceId.replace(/^0+/, '')]);
    }

    // Names nobody stored, built from the same fragments, find nothing and break nothing.
    await fc.assert(
      fc.asyncProperty(hostileString, async (name) => {
        const probe = `absent-${utf8(name)}`;
        const a = await app.inject({ url: `/api/v1/spans?service=${encodeURIComponent(probe)}` });
        expect(a.statusCode).toBe(200);
        expect((a.json() as { spans: unknown[] }).spans).toStrictEqual([]);
        const b = await app.inject({ url: `/api/traces?service=${encodeURIComponent(probe)}&tags=${encodeURIComponent(JSON.stringify({ [probe]: probe }))}&lookback=1h` });
        expect(b.statusCode).toBe(200);
        expect((b.json() as { data: unknown[] }).data).toStrictEqual([]);
      }),
      { numRuns: 60 },
    );
    expect(await store.countSpans()).toBe(before);
    expect((await store.services()).length).toBe(spans.length);
  }, 120_000);
});
