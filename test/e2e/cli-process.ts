/**
 * @module Runs the `weft` CLI from source as a child process (node + tsx), as `npx weft` would
 * run the build, and reads its startup line for the chosen ports.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI_SOURCE = join(REPO_ROOT, 'src', 'cli', 'main.ts');

/** Arguments for `node` to run the CLI from source. */
export function cliFromSource(args: string[]): string[] {
  return ['--import', 'tsx', CLI_SOURCE, ...args];
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runToEnd(nodeArgs: string[], env: Record<string, string> = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export type Ports = Record<'otlpGrpc' | 'otlpHttp' | 'zipkin' | 'skywalkingGrpc' | 'skywalkingHttp' | 'query', number>;

export const PORT_FLAGS_ZERO = ['--otlp-grpc-port', '0', '--otlp-http-port', '0', '--zipkin-port', '0', '--sw-grpc-port', '0', '--sw-http-port', '0', '--query-port', '0'];

/** Spawns a long-running command and resolves with the ports from its startup log line. */
export function startUntilListening(nodeArgs: string[]): Promise<{ child: ChildProcess; ports: Ports; log: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let done = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (done) return;
      for (const line of stderr.split('\n')) {
        if (!line.includes('weft listening')) continue;
        done = true;
        resolve({ child, ports: (JSON.parse(line) as { ports: Ports }).ports, log: () => stderr });
        return;
      }
    });
    child.stdout.resume();
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (!done) reject(new Error(`weft exited (${code ?? signal}) before listening:\n${stderr}`));
    });
  });
}

export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}
