/**
 * @module Bounded memory under hostile ingest, against `weft server` as a child process (its
 * peak resident size is read from /proc, apart from the test's own memory):
 * - many concurrent near-limit bodies: the server stays under --max-memory, the requests it
 *   cannot take are refused with 503 + Retry-After, the rest are stored;
 * - slow uploads that never finish: dropped after --request-timeout, their memory returned,
 *   and the server keeps answering meanwhile.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
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

async function startWeft(extra: string[]): Promise<{ pid: number; ports: Ports }> {
  const data = await mkdtemp(join(tmpdir(), 'weft-mem-'));
  dirs.push(data);
  const s = await startUntilListening(cliFromSource(['server', '--data', data, ...PORT_FLAGS_ZERO, '--max-memory', `${MAX_MEMORY_MIB}m`, ...extra]));
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

describe('memory bounds', () => {
  it(`${CONCURRENT} concurrent ${BODY_MIB} MiB bodies keep the server under --max-memory; the refused get 503/429 + Retry-After`, async () => {
    const { pid, ports } = await startWeft([]);
    const body = bigBody(BODY_MIB, 'mem-bound');
    const started = rssMiB(pid);
    const answers = await Promise.all(
      Array.from({ length: CONCURRENT }, async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${ports.otlpHttp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          await res.arrayBuffer();
          return { status: res.status, retryAfter: res.headers.get('retry-after') };
        } catch {
          // On a loaded machine the server may close a refused upload before the client has
          // written all of it (EPIPE/ECONNRESET). Clients retry that like a 503; it must stay rare.
          return { status: 0, retryAfter: null };
        }
      }),
    );
    const peak = peakRssMiB(pid);
    const ok = answers.filter((a) => a.status === 200).length;
    const refused = answers.filter((a) => a.status === 503 || a.status === 429);
    const cut = answers.filter((a) => a.status === 0).length;
    expect(ok + refused.length + cut, JSON.stringify(answers.map((a) => a.status))).toBe(CONCURRENT);
    expect(cut, JSON.stringify(answers.map((a) => a.status))).toBeLessThanOrEqual(CONCURRENT / 4);
    expect(ok).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((a) => a.retryAfter !== null && Number(a.retryAfter) >= 1)).toBe(true);
    expect(peak, `peak ${peak.toFixed(0)} MiB (started at ${started.toFixed(0)} MiB)`).toBeLessThan(MAX_MEMORY_MIB);
  }, 120_000);

  it('slow uploads that never finish are dropped after --request-timeout and the server answers meanwhile', async () => {
    const { ports } = await startWeft(['--request-timeout', String(REQUEST_TIMEOUT_MS)]);
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
      const t = Date.now();
      const health = await fetch(`http://127.0.0.1:${ports.query}/healthz`);
      expect(health.status).toBe(200);
      expect(Date.now() - t).toBeLessThan(500);
      await new Promise((r) => setTimeout(r, REQUEST_TIMEOUT_MS + 2500));
      expect(closedAt.length, `closed after ${JSON.stringify(closedAt)}`).toBe(40);
      expect(Math.max(...closedAt)).toBeLessThan(REQUEST_TIMEOUT_MS + 3000);
      // With the slow bodies gone, the budget is free again: a normal batch is stored.
      const small = bigBody(1, 'after-slow');
      const res = await fetch(`http://127.0.0.1:${ports.otlpHttp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: small });
      expect(res.status).toBe(200);
    } finally {
      clearInterval(trickle);
      for (const s of sockets) s.destroy();
    }
  }, 60_000);
});
