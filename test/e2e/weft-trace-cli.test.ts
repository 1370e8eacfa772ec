/**
 * @module `weft trace TRACE_ID` against a running server: the tree in the terminal (no colors when
 * stdout is not a TTY), a clear error for an unknown id, and the ingest counters in /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFromSource, runToEnd } from './cli-process.js';
import { startTestWeft } from './weft-harness.js';
import type { TestWeft } from './weft-harness.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const TOKEN = 'cli-token';

function otlpJson(): string {
  const span = (spanId: string, parentSpanId: string, name: string, kind: number, startMs: number, durMs: number) => ({
    traceId: TRACE_ID,
    spanId,
    parentSpanId,
    name,
    kind,
    startTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt(startMs) * 1_000_000n),
    endTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt(startMs + durMs) * 1_000_000n),
  });
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
        scopeSpans: [{ spans: [span('b7ad6b7169203331', '', 'POST /checkout', 2, 0, 120), span('00f067aa0ba902b7', 'b7ad6b7169203331', 'GET /inventory', 3, 10, 40)] }],
      },
    ],
  });
}

describe('weft trace', () => {
  let weft: TestWeft;
  beforeAll(async () => {
    weft = await startTestWeft({ token: TOKEN });
    const res = await fetch(`${weft.urls.otlpHttp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: otlpJson() });
    expect(res.status).toBe(200);
  });
  afterAll(async () => weft?.close());

  it('prints the tree with durations, service, observation point, source and link reason', async () => {
    const r = await runToEnd(cliFromSource(['trace', TRACE_ID, '--server', weft.urls.query, '--token', TOKEN]));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('\x1b[');
    expect(r.stdout.split('\n')).toEqual([
      `trace ${TRACE_ID}  2 spans, 1 services`,
      '└─ POST /checkout  [checkout]  120.000 ms  app/s-app otlp  root',
      '   └─ GET /inventory  [checkout]  40.000 ms  app/c-app otlp  via span_id',
      `open in the UI: ${weft.urls.query}/trace/${TRACE_ID}`,
      '',
    ]);
  });

  it('reads the token from WEFT_TOKEN and fails clearly without one or for an unknown id', async () => {
    const noToken = await runToEnd(cliFromSource(['trace', TRACE_ID, '--server', weft.urls.query]));
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('answered 401');
    const unknown = await runToEnd(cliFromSource(['trace', 'ffffffffffffffffffffffffffffffff', '--server', weft.urls.query]), { WEFT_TOKEN: TOKEN });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/answered 404: trace not found/);
  });

  it('counts the accepted spans per receiver in /metrics', async () => {
    // The store's span count is read in the background (at most every 5 s, a first scrape waits
    // 200 ms for it), and a busy main thread's scrape may be answered from the last one: read
    // until the counts are there.
    const scrape = async (): Promise<string> => (await fetch(`${weft.urls.query}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    let text = await scrape();
    for (let i = 0; i < 40 && !text.includes('weft_store_spans{store="duckdb"} 2'); i++) {
      await new Promise((r) => setTimeout(r, 250));
      text = await scrape();
    }
    expect(text).toContain('weft_receiver_spans_accepted_total{receiver="otlp_http"} 2');
    expect(text).toContain('weft_receiver_requests_total{receiver="otlp_http",status="200"} 1');
    expect(text).toContain('weft_pipeline_written_spans_total 2');
    expect(text).toContain('weft_store_spans{store="duckdb"} 2');
  });
});
