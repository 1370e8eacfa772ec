/**
 * @module The one conformance suite every `Store` implementation passes.
 *
 * `runStoreConformance` declares vitest blocks that check each contract comment of
 * `store.ts` against the fixture spans in `fixtures/spans.json` (APP, SYS and NET spans of
 * several traces, untraced spans joined only by link keys, and hostile strings). A backend
 * that cannot meet a contract lists the test under `skip` with the reason; it never passes
 * silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TracingError } from '../../../model/index.js';
import type { SpanRecord } from '../../../model/index.js';
import type { LinkKey, SpanQuery, Store } from '../store.js';
import { FIXTURE_T0_NANO, NANOS_PER_MS, loadFixtureSpans } from './fixture-spans.js';

export interface StoreConformanceSkip {
  reason: string;
  /** Test titles, exactly as declared below. */
  tests: string[];
}

export interface StoreConformanceOptions {
  name: string;
  /** A new, empty store. Called once per group of tests that need their own store. */
  create: () => Promise<Store>;
  /** Called after each created store is closed (remove files, drop databases). */
  cleanup?: () => Promise<void>;
  skip?: StoreConformanceSkip[];
}

const TA = '0af7651916cd43dd8448eb211c80319c';
const TB = '4bf92f3577b34da6a3ce929d0e0e4736';
const TC = '5b8efff798038103d269b633813fc60c';
const SEG = '6e3c9c62b1a34e2a9f0c1b7a44f0a1b2.1.16000000000001';

const ms = (n: number): bigint => FIXTURE_T0_NANO + BigInt(n) * NANOS_PER_MS;

