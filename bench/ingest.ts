/**
 * @module Ingest benchmark: OTLP/HTTP protobuf spans/s on one server core, into DuckDB and
 * acknowledged (= durable), against a decode-only baseline of the same payload in the same run.
 *
 * The server runs in a child process pinned to one core (`taskset -c 1` when available); this
 * process loads it with concurrent keep-alive posts of one SDK-serialized payload.
 * Env: WEFT_BENCH_INGEST_SECONDS (10), WEFT_BENCH_INGEST_CONCURRENCY (8),
 * WEFT_BENCH_INGEST_SPANS_PER_REQUEST (500).
 */
import { spawn, spawnSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { otlpProtobufPayload } from './otlp-payload.js';

type Mode = 'decode' | 'convert' | 'ingest';

export interface IngestModeResult {
  mode: Mode;
  spansPerSec: number;
  requests: number;
  refused: number;
  p50LatencyMs: number;
}

const SERVER = fileURLToPath(new URL('./ingest-server.ts', import.meta.url));

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

async function runMode(mode: Mode, payload: { bytes: Uint8Array; spans: number }, pin: boolean, log: (l: string) => void): Promise<IngestModeResult> {
  const seconds = Number(process.env['WEFT_BENCH_INGEST_SECONDS'] ?? 10);
  const concurrency = Number(process.env['WEFT_BENCH_INGEST_CONCURRENCY'] ?? 8);
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-ingest-'));
  const args = ['--import', 'tsx', SERVER, mode, dir];
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
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  counting = false;
  stop = true;
  await Promise.all(workers);
  agent.destroy();
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const result = {
    mode,
    spansPerSec: (ok * payload.spans) / elapsed,
    requests: ok,
    refused,
    p50LatencyMs: latencies[Math.floor(latencies.length / 2)] ?? 0,
  };
  log(`${mode}: ${Math.round(result.spansPerSec)} spans/s (${ok} requests, ${refused} refused, p50 ${result.p50LatencyMs.toFixed(1)} ms)`);
  return result;
}

export async function runIngestBench(log: (line: string) => void): Promise<unknown> {
  const spansPerRequest = Number(process.env['WEFT_BENCH_INGEST_SPANS_PER_REQUEST'] ?? 500);
  const payload = otlpProtobufPayload(spansPerRequest);
  const pin = spawnSync('taskset', ['-c', '1', 'true']).status === 0;
  log(`payload: ${payload.spans} spans, ${payload.bytes.byteLength} bytes (OTel SDK ProtobufTraceSerializer); server ${pin ? 'pinned to core 1' : 'NOT pinned (no taskset)'}`);
  const results: IngestModeResult[] = [];
  for (const mode of ['decode', 'convert', 'ingest'] as const) results.push(await runMode(mode, payload, pin, log));
  const [decode, convert, ingest] = results as [IngestModeResult, IngestModeResult, IngestModeResult];
  const ratio = ingest.spansPerSec / decode.spansPerSec;
  log(`ingest/decode-only = ${ratio.toFixed(3)}; ingest/convert = ${(ingest.spansPerSec / convert.spansPerSec).toFixed(3)}`);
  return { decoder: 'src/apm/otlp (protobufjs with the official OTLP .proto) + otlpHttpReceiver', pinned: pin, spansPerRequest: payload.spans, payloadBytes: payload.bytes.byteLength, results, ratioIngestToDecode: ratio };
}
