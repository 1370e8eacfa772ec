/**
 * @module Query limits say what they mean (issue 9, C8 and C10): a far-future RFC 3339 time is a
 * 400 naming the parameter (it overflows int64 nanoseconds), an out-of-range limit is a 400 as
 * docs/api.md says (not silently clamped), and framework refusals (414 for a too long path
 * parameter, 400 for a bad URL) come in the API's own error shape.
 */
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../store/index.js';
import { queryApi } from './index.js';
import { queryFrameworkErrors } from './query-errors.js';
import { parseLimit, parseTime } from './query-params.js';
import { fakeAssemble, fixtureSpans } from './testing/query-fixture.js';

let app: FastifyInstance;

beforeAll(async () => {
  const store = createMemoryStore();
  await store.write(fixtureSpans());
  app = Fastify({ frameworkErrors: queryFrameworkErrors });
  await app.register(queryApi, { reader: store, assemble: fakeAssemble });
  await app.ready();
});
afterAll(() => app.close());

describe('far-future times', () => {
  it('parseTime: the last representable instant passes, the next one is out of range', () => {
    expect(parseTime('start', '2262-04-11T23:47:16.854775807Z', 'ns', { rfc3339: true })).toBe(2n ** 63n - 1n);
    expect(() => parseTime('start', '2262-04-11T23:47:16.854775808Z', 'ns', { rfc3339: true })).toThrow(/parameter 'start'.*out of range/);
    expect(() => parseTime('start', '9999-12-31T23:59:59Z', 'ns', { rfc3339: true })).toThrow(/out of range/);
  });

  for (const [path, param] of [
    ['/api/v1/spans?start=2262-04-12T00:00:00Z', 'start'],
    ['/api/v1/spans?end=9999-01-01T00:00:00Z', 'end'],
    ['/api/v3/traces?query.service_name=frontend&query.start_time_min=2262-04-12T00:00:00Z', 'query.start_time_min'],
    ['/api/v3/traces?query.service_name=frontend&query.start_time_max=3000-01-01T00:00:00Z', 'query.start_time_max'],
  ] as const) {
    it(`${path} → 400 naming ${param}`, async () => {
      const res = await app.inject({ method: 'GET', url: path });
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain(`'${param}'`);
    });
  }
});

describe('out-of-range limits', () => {
  it('parseLimit refuses above the maximum instead of clamping', () => {
    expect(parseLimit('limit', '10000', 100, 10000)).toBe(10000);
    expect(() => parseLimit('limit', '10001', 100, 10000)).toThrow(/parameter 'limit': expected an integer from 1 to 10000/);
  });

  for (const [path, shape] of [
    ['/api/v1/spans?limit=10001', 'weft'],
    ['/api/traces?service=frontend&limit=1501', 'jaeger'],
    ['/api/v3/traces?query.service_name=frontend&query.search_depth=1501', 'v3'],
    ['/tempo/api/search?limit=999999', 'weft'],
  ] as const) {
    it(`${path} → 400 in the ${shape} shape`, async () => {
      const res = await app.inject({ method: 'GET', url: path });
      expect(res.statusCode).toBe(400);
      const body = res.json<Record<string, unknown>>();
      if (shape === 'jaeger') expect(body).toMatchObject({ data: null, errors: [{ code: 400 }] });
      else if (shape === 'v3') expect(body).toMatchObject({ error: { httpCode: 400 } });
      else expect(body).toMatchObject({ error: { code: 'TRC_QUERY_BAD_PARAM' } });
    });
  }
});

describe('framework errors in the API shape', () => {
  const long = 'a'.repeat(600);
  for (const [path, shape] of [
    [`/api/v1/traces/${long}`, 'weft'],
    [`/api/traces/${long}`, 'jaeger'],
    [`/api/v3/traces/${long}`, 'v3'],
    [`/tempo/api/traces/${long}`, 'weft'],
  ] as const) {
    it(`a too long path parameter on ${path.slice(0, 20)}… → 414 in the ${shape} shape`, async () => {
      const res = await app.inject({ method: 'GET', url: path });
      expect(res.statusCode).toBe(414);
      const body = res.json<Record<string, unknown>>();
      if (shape === 'jaeger') expect(body).toMatchObject({ data: null, errors: [{ code: 414 }] });
      else if (shape === 'v3') expect(body).toMatchObject({ error: { httpCode: 414 } });
      else expect(body).toMatchObject({ error: { code: 'TRC_QUERY_URI_TOO_LONG' } });
    });
  }

  it('a malformed URL → 400 in the API shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/traces/%E0%A4%A' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'TRC_QUERY_BAD_REQUEST' } });
  });
});
