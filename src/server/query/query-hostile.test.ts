/**
 * @module Property tests: random and hostile query strings against every query endpoint never
 * produce a 5xx, and every 4xx carries a JSON body that explains itself.
 */
import fc from 'fast-check';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../store/index.js';
import type { Store } from '../store/index.js';
import { queryApi } from './index.js';
import { fakeAssemble, fixtureSpans, TRACE_A } from './testing/query-fixture.js';

const PATHS = [
  '/api/v1/spans',
  `/api/v1/traces/${TRACE_A}`,
  '/api/services',
  '/api/operations',
  '/api/traces',
  `/api/traces/${TRACE_A}`,
  '/api/v3/traces',
  `/api/v3/traces/${TRACE_A}`,
  '/api/v3/services',
  '/api/v3/operations',
  '/tempo/api/search',
  '/tempo/api/search/tags',
  '/tempo/api/v2/search/tags',
  `/tempo/api/traces/${TRACE_A}`,
];

const PARAMS = [
  'service', 'protocol', 'source', 'observationPoint', 'operation', 'start', 'end', 'minDuration', 'maxDuration', 'limit',
  'traceId', 'tag', 'tags', 'lookback', 'spanKind', 'traceID', 'error', 'kind',
  'query.service_name', 'query.operation_name', 'query.start_time_min', 'query.start_time_max', 'query.duration_min',
  'query.duration_max', 'query.search_depth', 'query.attributes', 'query.serviceName', 'query.spanKind', 'span_kind',
  'q', 'spss', 'scope',
];

/** Values near the edges of what the parsers accept. */
const EDGE_VALUES = ['', '0', '-1', '1e3', '99999999999999999999', '9223372036854775807', 'NaN', '1.5s', '100ms', '1h30m', '.5s', '5', 'true',
    '2026-11-24T10:00:00Z', '2026-13-40T25:61:61Z', '2026-11-24T10:00:00.123456789+02:00', '{}', '[]', '{"a":{"b":1}}', '{"error":"true"}',
    'http.status_code:500', ':', 'app', 'net', 'sys', 'c-p', 'server', 'SPAN_KIND_CLIENT', '7',
    '{ resource.service.name = "cart" }', '{ duration > 1ms && name = "x" }', '{ .a = "b" } | count() > 1', '{ "unterminated', '{ status = maybe }',
    '{ span:duration < 0ns }', '{}', '{ a != 1 }', 'service.name="x y" k=v', 'k="bad', '\u0000', '%', '\ud800'];

/** Each path that reads query parameters, with the parameters it reads. */
const SEARCH_PATHS: [string, string[]][] = [
  ['/api/v1/spans', ['service', 'protocol', 'source', 'observationPoint', 'operation', 'start', 'end', 'minDuration', 'maxDuration', 'limit', 'traceId', 'tag', 'error', 'kind']],
  ['/api/operations', ['service', 'spanKind']],
  ['/api/traces', ['service', 'operation', 'spanKind', 'start', 'end', 'lookback', 'minDuration', 'maxDuration', 'limit', 'tags', 'tag', 'traceID']],
  ['/api/v3/traces', ['query.service_name', 'query.operation_name', 'query.start_time_min', 'query.start_time_max', 'query.duration_min', 'query.duration_max', 'query.search_depth', 'query.attributes', 'query.spanKind']],
  ['/api/v3/operations', ['service', 'span_kind']],
  ['/tempo/api/search', ['q', 'tags', 'minDuration', 'maxDuration', 'start', 'end', 'limit', 'spss']],
  ['/tempo/api/search/tags', ['scope']],
];

/** Edge values mixed with random text. */
const VALUE = fc.oneof(
  { arbitrary: fc.constantFrom(...EDGE_VALUES), weight: 3 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 1 },
  fc.stringMatching(/^[0-9]{1,25}$/),
  fc.stringMatching(/^[0-9.]{1,6}(ns|us|ms|s|m|h|d|w)$/),
);

let store: Store;
let app: FastifyInstance;

beforeAll(async () => {
  store = createMemoryStore();
  await store.write(fixtureSpans());
  app = Fastify();
  await app.register(queryApi, { reader: store, assemble: fakeAssemble, nowMs: () => 1_795_514_400_000 });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await store.close();
});

function clean(v: string): string {
  return v.replace(/[\ud800-\udfff]/g, '?');
}

describe('hostile query strings', () => {
  it('every edge value of every parameter on every search path: no 5xx', async () => {
    for (const [path, names] of SEARCH_PATHS) {
      for (const name of names) {
        for (const v of EDGE_VALUES) {
          const url = `${path}?${encodeURIComponent(name)}=${encodeURIComponent(clean(v))}`;
          const res = await app.inject({ url });
          expect(res.statusCode, `${url}: ${res.body.slice(0, 300)}`).toBeLessThan(500);
        }
      }
    }
  });

  it('never answer 5xx, and 4xx bodies are JSON with a message', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PATHS),
        fc.array(fc.tuple(fc.constantFrom(...PARAMS), VALUE), { maxLength: 6 }),
        async (path, params) => {
          const qs = params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(clean(v))}`).join('&');
          const res = await app.inject({ method: 'GET', url: qs ? `${path}?${qs}` : path });
          expect(res.statusCode, `${path}?${qs}: ${res.body.slice(0, 300)}`).toBeLessThan(500);
          if (res.statusCode >= 400) {
            expect(res.headers['content-type']).toContain('application/json');
            expect(res.body).toMatch(/message|msg/);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('random path ids and POST bodies never answer 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 80 }), fc.oneof(fc.json(), fc.constant('{'), fc.constant('{"query":{"search_depth":"x"}}')), async (id, body) => {
        const enc = encodeURIComponent(id.replace(/[\ud800-\udfff]/g, '?'));
        for (const url of [`/api/v1/traces/${enc}`, `/api/traces/${enc}`, `/api/v3/traces/${enc}`, `/tempo/api/traces/${enc}`, `/tempo/api/v2/traces/${enc}`, `/tempo/api/search/tag/${enc}/values`]) {
          const res = await app.inject({ url });
          expect(res.statusCode, url).toBeLessThan(500);
        }
        const post = await app.inject({ method: 'POST', url: '/api/v3/traces', headers: { 'content-type': 'application/json' }, payload: body });
        expect(post.statusCode, body).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
  });
});
