/**
 * @module Bounded memory under hostile ingest, against `weft server` as a child process (its
 * peak resident size is read from /proc, apart from the test's own memory):
 * - many concurrent near-limit bodies: the server stays under --max-memory, the requests it
 *   cannot take are refused with 503 + Retry-After, the rest are stored;
 * - slow uploads that never finish: dropped after --request-timeout, their memory returned,
 *   and the server keeps answering meanwhile;
 * - a request whose body has arrived is not cut by the idle timeout while the server works on it.
 *
 * Bounds are relative to this machine's speed measured in the same test (one upload alone, an
 * idle /healthz), not fixed wall-clock times: the concurrent test failed at load 25 and over with
 * every upload cut by the 30 s request timeout, as 24 uploads crawled along together.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PORT_FLAGS_ZERO, cliFromSource, exited, startUntilListening } from './cli-process.js';
import type { Ports } from './cli-process.js';

const MAX_MEMORY_MIB = 512;
const BODY_MIB = 15;
const CONCURRENT = 24;
const REQUEST_TIMEOUT_MS = 3000;

/** A valid OTLP/JSON body of about `mib` MiB: spans with one large attribute each. */
function bigBody(mib: number, service: string): string {
  const filler = 'x'.repeat(4000);
  const spans: unknown[] = [];
  const base = 1_700_000_000_000_000_000n;
  let size = 0;
  for (let i = 0; size < mib * 1024 * 1024; i++) {
    const span = {
      traceId: (i + 1).toString(16).padStart(32, '0'),
      spanId: (i + 1).toString(16).padStart(16, '0'),
      name: `op-${i}`,
      kind: 2,
      startTimeUnixNano: String(base + BigInt(i)),
      endTimeUnixNano: String(base + BigInt(i) + 1000n),
      attributes: [{ key: 'filler', value: { stringValue: filler } }],
    };
    size += 4200;
    spans.push(span);
  }
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans }] }] });
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

const dirs: string[] = [];
const children: Awaited<ReturnType<typeof startUntilListening>>[] = [];

async function startWeft(extra: string[], maxMemoryMiB = MAX_MEMORY_MIB): Promise<{ pid: number; ports: Ports }> {
  const data = await mkdtemp(join(tmpdir(), 'weft-mem-'));
  dirs.push(data);
  const s = await startUntilListening(cliFromSource(['server', '--data', data, ...PORT_FLAGS_ZERO, '--max-memory', `${maxMemoryMiB}m`, ...extra]));
  children.push(s);
  return { pid: s.child.pid as number, ports: s.ports };
}

afterAll(async () => {
  for (const s of children) {
    s.child.kill('SIGTERM');
    await exited(s.child);
  }
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** POSTs an OTLP/JSON body; status 0 when the connection was cut, -1 when no answer came within `withinMs`. */
async function post(port: number, body: Buffer, withinMs: number): Promise<{ status: number; retryAfter: string | null; error?: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body as BodyInit, signal: AbortSignal.timeout(Math.ceil(withinMs)) });
    await res.arrayBuffer();
    return { status: res.status, retryAfter: res.headers.get('retry-after') };
  } catch (err) {
    if (err instanceof Error && err.name === 'TimeoutError') return { status: -1, retryAfter: null };
    // A connection whose headers the server has not read within its headers timeout is closed
    // (408, slowloris protection): the client sees EPIPE. It must stay rare.
    return { status: 0, retryAfter: null, error: String(err instanceof Error ? (err.cause ?? err) : err).slice(0, 80) };
  }
}

/**
 * `post`, retried as a client is told to (429/503 + Retry-After), up to 4 times: on a loaded host
 * one 15 MiB body alone can take longer to store than --max-ack-wait (429 at load 18-20).
 */
async function postRetrying(port: number, body: Buffer, withinMs: number): Promise<{ status: number; retryAfter: string | null; error?: string }> {
  let r = await post(port, body, withinMs);
  for (let i = 0; i < 4 && r.status !== 200 && r.retryAfter !== null; i++) {
    await new Promise((res) => setTimeout(res, Number(r.retryAfter) * 1000));
    r = await post(port, body, withinMs);
  }
  return r;
}

/**
 * Time allowed for the concurrent uploads: they share this machine's CPU and loopback, so they
 * take about CONCURRENT times one upload alone, measured just before; 4x that, at least a minute.
 * A fixed bound failed at load 25 and over (every upload cut by a 30 s request timeout while the
 * 24 uploads crawled along together).
 */
const concurrentAllowanceMs = (oneUploadMs: number): number => Math.max(60_000, 4 * CONCURRENT * oneUploadMs);
/** Server-side request timeout for the concurrent test: out of the way (the test's allowance bounds it). */
const GENEROUS_REQUEST_TIMEOUT_MS = 20 * 60_000;

