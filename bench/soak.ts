/**
 * @module `npm run soak`: Weft under a long, hostile run (issue 9). Not part of `npm test`.
 *
 * - `weft server` (DuckDB, --max-memory) and `weft agent --interfaces` (on a veth pair the soak
 *   creates, tc capture) run as child processes on fixed ports;
 * - calibration: real OTel exporters send as fast as the server acknowledges, which gives the
 *   sustainable rate R;
 * - main phase (WEFT_SOAK_SECONDS, default 600): OTel exporters (OTLP/HTTP protobuf, JSON and
 *   gRPC) offer 2R spans/s, while the server is killed with SIGKILL and restarted every
 *   WEFT_SOAK_SERVER_KILL_S (75 s), the agent every WEFT_SOAK_AGENT_KILL_S (50 s), and hostile
 *   queries run all along;
 * - after each agent kill (before the restart) it looks for the killed agent's tc filters and
 *   programs (`tc filter show`, `bpftool prog show`): leftovers;
 * - at the end every span a server acknowledged is looked up in the store: spans lost.
 *
 * Prints one JSON report (also written to WEFT_SOAK_REPORT if set).
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DuckDBInstance } from '@duckdb/node-api';
import { weftFilterProgIds } from '../src/agent/capture/tc-leftovers.js';
import { runSoakLoad, type SoakLoadResult } from './soak-load-child.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
// The sources through tsx, not bin/weft.js: that prefers dist/, which may be an older build.
const WEFT_ARGS = ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')];
const SECONDS = Number(process.env['WEFT_SOAK_SECONDS'] ?? 600);
const CALIBRATE_S = Number(process.env['WEFT_SOAK_CALIBRATE_S'] ?? 40);
const SERVER_KILL_S = Number(process.env['WEFT_SOAK_SERVER_KILL_S'] ?? 75);
const AGENT_KILL_S = Number(process.env['WEFT_SOAK_AGENT_KILL_S'] ?? 50);
const MAX_MEMORY_MIB = Number(process.env['WEFT_SOAK_MAX_MEMORY_MIB'] ?? 1024);
/** A killed agent's filters and programs must be gone within this. */
const LEFTOVER_BOUND_S = 10;

const dir = mkdtempSync(join(tmpdir(), 'weft-soak-'));
const log = (line: string): void => void process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const p = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(p));
    });
  });
}

const ports = { otlpGrpc: 0, otlpHttp: 0, zipkin: 0, skywalkingGrpc: 0, skywalkingHttp: 0, query: 0 };

let server: ChildProcess | null = null;
let peakRssMiB = 0;

function rssMiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** A server that has not said "listening" by then is killed and started again (counted). */
const START_TIMEOUT_MS = 90_000;
let startRetries = 0;
const startFailures: string[] = [];

async function startWeftServer(): Promise<void> {
  for (;;) {
    try {
      await startWeftServerOnce();
      return;
    } catch (err) {
      startRetries++;
      if (startFailures.length < 5) startFailures.push(err instanceof Error ? err.message.slice(0, 600) : String(err));
      log(`server start failed (${startRetries}): ${err instanceof Error ? err.message.slice(-300) : String(err)}`);
      if (startRetries > 10) throw err;
    }
  }
}

async function startWeftServerOnce(): Promise<void> {
  const args = [...WEFT_ARGS, 'server', '--data', join(dir, 'data'), '--max-memory', `${MAX_MEMORY_MIB}m`, '--log-level', 'info',
    '--otlp-grpc-port', String(ports.otlpGrpc), '--otlp-http-port', String(ports.otlpHttp), '--zipkin-port', String(ports.zipkin),
    '--sw-grpc-port', String(ports.skywalkingGrpc), '--sw-http-port', String(ports.skywalkingHttp), '--query-port', String(ports.query)];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`weft server not listening after ${START_TIMEOUT_MS} ms: ${err.slice(-2000)}`));
    }, START_TIMEOUT_MS);
    const onData = (d: Buffer): void => {
      err += d.toString();
      if (err.includes('weft listening')) {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        child.stderr?.resume();
        resolve();
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`weft server exited (${code}) before listening: ${err.slice(-2000)}`));
    });
  });
  server = child;
}

let agent: ChildProcess | null = null;
const VETH = `wfsoak${process.pid % 1000}`;

function startAgent(): void {
  // Frames of the soak's own veth only: no syscall tracing and no Node.js hook, so the agent
  // observes nothing of the other processes on the machine (other test suites run beside it).
  agent = spawn(process.execPath, [...WEFT_ARGS, 'agent', '--server', `http://127.0.0.1:${ports.otlpHttp}`, '--interfaces', VETH, '--no-syscalls', '--no-node-hook', '--log-level', 'warn'], {
    cwd: ROOT,
    env: { ...process.env, WEFT_TC_STATE_DIR: join(dir, 'tc') },
    stdio: 'ignore',
  });
}

