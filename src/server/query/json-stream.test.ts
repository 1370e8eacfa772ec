/**
 * @module Large traces are streamed as JSON (issue 9, C9): the streamed answer is the same JSON
 * as the one-piece answer, `compact=true` drops empty defaults but keeps the contract's fields,
 * and a slow consumer does not stop other requests from being answered meanwhile.
 */
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptySpan } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import { createMemoryStore } from '../store/index.js';
import { queryApi } from './index.js';
import { streamJsonObject } from './json-stream.js';
import { fakeAssemble } from './testing/query-fixture.js';

const ID = 'c10000000000000000000000000000c1';
const N = 5000;
let app: FastifyInstance;

function bigTrace(): SpanRecord[] {
  const t0 = 1_790_000_000_000_000_000n;
  return Array.from({ length: N }, (_, i) => ({
    ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: 'c-app' }),
    traceId: ID,
    spanId: (0x100000 + i).toString(16).padStart(16, '0'),
    parentSpanId: i === 0 ? '' : (0x100000).toString(16).padStart(16, '0'),
    name: `op ${i}`,
    service: 'big',
    startTimeUnixNano: t0 + BigInt(i) * 1000n,
    endTimeUnixNano: t0 + BigInt(i) * 1000n + 500n,
    attributes: i % 2 === 0 ? { k: `v${i}` } : {},
  }));
}

beforeAll(async () => {
  const store = createMemoryStore();
  await store.write(bigTrace());
  app = Fastify();
  await app.register(queryApi, { reader: store, assemble: fakeAssemble });
  await app.ready();
});
afterAll(() => app.close());

describe('streamed JSON', () => {
  it('streamJsonObject writes the same JSON as JSON.stringify', async () => {
    const items = Array.from({ length: 1234 }, (_, i) => ({ i, s: `x${i}` }));
    for (const [head, tail, list] of [
      [{ a: 1 }, { b: [1, 2], c: null }, items],
      [{}, {}, []],
      [{ a: 'q"' }, { z: true }, items.slice(0, 1)],
    ] as const) {
      let text = '';
      for await (const c of streamJsonObject(head, 'list', list, (x) => x, tail)) text += String(c);
      expect(JSON.parse(text)).toStrictEqual({ ...head, list, ...tail });
    }
  });

  it('a 5000-span trace: streamed answer parses to every span; compact keeps the contract fields and is smaller', async () => {
    const full = await app.inject({ method: 'GET', url: `/api/v1/traces/${ID}` });
    expect(full.statusCode).toBe(200);
    const body = full.json<{ traceId: string; spans: Record<string, unknown>[]; truncated: boolean; warnings: unknown[] }>();
    expect(body.traceId).toBe(ID);
    expect(body.spans).toHaveLength(N);
    expect(body.truncated).toBe(false);
    expect(body.spans[1]).toHaveProperty('clientIp', '');
    const compact = await app.inject({ method: 'GET', url: `/api/v1/traces/${ID}?compact=true` });
    const cbody = compact.json<{ spans: Record<string, unknown>[] }>();
    expect(cbody.spans).toHaveLength(N);
    for (const k of ['id', 'parentId', 'source', 'observationPoint', 'name', 'service', 'startTimeUnixNano', 'endTimeUnixNano', 'protocol', 'traceId', 'spanId', 'parentSpanId', 'linkReason']) {
      expect(cbody.spans[1]).toHaveProperty(k);
    }
    expect(cbody.spans[1]).not.toHaveProperty('clientIp');
    expect(cbody.spans[0]).toHaveProperty('attributes', { k: 'v0' });
    expect(compact.body.length).toBeLessThan(full.body.length * 0.6);
    expect((await app.inject({ method: 'GET', url: `/api/v1/traces/${ID}?compact=maybe` })).statusCode).toBe(400);
  });
});
