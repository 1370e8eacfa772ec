/**
 * @module Assembly benchmark: the pure `assemble` for 40 / 1k / 10k-span full-stack traces,
 * and walk + assemble of a 40-span trace in a DuckDB store holding background SYS spans, with
 * the walk's window cache on and, side by side as the reference, off.
 *
 * Env: WEFT_BENCH_ASSEMBLY_STORE_SPANS (background spans, default 1,000,000; 0 skips the
 * store part), WEFT_BENCH_ASSEMBLY_DB (reuse this DuckDB file when it exists; it is then not
 * removed), WEFT_BENCH_ASSEMBLY_RUNS (default 50).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptySpan } from '../src/model/index.js';
import type { ObservationPoint, SpanRecord } from '../src/model/index.js';
import { openDuckDbStore } from '../src/server/store/index.js';
import { assemble } from '../src/server/tracing/assemble.js';
import { collectTraceSpans } from '../src/server/tracing/collect.js';
import { sysSpans } from './sys-spans.js';

export interface AssemblyBenchResult {
  pure: { spans: number; p50Ms: number; p99Ms: number; runs: number }[];
  store?: { storeSpans: number; traceSpans: number; seed: string; walk: string; p50Ms: number; p99Ms: number; runs: number; foundSpans: number }[];
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

/**
 * Trace number `k` with exactly `size` spans (size ≥ 14): curl → nginx → OTel frontend →
 * backend (the 14-span demo shape), then the backend fans out to a leaf service: per call a
 * c-p (syscall-chained), the leaf's NIC span, its s-p and its Redis c-p.
 */
