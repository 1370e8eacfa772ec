/**
 * @module `npm run bench -- overload`: how `/healthz`, `/metrics` and acknowledgements behave
 * when real OTel exporters offer twice the sustainable rate (issue 9, A2), through a real
 * `weft server` child process (DuckDB, `--max-memory`).
 *
 * - calibration: the OTLP/HTTP proto and gRPC exporters export back to back (bench/soak-load.ts)
 *   for WEFT_BENCH_OVERLOAD_CALIBRATE_S (20 s): acknowledged spans/s = the sustainable rate R;
 * - overload: 2R offered (50% OTLP/HTTP proto, 20% JSON, 30% gRPC) for WEFT_BENCH_OVERLOAD_S
 *   (60 s) while `/healthz` and `/metrics` are each asked every 100 ms.
 *
 * Reported: probe latencies p50/p99/max, ack p50/p99 per exporter, accepted and refused spans,
 * the server's peak RSS (VmHWM) against --max-memory, the load average. The reference is the
 * same probes against the idle server just before the load (side by side in one run).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startIdleProcess } from './idle-process.js';
import { runSoakLoad, type SoakLoadResult } from './soak-load-child.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const WEFT_ARGS = ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')];
const PROBE_EVERY_MS = 100;

/** `n` distinct free ports (held open together while chosen, so none is handed out twice). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    return typeof a === 'object' && a ? a.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

type LoadResult = SoakLoadResult;

function runLoad(kind: 'proto' | 'json' | 'grpc', url: string, rate: number, seconds: number, worker: string): Promise<LoadResult> {
  // The exporters run at the lowest CPU priority: on a 2-core VM they would otherwise take the
  // server's CPU, which real clients on other machines do not (WEFT_BENCH_OVERLOAD_NICE=0 to share).
  return runSoakLoad({ kind, url, rate, seconds, worker, nice: process.env['WEFT_BENCH_OVERLOAD_NICE'] ?? '19' });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0) * 10) / 10;
}

/** Asks `url` every PROBE_EVERY_MS until stopped; each answer's time in ms (a failure counts as its time too). */
function probe(url: string, onBody?: (text: string) => void): { stop: () => Promise<{ p50: number; p99: number; max: number; n: number; failed: number }> } {
  const times: number[] = [];
  let failed = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
        const text = await res.text();
        onBody?.(text);
        if (res.status !== 200) failed++;
      } catch {
        failed++;
      }
      times.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { p50: pct(times, 0.5), p99: pct(times, 0.99), max: pct(times, 1), n: times.length, failed };
    },
  };
}

/** The server's own answer-time quantiles of OTLP/HTTP requests (weft_receiver_answer_seconds). */
async function serverAnswers(q: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const text = await (await fetch(`${q}/metrics`)).text();
  for (const m of text.matchAll(/^weft_receiver_answer_seconds\{receiver="otlp_http",outcome="(\w+)",quantile="([\d.]+)"\} ([\d.e+-]+)$/gm)) out[`${m[1]}_p${Math.round(Number(m[2]) * 100)}`] = Math.round(Number(m[3]) * 1000);
  return out;
}