export function runStoreConformance(opts: StoreConformanceOptions): void {
  const skipped = new Map<string, string>();
  for (const s of opts.skip ?? []) for (const t of s.tests) skipped.set(t, s.reason);
  const test = (title: string, fn: () => Promise<void>): void => {
    const reason = skipped.get(title);
    if (reason !== undefined) it.skip(`${title} (skipped: ${reason})`, fn);
    else it(title, fn);
  };

  const fixtures = loadFixtureSpans();
  /** The fixture `_id` of each stored span, recognised by its unique spanId. */
  const idOfSpanId = new Map<string, string>();
  for (const [id, s] of fixtures) idOfSpanId.set(s.spanId, id);
  const ids = (spans: SpanRecord[]): string[] => spans.map((s) => idOfSpanId.get(s.spanId) ?? `?${s.spanId}`);
  const sortedIds = (spans: SpanRecord[]): string[] => ids(spans).sort();
  const fresh = (): SpanRecord[] => [...loadFixtureSpans().values()];
  const fixture = (id: string): SpanRecord => {
    const s = loadFixtureSpans().get(id);
    if (!s) throw new Error(`no fixture span ${id}`);
    return s;
  };

  async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
    const store = await opts.create();
    try {
      await fn(store);
    } finally {
      await store.close();
      await opts.cleanup?.();
    }
  }

  describe(`Store conformance: ${opts.name}`, () => {
    describe('reads over the fixture set', () => {
      let store: Store;
      beforeAll(async () => {
        store = await opts.create();
        // Two writes, so implementations that buffer per write are exercised across batches.
        const all = fresh();
        const r1 = await store.write(all.slice(0, 6));
        const r2 = await store.write(all.slice(6));
        expect(r1.accepted + r2.accepted).toBe(all.length);
      });
      afterAll(async () => {
        await store.close();
        await opts.cleanup?.();
      });

      test('getTrace returns every span of a trace, each field exactly as written', async () => {
        for (const traceId of [TA, TB, TC]) {
          const got = await store.getTrace(traceId);
          const want = fresh().filter((s) => s.traceId === traceId);
          const bySpan = (a: SpanRecord, b: SpanRecord): number => (a.spanId < b.spanId ? -1 : 1);
          expect(got.sort(bySpan)).toStrictEqual(want.sort(bySpan));
        }
      });

      test('round trip keeps bigint times, nulls, attribute types, events and hostile strings', async () => {
        const [h1] = await store.findByLinkKeys([{ type: 'span', value: 'ffffffffffffffff' }], { limit: 10 });
        expect(h1).toStrictEqual(fixture('h1'));
        expect(typeof h1?.startTimeUnixNano).toBe('bigint');
        expect(h1?.attributes['big']).toBe(9007199254740991);
        expect(h1?.attributes['t']).toBe(true);
        expect(h1?.attributes['float']).toBe(3.25);
        expect(h1?.attributes['int']).toBe(42);
        expect(h1?.name).toContain('\u0000');
        const [s3] = await store.findByLinkKeys([{ type: 'span', value: '2000000000000003' }], { limit: 10 });
        expect(s3?.responseCode).toBeNull();
        expect(s3?.requestId).toBe(0);
        const [a1] = await store.findByLinkKeys([{ type: 'span', value: 'b7ad6b7169203331' }], { limit: 10 });
        expect(a1?.requestId).toBeNull();
        expect(a1?.events[0]?.timeUnixNano).toBe(ms(3) + 7n);
      });

      test('untraced SYS and NET spans round-trip exactly', async () => {
        for (const id of ['n1', 'g1', 's2', 's3']) {
          const want = fixture(id);
          const got = await store.findByLinkKeys([{ type: 'span', value: want.spanId }], { limit: 10 });
          expect(got).toStrictEqual([want]);
        }
      });

      test('getTrace returns a deep copy', async () => {
        const first = await store.getTrace(TA);
        for (const s of first) {
          s.name = 'mutated';
          s.attributes['x'] = 'y';
          s.resource['x'] = 'y';
          s.warnings.push('mutated');
          for (const e of s.events) e.attributes['x'] = 'y';
        }
        const again = await store.getTrace(TA);
        expect(again.every((s) => s.name !== 'mutated' && !('x' in s.attributes) && !('x' in s.resource))).toBe(true);
        expect(again.every((s) => !s.warnings.includes('mutated') && s.events.every((e) => !('x' in e.attributes)))).toBe(true);
      });

      test('getTrace with a limit returns at most that many of the trace, each once', async () => {
        const all = await store.getTrace(TA);
        expect(all.length).toBeGreaterThan(1);
        const ids = new Set(all.map((s) => `${s.spanId}/${s.observationPoint}`));
        for (const limit of [0, 1, all.length - 1, all.length, all.length + 5]) {
          const got = await store.getTrace(TA, { limit });
          expect(got).toHaveLength(Math.min(limit, all.length));
          const keys = got.map((s) => `${s.spanId}/${s.observationPoint}`);
          expect(new Set(keys).size).toBe(keys.length);
          for (const k of keys) expect(ids.has(k)).toBe(true);
        }
      });

      test('getTrace of an unknown or empty id is []', async () => {
        expect(await store.getTrace('ffffffffffffffffffffffffffffffff')).toStrictEqual([]);
        expect(await store.getTrace('')).toStrictEqual([]);
      });

      test('findByLinkKeys finds spans by each key type', async () => {
        const find = async (k: LinkKey): Promise<string[]> => sortedIds(await store.findByLinkKeys([k], { limit: 100 }));
        expect(await find({ type: 'trace', value: TA })).toStrictEqual(['a1', 'a2', 's1']);
        expect(await find({ type: 'span', value: '2000000000000002' })).toStrictEqual(['s2']);
        expect(await find({ type: 'parent', value: 'b7ad6b7169203331' })).toStrictEqual(['a2']);
        expect(await find({ type: 'parent', value: `${SEG}-0` })).toStrictEqual(['b2', 'b3']);
        expect(await find({ type: 'tcp_seq', value: '4294967295' })).toStrictEqual(['n1', 's1', 's2']);
        expect(await find({ type: 'tcp_seq', value: '123456789' })).toStrictEqual(['n1', 's1', 's2']);
        expect(await find({ type: 'tcp_seq', value: '1' })).toStrictEqual(['s3']);
        expect(await find({ type: 'syscall', value: '42' })).toStrictEqual(['s2', 's3']);
        expect(await find({ type: 'syscall', value: '9007199254740991' })).toStrictEqual(['s1']);
        expect(await find({ type: 'syscall', value: '9007199254740990' })).toStrictEqual(['s1']);
        expect(await find({ type: 'x_request_id', value: 'req-abc-123' })).toStrictEqual(['g1', 's1', 's2']);
        expect(await find({ type: 'x_request_id', value: 'x-req "quoted" \\' })).toStrictEqual(['h1']);
      });

      test('findByLinkKeys does not index absent values and keeps key types apart', async () => {
        const find = async (k: LinkKey): Promise<SpanRecord[]> => store.findByLinkKeys([k], { limit: 100 });
        expect(await find({ type: 'tcp_seq', value: '0' })).toStrictEqual([]);
        expect(await find({ type: 'syscall', value: '0' })).toStrictEqual([]);
        expect(await find({ type: 'x_request_id', value: '' })).toStrictEqual([]);
        expect(await find({ type: 'parent', value: '' })).toStrictEqual([]);
        expect(await find({ type: 'span', value: '42' })).toStrictEqual([]);
        expect(await find({ type: 'trace', value: '2000000000000002' })).toStrictEqual([]);
        expect(await find({ type: 'x_request_id', value: 'no-such-id' })).toStrictEqual([]);
        expect(await store.findByLinkKeys([], { limit: 100 })).toStrictEqual([]);
      });

      test('findByLinkKeys returns the union of keys, each span once', async () => {
        const got = await store.findByLinkKeys(
          [
            { type: 'trace', value: TB },
            { type: 'syscall', value: '42' },
            { type: 'tcp_seq', value: '4294967295' },
            { type: 'tcp_seq', value: '123456789' },
            { type: 'span', value: '2000000000000002' },
          ],
          { limit: 100 },
        );
        expect(sortedIds(got)).toStrictEqual(['b1', 'b2', 'b3', 'b4', 'n1', 's1', 's2', 's3']);
      });

      test('findByLinkKeys leaves out the spans of excluded trace ids, and only those', async () => {
        const keys: LinkKey[] = [
          { type: 'trace', value: TB },
          { type: 'syscall', value: '42' },
          { type: 'tcp_seq', value: '4294967295' },
          { type: 'tcp_seq', value: '123456789' },
          { type: 'span', value: '2000000000000002' },
        ];
        const all = await store.findByLinkKeys(keys, { limit: 100 });
        for (const excluded of [[TB], [TA, TB], [TC], ['ffffffffffffffffffffffffffffffff']]) {
          const got = await store.findByLinkKeys(keys, { limit: 100, excludeTraceIds: excluded });
          expect(sortedIds(got), excluded.join()).toStrictEqual(sortedIds(all.filter((s) => !excluded.includes(s.traceId))));
        }
        expect(sortedIds(await store.findByLinkKeys(keys, { limit: 100, excludeTraceIds: [TB] }))).not.toContain('b1');
      });

      test('findByLinkKeys caps the result at limit', async () => {
        const got = await store.findByLinkKeys([{ type: 'tcp_seq', value: '4294967295' }], { limit: 2 });
        expect(got).toHaveLength(2);
        expect(new Set(ids(got)).size).toBe(2);
        for (const id of ids(got)) expect(['n1', 's1', 's2']).toContain(id);
        expect(await store.findByLinkKeys([{ type: 'trace', value: TA }], { limit: 0 })).toStrictEqual([]);
      });

      test('findByLinkKeys with a time range keeps only overlapping spans', async () => {
        const k: LinkKey[] = [{ type: 'x_request_id', value: 'req-abc-123' }];
        const late = await store.findByLinkKeys(k, { limit: 100, timeRange: { startUnixNano: ms(45), endUnixNano: ms(100) } });
        expect(sortedIds(late)).toStrictEqual(['g1']);
        const edge = await store.findByLinkKeys(k, { limit: 100, timeRange: { startUnixNano: ms(44), endUnixNano: ms(44) } });
        expect(sortedIds(edge)).toStrictEqual(['g1', 's1']);
        const before = await store.findByLinkKeys(k, { limit: 100, timeRange: { startUnixNano: 0n, endUnixNano: ms(1) } });
        expect(before).toStrictEqual([]);
      });

      test('findInTimeRange returns every overlapping span, or null past its limit', async () => {
        const expected = (lo: bigint, hi: bigint): string[] =>
          [...fixtures.entries()].filter(([, s]) => s.startTimeUnixNano <= hi && s.endTimeUnixNano >= lo).map(([id]) => id).sort();
        for (const [lo, hi] of [[ms(0), ms(1)], [ms(44), ms(44)], [ms(45), ms(100)], [0n, ms(1_000_000)]] as const) {
          const want = expected(lo, hi);
          const got = await store.findInTimeRange({ startUnixNano: lo, endUnixNano: hi }, { limit: 1000 });
          expect(got === null ? null : sortedIds(got)).toStrictEqual(want);
          if (want.length > 0) {
            expect(await store.findInTimeRange({ startUnixNano: lo, endUnixNano: hi }, { limit: want.length - 1 })).toBeNull();
          }
        }
        expect(await store.findInTimeRange({ startUnixNano: 0n, endUnixNano: 1n }, { limit: 10 })).toStrictEqual([]);
      });

      const q = (rest: Omit<SpanQuery, 'limit'> & { limit?: number }): SpanQuery => ({ limit: 100, ...rest });
      const findIds = async (query: SpanQuery): Promise<string[]> => ids(await store.findSpans(query));

      test('findSpans returns everything newest first', async () => {
        expect(await findIds(q({}))).toStrictEqual(['h1', 'c1', 'b4', 'b3', 'b2', 'b1', 's3', 's2', 'n1', 's1', 'a2', 'g1', 'a1']);
      });

      test('findSpans filters by service, operation, protocol, source, observation point and kind', async () => {
        expect(await findIds(q({ service: 'frontend' }))).toStrictEqual(['a2', 'a1']);
        expect(await findIds(q({ service: 'svc "quoted" \\ back' }))).toStrictEqual(['h1']);
        expect(await findIds(q({ service: 'nope' }))).toStrictEqual([]);
        expect(await findIds(q({ operation: 'GET /api/cart' }))).toStrictEqual(['s2', 'n1', 's1', 'g1']);
        expect(await findIds(q({ operation: '/checkout' }))).toStrictEqual(['a1']);
        expect(await findIds(q({ operation: 'orders send' }))).toStrictEqual(['b3']);
        expect(await findIds(q({ protocol: 'mysql' }))).toStrictEqual(['b2', 's3']);
        expect(await findIds(q({ source: 'net' }))).toStrictEqual(['n1']);
        expect(await findIds(q({ source: 'sys' }))).toStrictEqual(['s3', 's2', 's1', 'g1']);
        expect(await findIds(q({ observationPoint: 'c-p' }))).toStrictEqual(['s3', 's1']);
        expect(await findIds(q({ observationPoint: 's-p' }))).toStrictEqual(['s2', 'g1']);
        expect(await findIds(q({ kind: 'producer' }))).toStrictEqual(['b3']);
        expect(await findIds(q({ kind: 'consumer' }))).toStrictEqual(['b4']);
        expect(await findIds(q({ kind: 'server' }))).toStrictEqual(['b1', 's2', 'g1', 'a1']);
        expect(await findIds(q({ service: 'orders', kind: 'client' }))).toStrictEqual(['b2']);
      });

      test('findSpans filters by start time (inclusive) and duration (inclusive)', async () => {
        expect(await findIds(q({ timeRange: { startUnixNano: ms(5), endUnixNano: ms(15) } }))).toStrictEqual([
          's3',
          's2',
          'n1',
          's1',
          'a2',
        ]);
        expect(await findIds(q({ minDurationNano: 40n * NANOS_PER_MS }))).toStrictEqual(['b1', 'a2', 'g1', 'a1']);
        expect(await findIds(q({ maxDurationNano: 1n * NANOS_PER_MS }))).toStrictEqual(['h1', 'c1', 'b3']);
        expect(
          await findIds(q({ minDurationNano: 10n * NANOS_PER_MS, maxDurationNano: 10n * NANOS_PER_MS })),
        ).toStrictEqual(['b4', 'b2']);
      });

      test('findSpans matches tags on fields and on span and resource attributes', async () => {
        expect(await findIds(q({ tags: { responseCode: '500' } }))).toStrictEqual(['b1']);
        expect(await findIds(q({ tags: { requestType: 'SELECT' } }))).toStrictEqual(['b2', 's3']);
        expect(await findIds(q({ tags: { reqTcpSeq: '4294967295' } }))).toStrictEqual(['s2', 'n1', 's1']);
        expect(await findIds(q({ tags: { 'http.route': '/checkout' } }))).toStrictEqual(['a1']);
        expect(await findIds(q({ tags: { 'host.name': 'web-1' } }))).toStrictEqual(['a2', 'a1']);
        expect(await findIds(q({ tags: { int: '42' } }))).toStrictEqual(['h1']);
        expect(await findIds(q({ tags: { t: 'true' } }))).toStrictEqual(['h1']);
        expect(await findIds(q({ tags: { f: 'false' } }))).toStrictEqual(['h1']);
        expect(await findIds(q({ tags: { float: '3.25' } }))).toStrictEqual(['h1']);
        expect(await findIds(q({ tags: { 'db.rows': '1.5' } }))).toStrictEqual(['b2']);
        expect(await findIds(q({ tags: { componentId: '49' } }))).toStrictEqual(['b1']);
        expect(await findIds(q({ tags: { sql: "'; DROP TABLE spans; --" } }))).toStrictEqual(['h1']);
        expect(await findIds(q({ tags: { 'key "with" quotes': 'value with \' and " and \\ and \u0000 NUL' } }))).toStrictEqual(['h1']);
        expect(await findIds(q({ tags: { 'unicode.\u{1F511}': '\u00fc \u00f1 \u4e2d e\u0301' } }))).toStrictEqual(['h1']);
        expect(await findIds(q({ tags: { 'http.request.method': 'GET', 'server.port': '8080' } }))).toStrictEqual(['a2']);
        expect(await findIds(q({ tags: { 'http.request.method': 'GET', 'server.port': '9999' } }))).toStrictEqual([]);
        expect(await findIds(q({ tags: { 'no.such.key': 'x' } }))).toStrictEqual([]);
        expect(await findIds(q({ tags: { 'cache.key': 'cart:1' } }))).toStrictEqual([]);
      });

      test('findSpans errorsOnly keeps error statuses and error response statuses', async () => {
        expect(await findIds(q({ errorsOnly: true }))).toStrictEqual(['h1', 'b4', 'b1', 's3']);
        expect(await findIds(q({ errorsOnly: true, source: 'app', service: 'orders' }))).toStrictEqual(['b1']);
      });

      test('findSpans caps the result at limit, newest first', async () => {
        expect(await findIds(q({ limit: 3 }))).toStrictEqual(['h1', 'c1', 'b4']);
        expect(await findIds(q({ limit: 1, source: 'sys' }))).toStrictEqual(['s3']);
        expect(await findIds(q({ limit: 0 }))).toStrictEqual([]);
      });

      test('findTraceIds returns trace ids newest first, skipping untraced spans', async () => {
        expect(await store.findTraceIds(q({}))).toStrictEqual([TC, TB, TA]);
        expect(await store.findTraceIds(q({ limit: 2 }))).toStrictEqual([TC, TB]);
        expect(await store.findTraceIds(q({ source: 'sys' }))).toStrictEqual([TA]);
        expect(await store.findTraceIds(q({ errorsOnly: true }))).toStrictEqual([TC, TB]);
        expect(await store.findTraceIds(q({ observationPoint: 's-p' }))).toStrictEqual([]);
        expect(await store.findTraceIds(q({ service: 'nope' }))).toStrictEqual([]);
        expect(await store.findTraceIds(q({ tags: { 'http.route': '/checkout' } }))).toStrictEqual([TA]);
      });

      test('services lists distinct non-empty services, sorted', async () => {
        expect(await store.services()).toStrictEqual([
          'backend-svc',
          'cart-cache',
          'frontend',
          'nginx',
          'node',
          'orders',
          'orders-worker',
          'svc "quoted" \\ back',
        ]);
      });

      test('operations lists distinct (name, kind) pairs sorted by name', async () => {
        expect(await store.operations('orders')).toStrictEqual([
          { name: '/orders/{id}', kind: 'server' },
          { name: 'Mysql/JDBC/PreparedStatement/execute', kind: 'client' },
          { name: 'orders send', kind: 'producer' },
        ]);
        expect(await store.operations('backend-svc')).toStrictEqual([
          { name: 'GET /api/cart', kind: 'server' },
          { name: 'SELECT', kind: 'client' },
        ]);
        expect(await store.operations('nope')).toStrictEqual([]);
        const all = await store.operations();
        expect(all).toHaveLength(11);
        const names = all.map((o) => o.name);
        expect(names).toStrictEqual([...names].sort());
        const cart = all.filter((o) => o.name === 'GET /api/cart').map((o) => o.kind).sort();
        expect(cart).toStrictEqual(['client', 'server']);
      });

      test('attributeKeys lists distinct span and resource attribute keys, sorted, capped', async () => {
        const keys = await store.attributeKeys(1000);
        expect(keys).toStrictEqual([...new Set(keys)].sort());
        for (const k of ['http.route', 'host.name', 'service.version', 'key "with" quotes', 'unicode.\u{1F511}', 'a\\b', 'componentId']) {
          expect(keys).toContain(k);
        }
        expect(keys).not.toContain('cache.key');
        expect(keys).toHaveLength(33);
        expect(await store.attributeKeys(3)).toStrictEqual(keys.slice(0, 3));
      });

      test('countSpans counts stored spans', async () => {
        expect(await store.countSpans()).toBe(fixtures.size);
      });
    });

    describe('writes', () => {
      test('write of no spans resolves with accepted 0', async () => {
        await withStore(async (store) => {
          expect(await store.write([])).toStrictEqual({ accepted: 0 });
          expect(await store.countSpans()).toBe(0);
        });
      });

      test('writing the same spans twice makes each appear once in every read', async () => {
        await withStore(async (store) => {
          await store.write(fresh());
          await store.write(fresh());
          await store.write([fixture('s1'), fixture('s1')]);
          expect(await store.countSpans()).toBe(fixtures.size);
          expect(sortedIds(await store.getTrace(TA))).toStrictEqual(['a1', 'a2', 's1']);
          expect(sortedIds(await store.findByLinkKeys([{ type: 'tcp_seq', value: '4294967295' }], { limit: 100 }))).toStrictEqual([
            'n1',
            's1',
            's2',
          ]);
          expect(ids(await store.findSpans({ limit: 100, source: 'sys' }))).toStrictEqual(['s3', 's2', 's1', 'g1']);
          expect(await store.findTraceIds({ limit: 100 })).toStrictEqual([TC, TB, TA]);
          expect(await store.services()).toHaveLength(8);
          expect(await store.operations('orders')).toHaveLength(3);
        });
      });

      test('the same spanId at another observation point is a different span', async () => {
        await withStore(async (store) => {
          const app = fixture('a2');
          const sys = { ...fixture('a2'), source: 'sys' as const, origin: 'ebpf' as const, observationPoint: 'c-p' as const };
          await store.write([app, sys]);
          expect(await store.getTrace(TA)).toHaveLength(2);
          expect(await store.countSpans()).toBe(2);
        });
      });

      test('a write is readable as soon as it resolves', async () => {
        await withStore(async (store) => {
          for (const s of fresh()) {
            await store.write([s]);
            const got = await store.findByLinkKeys([{ type: 'span', value: s.spanId }], { limit: 10 });
            expect(got).toHaveLength(1);
          }
          expect(await store.countSpans()).toBe(fixtures.size);
        });
      });

      test('a large batch round-trips', async () => {
        await withStore(async (store) => {
          const base = fixture('s2');
          const many: SpanRecord[] = [];
          for (let i = 0; i < 5000; i++) {
            many.push({
              ...base,
              spanId: (0x4000000000000000n + BigInt(i)).toString(16),
              reqTcpSeq: 1000 + i,
              respTcpSeq: 0,
              syscallTraceIdReq: 7_000_000 + (i % 50),
              syscallTraceIdResp: 0,
              xRequestIdReq: `rid-${i}`,
              startTimeUnixNano: ms(1000) + BigInt(i),
              endTimeUnixNano: ms(1001) + BigInt(i),
            });
          }
          const expected = many[4321];
          await store.write(many);
          expect(await store.countSpans()).toBe(5000);
          expect(await store.findByLinkKeys([{ type: 'tcp_seq', value: '5321' }], { limit: 10 })).toStrictEqual([expected]);
          expect(await store.findByLinkKeys([{ type: 'x_request_id', value: 'rid-4321' }], { limit: 10 })).toStrictEqual([expected]);
          expect(await store.findByLinkKeys([{ type: 'syscall', value: '7000007' }], { limit: 1000 })).toHaveLength(100);
          expect(ids(await store.findSpans({ limit: 1 }))).toStrictEqual([`?${(0x4000000000000000n + 4999n).toString(16)}`]);
        });
      });
    });

    describe('kind and close', () => {
      test('kind names the backend', async () => {
        await withStore(async (store) => {
          expect(typeof store.kind).toBe('string');
        });
      });

      test('close is idempotent and later calls reject with a TracingError', async () => {
        const store = await opts.create();
        await store.write([fixture('a1')]);
        await store.close();
        await store.close();
        await expect(store.getTrace(TA)).rejects.toBeInstanceOf(TracingError);
        await expect(store.write([fixture('a2')])).rejects.toBeInstanceOf(TracingError);
        await expect(store.findSpans({ limit: 1 })).rejects.toBeInstanceOf(TracingError);
        await opts.cleanup?.();
      });
    });
  });
}