export function syntheticTrace(k: number, size: number, t0: bigint): SpanRecord[] {
  const ms = (x: number): bigint => t0 + BigInt(Math.round(x * 1e6));
  const traceId = hex(k + 1, 32);
  const sid = (n: number): string => hex(k * 100_000 + n + 1, 16);
  const seqBase = (k * 7919 * 100_000) % 4_000_000_000;
  const seq = (n: number): number => ((seqBase + n * 10) % 4_294_967_000) + 1;
  const sysBase = k * 1_000_000 + 1;
  const out: SpanRecord[] = [];
  const add = (op: ObservationPoint, at: [number, number], f: Partial<SpanRecord>): void => {
    const source = op.endsWith('app') ? 'app' : op.endsWith('-p') ? 'sys' : 'net';
    out.push({
      ...emptySpan({ source, origin: source === 'app' ? 'otlp' : source === 'sys' ? 'ebpf' : 'packet', observationPoint: op }),
      transport: source === 'app' ? '' : 'tcp',
      protocol: 'http',
      startTimeUnixNano: ms(at[0]),
      endTimeUnixNano: ms(at[1]),
      ...f,
    });
  };
  const calls = Math.max(0, Math.ceil((size - 14) / 4));
  const span = 100 + calls * 0.2;
  const root = sid(0);
  add('c-p', [0, span], { name: 'curl', hostId: 'h1', processId: 1, spanId: sid(1), traceId, parentSpanId: root, reqTcpSeq: seq(1), respTcpSeq: seq(2) });
  add('c', [0.1, span - 0.1], { name: 'h1 nic', hostId: 'h1', spanId: sid(2), reqTcpSeq: seq(1), respTcpSeq: seq(2) });
  add('s', [0.2, span - 0.2], { name: 'h2 nic', hostId: 'h2', spanId: sid(3), reqTcpSeq: seq(1), respTcpSeq: seq(2) });
  add('s-p', [0.3, span - 0.3], { name: 'nginx', hostId: 'h2', processId: 2, spanId: sid(4), traceId, parentSpanId: root, reqTcpSeq: seq(1), respTcpSeq: seq(2), syscallTraceIdReq: sysBase, syscallTraceIdResp: sysBase + 1 });
  add('c-p', [0.4, span - 0.4], { name: 'nginx up', hostId: 'h2', processId: 2, spanId: sid(5), traceId, parentSpanId: root, reqTcpSeq: seq(3), respTcpSeq: seq(4), syscallTraceIdReq: sysBase, syscallTraceIdResp: sysBase + 1, xRequestIdReq: `rid-${k}` });
  add('s-p', [0.5, span - 0.5], { name: 'frontend', hostId: 'h2', processId: 3, spanId: sid(6), traceId, parentSpanId: root, reqTcpSeq: seq(3), respTcpSeq: seq(4), xRequestIdReq: `rid-${k}`, syscallTraceIdReq: sysBase + 2, syscallTraceIdResp: sysBase + 3 });
  add('s-app', [0.6, span - 0.6], { name: 'GET /', spanId: sid(7), parentSpanId: root, traceId, service: 'frontend' });
  add('c-app', [0.7, span - 0.7], { name: 'GET backend', spanId: sid(8), parentSpanId: sid(7), traceId, service: 'frontend' });
  add('c-p', [0.8, span - 0.8], { name: 'frontend up', hostId: 'h2', processId: 3, spanId: sid(9), traceId, parentSpanId: sid(8), reqTcpSeq: seq(5), respTcpSeq: seq(6) });
  add('s', [0.9, span - 0.9], { name: 'h3 nic', hostId: 'h3', spanId: sid(10), reqTcpSeq: seq(5), respTcpSeq: seq(6) });
  add('s-p', [1, span - 1], { name: 'backend', hostId: 'h3', processId: 4, spanId: sid(11), traceId, parentSpanId: sid(8), reqTcpSeq: seq(5), respTcpSeq: seq(6), syscallTraceIdReq: sysBase + 10, syscallTraceIdResp: sysBase + 10 + calls + 3 });
  let sys = sysBase + 10;
  const db: Array<[string, string]> = [['redis', 'GET'], ['mysql', 'SELECT'], ['dns', 'A']];
  db.forEach(([protocol, requestType], j) => {
    add('c-p', [1.1 + j, 1.9 + j], { name: protocol, protocol, requestType, hostId: 'h3', processId: 4, spanId: sid(12 + j), reqTcpSeq: seq(7 + 2 * j), respTcpSeq: seq(8 + 2 * j), syscallTraceIdReq: sys, syscallTraceIdResp: sys + 1 });
    sys++;
  });
  for (let c = 0; c < calls && out.length < size; c++) {
    const t = 5 + c * 0.2;
    const s = seq(100 + 4 * c);
    const r = seq(101 + 4 * c);
    const n = 100 + 4 * c;
    add('c-p', [t, t + 0.15], { name: `leaf call ${c}`, hostId: 'h3', processId: 4, spanId: sid(n), reqTcpSeq: s, respTcpSeq: r, syscallTraceIdReq: sys, syscallTraceIdResp: sys + 1 });
    sys++;
    if (out.length < size) add('s', [t + 0.01, t + 0.14], { name: `h4 nic ${c}`, hostId: 'h4', spanId: sid(n + 1), reqTcpSeq: s, respTcpSeq: r });
    const leafSys = sysBase + 500_000 + c * 2;
    if (out.length < size) add('s-p', [t + 0.02, t + 0.13], { name: `leaf ${c}`, hostId: 'h4', processId: 5, spanId: sid(n + 2), reqTcpSeq: s, respTcpSeq: r, syscallTraceIdReq: leafSys, syscallTraceIdResp: leafSys + 1 });
    if (out.length < size) add('c-p', [t + 0.03, t + 0.05], { name: `leaf redis ${c}`, protocol: 'redis', hostId: 'h4', processId: 5, spanId: sid(n + 3), reqTcpSeq: seq(102 + 4 * c), respTcpSeq: seq(103 + 4 * c), syscallTraceIdReq: leafSys, syscallTraceIdResp: leafSys + 1 });
  }
  return out.slice(0, size);
}

function timeIt(runs: number, f: () => void): { p50Ms: number; p99Ms: number } {
  // Warm the JIT first: a server assembles many traces, the first few are not the steady state.
  for (let i = 0; i < Math.min(10, runs); i++) f();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    xs.push(performance.now() - t);
  }
  return { p50Ms: +percentile(xs, 50).toFixed(3), p99Ms: +percentile(xs, 99).toFixed(3) };
}