describe('memory bounds', () => {
  it(`${CONCURRENT} concurrent ${BODY_MIB} MiB bodies keep the server under --max-memory; the refused get 503/429 + Retry-After`, async () => {
    const { pid, ports } = await startWeft(['--request-timeout', String(GENEROUS_REQUEST_TIMEOUT_MS)]);
    // Encoded once: a string body is encoded again for each request (24 × 15 MiB on a starved
    // test process). The EPIPE at load 15+ was the server's 10 s headers timeout, counted from
    // accept, dropping connections whose headers had not been read yet (app.ts, HEADERS_TIMEOUT_MS).
    const body = Buffer.from(bigBody(BODY_MIB, 'mem-bound'));
    const started = rssMiB(pid);
    // One upload alone first: how fast this machine moves and stores such a body right now.
    const t = performance.now();
    const alone = await postRetrying(ports.otlpHttp, body, GENEROUS_REQUEST_TIMEOUT_MS);
    const oneUploadMs = performance.now() - t;
    expect(alone.status, 'one upload alone').toBe(200);
    const allowanceMs = concurrentAllowanceMs(oneUploadMs);
    const answers = await Promise.all(Array.from({ length: CONCURRENT }, () => post(ports.otlpHttp, body, allowanceMs)));
    const peak = peakRssMiB(pid);
    const statuses = JSON.stringify({ statuses: answers.map((a) => a.error ?? a.status), oneUploadMs: Math.round(oneUploadMs), allowanceMs: Math.round(allowanceMs) });
    const ok = answers.filter((a) => a.status === 200).length;
    const refused = answers.filter((a) => a.status === 503 || a.status === 429);
    const cut = answers.filter((a) => a.status === 0).length;
    expect(answers.filter((a) => a.status === -1).length, `answered within the allowance: ${statuses}`).toBe(0);
    expect(ok + refused.length + cut, statuses).toBe(CONCURRENT);
    expect(cut, statuses).toBeLessThanOrEqual(CONCURRENT / 4);
    expect(refused.length, statuses).toBeGreaterThan(0);
    expect(refused.every((a) => a.retryAfter !== null && Number(a.retryAfter) >= 1)).toBe(true);
    expect(peak, `peak ${peak.toFixed(0)} MiB (started at ${started.toFixed(0)} MiB)`).toBeLessThan(MAX_MEMORY_MIB);
    // Stored: some of the storm, or, on a host so loaded that the server refused all of it, the
    // same body from a client that retries as told (at load 18 every body of the storm was refused).
    if (ok === 0) expect((await postRetrying(ports.otlpHttp, body, allowanceMs)).status, `after the storm: ${statuses}`).toBe(200);
  }, 30 * 60_000);

  it('a request whose body has arrived is answered however long the server works on it past --request-timeout', async () => {
    // Small on the wire (gzip), 40 MB to decode and store: the server works on it for far longer
    // than the 200 ms timeout while the socket is quiet. Before the fix the idle timeout cut it
    // under the waiting client ("other side closed"; a real client resends a batch that may be
    // stored). One request at a time, so its small body arrives well within the timeout.
    const { ports } = await startWeft(['--request-timeout', '200', '--max-body-bytes', String(48 * 1024 * 1024)], 1024);
    const body = gzipSync(bigBody(40, 'slow-to-store'));
    const answers: (number | string)[] = [];
    const tookMs: number[] = [];
    for (let i = 0; i < 2; i++) {
      const t = performance.now();
      try {
        const res = await fetch(`http://127.0.0.1:${ports.otlpHttp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body });
        await res.arrayBuffer();
        // A loaded host may take longer than --max-ack-wait to store 40 MB: 429 + Retry-After is an answer too.
        answers.push(res.status === 429 && res.headers.get('retry-after') !== null ? '429 + Retry-After' : res.status);
      } catch (err) {
        answers.push(String(err instanceof Error ? (err.cause ?? err) : err).slice(0, 80));
      }
      tookMs.push(Math.round(performance.now() - t));
    }
    // Answered, not cut: stored, or refused with a retry hint.
    for (const a of answers) expect([200, '429 + Retry-After'], `took ${JSON.stringify(tookMs)} ms: ${JSON.stringify(answers)}`).toContain(a);
    // The case is only shown when the server worked on the request past the timeout.
    expect(Math.max(...tookMs)).toBeGreaterThan(400);
  }, 120_000);

  it('slow uploads that never finish are dropped after --request-timeout and the server answers meanwhile', async () => {
    const { ports } = await startWeft(['--request-timeout', String(REQUEST_TIMEOUT_MS)]);
    const healthz = async (): Promise<number> => {
      const t = performance.now();
      const res = await fetch(`http://127.0.0.1:${ports.query}/healthz`);
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      return performance.now() - t;
    };
    // This machine's answer time right now, idle: the bounds below are relative to it.
    await healthz();
    const idleMs = Math.max(await healthz(), await healthz(), await healthz());
    const sockets: Socket[] = [];
    const closedAt: number[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 40; i++) {
      const s = connect(ports.otlpHttp, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => closedAt.push(Date.now() - t0));
      s.write(`POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${BODY_MIB * 1024 * 1024}\r\n\r\n{"resourceSpans":[`);
      sockets.push(s);
    }
    // Trickle a byte a second on every socket: alive, never finishing.
    const trickle = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write(' ');
    }, 1000);
    try {
      // The server still answers queries and takes normal batches while they hang.
      await new Promise((r) => setTimeout(r, 500));
      const busyMs = await healthz();
      expect(busyMs, `idle ${idleMs.toFixed(0)} ms`).toBeLessThan(Math.max(500, 5 * idleMs));
      // Dropped once the timeout passed; the server checks every second at most, and a busy host adds its own delay.
      const dropBoundMs = REQUEST_TIMEOUT_MS + 3000 + 10 * idleMs;
      while (closedAt.length < 40 && Date.now() - t0 < dropBoundMs + 1000) await new Promise((r) => setTimeout(r, 100));
      expect(closedAt.length, `closed after ${JSON.stringify(closedAt)}`).toBe(40);
      expect(Math.max(...closedAt), `idle /healthz ${idleMs.toFixed(0)} ms`).toBeLessThan(dropBoundMs);
      expect(Math.min(...closedAt), 'not before the timeout').toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
      // With the slow bodies gone, the budget is free again: a normal batch is stored.
      const small = bigBody(1, 'after-slow');
      const res = await fetch(`http://127.0.0.1:${ports.otlpHttp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: small });
      expect(res.status).toBe(200);
    } finally {
      clearInterval(trickle);
      for (const s of sockets) s.destroy();
    }
  }, 120_000);
});
