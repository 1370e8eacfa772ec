/**
 * @module Runs bench/soak-load.ts (real OTel SDK exporters) in a child process at a lower CPU
 * priority, as clients on other machines would not take the server's CPU, and reads the one JSON
 * line it prints when done. Shared by the soak, the overload bench and the health-under-load test.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LOAD = join(ROOT, 'bench', 'soak-load.ts');

/** What one soak-load run reports (bench/soak-load.ts prints it). */
export interface SoakLoadResult {
  kind: string;
  service: string;
  sentSpans: number;
  ackedSpans: number;
  failedSpans: number;
  clientDroppedSpans: number;
  exports: number;
  failedExports: number;
  ackP50Ms: number;
  ackP99Ms: number;
  ackMaxMs: number;
  ackedP50Ms: number;
  ackedP99Ms: number;
}

export interface SoakLoadRun {
  kind: 'proto' | 'json' | 'grpc';
  /** The OTLP endpoint: /v1/traces for HTTP, http://host:port for gRPC. */
  url: string;
  /** Spans a second (0: export back to back). */
  rate: number;
  seconds: number;
  /** Names this exporter's service and spans. */
  worker: string;
  /** Where the acknowledged span ids go (default /dev/null). */
  ackedFile?: string;
  /** `nice` level of the child. */
  nice: string;
  /** Extra environment (WEFT_LOAD_BATCH: spans per export). */
  env?: NodeJS.ProcessEnv;
}

export function runSoakLoad(r: SoakLoadRun): Promise<SoakLoadResult> {
  const args = ['-n', r.nice, process.execPath, '--import', 'tsx', LOAD, r.kind, r.url, String(Math.round(r.rate)), String(r.seconds), r.worker, r.ackedFile ?? '/dev/null'];
  const child = spawn('nice', args, { cwd: ROOT, env: { ...process.env, ...r.env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as SoakLoadResult);
      } catch {
        reject(new Error(`load ${r.kind} exited ${code} without a result: ${out}`));
      }
    });
  });
}