function progAlive(id: number): boolean {
  try {
    execFileSync('bpftool', ['prog', 'show', 'id', String(id)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

type LoadResult = SoakLoadResult;

async function runLoad(kind: 'proto' | 'json' | 'grpc', rate: number, seconds: number, worker: string): Promise<LoadResult & { ackedFile: string }> {
  const url = kind === 'grpc' ? `http://127.0.0.1:${ports.otlpGrpc}` : `http://127.0.0.1:${ports.otlpHttp}/v1/traces`;
  const ackedFile = join(dir, `acked-${worker}.txt`);
  // Exporters at the lowest CPU priority, as clients on other machines would not take the
  // server's CPU (the VM has 2 cores); WEFT_SOAK_NICE=0 to share it equally.
  const got = await runSoakLoad({ kind, url, rate, seconds, worker, ackedFile, nice: process.env['WEFT_SOAK_NICE'] ?? '19' });
  return { ...got, ackedFile };
}

/** Hostile queries, each with what a correct server answers. */
function hostileQueries(): { path: string; ok: (status: number) => boolean; abortMs?: number }[] {
  const long = 'f'.repeat(600);
  return [
    { path: '/api/traces?service=soak-proto-a1&limit=1500&start=1', ok: (s) => s === 200 },
    { path: '/api/traces?service=soak-proto-a1&limit=1500&start=1', ok: () => true, abortMs: 200 },
    { path: '/api/v3/traces?query.service_name=soak-grpc-c1&query.search_depth=1500&query.start_time_min=2000-01-01T00:00:00Z', ok: (s) => s === 200 || s === 404 },
    { path: '/api/v1/spans?start=2262-04-12T00:00:00Z', ok: (s) => s === 400 },
    { path: '/api/v3/traces?query.service_name=x&query.start_time_min=9999-01-01T00:00:00Z', ok: (s) => s === 400 },
    { path: '/api/v1/spans?limit=99999', ok: (s) => s === 400 },
    { path: `/api/v1/traces/${long}`, ok: (s) => s === 414 },
    { path: `/api/v1/spans?service=${'x'.repeat(20_000)}`, ok: (s) => s === 431 },
    { path: '/api/v1/traces/%E0%A4%A', ok: (s) => s === 400 },
    { path: '/tempo/api/search?q=%7B%20.a%20%3D%20', ok: (s) => s === 400 },
    { path: '/api/v1/spans?minDuration=99999h', ok: (s) => s === 400 },
    { path: '/metrics', ok: (s) => s === 200 },
  ];
}

/** The server's own answer-time quantiles (weft_receiver_answer_seconds, OTLP/HTTP) and its counters. */
async function scrapeAnswers(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  try {
    const text = await (await fetch(`http://127.0.0.1:${ports.query}/metrics`, { signal: AbortSignal.timeout(20_000) })).text();
    for (const m of text.matchAll(/^weft_receiver_answer_seconds\{receiver="otlp_http",outcome="(\w+)",quantile="([\d.]+)"\} ([\d.e+-]+)$/gm)) out[`${m[1]}_p${Number(m[2]) * 100}_ms`] = Math.round(Number(m[3]) * 1000);
    for (const m of text.matchAll(/^weft_receiver_requests_total\{receiver="otlp_http",status="(\d+)"\} (\d+)$/gm)) out[`http_${m[1]}`] = Number(m[2]);
  } catch {
    // the server is busy or restarting: no snapshot
  }
  return out;
}
const answerSnapshots: Record<string, number>[] = [];

async function main(): Promise<void> {
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  execFileSync('ip', ['link', 'add', VETH, 'type', 'veth', 'peer', 'name', `${VETH}p`]);
  execFileSync('ip', ['link', 'set', VETH, 'up']);
  execFileSync('ip', ['link', 'set', `${VETH}p`, 'up']);
  const report: Record<string, unknown> = { seconds: SECONDS, maxMemoryMiB: MAX_MEMORY_MIB };
  const load1 = { min: Infinity, max: 0 };
  const sampler = setInterval(() => {
    peakRssMiB = Math.max(peakRssMiB, rssMiB(server?.pid));
    const l = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
    load1.min = Math.min(load1.min, l);
    load1.max = Math.max(load1.max, l);
  }, 250);
  try {
    await startWeftServer();
    startAgent();
    log(`server and agent up; calibrating for ${CALIBRATE_S} s`);

    // Calibration: as fast as acknowledged.
    const cal = await Promise.all([runLoad('proto', 0, CALIBRATE_S, 'c0'), runLoad('grpc', 0, CALIBRATE_S, 'c1')]);
    const sustainable = cal.reduce((a, r) => a + r.ackedSpans, 0) / CALIBRATE_S;
    report['sustainableSpansPerSec'] = Math.round(sustainable);
    report['calibration'] = cal.map(({ ackedFile: _f, ...r }) => r);
    log(`sustainable rate ≈ ${Math.round(sustainable)} spans/s; main phase at 2× for ${SECONDS} s`);
    const calibrationPeak = peakRssMiB;

    // Main phase.
    const offered = 2 * sustainable;
    const loads = Promise.all([runLoad('proto', offered * 0.5, SECONDS, 'a1'), runLoad('json', offered * 0.2, SECONDS, 'b1'), runLoad('grpc', offered * 0.3, SECONDS, 'c1')]);
    const started = Date.now();
    let serverKills = 0;
    let agentKills = 0;
    let leftovers = 0;
    const cleanupMs: number[] = [];
    const leftoverDetail: string[] = [];
    let nextServerKill = started + SERVER_KILL_S * 1000;
    let nextAgentKill = started + AGENT_KILL_S * 1000;
    const hostile = hostileQueries();
    const q = { total: 0, wrong: 0, fiveXx: 0, unreachable: 0, wrongDetail: [] as string[], healthzMs: [] as number[], metricsMs: [] as number[] };
    let qi = 0;
    let running = true;
    let stopHealthProbe = (): void => undefined;
    // Hostile queries back to back, and a health probe twice a second, beside the kills.
    const hostileLoop = (async () => {
      while (running) {
        const h = hostile[qi++ % hostile.length] as (typeof hostile)[number];
        try {
          const ac = new AbortController();
          const timer = h.abortMs ? setTimeout(() => ac.abort(), h.abortMs) : null;
          const res = await fetch(`http://127.0.0.1:${ports.query}${h.path}`, { signal: ac.signal }).catch((e: unknown) => (h.abortMs ? null : Promise.reject(e)));
          if (timer) clearTimeout(timer);
          if (res) {
            await res.arrayBuffer().catch(() => undefined);
            q.total++;
            if (res.status >= 500 && res.status !== 503) q.fiveXx++;
            if (!h.ok(res.status)) {
              q.wrong++;
              if (q.wrongDetail.length < 10) q.wrongDetail.push(`${res.status} ${h.path.slice(0, 80)}`);
            }
          }
        } catch {
          q.unreachable++; // the server is restarting
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    })();
    // The health probe runs in a thread of its own: this loop blocks on tc and bpftool (leftover
    // checks after each agent kill, up to seconds on a loaded host), and a probe timed here
    // would count that wait as the server's (the soak of 3 December 18:09 read /healthz p99 5.6 s so).
    const healthProbe = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
      let running = true;
      parentPort.on('message', () => { running = false; });
      (async () => {
        while (running) {
          try {
            const t = performance.now();
            const hz = await fetch(workerData.base + '/healthz');
            await hz.arrayBuffer();
            const t2 = performance.now();
            const m = await fetch(workerData.base + '/metrics');
            await m.arrayBuffer();
            parentPort.postMessage([t2 - t, performance.now() - t2]);
          } catch {
            // restarting
          }
          await new Promise((r) => setTimeout(r, 500));
        }
        parentPort.close();
      })();`,
      { eval: true, workerData: { base: `http://127.0.0.1:${ports.query}` } },
    );
    healthProbe.on('message', ([h, m]: [number, number]) => {
      q.healthzMs.push(h);
      q.metricsMs.push(m);
    });
    const healthLoop = new Promise<void>((resolve) => {
      healthProbe.once('exit', () => resolve());
      stopHealthProbe = () => healthProbe.postMessage('stop');
    });
    while (Date.now() - started < SECONDS * 1000) {
      const now = Date.now();
      if (now >= nextServerKill) {
        nextServerKill += SERVER_KILL_S * 1000;
        peakRssMiB = Math.max(peakRssMiB, rssMiB(server?.pid));
        answerSnapshots.push(await scrapeAnswers());
        server?.kill('SIGKILL');
        serverKills++;
        await new Promise((r) => setTimeout(r, 300));
        await startWeftServer();
        log(`server killed and restarted (${serverKills})`);
      }
      if (now >= nextAgentKill) {
        nextAgentKill += AGENT_KILL_S * 1000;
        const ids = [...weftFilterProgIds(VETH, 'ingress'), ...weftFilterProgIds(VETH, 'egress')];
        agent?.kill('SIGKILL');
        agentKills++;
        // Leftovers: what of the killed agent is still there LEFTOVER_BOUND_S after the kill.
        const killedAt = Date.now();
        let filters = 0;
        let progs = 0;
        for (;;) {
          filters = weftFilterProgIds(VETH, 'ingress').length + weftFilterProgIds(VETH, 'egress').length;
          progs = ids.filter(progAlive).length;
          if (filters + progs === 0 || Date.now() - killedAt > LEFTOVER_BOUND_S * 1000) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        const tookMs = Date.now() - killedAt;
        cleanupMs.push(tookMs);
        if (filters + progs > 0) leftoverDetail.push(`kill ${agentKills}: ${filters} filters, ${progs} programs after ${LEFTOVER_BOUND_S} s`);
        leftovers += filters + progs;
        log(`agent killed (${agentKills}, had ${ids.length} programs); gone after ${tookMs} ms; leftovers: ${filters + progs}`);
        startAgent();
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    running = false;
    stopHealthProbe();
    await Promise.all([hostileLoop, healthLoop]);
    const results = await loads;
    answerSnapshots.push(await scrapeAnswers());
    log('load done; stopping the agent and the server cleanly');
    agent?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 3000));
    server?.kill('SIGTERM');
    await new Promise<void>((r) => (server?.exitCode !== null ? r() : server.once('exit', () => r())));
    clearInterval(sampler);

    // Every acknowledged span must be in the store.
    const instance = await DuckDBInstance.create(join(dir, 'data', 'weft.duckdb'));
    const conn = await instance.connect();
    let lost = 0;
    let acked = 0;
    for (const r of results) {
      const rows = await conn.runAndReadAll(`SELECT DISTINCT span_id FROM spans WHERE service = '${r.service}'`);
      const stored = new Set(rows.getRows().map((row) => String(row[0])));
      const ackedIds = readFileSync(r.ackedFile, 'utf8').split('\n').filter((l) => l !== '');
      acked += ackedIds.length;
      for (const id of ackedIds) if (!stored.has(id)) lost++;
    }
    conn.closeSync();
    const latencies = results.map((r) => ({ kind: r.kind, p50: r.ackP50Ms, p99: r.ackP99Ms, max: r.ackMaxMs, ackedP50: r.ackedP50Ms, ackedP99: r.ackedP99Ms }));
    q.healthzMs.sort((a, b) => a - b);
    q.metricsMs.sort((a, b) => a - b);
    const pct = (xs: number[], p: number): number => Math.round(xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0);
    Object.assign(report, {
      offeredSpansPerSec: Math.round(offered),
      sentSpans: results.reduce((a, r) => a + r.sentSpans, 0),
      ackedSpans: acked,
      acceptedSpansPerSec: Math.round(acked / SECONDS),
      refusedSpans: results.reduce((a, r) => a + r.failedSpans, 0),
      clientDroppedSpans: results.reduce((a, r) => a + r.clientDroppedSpans, 0),
      ackLatencyMs: latencies,
      serverAnswerMs: answerSnapshots,
      agentCleanupMs: cleanupMs,
      loadAverage: { end: readFileSync('/proc/loadavg', 'utf8').trim(), oneMinuteMin: load1.min, oneMinuteMax: load1.max },
      spansLost: lost,
      peakRssMiB: Math.round(Math.max(peakRssMiB, calibrationPeak)),
      serverKills,
      serverStartRetries: startRetries,
      serverStartFailures: startFailures,
      agentKills,
      leftovers,
      leftoverDetail,
      hostileQueries: { total: q.total, wrongStatus: q.wrong, fiveXx: q.fiveXx, unreachableWhileRestarting: q.unreachable, wrongDetail: q.wrongDetail },
      healthzMs: { p50: pct(q.healthzMs, 0.5), p99: pct(q.healthzMs, 0.99), max: pct(q.healthzMs, 1) },
      metricsMs: { p50: pct(q.metricsMs, 0.5), p99: pct(q.metricsMs, 0.99), max: pct(q.metricsMs, 1) },
      loads: results.map(({ ackedFile: _f, ...r }) => r),
    });
  } finally {
    clearInterval(sampler);
    agent?.kill('SIGKILL');
    server?.kill('SIGKILL');
    try {
      execFileSync('ip', ['link', 'del', VETH], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
  const text = JSON.stringify(report, null, 2);
  process.stdout.write(`${text}\n`);
  if (process.env['WEFT_SOAK_REPORT']) writeFileSync(process.env['WEFT_SOAK_REPORT'], text);
  if (report['spansLost'] !== 0 || report['leftovers'] !== 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
