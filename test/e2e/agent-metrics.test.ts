/**
 * @module A remote agent's counters reach the server's /metrics: the agent's reporter posts them
 * to the OTLP/HTTP port with the token, and /metrics shows them labelled with the agent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsReporter } from '../../src/agent/shipping/metrics-reporter.js';
import type { AgentMetricsSample } from '../../src/model/index.js';
import { startTestWeft } from './weft-harness.js';
import type { TestWeft } from './weft-harness.js';

const TOKEN = 'agent-metrics-token';

describe('remote agent metrics in /metrics', () => {
  let weft: TestWeft;
  beforeAll(async () => {
    weft = await startTestWeft({ token: TOKEN });
  });
  afterAll(async () => weft?.close());

  const scrape = async (): Promise<string> => (await fetch(`${weft.urls.query}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();

  it('shows the latest numbers of each agent, and refuses a report without the token', async () => {
    let dropped = 5;
    const collect = (): AgentMetricsSample[] => [
      { name: 'weft_agent_dropped_spans_total', help: 'Spans dropped by the agent', type: 'counter', labels: { reason: 'queue_full' }, value: dropped },
      { name: 'weft_agent_spans_total', help: 'SYS spans produced by the agent', type: 'counter', value: 1234 },
    ];
    const reporter = startMetricsReporter({ serverUrl: weft.urls.otlpHttp, token: TOKEN, agent: 'edge-7', collect, intervalMs: 60_000 });
    expect(await reporter.report()).toBe(true);
    let text = await scrape();
    expect(text).toContain('weft_agent_dropped_spans_total{reason="queue_full",agent="edge-7"} 5');
    expect(text).toContain('weft_agent_spans_total{agent="edge-7"} 1234');
    expect(text).toMatch(/weft_agent_report_age_seconds\{agent="edge-7"\} [0-9.]+/);
    dropped = 9;
    await reporter.stop(); // the last report carries the final totals
    text = await scrape();
    expect(text).toContain('weft_agent_dropped_spans_total{reason="queue_full",agent="edge-7"} 9');

    const intruder = startMetricsReporter({ serverUrl: weft.urls.otlpHttp, agent: 'intruder', collect, intervalMs: 60_000 });
    expect(await intruder.report()).toBe(false);
    expect(intruder.failures()).toBe(1);
    await intruder.stop();
    expect(await scrape()).not.toContain('intruder');
  });

  it('answers a bad report with 400 and the reason', async () => {
    const res = await fetch(`${weft.urls.otlpHttp}/v1/weft/agent-metrics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'x', samples: [{ name: 'cpu', type: 'gauge', value: 1 }] }),
    });
    expect(res.status).toBe(400);
    // The receivers' error body (docs/errors.md).
    expect(await res.json()).toMatchObject({ error: 'TRC_INGEST_MALFORMED', message: expect.stringMatching(/samples\[0\]\.name/) });
  });
});
