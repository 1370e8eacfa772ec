/**
 * @module SkyWalking trace ids, as agents log them and SkyWalking's UI shows them (issue 8, A2):
 * the real nginx-lua agent's segments (its README's debug log; shared fixtures, PROVENANCE.md)
 * carry `1585984546953.410917649.45972`. That id opens the trace on every API that takes a
 * trace id (native, Jaeger, Tempo) and in `weft trace`, and the spans show it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_APM_FIXTURES } from '../../src/apm/testing/shared-fixtures.js';
import { cliFromSource, runToEnd } from './cli-process.js';
import { eventually, getJson, startTestWeft } from './weft-harness.js';
import type { TestWeft, V1Trace } from './weft-harness.js';

const SEGMENTS = readFileSync(join(SHARED_APM_FIXTURES, 'skywalking', 'v3-segments-nginx-lua-readme-debuglog.json'), 'utf8');
const SW_ID = '1585984546953.410917649.45972';

interface ApiSpanWithAttrs {
  attributes?: Record<string, unknown>;
}

describe('SkyWalking trace ids', () => {
  let weft: TestWeft;
  beforeAll(async () => {
    weft = await startTestWeft();
    const res = await fetch(`${weft.urls.skywalkingHttp}/v3/segments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: SEGMENTS });
    expect(res.status).toBe(200);
  });
  afterAll(async () => weft?.close());

  it('the SkyWalking id is in the recorded segments', () => {
    expect((JSON.parse(SEGMENTS) as { traceId: string }[]).map((s) => s.traceId)).toEqual([SW_ID, SW_ID]);
  });

  it('opens the trace on the native API, and the spans show it', async () => {
    const { status, body } = await eventually(
      async () => {
        const r = await getJson<V1Trace>(`${weft.urls.query}/api/v1/traces/${encodeURIComponent(SW_ID)}`);
        return r.status === 200 && r.body.spans.length >= 3 ? r : null;
      },
      10_000,
      'the trace by its SkyWalking id',
    );
    expect(status).toBe(200);
    expect(body.traceId).toMatch(/^[0-9a-f]{32}$/);
    for (const s of body.spans as (V1Trace['spans'][number] & ApiSpanWithAttrs)[]) expect(s.attributes?.['sw8.trace_id']).toBe(SW_ID);
  });

  it('opens it on the Jaeger and Tempo APIs', async () => {
    const jaeger = await getJson<{ data: { traceID: string; spans: unknown[] }[] }>(`${weft.urls.query}/api/traces/${encodeURIComponent(SW_ID)}`);
    expect(jaeger.status).toBe(200);
    expect(jaeger.body.data[0]?.spans.length).toBeGreaterThanOrEqual(3);
    const tempo = await getJson<{ batches: unknown[] }>(`${weft.urls.query}/tempo/api/traces/${encodeURIComponent(SW_ID)}`);
    expect(tempo.status).toBe(200);
    expect(tempo.body.batches.length).toBeGreaterThan(0);
    const v3 = await getJson<unknown>(`${weft.urls.query}/api/v3/traces/${encodeURIComponent(SW_ID)}`);
    expect(v3.status).toBe(200);
  });

  it('opens it in `weft trace`', async () => {
    const r = await runToEnd(cliFromSource(['trace', SW_ID, '--server', weft.urls.query]));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/tier2|ingress|\/tier2|GET/);
  });

  it('an unknown SkyWalking-shaped id is still a 404', async () => {
    const r = await getJson<unknown>(`${weft.urls.query}/api/v1/traces/${encodeURIComponent('1585984546953.1.2')}`);
    expect(r.status).toBe(404);
  });
});