function vmHwmMiB(pid: number | undefined): number {
  try {
    return Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

export async function runOverloadBench(log: (line: string) => void): Promise<unknown> {
  const calibrateS = Number(process.env['WEFT_BENCH_OVERLOAD_CALIBRATE_S'] ?? 20);
  const seconds = Number(process.env['WEFT_BENCH_OVERLOAD_S'] ?? 60);
  const maxMemoryMiB = Number(process.env['WEFT_BENCH_OVERLOAD_MAX_MEMORY_MIB'] ?? 1024);
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-overload-'));
  const [otlpGrpc, otlpHttp, zipkin, swGrpc, swHttp, query] = await freePorts(6);
  const ports = { otlpGrpc, otlpHttp, zipkin, swGrpc, swHttp, query };
  const args = [...WEFT_ARGS, 'server', '--data', join(dir, 'data'), '--max-memory', `${maxMemoryMiB}m`,
    '--otlp-grpc-port', String(ports.otlpGrpc), '--otlp-http-port', String(ports.otlpHttp), '--zipkin-port', String(ports.zipkin),
    '--sw-grpc-port', String(ports.swGrpc), '--sw-http-port', String(ports.swHttp), '--query-port', String(ports.query)];
  let server: ChildProcess | null = null;
  let idleProcess: ChildProcess | null = null;
  try {
    // WEFT_BENCH_OVERLOAD_PROF=DIR: the server writes a CPU profile there (it is stopped with SIGINT).
    const prof = process.env['WEFT_BENCH_OVERLOAD_PROF'];
    // WEFT_BENCH_OVERLOAD_NODE_ARGS: more Node options for the server (e.g. `--trace-gc`, a diagnostic `--import`).
    const nodeArgs = (process.env['WEFT_BENCH_OVERLOAD_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
    server = spawn(process.execPath, [...nodeArgs, ...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    const child = server;
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const onData = (d: Buffer): void => {
        err += d.toString();
        if (err.includes('weft listening')) {
          child.stderr?.off('data', onData);
          child.stderr?.resume();
          resolve();
        }
      };
      child.stderr?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`weft server exited (${code}): ${err.slice(-2000)}`)));
    });
    const q = `http://127.0.0.1:${ports.query}`;
    const http = `http://127.0.0.1:${ports.otlpHttp}/v1/traces`;
    const grpc = `http://127.0.0.1:${ports.otlpGrpc}`;

    const idle = [probe(`${q}/healthz`), probe(`${q}/metrics`)];
    await new Promise((r) => setTimeout(r, 3000));
    const [idleHealthz, idleMetrics] = await Promise.all(idle.map((p) => p.stop()));
    log(`idle: /healthz ${JSON.stringify(idleHealthz)}, /metrics ${JSON.stringify(idleMetrics)}`);

    log(`calibrating ${calibrateS} s`);
    const cal = await Promise.all([runLoad('proto', http, 0, calibrateS, 'e0'), runLoad('grpc', grpc, 0, calibrateS, 'e1')]);
    const sustainable = cal.reduce((a, r) => a + r.ackedSpans, 0) / calibrateS;
    log(`sustainable ≈ ${Math.round(sustainable)} spans/s; ${seconds} s at 2×`);

    const offered = 2 * sustainable;
    // The server's own event-loop delay: each /metrics answer covers the time since the previous one.
    const loopMaxMs: number[] = [];
    const onMetrics = (text: string): void => {
      const m = /^weft_event_loop_delay_seconds\{quantile="1"\} ([\d.e+-]+)$/m.exec(text);
      if (m) loopMaxMs.push(Number(m[1]) * 1000);
    };
    const reference = await startIdleProcess();
    idleProcess = reference.child;
    const probes = [probe(`${q}/healthz`), probe(`${q}/metrics`, onMetrics), probe(reference.url)];
    const loadAvgBefore = readFileSync('/proc/loadavg', 'utf8').trim();
    const loads = await Promise.all([
      runLoad('proto', http, offered * 0.5, seconds, 'f1'),
      runLoad('json', http, offered * 0.2, seconds, 'f2'),
      runLoad('grpc', grpc, offered * 0.3, seconds, 'f3'),
    ]);
    const [healthz, metrics, idleProcessProbe] = await Promise.all(probes.map((p) => p.stop()));
    const result = {
      sustainableSpansPerSec: Math.round(sustainable),
      offeredSpansPerSec: Math.round(offered),
      acceptedSpansPerSec: Math.round(loads.reduce((a, r) => a + r.ackedSpans, 0) / seconds),
      refusedSpans: loads.reduce((a, r) => a + r.failedSpans, 0),
      clientDroppedSpans: loads.reduce((a, r) => a + r.clientDroppedSpans, 0),
      // Every export (a refused one ends when the SDK gives up), and the acknowledged ones alone.
      exportMs: loads.map((r) => ({ kind: r.kind, p50: r.ackP50Ms, p99: r.ackP99Ms, max: r.ackMaxMs, ackedP50: r.ackedP50Ms, ackedP99: r.ackedP99Ms })),
      serverAnswerMs: await serverAnswers(q),
      healthzMs: { idle: idleHealthz, overload: healthz },
      // The same probe against an idle separate process during the overload: the host's floor.
      idleProcessMs: idleProcessProbe,
      metricsMs: { idle: idleMetrics, overload: metrics },
      // Longest the loop was held in each ~100 ms between /metrics answers: p50/p99/max of those.
      eventLoopHeldMs: { p50: pct(loopMaxMs, 0.5), p99: pct(loopMaxMs, 0.99), max: pct(loopMaxMs, 1) },
      peakRssMiB: vmHwmMiB(server.pid),
      maxMemoryMiB,
      loadAverage: { before: loadAvgBefore, after: readFileSync('/proc/loadavg', 'utf8').trim() },
    };
    log(JSON.stringify(result));
    return result;
  } finally {
    if ((process.env['WEFT_BENCH_OVERLOAD_PROF'] || process.env['WEFT_BENCH_OVERLOAD_NODE_ARGS']) && server && server.exitCode === null) {
      const s = server;
      s.kill('SIGINT');
      await new Promise((r) => s.once('exit', r));
    }
    server?.kill('SIGKILL');
    idleProcess?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
