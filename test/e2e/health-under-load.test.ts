/**
 * @module /healthz answers quickly while ingest is overloaded (issue 9, A2), against `weft server`
 * as a child process: real OTel exporters (OTLP/HTTP protobuf through the SDK's own transport,
 * bench/soak-load.ts, 512- and 8192-span batches) and senders of large SDK-serialized bodies
 * (~10 MB protobuf and ~9.6 MB OTLP/JSON, bench/large-body-sender.ts), all in child processes at
 * nice 10 (as clients on other machines), export back to back: more than the server can make
 * durable.
 *
 * The reference is measured at the same moments: an idle HTTP server in a process of its own,
 * asked at the same instant as /healthz every 50 ms, so both see the same host (the scheduler's
 * delays, this process's own). /healthz's p95 and p99 may sit at most 40 and 80 ms above that
 * process's. Before the query port's front door (a thread answering /healthz, front-door.ts) the
 * main thread answered it, behind GC pauses, ingest steps, one-step JSON.parse of each large JSON
 * body and the run-queue wait of a busy thread. Measured alternately on the shared 2-core VM:
 * load 13-14, before: p95 132 / p99 360 ms against the idle process's 128 / 192 ms (fails);
 * after: 42 / 87 ms against 37 / 57 ms (passes). Acknowledgements are checked on the server's own
 * answer times (weft_receiver_answer_seconds): the exporters run at nice 10, so their own timing
 * includes the CPU they were not given.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startIdleProcess } from '../../bench/idle-process.js';
import { runSoakLoad, type SoakLoadResult } from '../../bench/soak-load-child.js';
import { PORT_FLAGS_ZERO, cliFromSource, exited, startUntilListening } from './cli-process.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LOAD_SECONDS = 20;
const PROBE_EVERY_MS = 50;
/** Spans per export of each OTel SDK exporter: the SDK default and a collector's batch. */
const BATCHES = [512, 8192];
/** Large bodies, serialized by the OTel SDK, posted back to back by this many senders each: protobuf (32768 spans, ~10 MB) and JSON (12000 spans, ~9.6 MB). */
const LARGE_SENDERS = 2;
const LARGE_PROTO_SPANS = 32768;
const LARGE_JSON_SPANS = 12000;
/** How far /healthz's p95 and p99 may sit above an idle process's, probed at the same moments, ms. */
const P95_ABOVE_CONTROL_MS = 40;
const P99_ABOVE_CONTROL_MS = 80;

function load(url: string, batch: number, worker: string): Promise<SoakLoadResult> {
  return runSoakLoad({ kind: 'proto', url, rate: 0, seconds: LOAD_SECONDS, worker, nice: '10', env: { WEFT_LOAD_BATCH: String(batch) } });
}

/** bench/large-body-sender.ts in a child process at nice 10: one SDK-serialized body posted back to back; its answers by status. */
function largeSender(url: string, kind: 'proto' | 'json', spans: number, seconds: number): Promise<Record<string, number>> {
  const child = spawn('nice', ['-n', '10', process.execPath, '--import', 'tsx', join(ROOT, 'bench', 'large-body-sender.ts'), url, kind, String(spans), String(seconds)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      try {
        resolve((JSON.parse(out.trim()) as { statuses: Record<string, number> }).statuses);
      } catch {
        reject(new Error(`large-body sender exited ${code}: ${out}`));
      }
    });
  });
}

async function probe(url: string, untilMs: number): Promise<number[]> {
  const times: number[] = [];
  while (Date.now() < untilMs) {
    times.push(await timeGet(url));
    await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
  }
  return times.sort((a, b) => a - b);
}

async function timeGet(url: string): Promise<number> {
  const t = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  await res.arrayBuffer();
  expect(res.status).toBe(200);
  return performance.now() - t;
}

/** Rounds of one GET to each URL at the same moment, every PROBE_EVERY_MS: the two latencies of each round. */
async function probePairs(a: string, b: string, untilMs: number): Promise<[number, number][]> {
  const rounds: [number, number][] = [];
  while (Date.now() < untilMs) {
    rounds.push(await Promise.all([timeGet(a), timeGet(b)]));
    await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
  }
  return rounds;
}

