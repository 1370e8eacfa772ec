/**
 * @module /healthz answers quickly while ingest is overloaded (issue 9, A2), against `weft server`
 * as a child process: real OTel exporters (OTLP/HTTP protobuf through the SDK's own transport,
 * bench/soak-load.ts, in child processes at a lower CPU priority (nice 10), as clients on other
 * machines) export back to back, 512-span and 8192-span batches, and three senders post 32768-span
 * bodies (~10 MB, serialized by the OTel SDK, as a collector forwards them) back to back: more than
 * the server can make durable. /healthz is asked every 50 ms from this process meanwhile.
 *
 * The bound is relative to the machine: p99 at most 450 ms above the p99 the same probe sees on
 * the idle (warmed-up) server just before, since a loaded host adds its own scheduling delay to
 * both. What it separated, run alternately from copies of the two trees on the shared 2-core VM:
 * before this round's changes (one CPU-queue item per turn, a body decoded in one turn), busy p99
 * 477 and 2,056 ms at load 6-7 (idle p99 6-9 ms: bounds 456 and 459 ms, both fail), 1,437 and
 * 1,690 ms at load 13-18; after (turns bounded at ~4 ms, bodies decoded 32 spans a step), 198 and
 * 201 ms at load 5 (idle p99 11-32 ms), 207-233 ms at load 9-10, 286 and 397 ms at load 13-18
 * (idle 77-143 ms), 429 ms in a full `vitest run test/e2e` beside the other suites (idle 22 ms),
 * which failed the first bound tried (idle + 300 ms). At load 1 the old code's p99 was 394 ms
 * (passes the p99 bound), so the p95 is bounded too, at idle p99 + 220 ms: old p95 270 ms (load 1,
 * bound 223: fails), 316 and 909 ms (load 6-7); new p95 33 ms (load 1), 99-154 ms (load 5),
 * 192 ms in the full e2e run (bound 242). It does not always separate at low load: a second
 * old run at load 1.3 had p95 172 ms and p99 308 ms and passed (5 of 6 old runs fail). Margins
 * are tens of ms at low load: the old code's one-turn decodes of 10 MB bodies (hundreds of ms
 * each) are what it catches. Acknowledgements are
 * checked on the server's own answer times (weft_receiver_answer_seconds): the exporters run at
 * nice 10, so their own timing includes the CPU they were not given; before bodies got a 3 s
 * decode deadline, 10 MB bodies were acknowledged 23-27 s after arrival at load 13-18.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { otlpProtobufPayload } from '../../bench/otlp-payload.js';
import { runSoakLoad, type SoakLoadResult } from '../../bench/soak-load-child.js';
import { PORT_FLAGS_ZERO, cliFromSource, exited, startUntilListening } from './cli-process.js';

const LOAD_SECONDS = 20;
const PROBE_EVERY_MS = 50;
const BOUND_ABOVE_IDLE_MS = 450;
/** p95 bound above the idle p99: where the old code's one-turn decodes of 10 MB bodies showed even at load 1. */
const P95_ABOVE_IDLE_MS = 220;
/** Spans per export of each OTel SDK exporter: the SDK default and a collector's batch. */
const BATCHES = [512, 8192];
/** Large bodies (32768 spans, ~10 MB, serialized by the OTel SDK) posted back to back by this many senders. */
const LARGE_SENDERS = 3;
const LARGE_SPANS = 32768;

function load(url: string, batch: number, worker: string): Promise<SoakLoadResult> {
  return runSoakLoad({ kind: 'proto', url, rate: 0, seconds: LOAD_SECONDS, worker, nice: '10', env: { WEFT_LOAD_BATCH: String(batch) } });
}

/** POSTs `body` back to back until `untilMs`; answers by status. */
async function postLoop(url: string, body: Uint8Array, untilMs: number): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  while (Date.now() < untilMs) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: body as BodyInit, signal: AbortSignal.timeout(60_000) });
    await res.arrayBuffer();
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    // A refusal says when to come back; a real client waits at least that (here a fraction of it, to keep the pressure on).
    if (res.status !== 200) await new Promise((r) => setTimeout(r, 200));
  }
  return statuses;
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
  it(`p95 within ${P95_ABOVE_IDLE_MS} ms and p99 within ${BOUND_ABOVE_IDLE_MS} ms of the idle p99 while OTel exporters and 10 MB bodies overload the server`, async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-health-'));
    server = await startUntilListening(cliFromSource(['server', '--data', dir, ...PORT_FLAGS_ZERO, '--max-memory', '1024m']));
    const healthz = `http://127.0.0.1:${server.ports.query}/healthz`;
    await probe(healthz, Date.now() + 1000); // warm-up: the first answers compile the route
    const idle = await probe(healthz, Date.now() + 3000);
    const ingest = `http://127.0.0.1:${server.ports.otlpHttp}/v1/traces`;
    const loads = Promise.all(BATCHES.map((b, i) => load(ingest, b, `d${i + 1}`)));
    const large = otlpProtobufPayload(LARGE_SPANS).bytes;
    const largeUntil = Date.now() + (LOAD_SECONDS - 1) * 1000;
    const largeLoads = Promise.all(Array.from({ length: LARGE_SENDERS }, () => postLoop(ingest, large, largeUntil)));
    // Probing starts once the exporters are up and sending (their start-up is a few seconds of tsx).
    await new Promise((r) => setTimeout(r, 5000));
    const busy = await probe(healthz, Date.now() + (LOAD_SECONDS - 7) * 1000);
    const results = await loads;
    const largeAnswers = await largeLoads;
    const metrics = await (await fetch(`http://127.0.0.1:${server.ports.query}/metrics`)).text();
    const answer = (outcome: string, q: string): number =>
      Number(new RegExp(`^weft_receiver_answer_seconds\\{receiver="otlp_http",outcome="${outcome}",quantile="${q}"\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN) * 1000;
    const acked = results.reduce((a, r) => a + r.ackedSpans, 0);
    const summary = JSON.stringify({
      idleP50: Math.round(pct(idle, 0.5)),
      idleP99: Math.round(pct(idle, 0.99)),
      busyP50: Math.round(pct(busy, 0.5)),
      busyP95: Math.round(pct(busy, 0.95)),
      busyP99: Math.round(pct(busy, 0.99)),
      busyMax: Math.round(busy[busy.length - 1] ?? 0),
      probes: busy.length,
      serverAckP99Ms: answer('accepted', '0.99'),
      largeAnswers,
      results,
    });
    if (process.env['WEFT_TEST_REPORT']) process.stdout.write(`health-under-load ${summary}\n`);
    expect(acked, summary).toBeGreaterThan(0);
    expect(largeAnswers.some((a) => (a[200] ?? 0) > 0), summary).toBe(true);
    expect(pct(busy, 0.95), summary).toBeLessThanOrEqual(pct(idle, 0.99) + P95_ABOVE_IDLE_MS);
    expect(pct(busy, 0.99), summary).toBeLessThanOrEqual(pct(idle, 0.99) + BOUND_ABOVE_IDLE_MS);
    // Acknowledgements stay under the OTel SDK's 10 s export timeout.
    expect(answer('accepted', '0.99'), summary).toBeLessThan(10_000);
  }, 240_000);
});
