/**
 * @module --max-memory bounds the server's resident memory, not only the parts it budgets: a
 * `weft server --max-memory 384m` child process takes OTLP/HTTP bodies (protobuf and JSON,
 * serialized by the OTel SDK) back to back from child processes for 40 s, as fast as it
 * acknowledges them, and its peak resident size (VmHWM, /proc) must stay under the limit.
 *
 * Before the resident size was governed (memory-governor.ts) this failed: the bodies in flight
 * and DuckDB's pool stayed in their budgets while V8 let the heap's garbage grow to several
 * times what was live, and nothing collected it when ingest was refused (BENCHMARKS.md, issue 9
 * round 5).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PORT_FLAGS_ZERO, REPO_ROOT, cliFromSource, exited, startUntilListening } from './cli-process.js';

const MAX_MEMORY_MIB = 384;
const SECONDS = 40;
/** Senders and their bodies: ~0.7 MB protobuf and ~1.6 MB JSON of 2,048 spans each. */
const SENDERS: ['proto' | 'json', number][] = [
  ['proto', 2048],
  ['proto', 2048],
  ['json', 2048],
  ['json', 2048],
];

function statusKb(pid: number, field: string): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

/** bench/large-body-sender.ts in a child process: its answers by status. */
function sender(url: string, kind: string, spans: number): Promise<{ kind: string; bytes: number; statuses: Record<string, number> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench', 'large-body-sender.ts'), url, kind, String(spans), String(SECONDS)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}')) : reject(new Error(`sender exited ${code}: ${out}`))));
  });
}

const dirs: string[] = [];
const children: Awaited<ReturnType<typeof startUntilListening>>[] = [];

afterAll(async () => {
  for (const s of children) {
    s.child.kill('SIGTERM');
    await exited(s.child);
  }
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('resident memory under --max-memory', () => {
  it(`${SENDERS.length} senders of SDK bodies for ${SECONDS} s keep the server's peak resident size under --max-memory ${MAX_MEMORY_MIB}m`, async () => {
    const data = await mkdtemp(join(tmpdir(), 'weft-rss-'));
    dirs.push(data);
    const s = await startUntilListening(cliFromSource(['server', '--data', data, ...PORT_FLAGS_ZERO, '--max-memory', `${MAX_MEMORY_MIB}m`]));
    children.push(s);
    const pid = s.child.pid as number;
    const url = `http://127.0.0.1:${s.ports.otlpHttp}/v1/traces`;
    const results = await Promise.all(SENDERS.map(([kind, spans]) => sender(url, kind, spans)));
    const metrics = await (await fetch(`http://127.0.0.1:${s.ports.query}/metrics`)).text();
    // Read after the scrape: the peak includes whatever the load left to finish.
    const peakMiB = statusKb(pid, 'VmHWM') / 1024;
    const detail = JSON.stringify({ peakMiB: Math.round(peakMiB), results, memory: metrics.split('\n').filter((l) => l.startsWith('weft_memory_')) });
    // The measurement, for BENCHMARKS.md (issue 9): the peak and what /metrics says it is made of.
    console.log(`memory-resident: ${detail}`);
    const answered = (code: string): number => results.reduce((n, r) => n + (r.statuses[code] ?? 0), 0);
    // The load was real: bodies were stored, and the server was pushed to refuse some.
    expect(answered('200'), detail).toBeGreaterThan(0);
    // Refused, retryable, or stored; never cut or failed.
    for (const r of results) for (const code of Object.keys(r.statuses)) expect(['200', '429', '503'], detail).toContain(code);
    expect(peakMiB, detail).toBeLessThan(MAX_MEMORY_MIB);
  }, 180_000);
});