const pct = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0;

let dir = '';
let server: Awaited<ReturnType<typeof startUntilListening>> | null = null;
let control: ChildProcess | null = null;
afterAll(async () => {
  control?.kill('SIGKILL');
  if (server) {
    server.child.kill('SIGTERM');
    await exited(server.child);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('/healthz under ingest overload', () => {
  it(`p95 within ${P95_ABOVE_CONTROL_MS} ms and p99 within ${P99_ABOVE_CONTROL_MS} ms of an idle process's, probed at the same moments, while OTel exporters and 10 MB bodies overload the server`, async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-health-'));
    server = await startUntilListening(cliFromSource(['server', '--data', dir, ...PORT_FLAGS_ZERO, '--max-memory', '1024m']));
    const started = await startIdleProcess();
    control = started.child;
    const healthz = `http://127.0.0.1:${server.ports.query}/healthz`;
    // Warm-up: the first answers compile the routes.
    await Promise.all([probe(healthz, Date.now() + 1000), probe(started.url, Date.now() + 1000)]);
    const ingest = `http://127.0.0.1:${server.ports.otlpHttp}/v1/traces`;
    const loads = Promise.all(BATCHES.map((b, i) => load(ingest, b, `d${i + 1}`)));
    const largeLoads = Promise.all(
      Array.from({ length: LARGE_SENDERS }, () => [largeSender(ingest, 'proto', LARGE_PROTO_SPANS, LOAD_SECONDS - 1), largeSender(ingest, 'json', LARGE_JSON_SPANS, LOAD_SECONDS - 1)]).flat(),
    );
    // Probing starts once the exporters are up and sending (their start-up is a few seconds of tsx).
    await new Promise((r) => setTimeout(r, 5000));
    const probeUntil = Date.now() + (LOAD_SECONDS - 7) * 1000;
    const rounds = await probePairs(healthz, started.url, probeUntil);
    const busy = rounds.map((r) => r[0]).sort((x, y) => x - y);
    const idleProcess = rounds.map((r) => r[1]).sort((x, y) => x - y);
    const slower = rounds.map(([w, c]) => w - c).sort((x, y) => x - y);
    const results = await loads;
    const largeAnswers = await largeLoads;
    const metrics = await (await fetch(`http://127.0.0.1:${server.ports.query}/metrics`)).text();
    const answer = (outcome: string, q: string): number =>
      Number(new RegExp(`^weft_receiver_answer_seconds\\{receiver="otlp_http",outcome="${outcome}",quantile="${q}"\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN) * 1000;
    const loopMax = Number(/^weft_event_loop_delay_seconds\{quantile="1"\} (\S+)$/m.exec(metrics)?.[1] ?? NaN) * 1000;
    const acked = results.reduce((a, r) => a + r.ackedSpans, 0);
    const q = (xs: number[]): Record<string, number> => ({ p50: Math.round(pct(xs, 0.5)), p95: Math.round(pct(xs, 0.95)), p99: Math.round(pct(xs, 0.99)), max: Math.round(xs[xs.length - 1] ?? 0), n: xs.length });
    const summary = JSON.stringify({
      healthz: q(busy),
      idleProcess: q(idleProcess),
      slowerThanIdleProcess: q(slower),
      mainLoopMaxDelayMs: Math.round(loopMax),
      serverAckP99Ms: answer('accepted', '0.99'),
      largeAnswers,
      results,
    });
    if (process.env['WEFT_TEST_REPORT']) process.stdout.write(`health-under-load ${summary}\n`);
    expect(acked, summary).toBeGreaterThan(0);
    expect(largeAnswers.some((a) => (a[200] ?? 0) > 0), summary).toBe(true);
    expect(pct(busy, 0.95), summary).toBeLessThanOrEqual(pct(idleProcess, 0.95) + P95_ABOVE_CONTROL_MS);
    expect(pct(busy, 0.99), summary).toBeLessThanOrEqual(pct(idleProcess, 0.99) + P99_ABOVE_CONTROL_MS);
    // Acknowledgements stay under the OTel SDK's 10 s export timeout.
    expect(answer('accepted', '0.99'), summary).toBeLessThan(10_000);
  }, 240_000);
});