export async function runAssemblyBench(log: (line: string) => void = () => {}): Promise<AssemblyBenchResult> {
  const t0 = 1_700_000_000_000_000_000n;
  const result: AssemblyBenchResult = { pure: [] };
  for (const [size, runs] of [[40, 200], [1000, 30], [10_000, 5]] as const) {
    const spans = syntheticTrace(1, size, t0);
    const check = assemble(spans, { traceId: spans[0]?.traceId ?? '' });
    const roots = check.nodes.filter((n) => n.parentId === null).length;
    if (check.nodes.length !== size || roots !== 1) log(`  warning: ${size}-span trace assembled to ${check.nodes.length} nodes, ${roots} roots`);
    const r = timeIt(runs, () => assemble(spans, { traceId: spans[0]?.traceId ?? '' }));
    result.pure.push({ spans: size, runs, ...r });
    log(`  pure assemble ${size} spans: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`);
  }

  const background = Number(process.env['WEFT_BENCH_ASSEMBLY_STORE_SPANS'] ?? 1_000_000);
  if (background <= 0) return result;
  const runs = Number(process.env['WEFT_BENCH_ASSEMBLY_RUNS'] ?? 50);
  const given = process.env['WEFT_BENCH_ASSEMBLY_DB'];
  const dir = given ? null : mkdtempSync(join(tmpdir(), 'weft-bench-assembly-'));
  const path = given ?? join(dir as string, 'assembly.duckdb');
  const traces = 100;
  const fresh = !existsSync(path);
  const store = await openDuckDbStore({ path });
  try {
    const gap = 1_000_000n; // background: 1k spans per simulated second
    if (fresh) {
      const batch = 10_000;
      for (let from = 0; from < background; from += batch) {
        await store.write(sysSpans(from, Math.min(batch, background - from), t0, gap));
        if ((from / batch) % 50 === 0) log(`  background ${from + batch}/${background}`);
      }
      for (let k = 0; k < traces; k++) {
        await store.write(syntheticTrace(k, 40, t0 + (BigInt(background) * gap * BigInt(k)) / BigInt(traces)));
      }
    }
    const storeSpans = await store.countSpans();
    // The walk as shipped (window cache) and, interleaved run by run as the reference, the same
    // walk with the cache off (every round's keys go to the link-key index).
    const modes = [
      ['window cache', { maxSpans: 10_000, maxPerKey: 64 }],
      ['index only', { maxSpans: 10_000, maxPerKey: 64, windowSpans: 0 }],
    ] as const;
    result.store = [];
    for (const seedKind of ['traceId', 'spanId'] as const) {
      const xs = modes.map((): number[] => []);
      let found = 0;
      for (let i = 0; i < runs; i++) {
        const k = (i * 37) % traces;
        const spans = syntheticTrace(k, 40, t0 + (BigInt(background) * gap * BigInt(k)) / BigInt(traces));
        // spanId: the backend's redis c-p, a span no one instrumented (no trace id of its own).
        const seed = seedKind === 'traceId' ? { traceId: spans[0]?.traceId ?? '' } : { spanId: spans[11]?.spanId ?? '' };
        for (let m = 0; m < modes.length; m++) {
          const mode = (i % 2 === 0 ? m : modes.length - 1 - m) as 0 | 1;
          const t = performance.now();
          const got = await collectTraceSpans(store, seed, modes[mode][1]);
          const trace = assemble(got.spans, { ...seed, ...(seed.spanId ? { seedSpanId: seed.spanId } : {}), hotKeys: new Set(got.hotKeys) });
          xs[mode]?.push(performance.now() - t);
          if (mode === 0) found = trace.nodes.length;
        }
      }
      modes.forEach(([walk], m) => {
        const ms = xs[m] ?? [];
        const r = { storeSpans, traceSpans: 40, seed: seedKind, walk, runs, foundSpans: found, p50Ms: +percentile(ms, 50).toFixed(2), p99Ms: +percentile(ms, 99).toFixed(2) };
        result.store?.push(r);
        log(`  store ${storeSpans} spans, seed by ${seedKind}, ${walk}: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms (trace has ${found} spans)`);
      });
      const [on, off] = [percentile(xs[0] ?? [], 50), percentile(xs[1] ?? [], 50)];
      log(`  store ${storeSpans} spans, seed by ${seedKind}: p50 window cache / index only = ${(on / off).toFixed(2)}`);
    }
  } finally {
    await store.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  return result;
}
