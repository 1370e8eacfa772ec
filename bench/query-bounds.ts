/**
 * @module Query bounds on a 1M-span DuckDB store (issue 9, C7 and C9), through the real server:
 * - searches at the maximum limits (Jaeger `limit=1500`, api_v3 `search_depth=1500`): time,
 *   traces answered, warning; the reference is the same search with no time budget;
 * - CPU the server spends after a client aborts a maximum-limit search (cancellation);
 * - one 10k-span and one 100k-span trace by id: time and bytes per API, and whether the cut
 *   100k trace says so.
 *
 * Env: WEFT_BENCH_QUERY_SPANS (default 1,000,000 background spans), WEFT_BENCH_DIR (a store
 * kept there is reused when it has the same size).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { emptySpan } from '../src/model/index.js';
import type { SpanRecord } from '../src/model/index.js';
import { startServer } from '../src/server/app.js';
import { defaultConfig } from '../src/server/config.js';
import type { WeftConfig } from '../src/server/config.js';
import { openDuckDbStore } from '../src/server/store/index.js';

const SERVICES = ['frontend', 'cart', 'checkout', 'payment', 'inventory'];
const T0 = 1_790_000_000_000_000_000n;
const BIG_10K = 'b10000000000000000000000000000a1';
const BIG_100K = 'b10000000000000000000000000000a2';

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** `n` traces of five APP spans each (one per service, a chain), 1 ms apart. */
function traces(from: number, n: number): SpanRecord[] {
  const out: SpanRecord[] = [];
  for (let t = from; t < from + n; t++) {
    const traceId = hex(t + 1, 32);
    const start = T0 + BigInt(t) * 1_000_000n;
    for (let k = 0; k < SERVICES.length; k++) {
      out.push({
        ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: k === 0 ? 's-app' : 'c-app' }),
        traceId,
        spanId: hex(t * 8 + k + 1, 16),
        parentSpanId: k === 0 ? '' : hex(t * 8 + k, 16),
        name: `GET /api/${SERVICES[k] ?? ''}`,
        kind: k === 0 ? 'server' : 'client',
        service: SERVICES[k] ?? '',
        startTimeUnixNano: start + BigInt(k) * 10_000n,
        endTimeUnixNano: start + 500_000n,
        protocol: 'http',
        requestType: 'GET',
        requestResource: `/api/${SERVICES[k] ?? ''}`,
        responseStatus: 'ok',
        responseCode: 200,
        attributes: { 'http.route': `/api/${SERVICES[k] ?? ''}` },
      });
    }
  }
  return out;
}

/** One trace of `n` spans: a root and its children, 10 µs apart. */
function bigTrace(traceId: string, n: number, idBase: number): SpanRecord[] {
  const start = T0 + 10_000_000_000_000n;
  return Array.from({ length: n }, (_, i) => ({
    ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: i === 0 ? 's-app' : 'c-app' }),
    traceId,
    spanId: hex(idBase + i, 16),
    parentSpanId: i === 0 ? '' : hex(idBase, 16),
    name: i === 0 ? 'GET /batch' : `SELECT item ${i % 100}`,
    kind: i === 0 ? ('server' as const) : ('client' as const),
    service: 'batch-job',
    startTimeUnixNano: start + BigInt(i) * 10_000n,
    endTimeUnixNano: start + BigInt(i) * 10_000n + 8_000n,
    protocol: i === 0 ? 'http' : 'mysql',
    requestType: i === 0 ? 'GET' : 'SELECT',
    requestResource: i === 0 ? '/batch' : `SELECT * FROM item WHERE id = ${i % 100}`,
    responseStatus: 'ok' as const,
  }));
}

async function buildStore(path: string, spans: number, log: (l: string) => void): Promise<void> {
  if (existsSync(path)) return;
  const store = await openDuckDbStore({ path });
  const traceCount = Math.floor(spans / SERVICES.length);
  for (let from = 0; from < traceCount; from += 2000) {
    await store.write(traces(from, Math.min(2000, traceCount - from)));
    if (from % 40_000 === 0) log(`  wrote ${(from + 2000) * SERVICES.length} spans`);
  }
  const b10 = bigTrace(BIG_10K, 10_000, 0x7000_0000);
  await store.write(b10);
  const b100 = bigTrace(BIG_100K, 100_000, 0x7100_0000);
  for (let i = 0; i < b100.length; i += 20_000) await store.write(b100.slice(i, i + 20_000));
  await store.close();
}

async function timedGet(url: string, signal?: AbortSignal): Promise<{ ms: number; bytes: number; status: number; body: unknown }> {
  const t = performance.now();
  const res = await fetch(url, signal ? { signal } : {});
  const buf = Buffer.from(await res.arrayBuffer());
  const ms = performance.now() - t;
  let body: unknown = null;
  try {
    body = JSON.parse(buf.toString('utf8'));
  } catch {
    body = null;
  }
  return { ms: Math.round(ms), bytes: buf.length, status: res.status, body };
}

