/**
 * Integration 1 through the server: with `--apm jaeger=URL`, `GET /api/v1/traces/{id}` merges
 * the APP spans a Jaeger query service returns (a real recorded answer, served over HTTP); an
 * APM that fails adds a warning and never fails the trace.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_APM_FIXTURES } from '../../src/apm/testing/shared-fixtures.js';
import { startTestWeft, type TestWeft } from './weft-harness.js';

interface JaegerTrace {
  traceID: string;
  spans: { spanID: string }[];
}

const recorded = JSON.parse(readFileSync(join(SHARED_APM_FIXTURES, 'jaeger', 'api-traces', 'jaeger-ui-petclinic-testTraceNormal.trace.json'), 'utf8')) as JaegerTrace;

let jaeger: Server;
let broken: Server;
let weft: TestWeft;
let calls = 0;

async function listen(s: Server): Promise<string> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  jaeger = createServer((req, res) => {
    calls++;
    if (req.url === `/api/traces/${recorded.traceID}`) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: [recorded], total: 0, limit: 0, offset: 0, errors: null }));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: null, errors: [{ code: 404, msg: 'trace not found' }] }));
    }
  });
  broken = createServer((_req, res) => {
    res.writeHead(500);
    res.end('boom');
  });
  const [jaegerUrl, brokenUrl] = [await listen(jaeger), await listen(broken)];
  weft = await startTestWeft({ apm: [{ name: 'jaeger', url: jaegerUrl }, { name: 'tempo', url: brokenUrl }] });
});

afterAll(async () => {
  await weft?.close();
  jaeger?.close();
  broken?.close();
});

describe('calling APM Trace APIs (--apm)', () => {
  it('merges the APM spans into the trace, and a failing APM only warns', async () => {
    const id = recorded.traceID.padStart(32, '0');
    const res = await fetch(`${weft.urls.query}/api/v1/traces/${id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { spans: { spanId: string; source: string; parentId: string | null }[]; warnings: string[] };
    expect(body.spans.map((s) => s.spanId).sort()).toEqual(recorded.spans.map((s) => s.spanID).sort());
    expect(body.spans.every((s) => s.source === 'app')).toBe(true);
    expect(body.spans.filter((s) => s.parentId === null)).toHaveLength(1);
    expect(body.warnings.some((w) => /tempo/i.test(w))).toBe(true);
    // Reloading the trace is served from the cache.
    const before = calls;
    await (await fetch(`${weft.urls.query}/api/v1/traces/${id}`)).arrayBuffer();
    expect(calls).toBe(before);
  });
});
