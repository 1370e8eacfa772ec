/**
 * `weft demo`'s own trace (issue 8, A8): runDemo against a Weft with the eBPF agent gives a trace
 * whose first SYS span (curl's c-p) hangs under the demo's client span, the span its traceparent
 * names, instead of pointing at a parent nobody reported ("parent … is not in the trace; shown
 * at the root").
 *
 * Needs root and BTF, like the other eBPF end-to-end tests (fails instead of skipping in CI).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ebpfAvailability } from '../../src/agent/ebpf/native.js';
import { startAgent, type RunningAgent } from '../../src/agent/index.js';
import { runDemo, type DemoRun } from '../../src/demo/run-demo.js';
import { startTestWeft, type TestWeft } from '../e2e/weft-harness.js';

const availability = ebpfAvailability();
const unavailable = availability.ok ? null : availability.reason;
if (unavailable && process.env.CI === 'true') throw new Error(`eBPF end-to-end test cannot run in CI: ${unavailable}`);

interface Trace {
  warnings: string[];
  spans: { id: string; parentId: string | null; spanId: string; source: string; observationPoint: string; processName: string; service: string; linkReason: string | null; requestResource: string; name: string }[];
}

describe.skipIf(unavailable !== null)(`weft demo's trace has no orphan root${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let weft: TestWeft;
  let agent: RunningAgent;
  let demo: DemoRun;
  let trace: Trace;

  beforeAll(async () => {
    weft = await startTestWeft();
    agent = await startAgent({ sink: weft.server.sink, interfaces: [], logger: pino({ level: 'silent' }) });
    demo = await runDemo({ queryUrl: weft.urls.query, otlpUrl: weft.urls.otlpHttp, skywalkingGrpc: weft.urls.skywalkingGrpc, frontend: 'otel', requests: 1, burst: 16, waitMs: 40_000, progress: () => undefined });
    const id = demo.traceIds[0]!;
    const deadline = Date.now() + 40_000;
    for (;;) {
      const res = await fetch(`${weft.urls.query}/api/v1/traces/${id}`);
      if (res.ok) {
        trace = (await res.json()) as Trace;
        const curl = trace.spans.some((s) => s.processName === 'curl' && s.observationPoint === 'c-p');
        const app = trace.spans.some((s) => s.source === 'app' && s.observationPoint === 's-app');
        if ((curl && app) || Date.now() > deadline) break;
      } else {
        await res.arrayBuffer();
        if (Date.now() > deadline) throw new Error(`trace ${id} never appeared (${res.status})`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }, 240_000);

  afterAll(async () => {
    await demo?.stop();
    await agent?.close();
    await weft?.close();
  }, 60_000);

  it('a trace from the middle of the concurrent burst holds no span of another request', async () => {
    const k = Math.floor(demo.burstTraceIds.length / 2);
    const id = demo.burstTraceIds[k]!;
    // Every request's item (burst-N) is in its path, its Redis key and its span names.
    const own = `burst-${k + 1}`;
    let burst: Trace = { warnings: [], spans: [] };
    for (const deadline = Date.now() + 40_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      const res = await fetch(`${weft.urls.query}/api/v1/traces/${id}`);
      if (res.status !== 200) {
        await res.arrayBuffer();
        continue;
      }
      burst = (await res.json()) as Trace;
      if (burst.spans.some((s) => s.requestResource.includes(own) && s.processName === 'curl')) break;
    }
    const foreign = burst.spans.filter((s) => /burst-\d+/.test(`${s.requestResource} ${s.name}`) && !new RegExp(`burst-${k + 1}(?!\\d)`).test(`${s.requestResource} ${s.name}`));
    expect(foreign.map((s) => `${s.observationPoint} ${s.processName} ${s.requestResource}`)).toEqual([]);
    expect(burst.spans.some((s) => s.requestResource.includes(own) && s.processName === 'curl')).toBe(true);
  });

  it('curl\'s c-p hangs under the demo client span; the trace has one root and no orphan warning', () => {
    expect(trace.warnings.filter((w) => w.includes('is not in the trace'))).toEqual([]);
    const curl = trace.spans.find((s) => s.processName === 'curl' && s.observationPoint === 'c-p');
    const client = trace.spans.find((s) => s.service === 'weft-demo-client');
    expect(client?.parentId).toBeNull();
    expect(curl?.parentId).toBe(client?.id);
    expect(trace.spans.filter((s) => s.parentId === null)).toHaveLength(1);
  });
});
