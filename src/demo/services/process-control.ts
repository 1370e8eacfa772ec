/**
 * @module Starting and stopping the real services of the demo and the end-to-end tests: spawn,
 * wait until the port answers, stop by pid (SIGTERM, then SIGKILL). Only processes started here
 * are ever signalled.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createConnection } from 'node:net';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningService {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5_000;
const POLL_MS = 50;

/** A free TCP port on 127.0.0.1 (bind to 0, read, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves when something accepts TCP connections on 127.0.0.1:port; rejects after timeoutMs. */
export async function waitForPort(port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`process exited with code ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Stops a child we started: SIGTERM, then SIGKILL after a grace period. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** Spawns a long-running service and waits for its port. Its output goes to `logs`. */
export async function startService(
  name: string,
  command: string,
  args: readonly string[],
  port: number,
  options: SpawnOptions & { readyTimeoutMs?: number } = {},
): Promise<RunningService & { child: ChildProcess; output: () => string }> {
  let output = '';
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const keep = (b: Buffer): void => {
    output = (output + b.toString()).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (err) => reject(new Error(`${name}: cannot start ${command}: ${err.message}`)));
  });
  await spawned;
  try {
    await waitForPort(port, options.readyTimeoutMs ?? 30_000, child);
  } catch (err) {
    await stopChild(child);
    throw new Error(`${name} did not start: ${(err as Error).message}\n${output}`);
  }
  return { name, port, pid: child.pid ?? 0, child, output: () => output, stop: () => stopChild(child) };
}

/**
 * Services started together, with one temp dir for their data: `stop` ends them in reverse
 * start order (a gateway before what it fronts) and removes the dir. A topology that fails
 * half-way calls `stop` so nothing it started outlives it.
 */
export interface ServiceGroup {
  /** The group's own temp dir, removed by `stop`. */
  dir: string;
  /** Every service kept so far, by name. */
  services: Record<string, RunningService>;
  keep(s: RunningService): RunningService;
  stop(): Promise<void>;
}

export function createServiceGroup(tempPrefix: string): ServiceGroup {
  const dir = mkdtempSync(join(tmpdir(), tempPrefix));
  const started: RunningService[] = [];
  const services: Record<string, RunningService> = {};
  return {
    dir,
    services,
    keep(s) {
      started.push(s);
      services[s.name] = s;
      return s;
    },
    async stop() {
      for (const s of started.splice(0).reverse()) await s.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