export async function runQueryBoundsBench(log: (line: string) => void): Promise<unknown> {
  const spans = Number(process.env['WEFT_BENCH_QUERY_SPANS'] ?? 1_000_000);
  const keep = process.env['WEFT_BENCH_DIR'];
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'weft-bench-query-'));
  const path = join(dir, `query-${spans}.duckdb`);
  log(`store ${path}`);
  await buildStore(path, spans, log);

  const start = async (queryTimeoutMs: number): Promise<{ url: string; close: () => Promise<void> }> => {
    const config: WeftConfig = {
      ...defaultConfig(),
      dataDir: dir,
      store: { kind: 'duckdb', path },
      ports: { otlpGrpc: 0, otlpHttp: 0, zipkin: 0, skywalkingGrpc: 0, skywalkingHttp: 0, query: 0 },
      agent: false,
      queryTimeoutMs,
    };
    const server = await startServer(config, { logger: pino({ level: 'silent' }) });
    return { url: `http://127.0.0.1:${server.ports.query}`, close: () => server.close() };
  };

  const result: Record<string, unknown> = { spans };
  const searches = {
    jaeger: '/api/traces?service=frontend&limit=1500&start=1',
    v3: '/api/v3/traces?query.service_name=frontend&query.search_depth=1500&query.start_time_min=2000-01-01T00:00:00Z&query.start_time_max=2100-01-01T00:00:00Z',
  };
  const summary = (r: Awaited<ReturnType<typeof timedGet>>, kind: 'jaeger' | 'v3'): Record<string, unknown> => {
    const b = r.body as Record<string, unknown> | null;
    const traces = kind === 'jaeger' ? ((b?.['data'] as unknown[] | null) ?? []).length : ((((b?.['result'] as Record<string, unknown> | undefined)?.['resourceSpans'] as unknown[]) ?? []).length);
    const warning = kind === 'jaeger' ? (b?.['errors'] as { msg: string }[] | null)?.[0]?.msg ?? null : (b?.['warnings'] as string[] | undefined)?.[0] ?? null;
    return { status: r.status, ms: r.ms, bytes: r.bytes, traces, warning };
  };

  // Reference: no budget (an hour), as before issue 9.
  {
    const s = await start(3_600_000);
    try {
      for (const [k, path] of Object.entries(searches)) {
        const r = await timedGet(s.url + path);
        result[`search_${k}_unbounded`] = summary(r, k as 'jaeger' | 'v3');
        log(`  ${k} unbounded: ${JSON.stringify(result[`search_${k}_unbounded`])}`);
      }
      // Cancellation: abort after 1 s and count the CPU the process spends in the next 5 s.
      const ac = new AbortController();
      const pending = timedGet(s.url + searches.jaeger, ac.signal).catch(() => null);
      await new Promise((r) => setTimeout(r, 1000));
      ac.abort();
      await pending;
      const cpu0 = process.cpuUsage();
      await new Promise((r) => setTimeout(r, 5000));
      const cpu = process.cpuUsage(cpu0);
      result['cpu_seconds_after_abort_5s'] = Number(((cpu.user + cpu.system) / 1e6).toFixed(2));
      log(`  CPU in the 5 s after an abort: ${String(result['cpu_seconds_after_abort_5s'])} s`);
    } finally {
      await s.close();
    }
  }
  {
    const s = await start(10_000);
    try {
      for (const [k, path] of Object.entries(searches)) {
        const r = await timedGet(s.url + path);
        result[`search_${k}_budget_10s`] = summary(r, k as 'jaeger' | 'v3');
        log(`  ${k} with the 10 s budget: ${JSON.stringify(result[`search_${k}_budget_10s`])}`);
      }
      for (const [name, id] of [
        ['trace_10k', BIG_10K],
        ['trace_100k', BIG_100K],
      ] as const) {
        const out: Record<string, unknown> = {};
        for (const [api, p] of [
          ['v1', `/api/v1/traces/${id}`],
          ['jaeger', `/api/traces/${id}`],
          ['v3', `/api/v3/traces/${id}`],
          ['tempo_v2', `/tempo/api/v2/traces/${id}`],
        ] as const) {
          const r = await timedGet(s.url + p);
          const b = r.body as Record<string, unknown> | null;
          const cut = api === 'v1' ? b?.['truncated'] === true : api === 'jaeger' ? JSON.stringify((b?.['data'] as unknown[])?.[0] ?? {}).includes('trace cut') : api === 'v3' ? b?.['partial'] === true : b?.['status'] === 'PARTIAL';
          const spanCount = api === 'v1' ? ((b?.['spans'] as unknown[]) ?? []).length : null;
          out[api] = { status: r.status, ms: r.ms, mb: Number((r.bytes / 1e6).toFixed(2)), saysCut: cut, ...(spanCount !== null ? { spans: spanCount } : {}) };
        }
        result[name] = out;
        log(`  ${name}: ${JSON.stringify(out)}`);
      }
    } finally {
      await s.close();
    }
  }
  if (!keep) rmSync(dir, { recursive: true, force: true });
  return result;
}
