/**
 * @module Ingest benchmark: OTLP/HTTP protobuf spans/s on one server core, into DuckDB and
 * acknowledged (= durable), against a decode-only baseline of the same payload in the same run.
 *
 * The server runs in a child process pinned to one core (`taskset -c 1` when available); this
 * process loads it with concurrent keep-alive posts of one SDK-serialized payload.
 * Env: WEFT_BENCH_INGEST_SECONDS (10), WEFT_BENCH_INGEST_CONCURRENCY (8),
 * WEFT_BENCH_INGEST_SPANS_PER_REQUEST (500), WEFT_BENCH_INGEST_MODES (decode,convert,ingest,floor;
 * `floor`: DuckDB alone appending, committing and checkpointing the same rows, see ingest-server.ts),
 * WEFT_BENCH_INGEST_NODE_ARGS (more Node options for the server, e.g. `--cpu-prof`).
 * WEFT_BENCH_INGEST_REF: a checkout of an earlier commit (`git worktree add /tmp/weft-old HEAD`)
 * whose ingest server runs too, same payload, alternating with this one
 * (WEFT_BENCH_INGEST_REPEATS rounds, default 2), so the ratio is taken at the same load.
 */
import { spawn, spawnSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { otlpProtobufPayload } from './otlp-payload.js';

type Mode = 'decode' | 'convert' | 'ingest';
const MODES: readonly Mode[] = ['decode', 'convert', 'ingest'];

export interface IngestModeResult {
  mode: Mode;
  /** 'this' or 'ref' (WEFT_BENCH_INGEST_REF's checkout). */
  build: 'this' | 'ref';
  /** 1-min load average when the run ended. */
  load: number;
  /** Server CPU (user + system, all its threads) per acknowledged span, µs. */
  cpuUsPerSpan: number;
  spansPerSec: number;
  requests: number;
  refused: number;
  p50LatencyMs: number;
}

const SERVER = fileURLToPath(new URL('./ingest-server.ts', import.meta.url));

/** User + system CPU of a process and all its threads, µs (Linux /proc; 0 elsewhere). */
function processCpuUs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

function post(agent: Agent, port: number, body: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/v1/traces', method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.byteLength } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function runMode(mode: Mode, payload: { bytes: Uint8Array; spans: number }, pin: boolean, log: (l: string) => void, ref?: string): Promise<IngestModeResult> {
  const seconds = Number(process.env['WEFT_BENCH_INGEST_SECONDS'] ?? 10);
  const concurrency = Number(process.env['WEFT_BENCH_INGEST_CONCURRENCY'] ?? 8);
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-ingest-'));
  const nodeArgs = (process.env['WEFT_BENCH_INGEST_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const server = ref === undefined ? SERVER : join(ref, 'bench', 'ingest-server.ts');
  const args = [...nodeArgs, '--import', 'tsx', server, mode, dir];
  const child = pin ? spawn('taskset', ['-c', '1', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  let port = 0;
  for await (const line of lines) {
    const m = /^listening (\d+)$/.exec(line);
    if (m) {
      port = Number(m[1]);
      break;
    }
  }
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let ok = 0;
  let refused = 0;
  let counting = false;
  const latencies: number[] = [];
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const t = performance.now();
      const status = await post(agent, port, payload.bytes);
      if (!counting) continue;
      if (status === 200) {
        ok++;
        latencies.push(performance.now() - t);
      } else refused++;
    }
  };
  const workers = Array.from({ length: concurrency }, () => worker());
  await new Promise((r) => setTimeout(r, 2000)); // warm-up: JIT, DuckDB caches
  counting = true;
  const t0 = performance.now();
  const cpu0 = processCpuUs(child.pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  const cpuUs = processCpuUs(child.pid) - cpu0;
  counting = false;
  stop = true;
  await Promise.all(workers);
  agent.destroy();
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const result: IngestModeResult = {
    mode,
    build: ref === undefined ? 'this' : 'ref',
    load: loadavg()[0] ?? 0,
    cpuUsPerSpan: ok === 0 ? 0 : cpuUs / (ok * payload.spans),
    spansPerSec: (ok * payload.spans) / elapsed,
    requests: ok,
    refused,
    p50LatencyMs: latencies[Math.floor(latencies.length / 2)] ?? 0,
  };
  log(
    `${mode}${ref === undefined ? '' : ' (ref)'}: ${Math.round(result.spansPerSec)} spans/s, server CPU ${result.cpuUsPerSpan.toFixed(1)} µs/span (${ok} requests, ${refused} refused, p50 ${result.p50LatencyMs.toFixed(1)} ms, load ${result.load.toFixed(1)})`,
  );
  return result;
}

export interface FloorResult {
  rows: number;
  batch: number;
  cpuUsPerSpan: number;
  spansPerSec: number;
  load: number;
}

/** DuckDB's own cost for the bench's rows, on the same pinned core (ingest-server.ts, mode floor). */
async function runFloor(pin: boolean, log: (l: string) => void): Promise<FloorResult> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-ingest-floor-'));
  try {
    const args = ['--import', 'tsx', SERVER, 'floor', dir];
    const child = pin ? spawn('taskset', ['-c', '1', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    for await (const line of createInterface({ input: child.stdout })) {
      if (!line.startsWith('floor ')) continue;
      const result = { ...(JSON.parse(line.slice(6)) as Omit<FloorResult, 'load'>), load: loadavg()[0] ?? 0 };
      log(`floor (DuckDB alone, INSERT … SELECT in commits of ${result.batch} rows): ${Math.round(result.spansPerSec)} spans/s, CPU ${result.cpuUsPerSpan.toFixed(1)} µs/span (load ${result.load.toFixed(1)})`);
      return result;
    }
    throw new Error('the floor run printed no result');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runIngestBench(log: (line: string) => void): Promise<unknown> {
  const spansPerRequest = Number(process.env['WEFT_BENCH_INGEST_SPANS_PER_REQUEST'] ?? 500);
  const payload = otlpProtobufPayload(spansPerRequest);
  const pin = spawnSync('taskset', ['-c', '1', 'true']).status === 0;
  log(`payload: ${payload.spans} spans, ${payload.bytes.byteLength} bytes (OTel SDK ProtobufTraceSerializer); server ${pin ? 'pinned to core 1' : 'NOT pinned (no taskset)'}`);
  const wanted = (process.env['WEFT_BENCH_INGEST_MODES'] ?? [...MODES, 'floor'].join(',')).split(',');
  const modes = wanted.filter((m): m is Mode => (MODES as readonly string[]).includes(m));
  const ref = process.env['WEFT_BENCH_INGEST_REF'] || undefined;
  const repeats = ref === undefined ? 1 : Number(process.env['WEFT_BENCH_INGEST_REPEATS'] ?? 2);
  const results: IngestModeResult[] = [];
  for (let round = 0; round < repeats; round++) {
    for (const mode of modes) {
      results.push(await runMode(mode, payload, pin, log));
      if (ref !== undefined && mode === 'ingest') results.push(await runMode(mode, payload, pin, log, ref));
    }
  }
  const floor = wanted.includes('floor') ? await runFloor(pin, log) : null;
  const best = (mode: Mode, build: 'this' | 'ref'): number => Math.max(0, ...results.filter((r) => r.mode === mode && r.build === build).map((r) => r.spansPerSec));
  const out: Record<string, unknown> = { decoder: 'src/apm/otlp + otlpHttpReceiver', pinned: pin, spansPerRequest: payload.spans, payloadBytes: payload.bytes.byteLength, results, floor };
  if (modes.includes('decode') && modes.includes('ingest')) {
    out['ratioIngestToDecode'] = best('ingest', 'this') / best('decode', 'this');
    log(`ingest/decode-only = ${(out['ratioIngestToDecode'] as number).toFixed(3)}`);
  }
  if (ref !== undefined && modes.includes('ingest')) {
    out['ratioIngestToRef'] = best('ingest', 'this') / best('ingest', 'ref');
    log(`ingest / ingest of the reference build = ${(out['ratioIngestToRef'] as number).toFixed(2)} (best of ${repeats} each)`);
  }
  return out;
}
