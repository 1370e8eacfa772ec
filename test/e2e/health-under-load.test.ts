/**
 * @module /healthz answers quickly while ingest is overloaded (issue 9, A2), against `weft server`
 * as a child process: real OTel exporters (OTLP/HTTP protobuf through the SDK's own transport,
 * bench/soak-load.ts, in child processes at a lower CPU priority (nice 10), as clients on other
 * machines) export back to back, 512-span and 8192-span batches, more than the server can make
 * durable. /healthz is asked every 50 ms from this process meanwhile.
 *
 * The bound is generous and relative to the machine: p99 at most 250 ms above the p99 the same
 * probe sees on the idle (warmed-up) server just before, since a loaded host adds its own
 * scheduling delay to both (on the shared 2-core dev VM at load 20, idle p99 alone is 90-460 ms). Acknowledgements are checked on the server's own answer times
 * (weft_receiver_answer_seconds): the exporters run at nice 10, so their own timing includes
 * the CPU they were not given. Before ingest work was cut into event-loop turns (cpu-turns.ts), a group-committed write
 * of tens of thousands of spans held the loop for its whole conversion and flush.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PORT_FLAGS_ZERO, REPO_ROOT, cliFromSource, exited, startUntilListening } from './cli-process.js';

const LOAD_SECONDS = 20;
const PROBE_EVERY_MS = 50;
const BOUND_ABOVE_IDLE_MS = 250;

interface LoadResult {
  ackedSpans: number;
  failedSpans: number;
  ackedP99Ms: number;
}

function load(url: string, batch: number, worker: string): Promise<LoadResult> {
  const child = spawn('nice', ['-n', '10', process.execPath, '--import', 'tsx', join(REPO_ROOT, 'bench', 'soak-load.ts'), 'proto', url, '0', String(LOAD_SECONDS), worker, '/dev/null'], {
    cwd: REPO_ROOT,
    env: { ...process.env, WEFT_LOAD_BATCH: String(batch) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as LoadResult);
      } catch {
        reject(new Error(`load exited ${code}: ${out}`));
      }
    });
  });
}

async function probe(url: string, untilMs: number): Promise<number[]> {
  const times: number[] = [];
  while (Date.now() < untilMs) {
    const t = performance.now();
    const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    times.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
  }
  return times.sort((a, b) => a - b);
}

const pct = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0;

let dir = '';
let server: Awaited<ReturnType<typeof startUntilListening>> | null = null;
afterAll(async () => {
  if (server) {
    server.child.kill('SIGTERM');
    await exited(server.child);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('/healthz under ingest overload', () => {
  it(`p99 stays within ${BOUND_ABOVE_IDLE_MS} ms of the idle p99 while OTel exporters overload the server`, async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-health-'));
    server = await startUntilListening(cliFromSource(['server', '--data', dir, ...PORT_FLAGS_ZERO, '--max-memory', '512m']));
    const healthz = `http://127.0.0.1:${server.ports.query}/healthz`;
    await probe(healthz, Date.now() + 1000); // warm-up: the first answers compile the route
    const idle = await probe(healthz, Date.now() + 3000);
    const ingest = `http://127.0.0.1:${server.ports.otlpHttp}/v1/traces`;
    const loads = Promise.all([load(ingest, 512, 'd1'), load(ingest, 512, 'd2'), load(ingest, 8192, 'd3')]);
    // Probing starts once the exporters are up and sending (their start-up is a few seconds of tsx).
    await new Promise((r) => setTimeout(r, 5000));
    const busy = await probe(healthz, Date.now() + (LOAD_SECONDS - 7) * 1000);
    const results = await loads;
    const metrics = await (await fetch(`http://127.0.0.1:${server.ports.query}/metrics`)).text();
    const answer = (outcome: string, q: string): number =>
      Number(new RegExp(`^weft_receiver_answer_seconds\\{receiver="otlp_http",outcome="${outcome}",quantile="${q}"\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN) * 1000;
    const acked = results.reduce((a, r) => a + r.ackedSpans, 0);
    const summary = JSON.stringify({
      idleP50: Math.round(pct(idle, 0.5)),
      idleP99: Math.round(pct(idle, 0.99)),
      busyP50: Math.round(pct(busy, 0.5)),
      busyP99: Math.round(pct(busy, 0.99)),
      busyMax: Math.round(busy[busy.length - 1] ?? 0),
      probes: busy.length,
      serverAckP99Ms: answer('accepted', '0.99'),
      results,
    });
    expect(acked, summary).toBeGreaterThan(0);
    expect(pct(busy, 0.99), summary).toBeLessThanOrEqual(pct(idle, 0.99) + BOUND_ABOVE_IDLE_MS);
    // Acknowledgements stay under the OTel SDK's 10 s export timeout.
    expect(answer('accepted', '0.99'), summary).toBeLessThan(10_000);
  }, 240_000);
});
