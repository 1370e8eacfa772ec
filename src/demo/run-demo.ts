/**
 * @module `weft demo`: starts the demo system next to a running Weft, sends traced requests
 * through it with curl, waits until the first trace is assembled, and says where to look.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { startTopology, type FrontendKind, type Topology } from './topology.js';

const run = promisify(execFile);

export interface DemoOptions {
  /** Weft's query API base URL (16686). */
  queryUrl: string;
  /** Weft's OTLP/HTTP base URL (4318), where the OTel frontend reports. */
  otlpUrl: string;
  /** Weft's SkyWalking gRPC address host:port (11800), where the SkyWalking frontend reports. */
  skywalkingGrpc: string;
  frontend: Exclude<FrontendKind, 'none'>;
  token?: string;
  requests: number;
  /** Requests sent at once after the sequential ones (0: none). */
  burst: number;
  /** How long to wait for the first trace to show up. */
  waitMs: number;
  progress: (line: string) => void;
}

export interface DemoRun {
  topology: Topology;
  /** The trace ids of the requests sent one at a time, in order. */
  traceIds: string[];
  /** The trace ids of the concurrent burst, in the order sent. */
  burstTraceIds: string[];
  /** Sends one more traced request; returns its trace id. */
  sendRequest(item: string): Promise<string>;
  stop(): Promise<void>;
}

function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * Reports the demo's own client span: the one the curl's traceparent names as parent. curl is
 * not instrumented, so without it the trace's first span (curl's c-p) points at a parent no one
 * reported, and assembly warns "parent … is not in the trace; shown at the root". The demo is the
 * caller, so it says so, as an instrumented client would (OTLP/JSON to Weft's receiver).
 */
async function reportClientSpan(o: DemoOptions, traceId: string, spanId: string, url: string, startMs: number, endMs: number, ok: boolean): Promise<void> {
  const ns = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'weft-demo-client' } }] },
        scopeSpans: [
          {
            scope: { name: 'weft demo' },
            spans: [
              {
                traceId,
                spanId,
                name: 'GET /checkout',
                kind: 3, // CLIENT
                startTimeUnixNano: ns(startMs),
                endTimeUnixNano: ns(endMs),
                attributes: [
                  { key: 'http.request.method', value: { stringValue: 'GET' } },
                  { key: 'url.full', value: { stringValue: url } },
                ],
                status: { code: ok ? 0 : 2 },
              },
            ],
          },
        ],
      },
    ],
  };
  let problem: string | null = null;
  try {
    const res = await fetch(`${o.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders(o.token) }, body: JSON.stringify(body) });
    await res.arrayBuffer();
    if (!res.ok) problem = `HTTP ${res.status}`;
  } catch (err) {
    problem = (err as Error).message;
  }
  if (problem !== null) o.progress(`Weft did not take the demo's client span (${problem}); the trace will show curl at its root with a warning`);
}

async function waitForTrace(o: DemoOptions, traceId: string): Promise<boolean> {
  const deadline = Date.now() + o.waitMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${o.queryUrl}/api/v1/traces/${traceId}`, { headers: authHeaders(o.token) });
      if (res.ok) {
        const body = (await res.json()) as { spans: { source: string }[] };
        if (body.spans.some((s) => s.source === 'app')) return true;
      } else {
        await res.arrayBuffer();
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

export async function runDemo(o: DemoOptions): Promise<DemoRun> {
  try {
    const health = await fetch(`${o.queryUrl}/healthz`);
    await health.arrayBuffer();
  } catch (err) {
    throw new Error(`no Weft server answers at ${o.queryUrl} (${(err as Error).message}); start one with \`npm start\` first, or pass --server`);
  }
  const collector = o.frontend === 'otel' ? o.otlpUrl : o.skywalkingGrpc;
  const topology = await startTopology({ frontend: o.frontend, collector, progress: o.progress, ...(o.token ? { token: o.token } : {}) });
  const traceIds: string[] = [];
  const sendRequest = async (item: string): Promise<string> => {
    const traceId = randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    // curl, so the trace starts at a real client process the agent sees (its c-p span), under the
    // demo's own client span, which the traceparent names.
    const url = `${topology.entryUrl}/checkout?item=${encodeURIComponent(item)}`;
    const startMs = performance.timeOrigin + performance.now();
    let ok = true;
    try {
      await run('curl', ['-sf', '-o', '/dev/null', '-H', `traceparent: 00-${traceId}-${spanId}-01`, url], { timeout: 15_000 });
    } catch (err) {
      ok = false;
      throw err;
    } finally {
      await reportClientSpan(o, traceId, spanId, url, startMs, performance.timeOrigin + performance.now(), ok);
    }
    traceIds.push(traceId);
    return traceId;
  };
  try {
    o.progress(`sending ${o.requests} requests through ${topology.entryUrl} …`);
    // The first request also opens the backend's database connections (handshakes); the traces
    // worth showing are the ones after it.
    await sendRequest('warm-up');
    traceIds.length = 0;
    for (let i = 0; i < o.requests; i++) await sendRequest(`item-${i + 1}`);
    const sequential = [...traceIds];
    // Then many at once: the case where per-thread correlation breaks (event loops, a proxy's one
    // worker). Each keeps its own trace; one from the middle of the burst is worth opening.
    let burstTraceIds: string[] = [];
    if (o.burst > 0) {
      o.progress(`sending a burst of ${o.burst} concurrent requests …`);
      // In the order sent (burst-1 first), not the order they finished.
      burstTraceIds = await Promise.all(Array.from({ length: o.burst }, (_, i) => sendRequest(`burst-${i + 1}`)));
    }
    traceIds.length = 0;
    traceIds.push(...sequential);
    const first = traceIds[0];
    if (first && !(await waitForTrace(o, first))) {
      o.progress(`the trace ${first} has no APP spans yet after ${o.waitMs} ms; it may still arrive`);
    }
    const middle = burstTraceIds[Math.floor(burstTraceIds.length / 2)];
    if (middle) await waitForTrace(o, middle);
    return { topology, traceIds, burstTraceIds, sendRequest, stop: () => topology.stop() };
  } catch (err) {
    await topology.stop();
    throw err;
  }
}
